// A run's `system` samples in columns, as the dashboard draws them (CPU, memory,
// GPU over wall time), bounded: a long run's samples are halved when full, so
// the curves keep their shape.

import type { GpuSample, SystemEvent } from './events';

/** Samples a snapshot keeps at most: 5,000 samples at one per 5 s is about 7 hours before thinning. */
export const MAX_SYSTEM_POINTS = 5000;

export interface SystemSeries {
  /** ms since the epoch. */
  time: number[];
  /** The trainer's CPU use, percent of one core. */
  cpu: number[];
  /** The machine's CPU use, percent of all cores. */
  systemCpu: number[];
  /** The trainer's resident memory, bytes. */
  rss: number[];
  /** NVIDIA GPUs: mean utilization (percent), memory used and total (MiB, summed over GPUs); null without GPUs. */
  gpuUtilization: (number | null)[];
  gpuMemory: (number | null)[];
  gpuMemoryTotal: (number | null)[];
}

export function emptySystem(): SystemSeries {
  return { time: [], cpu: [], systemCpu: [], rss: [], gpuUtilization: [], gpuMemory: [], gpuMemoryTotal: [] };
}

/** Mean utilization and summed memory of the GPUs of a sample; nulls when there are none (or none say). */
export function gpuTotals(gpus: GpuSample[] | undefined): { utilization: number | null; memory: number | null; total: number | null } {
  const known = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  const util = known((gpus ?? []).map((g) => g.utilization));
  const used = known((gpus ?? []).map((g) => g.memoryUsed));
  const total = known((gpus ?? []).map((g) => g.memoryTotal));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { utilization: util.length ? sum(util) / util.length : null, memory: used.length ? sum(used) : null, total: total.length ? sum(total) : null };
}

const columns = (s: SystemSeries): unknown[][] => Object.values(s);

/** Appends a sample; a full series first keeps every second sample (the newest always stays). */
export function pushSystem(series: SystemSeries, e: SystemEvent, max = MAX_SYSTEM_POINTS): void {
  if (series.time.length >= max) {
    for (const c of columns(series)) {
      let j = 0;
      for (let i = 0; i < c.length; i += 2) c[j++] = c[i];
      c.length = j;
    }
  }
  const gpu = gpuTotals(e.gpus);
  series.time.push(e.time);
  series.cpu.push(e.cpu);
  series.systemCpu.push(e.systemCpu);
  series.rss.push(e.rss);
  series.gpuUtilization.push(gpu.utilization);
  series.gpuMemory.push(gpu.memory);
  series.gpuMemoryTotal.push(gpu.total);
}

export function copySystem(s: SystemSeries): SystemSeries {
  return Object.fromEntries(Object.entries(s).map(([k, c]) => [k, c.slice()])) as unknown as SystemSeries;
}
