// Kernel agreement of WebGPU with the pure-JS cpu backend: every op a training step
// uses, forward and gradient; the L2 layer's and the cosine classifier's written-out
// gradients and the margins; whole-net gradients for each head; one SGD step; Adam's
// update. All to TOLERANCE relative to the reference's largest entry. A profile of
// real training steps (every head, Adam and SGD) checks that the op cases below
// cover every kernel those steps run on WebGPU.
import { strict as assert } from 'node:assert';
import * as tf from '../../src/trainer/tf';
import type { LossKind, OptimizerKind } from '../../src/shared/config';
import { WEBGPU } from '../../src/trainer/backend/webgpu';
import { angularMargin } from '../../src/trainer/net/heads/arcface';
import { cosineMargin } from '../../src/trainer/net/heads/cosface';
import { marginLogits, normalizedCosine } from '../../src/trainer/net/heads/cosine-head';
import { crossEntropy } from '../../src/trainer/net/heads/head';
import { l2Scale } from '../../src/trainer/net/heads/l2-softmax';
import { buildNet, type Net } from '../../src/trainer/net/model';
import { makeOptimizer } from '../../src/trainer/train/optimizer';
import { readWeights, writeWeights, type TensorData } from '../../src/trainer/train/state';
import { LocalStep, shardGradients, trainableVariables } from '../../src/trainer/train/step';
import { tinyConfig } from '../fixtures/trainer';
import { TOLERANCE, readAll, relativeError, useWebGpu, values } from '../fixtures/webgpu';

const HEADS: LossKind[] = ['softmax', 'l2-softmax', 'normface', 'cosface', 'arcface'];
const OPTIMIZERS: OptimizerKind[] = ['adam', 'sgd'];
const CLASSES = 8;
const BATCH = 16;

interface Input {
  shape: number[];
  /** Labels: int32 values below this. */
  labels?: number;
  positive?: boolean;
  /** Values inside (-1, 1) away from the ends, like cosines. */
  cosine?: boolean;
}

interface OpCase {
  name: string;
  inputs: Input[];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
  /** False for outputs without a gradient (argmax, comparisons). */
  differentiable?: boolean;
}

const labels1d = (x: tf.Tensor) => x as tf.Tensor1D;

const OP_CASES: OpCase[] = [
  { name: 'conv2d same + relu', inputs: [{ shape: [4, 8, 8, 3] }, { shape: [3, 3, 3, 4] }], f: (x, w) => tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')) },
  { name: 'bias add', inputs: [{ shape: [4, 8, 8, 4] }, { shape: [4] }], f: (x, b) => tf.add(x, b) },
  { name: 'max-pool 2x2', inputs: [{ shape: [4, 8, 8, 4] }], f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') },
  { name: 'flatten', inputs: [{ shape: [4, 2, 2, 8] }], f: (x) => tf.reshape(x, [4, 32]) },
  { name: 'dense (fused matmul + bias)', inputs: [{ shape: [4, 32] }, { shape: [32, 16] }, { shape: [16] }], f: (x, w, b) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }) },
  { name: 'matmul, b transposed', inputs: [{ shape: [4, 16] }, { shape: [8, 16] }], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true) },
  { name: 'matmul, a transposed', inputs: [{ shape: [16, 4] }, { shape: [16, 8] }], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, false) },
  { name: 'log-softmax', inputs: [{ shape: [BATCH, CLASSES] }], f: (x) => tf.logSoftmax(x) },
  { name: 'cross-entropy (one-hot, mean)', inputs: [{ shape: [BATCH, CLASSES] }, { shape: [BATCH], labels: CLASSES }], f: (z, y) => crossEntropy(z as tf.Tensor2D, labels1d(y)) },
  { name: 'feature norm', inputs: [{ shape: [BATCH, 16] }], f: (x) => tf.sqrt(tf.sum(tf.square(x), -1)) },
  { name: 'min, max, sum, stack', inputs: [{ shape: [BATCH] }], f: (x) => tf.stack([tf.min(x), tf.max(x), tf.sum(x), tf.mul(tf.mean(x), 3)]) },
  { name: 'clone (identity), ones-like, zeros-like', inputs: [{ shape: [BATCH, 4] }], f: (x) => tf.add(tf.clone(x), tf.add(tf.onesLike(x), tf.zerosLike(x))) },
  { name: 'divide, subtract, negate', inputs: [{ shape: [BATCH, 4] }, { shape: [BATCH, 4], positive: true }], f: (a, b) => tf.neg(tf.sub(tf.div(a, b), a)) },
  { name: 'correct predictions (argmax, equal, cast)', inputs: [{ shape: [BATCH, CLASSES] }, { shape: [BATCH], labels: CLASSES }], f: (z, y) => tf.sum(tf.cast(tf.equal(tf.argMax(z, -1), y), 'float32')), differentiable: false },
  { name: 'L2 layer (alpha x / |x|, written-out gradient)', inputs: [{ shape: [BATCH, 16] }, { shape: [], positive: true }], f: (x, a) => l2Scale(x, tf.mul(a, 20)) },
  { name: 'cosine classifier (written-out gradient)', inputs: [{ shape: [BATCH, 16] }, { shape: [16, CLASSES] }], f: (x, w) => normalizedCosine(x as tf.Tensor2D, w as tf.Tensor2D) },
  { name: 'CosFace margin logits', inputs: [{ shape: [BATCH, CLASSES], cosine: true }, { shape: [BATCH], labels: CLASSES }, { shape: [], positive: true }], f: (c, y, s) => marginLogits(c as tf.Tensor2D, labels1d(y), tf.mul(s, 30) as tf.Scalar, cosineMargin(0.35)) },
  { name: 'ArcFace margin (threshold, linear part)', inputs: [{ shape: [BATCH, CLASSES], cosine: true }], f: (c) => angularMargin(0.5, false)(c as tf.Tensor2D) },
  { name: 'ArcFace easy margin', inputs: [{ shape: [BATCH, CLASSES], cosine: true }], f: (c) => angularMargin(0.5, true)(c as tf.Tensor2D) },
];

