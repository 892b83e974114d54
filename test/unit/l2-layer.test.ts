import { strict as assert } from 'node:assert';
import * as tf from '../../src/trainer/tf';
import { L2Constrain, l2Scale } from '../../src/trainer/net/heads/l2-softmax';
import { Rng } from '../../src/trainer/data/rng';

const rng = new Rng(3);
const randn = (n: number) => Array.from({ length: n }, () => rng.normal());

// Loss L = sum(w * y) has dL/dy = w, so g is known exactly.
function loss(x: number[], alpha: number, w: number[], dims: [number, number]): number {
  return tf.tidy(() => tf.sum(tf.mul(l2Scale(tf.tensor2d(x, dims), tf.scalar(alpha)), tf.tensor2d(w, dims))).arraySync() as number);
}

describe('L2 constraint layer', () => {
  const dims: [number, number] = [3, 5];
  const x = randn(15);
  const w = randn(15);
  const alpha = 7.5;

  it('forward: y = alpha * x / ||x||, so every row has norm alpha', () => {
    const y = tf.tidy(() => l2Scale(tf.tensor2d(x, dims), tf.scalar(alpha)).arraySync() as number[][]);
    for (let r = 0; r < 3; r++) {
      const row = x.slice(r * 5, r * 5 + 5);
      const norm = Math.hypot(...row);
      row.forEach((v, c) => assert.ok(Math.abs(y[r][c] - (alpha * v) / norm) < 1e-5));
      assert.ok(Math.abs(Math.hypot(...y[r]) - alpha) < 1e-4);
    }
  });

  it("backward matches the paper's formulas for dL/dx and dL/dalpha", () => {
    const [dx, da] = tf.tidy(() => {
      const g = tf.grads((a, b) => tf.sum(tf.mul(l2Scale(a, b), tf.tensor2d(w, dims))));
      const out = g([tf.tensor2d(x, dims), tf.scalar(alpha)]);
      return [out[0].arraySync() as number[][], out[1].arraySync() as number];
    });
    let dalpha = 0;
    for (let r = 0; r < 3; r++) {
      const row = x.slice(r * 5, r * 5 + 5);
      const g = w.slice(r * 5, r * 5 + 5);
      const norm = Math.hypot(...row);
      const unit = row.map((v) => v / norm);
      const along = unit.reduce((s, u, i) => s + u * g[i], 0);
      unit.forEach((u, c) => {
        const want = (alpha / norm) * (g[c] - u * along);
        assert.ok(Math.abs(dx[r][c] - want) < 1e-5, `dx[${r}][${c}] ${dx[r][c]} vs ${want}`);
      });
      dalpha += along;
    }
    assert.ok(Math.abs(da - dalpha) < 1e-4, `dalpha ${da} vs ${dalpha}`);
  });

  it('backward matches central finite differences (x and alpha)', () => {
    const [dx, da] = tf.tidy(() => {
      const g = tf.grads((a, b) => tf.sum(tf.mul(l2Scale(a, b), tf.tensor2d(w, dims))));
      const out = g([tf.tensor2d(x, dims), tf.scalar(alpha)]);
      return [out[0].dataSync().slice(), out[1].dataSync()[0]];
    });
    const h = 1e-2;
    for (let i = 0; i < x.length; i++) {
      const plus = x.slice();
      const minus = x.slice();
      plus[i] += h;
      minus[i] -= h;
      const fd = (loss(plus, alpha, w, dims) - loss(minus, alpha, w, dims)) / (2 * h);
      assert.ok(Math.abs(fd - dx[i]) < 2e-2 * (1 + Math.abs(fd)), `x[${i}]: fd ${fd} vs ${dx[i]}`);
    }
    const fdAlpha = (loss(x, alpha + h, w, dims) - loss(x, alpha - h, w, dims)) / (2 * h);
    assert.ok(Math.abs(fdAlpha - da) < 1e-2 * (1 + Math.abs(fdAlpha)), `alpha: fd ${fdAlpha} vs ${da}`);
  });

  it('a trainable alpha is one weight that receives the gradient; a fixed one adds no weight', () => {
    const trainable = new L2Constrain({ alpha: 4, alphaTrainable: true });
    const fixed = new L2Constrain({ alpha: 4, alphaTrainable: false });
    const input = tf.input({ shape: [5] });
    const m1 = tf.model({ inputs: input, outputs: trainable.apply(input) as tf.SymbolicTensor });
    const m2 = tf.model({ inputs: input, outputs: fixed.apply(input) as tf.SymbolicTensor });
    assert.equal(m1.trainableWeights.length, 1);
    assert.deepEqual(m1.trainableWeights[0].shape, []);
    assert.equal(m2.trainableWeights.length, 0);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(m1.apply(tf.tensor2d(x, dims)) as tf.Tensor, tf.tensor2d(w, dims))) as tf.Scalar,
      m1.trainableWeights.map((v) => v.read() as tf.Variable),
    );
    const g = Object.values(grads)[0].dataSync()[0];
    const want = tf.tidy(() => tf.sum(tf.mul(tf.tensor2d(w, dims), tf.div(tf.tensor2d(x, dims), tf.norm(tf.tensor2d(x, dims), 'euclidean', -1, true)))).dataSync()[0]);
    assert.ok(Math.abs(g - want) < 1e-4);
    tf.dispose(Object.values(grads));
    m1.dispose();
    m2.dispose();
  });

  it('rejects a non-positive or non-finite alpha', () => {
    assert.throws(() => new L2Constrain({ alpha: 0, alphaTrainable: false }), /alpha must be a positive finite number/);
    assert.throws(() => new L2Constrain({ alpha: Infinity, alphaTrainable: true }), /alpha must be a positive finite number/);
  });

  it('a zero feature gives zeros, not NaN', () => {
    const y = tf.tidy(() => l2Scale(tf.zeros([1, 4]), tf.scalar(16)).dataSync());
    assert.ok(Array.from(y).every((v) => v === 0));
  });
});
