import { strict as assert } from 'node:assert';
import { Adam } from '../../src/trainer/train/optimizer';
import { Rng } from '../../src/trainer/data/rng';
import * as tf from '../../src/trainer/tf';
import { simdKernelsEnabled } from '../../src/trainer/backend/wasm-kernels';

/** Runs `steps` updates of `make()` on fresh variables with fixed gradients; returns the variables and the optimizer state. */
async function train(backend: string, make: () => tf.Optimizer, steps: number): Promise<{ values: Float32Array[]; state: Float32Array[]; iterations: number }> {
  await tf.setBackend(backend);
  const rng = new Rng(31);
  const shapes = [[3, 3, 3, 8], [8], [37, 5], [1]];
  const vars = shapes.map((shape, i) => tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape), true, `opt_test_${backend}_${i}`));
  const optimizer = make();
  for (let t = 0; t < steps; t++) {
    const grads: tf.NamedTensorMap = {};
    vars.forEach((v) => (grads[v.name] = tf.tensor(Float32Array.from({ length: v.size }, () => rng.normal() * (t + 1)), v.shape)));
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const values = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  const weights = await optimizer.getWeights();
  const state = await Promise.all(weights.slice(1).map(async (w) => (await w.tensor.data()) as Float32Array));
  const iterations = (await weights[0].tensor.data())[0];
  optimizer.dispose();
  tf.dispose(vars);
  return { values, state, iterations };
}

describe('fused Adam', () => {
  after(() => tf.setBackend('wasm'));

  it('runs on the SIMD kernels here', () => assert.ok(simdKernelsEnabled()));

  it('matches tfjs Adam step for step: variables, moments and iteration count', async () => {
    const want = await train('cpu', () => tf.train.adam(0.01), 6);
    const got = await train('wasm', () => new Adam(0.01, 0.9, 0.999), 6);
    assert.equal(got.iterations, want.iterations);
    for (const [what, a, b] of [['variables', got.values, want.values], ['moments', got.state, want.state]] as const) {
      assert.equal(a.length, b.length);
      a.forEach((arr, k) => arr.forEach((v, i) => assert.ok(Math.abs(v - b[k][i]) <= 1e-5 * (1 + Math.abs(b[k][i])), `${what}[${k}][${i}]: ${v} vs ${b[k][i]}`)));
    }
  });

  it('keeps the name Adam, so checkpoints load as before', () => {
    const adam = new Adam(0.001, 0.9, 0.999);
    assert.equal(adam.getClassName(), 'Adam');
    adam.dispose();
  });
});