function makeInput(input: Input, salt: number): tf.Tensor {
  const n = input.shape.reduce((a, b) => a * b, 1);
  if (input.labels) return tf.tensor(Int32Array.from({ length: n }, (_, i) => (i * 5 + salt) % (input.labels as number)), input.shape, 'int32');
  const v = values(n, salt, input.positive);
  if (input.cosine) v.forEach((x, i) => (v[i] = x * 1.9));
  return tf.tensor(v, input.shape);
}

/** The case's output and (when differentiable) its gradients for a fixed upstream gradient, on the active backend. */
async function runCase(c: OpCase): Promise<Float32Array[]> {
  const xs = c.inputs.map((input, i) => makeInput(input, i + 1));
  const y = c.f(...xs);
  const out: Float32Array[] = [Float32Array.from(await y.data())];
  if (c.differentiable !== false) {
    const floats = c.inputs.map((input, i) => (input.labels ? -1 : i)).filter((i) => i >= 0);
    const withFloats = (...fs: tf.Tensor[]) => c.f(...xs.map((x, i) => (floats.includes(i) ? fs[floats.indexOf(i)] : x)));
    const dy = tf.tensor(values(y.size, 99), y.shape);
    out.push(...(await readAll(tf.grads(withFloats)(floats.map((i) => xs[i]), dy))));
    dy.dispose();
  }
  tf.dispose([...xs, y]);
  return out;
}

async function onBackend<T>(name: string, f: () => Promise<T>): Promise<T> {
  await tf.setBackend(name);
  return f();
}

