// A run's chart data, held here (not inside Chart.js) so live points append in
// O(1): every step series raw and smoothed (one smoothing weight for all), the
// per-epoch points, alpha_low, the x of each point in the chosen unit (steps,
// epochs, or wall time since the first step), and the system samples against
// wall time. Pure: unit-tested in Node.

import type { RunSnapshot } from '../src/shared/dashboard';
import type { EpochEvent } from '../src/shared/events';
import { formatDuration } from '../src/shared/format';
import type { AxisSpec } from './charts';
import { Ema, type Point } from './model';

/** What the step charts' x axis counts. */
export type XMode = 'step' | 'epoch' | 'time';
export const X_MODES: readonly XMode[] = ['step', 'epoch', 'time'];
export const X_LABELS: Readonly<Record<XMode, string>> = { step: 'step', epoch: 'epoch', time: 'wall time' };

/** The smoothing the dashboards open with (TensorBoard's default). */
export const DEFAULT_SMOOTHING = 0.9;

/** The x axis of the step charts in a unit. */
export function xAxisSpec(mode: XMode): AxisSpec {
  return mode === 'time' ? { title: 'wall time since the first step', duration: true } : { title: mode };
}

/** The x of a run's step point `i` in a unit: its step, its (fractional) epoch, or the seconds since its first step. */
export function stepX(run: RunSnapshot, i: number, mode: XMode): number {
  const st = run.steps;
  const perEpoch = run.started?.stepsPerEpoch ?? 0;
  if (mode === 'epoch') return perEpoch ? st.step[i] / perEpoch : st.epoch[i];
  if (mode === 'time') return ((st.time[i] ?? st.time[0]) - (st.time[0] ?? 0)) / 1000;
  return st.step[i];
}

/** A run's smoothed loss against x in a unit (the comparison's loss curves). */
export function smoothedLoss(run: RunSnapshot, weight: number, mode: XMode): Point[] {
  const ema = new Ema(weight);
  return run.steps.loss.map((y, i) => ({ x: stepX(run, i, mode), y: ema.next(y) }));
}

const MB = 1e6;
/** nvidia-smi reports MiB. */
const MIB = 1024 * 1024;

/** A step series and its smoothed copy. */
class Smoothed {
  readonly raw: Point[] = [];
  readonly smooth: Point[] = [];
  private ema: Ema;

  constructor(weight: number) {
    this.ema = new Ema(weight);
  }

  push(x: number, y: number): void {
    this.raw.push({ x, y });
    this.smooth.push({ x, y: this.ema.next(y) });
  }

  clear(weight: number): void {
    this.raw.length = 0;
    this.smooth.length = 0;
    this.ema = new Ema(weight);
  }
}

export class RunSeries {
  readonly loss: Smoothed;
  readonly accuracy: Smoothed;
  readonly alpha: Smoothed;
  readonly normMean: Smoothed;
  readonly throughput: Smoothed;
  readonly normMin: Point[] = [];
  readonly normMax: Point[] = [];
  readonly epochLoss: Point[] = [];
  readonly epochAccuracy: Point[] = [];
  readonly validation: Point[] = [];
  readonly alphaLow: Point[] = [];
  readonly verification: Point[] = [];
  readonly verificationLo: Point[] = [];
  readonly verificationHi: Point[] = [];
  /** System samples against seconds since the first step: CPU (percent of one core, and of the machine), GPU utilization (percent), memory (MB). */
  readonly cpu: Point[] = [];
  readonly systemCpu: Point[] = [];
  readonly gpuUtilization: Point[] = [];
  readonly rss: Point[] = [];
  readonly gpuMemory: Point[] = [];

  constructor(
    private readonly run: RunSnapshot,
    private weight = DEFAULT_SMOOTHING,
    private mode: XMode = 'step',
  ) {
    this.loss = new Smoothed(weight);
    this.accuracy = new Smoothed(weight);
    this.alpha = new Smoothed(weight);
    this.normMean = new Smoothed(weight);
    this.throughput = new Smoothed(weight);
    this.rebuild();
  }

  get smoothing(): number {
    return this.weight;
  }

  get xMode(): XMode {
    return this.mode;
  }

  /** Recomputes every point (after the smoothing or the x unit changed, or the history was thinned). */
  rebuild(weight = this.weight, mode = this.mode): void {
    this.weight = weight;
    this.mode = mode;
    for (const s of [this.loss, this.accuracy, this.alpha, this.normMean, this.throughput]) s.clear(weight);
    for (const a of [this.normMin, this.normMax, this.epochLoss, this.epochAccuracy, this.validation, this.verification, this.verificationLo, this.verificationHi]) a.length = 0;
    for (let i = 0; i < this.run.steps.step.length; i++) this.pushStep(i);
    for (const e of this.run.epochs) this.pushEpoch(e);
    this.updateAlphaLow();
    this.rebuildSystem();
  }

