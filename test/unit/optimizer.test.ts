import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { buildNet } from '../../src/trainer/net/model';
import { Adam, makeOptimizer, scheduleFactor } from '../../src/trainer/train/optimizer';
import { train as trainRun } from '../../src/trainer/train/run';
import { readWeights } from '../../src/trainer/train/state';
import { tinyConfig } from '../fixtures/trainer';
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

describe('net optimizer: weight decay, the scale\'s own learning rate, schedules', () => {
  const kernels = ['conv1/kernel', 'conv2/kernel', 'conv3/kernel', 'embedding/kernel', 'classifier/kernel'];

  it('decays conv and dense kernels only: never biases, a learned alpha or a learned s', () => {
    for (const overrides of [{ loss: 'l2-softmax', alphaTrainable: true }, { loss: 'normface', scaleTrainable: true }]) {
      const net = buildNet(tinyConfig(overrides), 8);
      const opt = makeOptimizer(tinyConfig(overrides), net, 6);
      const all = net.train.trainableWeights.map((w) => w.originalName);
      assert.ok(all.includes(overrides.loss === 'normface' ? 'classifier/scale' : 'l2_constrain/alpha'), all.join());
      assert.deepEqual(opt.decayed, kernels);
      assert.ok(opt.scale, 'a learned scale gets its own optimizer');
      opt.dispose();
      net.train.dispose();
    }
    const net = buildNet(tinyConfig({ weightDecay: 0 }), 8);
    assert.deepEqual(makeOptimizer(tinyConfig({ weightDecay: 0 }), net, 6).decayed, []);
    net.train.dispose();
  });

  it('one SGD step with zero gradients shrinks kernels by lr * wd and leaves biases and alpha alone', async () => {
    const config = tinyConfig({ optimizer: 'sgd', learningRate: 0.1, weightDecay: 0.01, alphaTrainable: true });
    const net = buildNet(config, 8);
    const opt = makeOptimizer(config, net, 6);
    const before = await readWeights(net.train);
    const zeros: tf.NamedTensorMap = {};
    for (const w of net.train.trainableWeights) zeros[w.name] = tf.zerosLike(w.read());
    opt.applyGradients(zeros);
    tf.dispose(Object.values(zeros));
    const after = await readWeights(net.train);
    before.forEach((b, i) => {
      const shrink = kernels.includes(b.name) ? 1 - 0.1 * 0.01 : 1;
      b.values.forEach((v, k) => assert.ok(Math.abs(after[i].values[k] - v * shrink) <= 1e-6 * (1 + Math.abs(v)), `${b.name}[${k}]`));
    });
    opt.dispose();
    net.train.dispose();
  });

  it('Adam moves a learned alpha by its own learning rate and the weights by theirs (first step: about lr each)', async () => {
    const config = tinyConfig({ learningRate: 0.001, scaleLearningRate: 0.05, weightDecay: 0, alphaTrainable: true });
    const net = buildNet(config, 8);
    const opt = makeOptimizer(config, net, 6);
    const before = await readWeights(net.train);
    const ones: tf.NamedTensorMap = {};
    for (const w of net.train.trainableWeights) ones[w.name] = tf.onesLike(w.read());
    opt.applyGradients(ones);
    tf.dispose(Object.values(ones));
    const after = await readWeights(net.train);
    const moved = (name: string) => before[before.findIndex((b) => b.name === name)].values[0] - after[before.findIndex((b) => b.name === name)].values[0];
    assert.ok(Math.abs(moved('l2_constrain/alpha') - 0.05) < 1e-4, `alpha moved ${moved('l2_constrain/alpha')}`);
    assert.ok(Math.abs(moved('conv1/kernel') - 0.001) < 1e-5, `conv1 moved ${moved('conv1/kernel')}`);
    opt.dispose();
    net.train.dispose();
  });

  it('schedules: step decay every lrStepEpochs epochs, cosine from 1 to 0 over the run', () => {
    const step = { lrSchedule: 'step', lrStepEpochs: 4, lrStepFactor: 0.1, epochs: 10 } as const;
    assert.deepEqual([0, 39, 40, 79, 80].map((s) => scheduleFactor(step, s, 10).toPrecision(6)), ['1.00000', '1.00000', '0.100000', '0.100000', '0.0100000']);
    const cosine = { ...step, lrSchedule: 'cosine' } as const;
    assert.equal(scheduleFactor(cosine, 0, 10), 1);
    assert.ok(Math.abs(scheduleFactor(cosine, 50, 10) - 0.5) < 1e-12);
    assert.ok(scheduleFactor(cosine, 99, 10) < 1e-3);
    assert.equal(scheduleFactor({ ...step, lrSchedule: 'constant' }, 99, 10), 1);
  });

  it('learned alpha moves by more than 2 in the default demo length (750 steps) at the default scale learning rate', async () => {
    // 75 identities x 16 images in batches of 16: 75 steps per epoch, 10 epochs, as the default demo.
    const config = tinyConfig({ alphaTrainable: true, learningRate: DEFAULT_CONFIG.learningRate, batchSize: 16, epochs: DEFAULT_CONFIG.epochs, dataset: { synthetic: { identities: 75, imagesPerIdentity: 16, verifyIdentities: 20, verifyImagesPerIdentity: 4, pairsPerFold: 10, hardShare: 0.2 } } });
    assert.equal(config.scaleLearningRate, DEFAULT_CONFIG.scaleLearningRate);
    const out = mkdtempSync(path.join(tmpdir(), 'l2sm-alpha-'));
    const alphas: number[] = [];
    let steps = 0;
    try {
      await trainRun({ config, outDir: out, shouldStop: () => false, emit: (e) => (e.type === 'step' ? (steps = e.step) : e.type === 'epoch' && e.alpha !== null && alphas.push(e.alpha)) });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    assert.equal(steps, 750);
    const furthest = Math.max(...alphas.map((a) => Math.abs(a - config.alpha)));
    assert.ok(furthest > 2, `alpha by epoch: ${alphas.map((a) => a.toFixed(2)).join(' ')}`);
  });
});
