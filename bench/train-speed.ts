// Training speed benchmark (not a test): images/s, ms per step by kernel, peak RSS
// and tensor count for the default net and a larger face-sized one, per backend.
//   npm run bench                # every backend that loads here (cpu only with --with-cpu)
//   npx tsx bench/train-speed.ts --steps 30 --backends wasm

import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, resolveConfig, type RunConfig } from '../src/shared/config';
import { initBackend } from '../src/trainer/backend';
import { syntheticDataset } from '../src/trainer/data';
import { buildNet, countParameters, crossEntropy } from '../src/trainer/model';
import { consoleToStderr } from '../src/trainer/quiet';
import * as tf from '../src/trainer/tf';

interface Shape {
  name: string;
  overrides: Record<string, unknown>;
}

const SHAPES: Shape[] = [
  { name: 'default (32x32x3, width 16, 64-d)', overrides: {} },
  { name: 'face-sized (112x112x3, width 32, 128-d)', overrides: { imageSize: 112, width: 32, embeddingSize: 128 } },
];

function configFor(shape: Shape, batch: number): RunConfig {
  const r = resolveConfig({
    ...shape.overrides,
    batchSize: batch,
    dataset: { synthetic: { identities: 64, imagesPerIdentity: Math.ceil((batch * 2) / 64) + 1, verifyIdentities: 2, verifyImagesPerIdentity: 2, pairsPerFold: 1 } },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function benchShape(shape: Shape, steps: number, batch: number): Promise<void> {
  const config = configFor(shape, batch);
  const data = syntheticDataset(config);
  const net = buildNet(config, data.train.classNames.length);
  const optimizer: tf.Optimizer = tf.train.adam(config.learningRate);
  const vars = net.train.trainableWeights.map((w) => w.read() as tf.Variable);
  const idx = Array.from({ length: batch }, (_, i) => i % data.train.count);
  const pixels = await data.train.batch(idx);
  const labels = Int32Array.from(idx, (i) => data.train.labels[i]);
  const step = () => {
    const loss = tf.tidy(() => {
      const xs = tf.tensor4d(pixels, [batch, config.imageSize, config.imageSize, config.channels]);
      const ys = tf.tensor1d(labels, 'int32');
      const { value, grads } = tf.variableGrads(() => {
        const [, logits] = net.train.apply(xs, { training: true }) as tf.Tensor2D[];
        return crossEntropy(logits, ys);
      }, vars);
      optimizer.applyGradients(grads);
      return value;
    });
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  };
  for (let i = 0; i < 3; i++) step(); // warm-up: kernel setup, optimizer slots
  const tensors = tf.memory().numTensors;
  let peak = process.memoryUsage().rss;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    step();
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = (performance.now() - t0) / steps;
  const profile = await tf.profile(() => {
    step();
  });
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(`\n  ${shape.name}: ${countParameters(net.train).toLocaleString('en-US')} parameters, batch ${batch}`);
  console.log(`    ${ms.toFixed(1)} ms/step, ${((batch * 1000) / ms).toFixed(0)} images/s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, tensors ${tensors} -> ${tf.memory().numTensors} after ${steps} steps`);
  console.log(`    time by kernel (one profiled step): ${top.map(([k, t]) => `${k} ${t.toFixed(1)}`).join(', ')}`);
  net.train.dispose();
  optimizer.dispose();
}

async function main(): Promise<void> {
  consoleToStderr();
  const { values } = parseArgs({
    options: { steps: { type: 'string', default: '20' }, batch: { type: 'string', default: String(DEFAULT_CONFIG.batchSize) }, backends: { type: 'string' }, 'with-cpu': { type: 'boolean' } },
  });
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const wanted = values.backends?.split(',') ?? ['tensorflow-gpu', 'tensorflow', 'wasm', ...(values['with-cpu'] ? ['cpu'] : [])];
  console.log(`L2-Softmax Lab training benchmark: ${steps} timed steps after 3 warm-up steps, Adam, L2-softmax alpha 16`);
  for (const name of wanted) {
    process.env.L2SOFTMAX_BACKENDS = name;
    let info;
    try {
      info = await initBackend(name === 'tensorflow-gpu' ? 'gpu' : 'cpu', { info: () => undefined, warn: () => undefined });
    } catch {
      info = undefined;
    }
    if (!info || (name !== 'cpu' && info.name !== name)) {
      console.log(`\n${name}: not available here`);
      continue;
    }
    console.log(`\n${name}: ${info.description}`);
    for (const shape of SHAPES) {
      if (name === 'cpu' && shape.overrides.imageSize) continue; // minutes per step
      await benchShape(shape, name === 'cpu' ? Math.min(steps, 2) : shape.overrides.imageSize ? Math.max(3, Math.round(steps / 4)) : steps, batch);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
