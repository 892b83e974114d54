// Small formatting and statistics helpers shared by the CLI, the host and the webview.

import type { ProtocolOverlap, Verification } from './events';

export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`;

/** "1 epoch", "3 epochs", "0 epochs"; `plural` for a word that does not just add "s" ("2 identities"). */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

/** m:ss or h:mm:ss; "–" when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

/** Mismatched pairs a FAR target needs to be measurable: one false accept among them must not exceed it. */
export function mismatchedNeeded(far: number): number {
  return Math.ceil(1 / far - 1e-9);
}

/**
 * Whether a verification can measure TAR at `far`: with N mismatched pairs a
 * target below 1/N is met only by accepting no mismatched pair at all, so its
 * TAR says nothing about the target. Unknown (older events) counts as measurable.
 */
export function tarMeasurable(v: Verification, far: number): boolean {
  return v.mismatched === undefined || v.mismatched >= mismatchedNeeded(far);
}

/** The TAR a verification reports at one of its target FARs; undefined when it has none there or cannot measure it. */
export function tarAtFar(v: Verification | null | undefined, far: number): number | undefined {
  if (!v || !tarMeasurable(v, far)) return undefined;
  return v.tarAtFar.find((t) => Math.abs(t.far - far) < far * 1e-6)?.tar;
}

/** TAR at `far` for people: a percentage, or "n/a (needs N mismatched pairs)" where it cannot be measured. */
export function tarText(v: Verification | null | undefined, far: number, digits = 1): string {
  if (v && !tarMeasurable(v, far)) return `n/a (needs ${mismatchedNeeded(far).toLocaleString('en-US')} mismatched pairs)`;
  return pct(tarAtFar(v, far), digits);
}

/** The protocol check's finding in a line (run header, CLI); undefined for runs from before the check. */
export function protocolText(o: ProtocolOverlap | undefined): string | undefined {
  if (!o) return undefined;
  const by = o.by === 'file' ? 'file content' : 'pixels';
  if (!o.identities && !o.images) return `no identity (by name) or image (by ${by}) shared by training and verification`;
  return `training and verification share ${o.identities} identities (by name) and ${o.images} images (by ${by}): the verification numbers are inflated (${o.examples.join('; ')})`;
}

/** Seconds left at the current throughput; undefined when the rate is unknown. */
export function secondsLeft(step: number, totalSteps: number, batchSize: number, imagesPerSec: number | null | undefined): number | undefined {
  if (!imagesPerSec || !(imagesPerSec > 0)) return undefined;
  return (Math.max(totalSteps - step, 0) * batchSize) / imagesPerSec;
}

export function median(values: number[]): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Smallest and largest value, 0 for both when there are none. A loop, not
 * Math.min(...values): spreading an array into arguments overflows the stack
 * past about 125,000 values (one count per identity of a large dataset).
 */
export function minMax(values: ArrayLike<number>): { min: number; max: number } {
  if (!values.length) return { min: 0, max: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  return { min, max };
}

/** Images per identity and the like: min, median and max, 0s when empty. */
export function minMedianMax(values: number[]): { min: number; median: number; max: number } {
  const { min, max } = minMax(values);
  return { min, median: median(values), max };
}