  /** Recomputes the system points (the wall-time origin moves when the first step arrives). */
  rebuildSystem(): void {
    for (const a of [this.cpu, this.systemCpu, this.gpuUtilization, this.rss, this.gpuMemory]) a.length = 0;
    for (let i = 0; i < (this.run.system?.time.length ?? 0); i++) this.pushSystem(i);
  }

  /** Adds system sample `i` of the run's samples. */
  pushSystem(i: number): void {
    const s = this.run.system;
    if (!s) return;
    const origin = this.run.steps.time[0] ?? s.time[0];
    const x = (s.time[i] - origin) / 1000;
    this.cpu.push({ x, y: s.cpu[i] });
    this.systemCpu.push({ x, y: s.systemCpu[i] });
    this.rss.push({ x, y: s.rss[i] / MB });
    const util = s.gpuUtilization[i];
    const memory = s.gpuMemory[i];
    if (util !== null && util !== undefined) this.gpuUtilization.push({ x, y: util });
    if (memory !== null && memory !== undefined) this.gpuMemory.push({ x, y: (memory * MIB) / MB });
  }

  private get stepsPerEpoch(): number {
    return this.run.started?.stepsPerEpoch ?? 0;
  }
  /** The x of step point `i` in the current unit. */
  x(i: number): number {
    return stepX(this.run, i, this.mode);
  }

  /** The x where an epoch's numbers are drawn on the step charts: the end of that epoch. */
  private epochX(e: EpochEvent): number {
    if (this.mode === 'epoch') return e.epoch;
    if (this.mode === 'time') return (e.time - (this.run.steps.time[0] ?? e.time)) / 1000;
    const lastStep = this.run.steps.step[this.run.steps.step.length - 1] ?? e.epoch;
    return this.stepsPerEpoch ? e.epoch * this.stepsPerEpoch : lastStep;
  }

  /** Adds step point `i` of the run's steps (the newest, for a live step). */
  pushStep(i: number): void {
    const st = this.run.steps;
    const x = this.x(i);
    this.loss.push(x, st.loss[i]);
    this.accuracy.push(x, st.accuracy[i]);
    const alpha = st.alpha[i];
    if (alpha !== null && alpha !== undefined) this.alpha.push(x, alpha);
    this.normMean.push(x, st.normMean[i]);
    this.throughput.push(x, st.imagesPerSec[i]);
    this.normMin.push({ x, y: st.normMin[i] });
    this.normMax.push({ x, y: st.normMax[i] });
  }

  pushEpoch(e: EpochEvent): void {
    const x = this.epochX(e);
    this.epochLoss.push({ x, y: e.trainLoss });
    this.epochAccuracy.push({ x, y: e.trainAccuracy });
    if (e.validation) this.validation.push({ x, y: e.validation.accuracy });
    this.verification.push({ x: e.epoch, y: e.verification.accuracy });
    this.verificationLo.push({ x: e.epoch, y: e.verification.accuracy - e.verification.accuracyStd });
    this.verificationHi.push({ x: e.epoch, y: e.verification.accuracy + e.verification.accuracyStd });
  }

  /** alpha_low (or s_low) as a line under the scale's whole curve. */
  updateAlphaLow(): void {
    const low = this.run.started?.alphaLow;
    const alpha = this.alpha.raw;
    this.alphaLow.length = 0;
    if (low === undefined || !alpha.length) return;
    this.alphaLow.push({ x: alpha[0].x, y: low }, { x: alpha[alpha.length - 1].x, y: low });
  }

  /** The step point nearest to `x` (the points are in x order). */
  nearest(x: number): number {
    const n = this.run.steps.step.length;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.x(mid) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && Math.abs(this.x(lo - 1) - x) < Math.abs(this.x(lo) - x) ? lo - 1 : lo;
  }

  /** A tooltip's title for a step chart: the step, its epoch and the wall time, whatever the x unit. */
  describe(x: number): string {
    const st = this.run.steps;
    if (!st.step.length) return '';
    const i = this.nearest(x);
    const elapsed = st.time.length ? ` · ${formatDuration((st.time[i] - st.time[0]) / 1000)} in` : '';
    return `step ${st.step[i].toLocaleString()} · epoch ${st.epoch[i]}${elapsed}`;
  }
}
