// nvidia-smi, asked and read: the GPUs with their utilization and memory (the
// trainer's system readouts, every few seconds) and the driver version (Check
// GPU Setup), parsed from `--query-gpu ... --format=csv` in either of its forms
// (with or without the header line and units), with its failures told apart:
// no driver installed, none running, no devices, a driver/library mismatch.

import { execFile } from 'node:child_process';

/** What is asked for, in this order. */
export const GPU_QUERY = ['index', 'name', 'utilization.gpu', 'memory.used', 'memory.total', 'driver_version'] as const;
export const NVIDIA_SMI_ARGS = [`--query-gpu=${GPU_QUERY.join(',')}`, '--format=csv,noheader,nounits'];
/** A hung driver must not hold a sample (or the GPU check) up. */
const NVIDIA_SMI_TIMEOUT_MS = 5000;

export interface NvidiaGpu {
  index: number;
  name: string;
  /** Percent busy over the last sample period; null where the driver says [N/A] (some MIG and vGPU setups). */
  utilization: number | null;
  /** MiB. */
  memoryUsed: number | null;
  memoryTotal: number | null;
  driver: string;
}

export type NvidiaSmiResult =
  | { ok: true; gpus: NvidiaGpu[] }
  | { ok: false; reason: 'not-installed' | 'no-driver' | 'no-devices' | 'driver-mismatch' | 'failed'; message: string };

/** A number from a CSV cell ("35", "35 %", "1024 MiB"); null for [N/A], [Not Supported] and the like. */
function cellNumber(cell: string | undefined): number | null {
  const m = /^\s*(-?\d+(?:\.\d+)?)/.exec(cell ?? '');
  return m ? Number(m[1]) : null;
}

/** Parses nvidia-smi's output for GPU_QUERY (stdout and stderr together), its exit code, or the error of starting it. */
export function parseNvidiaSmi(output: string, exitCode: number | null, startError?: NodeJS.ErrnoException): NvidiaSmiResult {
  if (startError?.code === 'ENOENT') return { ok: false, reason: 'not-installed', message: 'nvidia-smi is not installed: no NVIDIA driver on this machine' };
  const text = output.trim();
  if (/version mismatch/i.test(text)) return { ok: false, reason: 'driver-mismatch', message: firstLine(text) };
  if (/no devices were found/i.test(text)) return { ok: false, reason: 'no-devices', message: 'the NVIDIA driver is installed but sees no GPU' };
  if (/couldn't communicate with the NVIDIA driver|NVIDIA driver is not loaded|Failed to initialize NVML/i.test(text)) return { ok: false, reason: 'no-driver', message: firstLine(text) };
  if (startError || (exitCode !== 0 && exitCode !== null)) return { ok: false, reason: 'failed', message: firstLine(text) || startError?.message || `nvidia-smi exited with code ${exitCode}` };
  const gpus: NvidiaGpu[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < GPU_QUERY.length || cells[0] === 'index') continue;
    const index = cellNumber(cells[0]);
    if (index === null) continue;
    gpus.push({ index, name: cells[1], utilization: cellNumber(cells[2]), memoryUsed: cellNumber(cells[3]), memoryTotal: cellNumber(cells[4]), driver: cells[5] });
  }
  if (!gpus.length) return { ok: false, reason: 'no-devices', message: 'nvidia-smi listed no GPU' };
  return { ok: true, gpus };
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

/** Runs nvidia-smi once (without blocking the caller's thread). */
export function queryNvidiaSmi(): Promise<NvidiaSmiResult> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
      const startError = err && typeof (err as NodeJS.ErrnoException).code === 'string' ? (err as NodeJS.ErrnoException) : undefined;
      resolve(parseNvidiaSmi(`${stdout ?? ''}\n${stderr ?? ''}`, code, startError));
    });
  });
}
