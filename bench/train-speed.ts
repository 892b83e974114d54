// Training speed benchmark (not a test): images/s, ms per step by kernel, peak RSS
// and tensor count for the default net and a larger face-sized one, per backend.
//   npm run bench                # every backend that loads here (cpu only with --with-cpu)
//   node --single-threaded --import tsx bench/train-speed.ts --steps 30 --repeat 5 --backends wasm
// (--single-threaded as the extension starts the trainer: see src/core/runtime.ts.)
// Each configuration runs --repeat times, ours and PyTorch's interleaved; the
// ratio is reported for the best and the median run of each (this machine's
// timings vary by 10-30% from run to run).

import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, resolveConfig, type RunConfig } from '../src/shared/config';
import { initBackend } from '../src/trainer/backend/select';
import { syntheticDataset } from '../src/trainer/data/synthetic';
import { buildNet, countParameters } from '../src/trainer/net/model';
import { makeOptimizer } from '../src/trainer/train/optimizer';
import { consoleToStderr } from '../src/trainer/quiet';
import { LocalStep, ParallelStep, type StepRunner } from '../src/trainer/train/step';
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

/** Untimed steps first: kernel setup, optimizer slots, and V8 tiering the wasm code up to its optimizing compiler. */
const warmupFor = (shape: Shape) => (shape.overrides.imageSize ? 3 : 10);

async function benchShape(shape: Shape, steps: number, batch: number, backend: 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu', threads: number, details: boolean): Promise<number> {
  const config = configFor(shape, batch);
  const data = await syntheticDataset(config);
  const classes = data.train.classNames.length;
  const net = buildNet(config, classes);
  const optimizer = makeOptimizer(config, net, Math.ceil(data.train.count / config.batchSize));
  const runner: StepRunner = threads > 1 ? await ParallelStep.create(net, optimizer, config, classes, backend, threads, WORKER) : new LocalStep(net, optimizer, config);
  const idx = Array.from({ length: batch }, (_, i) => i % data.train.count);
  const pixels = await data.train.batch(idx);
  const labels = Int32Array.from(idx, (i) => data.train.labels[i]);
  const step = () => runner.step(pixels.slice(), labels.slice());
  for (let i = 0; i < warmupFor(shape); i++) await step();
  const tensors = tf.memory().numTensors;
  let peak = process.memoryUsage().rss;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    await step();
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = (performance.now() - t0) / steps;
  if (details) {
    console.log(`    ${countParameters(net.train).toLocaleString('en-US')} parameters, batch ${batch}; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (this thread), tensors ${tensors} -> ${tf.memory().numTensors} after ${steps} steps`);
    if (threads === 1) {
      const profile = await tf.profile(async () => {
        await step();
      });
      const byKernel = new Map<string, number>();
      for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
      const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
      console.log(`    ms by kernel (one profiled step, 1 thread): ${top.map(([k, t]) => `${k} ${t.toFixed(1)}`).join(', ')}`);
    }
  }
  await runner.dispose();
  net.train.dispose();
  optimizer.dispose();
  return (batch * 1000) / ms;
}

/** Best and median of repeated measurements, as text. */
function summary(label: string, rates: number[], batch: number): string {
  const best = Math.max(...rates);
  return `    ${label}: best ${best.toFixed(0)} images/s (${((batch * 1000) / best).toFixed(1)} ms/step), median ${median(rates).toFixed(0)} of ${rates.length} runs`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Best single run, and the median at the thread count whose median is highest. */
function headline(runs: Map<number, number[]>): { best: number; median: number } {
  const all = [...runs.values()];
  return { best: Math.max(...all.flat()), median: Math.max(...all.map(median)) };
}

let torchVersion = '';

/** The same net in PyTorch (Debian's python3-torch), when installed; --install-torch installs it. */
function torchReference(shape: Shape, batch: number, threads: number, steps: number): number | undefined {
  const py = '/usr/bin/python3';
  const o = { imageSize: 32, width: 16, embeddingSize: 64, ...shape.overrides } as Record<string, number>;
  const r = spawnSync(py, [path.join(ROOT, 'bench', 'torch_reference.py'), '--size', String(o.imageSize), '--width', String(o.width), '--embedding', String(o.embeddingSize), '--classes', '64', '--batch', String(batch), '--threads', String(threads), '--steps', String(steps), '--warmup', String(warmupFor(shape))], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const line = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  torchVersion = line.torch;
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
      steps: { type: 'string', default: '40' },
      repeat: { type: 'string', default: '3' },
      batch: { type: 'string', default: String(DEFAULT_CONFIG.batchSize) },
      backends: { type: 'string' },
      'with-cpu': { type: 'boolean' },
      'install-torch': { type: 'boolean' },
    },
  });
  const steps = Number(values.steps);
  const repeat = Math.max(1, Number(values.repeat));
  const batch = Number(values.batch);
  const cores = cpus().length;
  const wanted = values.backends?.split(',') ?? ['tensorflow-gpu', 'tensorflow', 'wasm', ...(values['with-cpu'] ? ['cpu'] : [])];
  const torch = hasTorch(Boolean(values['install-torch']));
  console.log(`L2-Softmax Lab training benchmark: untimed warm-up steps first (the same on both sides), Adam, L2-softmax alpha 16, ${cores} cores`);
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
      const reps = name === 'cpu' ? 1 : repeat;
      const threadCounts = name === 'wasm' || name === 'cpu' ? [...new Set([1, cores])] : [1];
      console.log(`\n  ${shape.name}, ${warmupFor(shape)} warm-up + ${n} timed steps, ${reps} run(s) per thread count`);
      const ours = new Map<number, number[]>();
      const theirs = new Map<number, number[]>();
      for (const t of threadCounts) {
        // Ours and PyTorch's runs interleaved, so both see the same machine weather.
        const mine: number[] = [];
        const ref: number[] = [];
        for (let r = 0; r < reps; r++) {
          mine.push(await benchShape(shape, n, batch, name as 'wasm', t, r === 0 && t === threadCounts[0]));
          if (torch && name !== 'cpu') {
            const x = torchReference(shape, batch, t, n);
            if (x) ref.push(x);
          }
        }
        console.log(summary(`ours, ${t} thread(s)`, mine, batch));
        if (ref.length) console.log(summary(`PyTorch ${torchVersion}, ${t} thread(s)`, ref, batch));
        ours.set(t, mine);
        if (ref.length) theirs.set(t, ref);
      }
      if (theirs.size) {
        const [a, b] = [headline(ours), headline(theirs)];
        console.log(`    ours / PyTorch, each at its fastest thread count: ${(a.best / b.best).toFixed(2)} (best runs), ${(a.median / b.median).toFixed(2)} (medians)`);
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
