// What the trainer costs the machine, as `system` events every SYSTEM_SAMPLE_MS:
// this process's CPU use (worker threads included), the whole machine's, the
// process's resident memory, and, where nvidia-smi runs, each NVIDIA GPU's
// utilization and memory. nvidia-smi is run asynchronously, never on the
// training path; where it is missing or finds no driver it is not asked again.

import * as os from 'node:os';
import { queryNvidiaSmi } from '../core/nvidia-smi';
import type { EventBody, GpuSample } from '../shared/events';

/** Often enough to see a trend in a run of minutes, rarely enough to cost nothing. */
export const SYSTEM_SAMPLE_MS = 5000;
/** The first sample comes sooner, so a short run has one too. */
const FIRST_SAMPLE_MS = 1000;

/** Busy and total CPU time of every core, ms. */
function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

export class SystemMonitor {
  private timer?: NodeJS.Timeout;
  private first?: NodeJS.Timeout;
  private lastCpu = process.cpuUsage();
  private lastWall = process.hrtime.bigint();
  private lastMachine = machineTimes();
  /** False once nvidia-smi said there is no usable NVIDIA GPU. */
  private askGpus = true;
  private sampling = false;

  constructor(
    private readonly emit: (body: EventBody) => void,
    private readonly intervalMs = SYSTEM_SAMPLE_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.first = setTimeout(() => void this.sample(), Math.min(FIRST_SAMPLE_MS, this.intervalMs));
    this.timer.unref();
    this.first.unref();
  }

  private async gpus(): Promise<GpuSample[] | undefined> {
    if (!this.askGpus) return undefined;
    const result = await queryNvidiaSmi();
    if (!result.ok) {
      // A driver that is missing or broken stays so for the run; a failed call may not.
      if (result.reason !== 'failed') this.askGpus = false;
      return undefined;
    }
    return result.gpus.map(({ index, name, utilization, memoryUsed, memoryTotal }) => ({ index, name, utilization, memoryUsed, memoryTotal }));
  }

  /** One sample since the previous one; a failed emit (the run folder) is the next event's to report. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const gpus = await this.gpus();
      const wall = process.hrtime.bigint();
      const cpu = process.cpuUsage(this.lastCpu);
      const machine = machineTimes();
      const wallUs = Number(wall - this.lastWall) / 1000;
      const body: EventBody = {
        type: 'system',
        cpu: wallUs > 0 ? (100 * (cpu.user + cpu.system)) / wallUs : 0,
        systemCpu: machine.total > this.lastMachine.total ? (100 * (machine.busy - this.lastMachine.busy)) / (machine.total - this.lastMachine.total) : 0,
        rss: process.memoryUsage.rss(),
        ...(gpus?.length ? { gpus } : {}),
      };
      this.lastCpu = process.cpuUsage();
      this.lastWall = wall;
      this.lastMachine = machine;
      if (this.timer) this.emit(body);
    } catch {
      // the next sample tries again
    } finally {
      this.sampling = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.first) clearTimeout(this.first);
    this.timer = this.first = undefined;
  }
}