function assertClose(got: Float32Array[], want: Float32Array[], what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} results, cpu has ${want.length}`);
  want.forEach((w, k) => {
    const err = relativeError(got[k], w);
    assert.ok(err <= TOLERANCE, `${what}, ${k === 0 ? 'forward' : `gradient ${k}`}: relative error ${err.toExponential(2)}`);
  });
}

/** Registered WebGPU kernels run by `f` (op scopes such as "logSoftmax__op" left out). */
async function kernelsRun(f: () => Promise<unknown>): Promise<Set<string>> {
  const profile = await tf.profile(async () => {
    await f();
  });
  return new Set(profile.kernels.map((k) => k.name).filter((name) => tf.getKernel(name, WEBGPU) !== undefined));
}

const batchPixels = (config: ReturnType<typeof tinyConfig>) => values(BATCH * config.imageSize * config.imageSize * config.channels, 7);
const batchLabels = () => Int32Array.from({ length: BATCH }, (_, i) => (i * 3) % CLASSES);

/** A net for `config` on the active backend holding `weights` (from the cpu net, so both backends start equal). */
function netWith(config: ReturnType<typeof tinyConfig>, weights?: TensorData[]): Net {
  const net = buildNet(config, CLASSES);
  if (weights) writeWeights(net.train, weights);
  return net;
}

/** Splits a flattened gradient by trainable variable. */
function byVariable(net: Net, flat: Float32Array): { name: string; values: Float32Array }[] {
  let offset = 0;
  return trainableVariables(net).map((v, i) => {
    const part = { name: net.train.trainableWeights[i].originalName, values: flat.subarray(offset, offset + v.size) };
    offset += v.size;
    return part;
  });
}

describe('WebGPU kernels agree with the cpu backend', () => {
  before(async () => {
    await useWebGpu();
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  const covered = new Set<string>();
  for (const c of OP_CASES) {
    it(c.name, async () => {
      const kernels = await kernelsRun(() => onBackend(WEBGPU, () => runCase(c)));
      kernels.forEach((k) => covered.add(k));
      const got = await onBackend(WEBGPU, () => runCase(c));
      const want = await onBackend('cpu', () => runCase(c));
      assertClose(got, want, c.name);
    });
  }

  it('the cases above cover every kernel a training step runs on WebGPU (every head, Adam and SGD)', async () => {
    await tf.setBackend(WEBGPU);
    const used = new Set<string>();
    for (const loss of HEADS) {
      for (const optimizer of OPTIMIZERS) {
        const config = tinyConfig({ loss, optimizer, alphaTrainable: loss === 'l2-softmax', scaleTrainable: loss === 'normface' });
        const net = netWith(config);
        const opt = makeOptimizer(config, net, 1);
        const step = new LocalStep(net, opt, config);
        (await kernelsRun(() => step.step(batchPixels(config), batchLabels()))).forEach((k) => used.add(k));
        net.train.dispose();
        opt.dispose();
      }
    }
    const missing = [...used].filter((k) => !covered.has(k));
    assert.deepEqual(missing, [], `kernels a training step runs that no op case checks: ${missing.join(', ')}`);
  });

  for (const loss of HEADS) {
    it(`whole-net gradients and step statistics: ${loss}`, async () => {
      const config = tinyConfig({ loss, alphaTrainable: loss === 'l2-softmax', scaleTrainable: loss === 'normface' });
      const run = async (weights?: TensorData[]) => {
        const net = netWith(config, weights);
        const own = weights ?? (await readWeights(net.train));
        const { flat, stats } = await shardGradients(net, batchPixels(config), batchLabels(), config);
        const parts = byVariable(net, flat);
        net.train.dispose();
        return { weights: own, parts, stats };
      };
      const want = await onBackend('cpu', () => run());
      const got = await onBackend(WEBGPU, () => run(want.weights));
      want.parts.forEach((w, i) => {
        const err = relativeError(got.parts[i].values, w.values);
        assert.ok(err <= TOLERANCE, `${loss}: gradient of ${w.name}, relative error ${err.toExponential(2)}`);
      });
      // Loss, correct count, norm sum, min and max (the correct count is an integer: equal).
      assert.equal(got.stats[1], want.stats[1]);
      got.stats.forEach((v, k) => assert.ok(Math.abs(v - want.stats[k]) <= TOLERANCE * Math.max(1, Math.abs(want.stats[k])), `${loss}: statistic ${k}: ${v} vs ${want.stats[k]}`));
    });
  }

  it('one SGD step moves the weights as on the cpu backend', async () => {
    const config = tinyConfig({ optimizer: 'sgd', loss: 'l2-softmax', alphaTrainable: true });
    const step = async (weights?: TensorData[]) => {
      const net = netWith(config, weights);
      const start = weights ?? (await readWeights(net.train));
      const opt = makeOptimizer(config, net, 1);
      await new LocalStep(net, opt, config).step(batchPixels(config), batchLabels());
      const after = await readWeights(net.train);
      net.train.dispose();
      opt.dispose();
      return { start, after };
    };
    const want = await onBackend('cpu', () => step());
    const got = await onBackend(WEBGPU, () => step(want.start));
    want.after.forEach((w, i) => assert.ok(relativeError(got.after[i].values, w.values) <= TOLERANCE, `weight ${w.name}`));
  });

  it("Adam (tfjs's, on WebGPU) updates weights and moments as on the cpu backend", async () => {
    const config = tinyConfig({ optimizer: 'adam', loss: 'softmax' });
    // Gradients away from zero: Adam's first steps are about lr * sign(g), so rounding near 0 would flip whole steps.
    const update = async () => {
      const net = netWith(config);
      const vars = trainableVariables(net);
      vars.forEach((v, i) => v.assign(tf.tensor(values(v.size, 40 + i), v.shape)));
      const opt = makeOptimizer(config, net, 1);
      for (let s = 0; s < 3; s++) {
        const grads: tf.NamedTensorMap = {};
        vars.forEach((v, i) => (grads[v.name] = tf.tensor(values(v.size, 60 + i + s).map((g) => (g < 0 ? g - 0.1 : g + 0.1)), v.shape)));
        opt.applyGradients(grads);
        tf.dispose(Object.values(grads));
      }
      const weights = await readWeights(net.train);
      const state = await opt.readState();
      net.train.dispose();
      opt.dispose();
      return { weights, state };
    };
    const want = await onBackend('cpu', update);
    const got = await onBackend(WEBGPU, update);
    want.weights.forEach((w, i) => assert.ok(relativeError(got.weights[i].values, w.values) <= TOLERANCE, `weight ${w.name}`));
    want.state.weights.forEach((s, i) => assert.ok(relativeError(got.state.weights[i].values, s.values) <= TOLERANCE, `optimizer state ${s.name}`));
  });
});
