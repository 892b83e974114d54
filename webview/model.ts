// Pure data helpers of the dashboard (no DOM, no Chart.js), unit-tested in Node.

import { getField, CONFIG_FIELDS, type RunConfig } from '../src/shared/config';
import type { RunSnapshot } from '../src/shared/dashboard';
import type { EpochEvent, Verification } from '../src/shared/events';
import { secondsLeft } from '../src/shared/format';

export interface Point {
  x: number;
  y: number;
}

/** TensorBoard-style exponential moving average, debiased so the first points are not pulled to 0. */
export class Ema {
  private last = 0;
  private n = 0;
  constructor(readonly weight: number) {}

  next(value: number): number {
    if (!Number.isFinite(value)) return NaN;
    this.n++;
    this.last = this.last * this.weight + (1 - this.weight) * value;
    return this.weight === 0 ? value : this.last / (1 - this.weight ** this.n);
  }
}

export function smooth(xs: number[], ys: number[], weight: number): Point[] {
  const ema = new Ema(weight);
  return ys.map((y, i) => ({ x: xs[i], y: ema.next(y) }));
}

export function points(xs: number[], ys: (number | null)[]): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y !== null && Number.isFinite(y)) out.push({ x: xs[i], y });
  }
  return out;
}

export function bestEpoch(epochs: EpochEvent[]): EpochEvent | undefined {
  let best: EpochEvent | undefined;
  for (const e of epochs) if (!best || e.verification.accuracy > best.verification.accuracy) best = e;
  return best;
}

/** Seconds left from the latest throughput; undefined when unknown or finished. */
export function etaSeconds(run: RunSnapshot): number | undefined {
  if (run.status !== 'running' || !run.started) return undefined;
  const n = run.steps.step.length;
  if (!n) return undefined;
  return secondsLeft(run.steps.step[n - 1], run.started.stepsPerEpoch * run.config.epochs, run.config.batchSize, run.steps.imagesPerSec[n - 1]);
}

export { formatDuration, pct, tarAtFar as tarAt } from '../src/shared/format';

/** The config fields whose values differ between runs (for the comparison view). */
export function configDiff(configs: RunConfig[]): { field: string; values: string[] }[] {
  const out: { field: string; values: string[] }[] = [];
  for (const field of CONFIG_FIELDS) {
    const values = configs.map((c) => {
      const v = getField(c, field);
      return v === '' ? '(empty)' : v === undefined ? '–' : String(v);
    });
    if (new Set(values).size > 1) out.push({ field, values });
  }
  return out;
}

/** N visually distinct colours: the theme palette first, then golden-angle hues. */
export function distinctColors(n: number, palette: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i < palette.length) out.push(palette[i]);
    else out.push(`hsl(${Math.round((i * 137.508) % 360)}, 65%, 55%)`);
  }
  return out;
}

/** ROC points for a log-x chart: FAR > 0 only. */
export function rocPoints(v: Verification): Point[] {
  return v.roc.filter((p) => p.far > 0).map((p) => ({ x: p.far, y: p.tar }));
}
