// `node dist/cli.js gpu-check` (npm run gpu-check; the extension's "Check GPU Setup"):
// what GPU training can use on this machine, from what is already here (it installs
// and downloads nothing): the adapters Dawn (WebGPU) sees with the Vulkan loader and
// drivers behind them, whether tfjs-node-gpu loads and why not (CUDA 11.2's
// libcudart.so.11.0, cuDNN 8's libcudnn.so.8), then a timed training benchmark on
// each GPU backend that works and on wasm, images/s side by side. Each benchmark
// runs in a process of its own (gpu-bench.ts), so one backend's native libraries
// and device memory never touch the next.

import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { EXIT } from '../trainer/session';
import { plural } from '../shared/format';
import { BENCH_BACKENDS, BENCH_WORKLOAD, benchBackend, type BenchBackend, type BenchResult } from './gpu-bench';
import { cudaAdvice, gatherCudaFacts } from '../core/cuda-check';
import { VULKAN_LOADER, dawnAdapters, dawnDir, vulkanDrivers, vulkanLoader } from './gpu-probe';
import { adapterLine } from '../trainer/backend/webgpu';
import { UsageError, joinNegativeValues, usageErrorText } from './args';

export const GPU_CHECK_USAGE = `Usage: node dist/cli.js gpu-check [--seconds N] [--no-bench]

Tells which GPU backends can train here and how fast: the WebGPU adapters Dawn
sees (and the Vulkan loader and drivers behind them on Linux), whether
@tensorflow/tfjs-node-gpu loads (it needs CUDA 11.2 and cuDNN 8.1), then a
training benchmark of N seconds (default 30) on each usable GPU backend and on
the WebAssembly CPU backend. Needs no network and installs nothing.

Options:
  --seconds N   timed seconds per backend, after warm-up (default 30)
  --no-bench    only the checks, no benchmark
  -h, --help    this help`;

const DEFAULT_SECONDS = 30;
/** Startup, warm-up (a first run on Hopper may JIT-compile PTX for minutes) and teardown on top of the timed seconds. */
const BENCH_GRACE_SECONDS = 600;

const out = (line = '') => process.stdout.write(`${line}\n`);

const GPU_CHECK_OPTIONS = { seconds: { type: 'string' }, 'no-bench': { type: 'boolean' }, bench: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export async function gpuCheckMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: joinNegativeValues(argv, GPU_CHECK_OPTIONS), options: GPU_CHECK_OPTIONS, strict: true }));
  } catch (err) {
    process.stderr.write(usageErrorText('gpu-check', argv, (err as Error).message, GPU_CHECK_USAGE));
    return EXIT.usage;
  }
  if (values.help) {
    out(GPU_CHECK_USAGE);
    return EXIT.completed;
  }
  try {
    const seconds = parseSeconds(values.seconds);
    if (values.bench) return await benchChild(values.bench, seconds);
    await report(seconds, !values['no-bench']);
    return EXIT.completed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('gpu-check', argv, err.message, GPU_CHECK_USAGE));
    return EXIT.usage;
  }
}

function parseSeconds(text: string | undefined): number {
  const seconds = text === undefined ? DEFAULT_SECONDS : Number(text);
  if (!(seconds > 0 && seconds <= 3600)) throw new UsageError(`--seconds ${text}: a number of seconds from 1 to 3600`);
  return seconds;
}

/** The child side: one backend's benchmark, its result as the last line of stdout. */
async function benchChild(name: string, seconds: number): Promise<number> {
  if (!(BENCH_BACKENDS as readonly string[]).includes(name)) throw new UsageError(`--bench ${name}: one of ${BENCH_BACKENDS.join(', ')}`);
  const result = await benchBackend(name as BenchBackend, seconds);
  out(JSON.stringify(result));
  return EXIT.completed;
}

async function report(seconds: number, bench: boolean): Promise<void> {
  out(`GPU check: Node ${process.version} on ${process.platform}-${process.arch}`);
  const webgpu = await reportWebGpu();
  reportCuda();
  if (!bench) return;
  out();
  out(`Training benchmark: ${BENCH_WORKLOAD}; ${seconds} s timed per backend after warm-up steps`);
  const results: { name: BenchBackend; result: BenchResult }[] = [];
  for (const name of BENCH_BACKENDS) {
    if (name === 'webgpu' && !webgpu) continue;
    out(`  ${name}: running...`);
    const result = await runBenchChild(name, seconds);
    results.push({ name, result });
    out(`  ${name}: ${result.ok ? `${result.imagesPerSec.toFixed(0)} images/s` : `not usable: ${result.reason}`}`);
  }
  out();
  printTable(results);
}

