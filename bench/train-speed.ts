// Training speed benchmark (not a test): images/s, ms per step by kernel, peak RSS
// and tensor count for the default net and a larger face-sized one, per backend.
//   npm run bench                # every backend that loads here (cpu only with --with-cpu)
//   npx tsx bench/train-speed.ts --steps 30 --backends wasm

import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, resolveConfig, type RunConfig } from '../src/shared/config';
import { initBackend } from '../src/trainer/backend';
import { syntheticDataset } from '../src/trainer/data';
import { buildNet, countParameters } from '../src/trainer/model';
import { makeOptimizer } from '../src/trainer/optimizer';
import { consoleToStderr } from '../src/trainer/quiet';
import { LocalStep, ParallelStep, type StepRunner } from '../src/trainer/step';
import * as tf from '../src/trainer/tf';

const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist', 'train-worker.js');

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

interface Result {
  imagesPerSec: number;
}

async function benchShape(shape: Shape, steps: number, batch: number, backend: 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu', threads: number): Promise<Result> {
  const config = configFor(shape, batch);
  const data = await syntheticDataset(config);
  const classes = data.train.classNames.length;
  const net = buildNet(config, classes);
  const optimizer = makeOptimizer(config);
  const runner: StepRunner = threads > 1 ? await ParallelStep.create(net, optimizer, config, classes, backend, threads, WORKER) : new LocalStep(net, optimizer, config);
  const idx = Array.from({ length: batch }, (_, i) => i % data.train.count);
  const pixels = await data.train.batch(idx);
  const labels = Int32Array.from(idx, (i) => data.train.labels[i]);
  const step = () => runner.step(pixels.slice(), labels.slice());
  for (let i = 0; i < 3; i++) await step(); // warm-up: kernel setup, optimizer slots
  const tensors = tf.memory().numTensors;
  let peak = process.memoryUsage().rss;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await step();
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = (performance.now() - t0) / steps;
  console.log(`\n  ${shape.name}, ${threads} thread(s): ${countParameters(net.train).toLocaleString('en-US')} parameters, batch ${batch}`);
  console.log(`    ${ms.toFixed(1)} ms/step, ${((batch * 1000) / ms).toFixed(0)} images/s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (this thread), tensors ${tensors} -> ${tf.memory().numTensors} after ${steps} steps`);
  if (threads === 1) {
    const profile = await tf.profile(async () => {
      await step();
    });
    const byKernel = new Map<string, number>();
    for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
    const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    console.log(`    ms by kernel (one profiled step): ${top.map(([k, t]) => `${k} ${t.toFixed(1)}`).join(', ')}`);
  }
  await runner.dispose();
  net.train.dispose();
  optimizer.dispose();
  return { imagesPerSec: (batch * 1000) / ms };
}

/** The same net in PyTorch (Debian's python3-torch), when installed; --install-torch installs it. */
function torchReference(shape: Shape, batch: number, threads: number, steps: number): number | undefined {
  const py = '/usr/bin/python3';
  const o = { imageSize: 32, width: 16, embeddingSize: 64, ...shape.overrides } as Record<string, number>;
  const r = spawnSync(py, [path.join(ROOT, 'bench', 'torch_reference.py'), '--size', String(o.imageSize), '--width', String(o.width), '--embedding', String(o.embeddingSize), '--classes', '64', '--batch', String(batch), '--threads', String(threads), '--steps', String(steps)], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const line = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  console.log(`    PyTorch ${line.torch} (${threads} thread(s)): ${line.ms_per_step.toFixed(1)} ms/step, ${line.images_per_sec.toFixed(0)} images/s`);
  return line.images_per_sec as number;
}

function hasTorch(install: boolean): boolean {
  const probe = () => spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (probe()) return true;
  if (!install) return false;
  console.log('Installing python3-torch with apt-get for the PyTorch reference...');
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'python3-torch'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    return false;
  }
  return probe();
}

async function main(): Promise<void> {
  consoleToStderr();
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '20' },
      batch: { type: 'string', default: String(DEFAULT_CONFIG.batchSize) },
      backends: { type: 'string' },
      'with-cpu': { type: 'boolean' },
      'install-torch': { type: 'boolean' },
    },
  });
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const cores = cpus().length;
  const wanted = values.backends?.split(',') ?? ['tensorflow-gpu', 'tensorflow', 'wasm', ...(values['with-cpu'] ? ['cpu'] : [])];
  const torch = hasTorch(Boolean(values['install-torch']));
  console.log(`L2-Softmax Lab training benchmark: ${steps} timed steps after 3 warm-up steps, Adam, L2-softmax alpha 16, ${cores} cores`);
  if (!torch) console.log('(PyTorch reference skipped: Debian\'s python3-torch is not installed; pass --install-torch to install it)');
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
      const big = Boolean(shape.overrides.imageSize);
      if (name === 'cpu' && big) continue; // minutes per step
      const n = name === 'cpu' ? Math.min(steps, 2) : big ? Math.max(3, Math.round(steps / 4)) : steps;
      const threadCounts = name === 'wasm' || name === 'cpu' ? [...new Set([1, cores])] : [1];
      let best = 0;
      for (const t of threadCounts) best = Math.max(best, (await benchShape(shape, n, batch, name as 'wasm', t)).imagesPerSec);
      if (torch && name !== 'cpu') {
        const ref = Math.max(...[...new Set([1, cores])].map((t) => torchReference(shape, batch, t, n) ?? 0));
        if (ref > 0) console.log(`    ours / PyTorch (best of each): ${(best / ref).toFixed(2)}`);
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
