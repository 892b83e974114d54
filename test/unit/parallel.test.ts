import { strict as assert } from 'node:assert';
import { syntheticDataset } from '../../src/trainer/data/synthetic';
import { buildNet } from '../../src/trainer/net/model';
import { RenderPool } from '../../src/trainer/data/render-pool';
import { makeOptimizer } from '../../src/trainer/train/optimizer';
import { Rng } from '../../src/trainer/data/rng';
import { LocalStep, ParallelStep, defaultWorkerScript, shardGradients, weightedSum, workerCount } from '../../src/trainer/train/step';
import * as tf from '../../src/trainer/tf';
import { tinyConfig } from '../fixtures/trainer';

describe('data-parallel training over worker threads', () => {
  it('averages shard gradients into the full-batch gradient', async () => {
    const config = tinyConfig({ alphaTrainable: true });
    const net = buildNet(config, 8);
    const rng = new Rng(9);
    const len = config.imageSize * config.imageSize * config.channels;
    const pixels = Float32Array.from({ length: 13 * len }, () => rng.normal() * 0.5);
    const labels = Int32Array.from({ length: 13 }, () => rng.int(8));
    const whole = (await shardGradients(net, pixels, labels, config)).flat;
    const parts = [];
    for (const [a, b] of [[0, 5], [5, 9], [9, 13]]) parts.push({ weight: (b - a) / 13, values: (await shardGradients(net, pixels.subarray(a * len, b * len), labels.subarray(a, b), config)).flat });
    const avg = weightedSum(parts);
    const scale = whole.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    whole.forEach((v, i) => assert.ok(Math.abs(v - avg[i]) <= 1e-5 * scale, `gradient ${i}: ${v} vs ${avg[i]}`));
    tf.dispose(net.train as never);
  });

  // SGD: its updates are linear in the gradient, so the two runs stay within float
  // rounding. (Adam's normalization turns rounding noise in near-zero gradient
  // entries into full-size steps, so its trajectories part further.)
  it('gives the same updates as one thread, up to float rounding', async () => {
    const config = tinyConfig({ alphaTrainable: true, batchSize: 21, optimizer: 'sgd', momentum: 0.9, learningRate: 0.01 });
    const classes = 8;
    const local = buildNet(config, classes);
    const parallel = buildNet(config, classes);
    const optA = makeOptimizer(config, local, 10);
    const optB = makeOptimizer(config, parallel, 10);
    const one = new LocalStep(local, optA, config);
    const three = await ParallelStep.create(parallel, optB, config, classes, 'wasm', 3, defaultWorkerScript());
    assert.equal(three.workers, 3);
    const rng = new Rng(4);
    const len = config.imageSize * config.imageSize * config.channels;
    try {
      for (let step = 0; step < 4; step++) {
        // 21 images: shards of 7, 7 and 7; the last batch (5) leaves a shard of 1 and an empty one.
        const n = step === 3 ? 5 : 21;
        const pixels = Float32Array.from({ length: n * len }, () => rng.normal() * 0.5);
        const labels = Int32Array.from({ length: n }, () => rng.int(classes));
        const a = await one.step(pixels.slice(), labels.slice());
        const b = await three.step(pixels.slice(), labels.slice());
        assert.ok(Math.abs(a.loss - b.loss) < 1e-4 * (1 + a.loss), `step ${step}: loss ${a.loss} vs ${b.loss}`);
        assert.ok(Math.abs(a.accuracy - b.accuracy) < 1e-9);
        assert.ok(Math.abs(a.norm.max - b.norm.max) < 1e-3 * (1 + a.norm.max));
      }
      const wa = local.train.getWeights().map((w) => w.dataSync());
      const wb = parallel.train.getWeights().map((w) => w.dataSync());
      let worst = 0;
      wa.forEach((w, k) => w.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - wb[k][i]) / (1e-3 + Math.abs(v))))));
      assert.ok(worst < 1e-3, `weights differ by ${worst}`);
      // And they moved: the test is not comparing two untouched nets.
      const init = buildNet(config, classes).train.getWeights().map((w) => w.dataSync());
      assert.ok(init.some((w, k) => w.some((v, i) => Math.abs(v - wa[k][i]) > 1e-4)));
    } finally {
      await three.dispose();
      tf.dispose([local.train, parallel.train] as never);
    }
  });

  it('renders the synthetic faces on several threads, pixel for pixel the same', async () => {
    const config = tinyConfig({ dataset: { synthetic: { identities: 7, imagesPerIdentity: 3, verifyIdentities: 5, verifyImagesPerIdentity: 2, pairsPerFold: 2, hardShare: 0.5 } } });
    const one = await syntheticDataset(config);
    const pool = RenderPool.create(config, 3, defaultWorkerScript());
    try {
      const three = await syntheticDataset(config, pool.render, pool.size);
      const all = (n: number) => Array.from({ length: n }, (_, i) => i);
      assert.deepEqual(await three.train.batch(all(three.train.count)), await one.train.batch(all(one.train.count)));
      assert.deepEqual(await three.verify.batch(all(three.verify.count)), await one.verify.batch(all(one.verify.count)));
      assert.deepEqual(three.train.labels, one.train.labels);
      assert.deepEqual(three.pairs, one.pairs);
    } finally {
      await pool.dispose();
    }
  });

  it('is used only for the single-threaded backends, one thread per core by default', () => {
    assert.equal(workerCount(0, 'tensorflow'), 1);
    assert.equal(workerCount(4, 'tensorflow-gpu'), 1);
    assert.equal(workerCount(3, 'wasm'), 3);
    assert.ok(workerCount(0, 'wasm') >= 1);
  });

  it('reports a worker that cannot start as a clear error', async () => {
    const config = tinyConfig();
    const net = buildNet(config, 8);
    await assert.rejects(ParallelStep.create(net, makeOptimizer(config, net, 10), config, 8, 'wasm', 2, '/no/such/worker.js'), /training worker (crashed|exited|failed)/);
    net.train.dispose();
  });
});
