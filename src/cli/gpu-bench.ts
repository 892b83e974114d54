// The timed training benchmark of the GPU check, one backend per process
// (`node dist/cli.js gpu-check --bench NAME --seconds N`, started by gpu-check.ts):
// the default net (32x32x3 input, width 16, 64-d embedding, L2-softmax, Adam,
// batch 64) trained on one fixed random batch, untimed warm-up steps first (shader
// compilation, kernel setup), then as many steps as fit in N seconds. Prints one
// JSON line (BenchResult) on stdout.

import { resolveConfig, type DeviceKind } from '../shared/config';
import type { BackendInfo } from '../shared/events';
import { initBackend, releaseBackend } from '../trainer/backend/select';
import { buildNet } from '../trainer/net/model';
import { makeOptimizer } from '../trainer/train/optimizer';
import { LocalStep, ParallelStep, defaultWorkerScript, workerCount, type StepRunner } from '../trainer/train/step';

/** The backends the check benchmarks: each GPU backend, and the CPU one every machine has. */
export const BENCH_BACKENDS = ['tensorflow-gpu', 'webgpu', 'wasm'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/** The device setting that selects each backend (L2SOFTMAX_BACKENDS keeps the others out). */
const DEVICE: Record<BenchBackend, DeviceKind> = { 'tensorflow-gpu': 'gpu', webgpu: 'webgpu', wasm: 'cpu' };
const BATCH = 64;
const CLASSES = 64;
/** Enough for the first step's shader compilation (or PTX JIT) to be out of the timing. */
const WARMUP_STEPS = 3;
const MIN_TIMED_STEPS = 2;

export type BenchResult =
  | { ok: true; backend: BackendInfo; imagesPerSec: number; msPerStep: number; steps: number; threads: number; seconds: number }
  | { ok: false; reason: string; log: string[] };

export const BENCH_WORKLOAD = `32x32x3 input, width 16, 64-d embedding, L2-softmax, Adam, batch ${BATCH}`;

/** Runs the benchmark on `name` for about `seconds` (after warm-up); never throws. */
export async function benchBackend(name: BenchBackend, seconds: number): Promise<BenchResult> {
  const log: string[] = [];
  process.env.L2SOFTMAX_BACKENDS = name;
  let backend: BackendInfo;
  try {
    backend = await initBackend(DEVICE[name], { info: (m) => log.push(m), warn: (_c, m) => log.push(m) });
  } catch (err) {
    // The backend's own log line says why (a missing library); the error adds what to install.
    return { ok: false, reason: log.length ? log.join('; ') : (err as Error).message, log };
  }
  if (backend.name !== name) return { ok: false, reason: `${backend.description}`, log };
  if (name === 'tensorflow-gpu' && !backend.gpu) return { ok: false, reason: backend.description, log };
  try {
    return await timeSteps(backend, seconds);
  } catch (err) {
    return { ok: false, reason: `training failed: ${(err as Error).message}`, log };
  } finally {
    await releaseBackend();
  }
}

async function timeSteps(backend: BackendInfo, seconds: number): Promise<BenchResult> {
  const resolved = resolveConfig({ batchSize: BATCH });
  if (!resolved.ok) throw new Error('the default config does not resolve');
  const config = resolved.config;
  const net = buildNet(config, CLASSES);
  const optimizer = makeOptimizer(config, net, 1);
  const threads = workerCount(0, backend.name);
  const runner: StepRunner = threads > 1 ? await ParallelStep.create(net, optimizer, config, CLASSES, backend.name, threads, defaultWorkerScript()) : new LocalStep(net, optimizer, config);
  const pixels = Float32Array.from({ length: BATCH * config.imageSize * config.imageSize * config.channels }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
  const labels = Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES);
  const step = () => runner.step(pixels.slice(), labels.slice());
  try {
    for (let i = 0; i < WARMUP_STEPS; i++) await step();
    const t0 = performance.now();
    let steps = 0;
    while (steps < MIN_TIMED_STEPS || performance.now() - t0 < seconds * 1000) {
      await step();
      steps++;
    }
    const ms = (performance.now() - t0) / steps;
    return { ok: true, backend, imagesPerSec: (BATCH * 1000) / ms, msPerStep: ms, steps, threads, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await runner.dispose();
    net.train.dispose();
    optimizer.dispose();
  }
}
