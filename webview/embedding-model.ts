// Pure helpers of the "Inside the embedding" views (no DOM, no Chart.js):
// histograms as stepped lines, threshold markers, the colour of an identity,
// and the texts the views print. Unit-tested in Node.

import { FAR_TARGETS, type BucketResult, type Correlation } from '../src/shared/events';
import { pct } from '../src/shared/format';
import type { Histogram, OperatingPoint } from '../src/shared/insight';
import type { Point } from './model';

/** A histogram as the points of a line stepped 'after': one per bin at its left edge, and the last bin's height again at the right edge. Heights are shares of the total (each third, or each kind of pair, sums to 1) so sets of different sizes compare. */
export function histogramPoints(h: Histogram): Point[] {
  const total = h.counts.reduce((a, b) => a + b, 0) || 1;
  const out = h.counts.map((c, k) => ({ x: h.edges[k], y: c / total }));
  if (h.counts.length) out.push({ x: h.edges[h.edges.length - 1], y: h.counts[h.counts.length - 1] / total });
  return out;
}

/** A vertical marker at x, from 0 to `top`. */
export function verticalLine(x: number, top: number): Point[] {
  return [
    { x, y: 0 },
    { x, y: top },
  ];
}

/** The highest point of some point lists (a marker's height). */
export function topOf(...lists: Point[][]): number {
  let top = 0;
  for (const l of lists) for (const p of l) if (p.y > top) top = p.y;
  return top || 1;
}

/** The mean of some values; NaN for none. */
export function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

/** Identity colours: golden-angle hues, so neighbouring identity numbers differ. */
export function identityColor(identity: number, alpha = 0.85): string {
  return `hsla(${Math.round((identity * 137.508) % 360)}, 65%, 55%, ${alpha})`;
}

/** Quality from red (0) to green (1). */
export function qualityColor(quality: number, alpha = 0.85): string {
  const q = Math.max(0, Math.min(1, quality));
  return `hsla(${Math.round(q * 120)}, 70%, 48%, ${alpha})`;
}

/** "r = 0.41, ρ = 0.38" ("–" for an undefined one). */
export function correlationText(c: { pearson: number | null; spearman: number | null } | Correlation | null | undefined): string {
  const f = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(2));
  return c ? `r = ${f(c.pearson)}, ρ = ${f(c.spearman)}` : 'r = –';
}

/** Rows of the per-bucket table: bucket, pairs (matched), accuracy, TAR, FAR. */
export function bucketRows(buckets: BucketResult[]): string[][] {
  return buckets.map((b) => [b.bucket, `${b.pairs.toLocaleString()} (${b.matched.toLocaleString()} matched)`, pct(b.accuracy, 1), pct(b.tar, 1), pct(b.far, 1)]);
}

/** The operating points the gallery offers, as select options: the 10-fold thresholds, then each FAR target's, loosest first. */
export const OPERATING_POINTS: { label: string; value: OperatingPoint }[] = [
  { label: '10-fold thresholds (each pair at its fold\'s)', value: { kind: 'tenfold' } },
  ...[...FAR_TARGETS].reverse().map((far) => ({ label: `TAR@FAR=${far.toExponential()} threshold`, value: { kind: 'far', far } as OperatingPoint })),
];

export function operatingKey(o: OperatingPoint): string {
  return o.kind === 'tenfold' ? 'tenfold' : `far:${o.far}`;
}