/** Dawn's adapters and, on Linux, the Vulkan loader and drivers; true when some adapter can be benchmarked. */
async function reportWebGpu(): Promise<boolean> {
  out();
  out('WebGPU (Dawn, the webgpu package; any vendor through Vulkan, Metal or D3D12)');
  const dir = dawnDir();
  out(`  dawn.node: ${dir ? dir : 'the webgpu package is not installed (npm install webgpu)'}`);
  if (process.platform === 'linux') {
    const loader = vulkanLoader();
    out(`  Vulkan loader ${VULKAN_LOADER}: ${loader ?? 'not found (Debian/Ubuntu: libvulkan1; or copy the file next to dawn.node or the node binary)'}`);
    const drivers = vulkanDrivers();
    out(`  Vulkan drivers: ${drivers.length ? drivers.join(', ') : 'none (NVIDIA: the driver installs nvidia_icd.json; in a container set NVIDIA_DRIVER_CAPABILITIES to include graphics)'}`);
  }
  const { error, adapters } = await dawnAdapters();
  if (error) {
    out(`  not usable: ${error}`);
    return false;
  }
  if (!adapters.length) out('  adapters: none');
  for (const a of adapters) out(`  adapter ${a.backend ? `${a.backend} ` : ''}"${a.name}": ${a.adapter ? adapterLine(a.adapter) : 'could not be opened'}`);
  const usable = adapters.filter((a) => a.adapter);
  if (usable.length && usable.every((a) => !a.adapter?.hardware)) out('  only software adapters: device "webgpu" uses them (for tests); "auto" and "gpu" do not');
  return usable.length > 0;
}

/** The NVIDIA driver, tfjs-node-gpu and the CUDA 11.2 / cuDNN 8 libraries it needs: whether each loads, from where, and what to install otherwise. */
function reportCuda(): void {
  out();
  out('tfjs-node-gpu (TensorFlow 2.9.1: NVIDIA only, CUDA 11.2 and cuDNN 8.1)');
  for (const line of cudaAdvice(gatherCudaFacts(__dirname))) out(`  ${line}`);
}

/** Runs `gpu-check --bench NAME` in a child process of this same Node and CLI; its last stdout line is the result. */
function runBenchChild(name: BenchBackend, seconds: number): Promise<BenchResult> {
  const args = [...process.execArgv, process.argv[1], 'gpu-check', '--bench', name, '--seconds', String(seconds)];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: (seconds + BENCH_GRACE_SECONDS) * 1000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ ok: false, reason: err.message, log: [] }));
    child.on('close', (code, signal) => resolve(parseResult(stdout, stderr, signal ? `killed by ${signal}` : `exit code ${code}`)));
  });
}

function parseResult(stdout: string, stderr: string, ended: string): BenchResult {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as BenchResult;
  } catch {
    const last = stderr.trim().split('\n').filter((l) => !/artificially reduced/.test(l)).pop();
    return { ok: false, reason: `the benchmark process ended without a result (${ended}${last ? `: ${last}` : ''})`, log: [] };
  }
}

function printTable(results: { name: BenchBackend; result: BenchResult }[]): void {
  const rows = results.map(({ name, result }) =>
    result.ok ? [name, onWhat(result), result.imagesPerSec.toFixed(0), result.msPerStep.toFixed(1), String(result.steps)] : [name, 'not usable', '-', '-', '-'],
  );
  const header = ['backend', 'on', 'images/s', 'ms/step', 'steps'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')}`;
  out(line(header));
  rows.forEach((r) => out(line(r)));
}

function onWhat(result: Extract<BenchResult, { ok: true }>): string {
  const { backend } = result;
  if (backend.adapter) return `${backend.adapter.description || backend.adapter.device} (${backend.adapter.hardware ? 'hardware' : 'software'})`;
  if (backend.gpu) return backend.gpuName ?? 'GPU';
  return `CPU, ${plural(result.threads, 'thread')}`;
}
