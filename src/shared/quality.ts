// Image quality as the run records it (docs/run-format.md, "Records"): the
// degradations a synthetic face can carry, the quality thirds the norm-vs-quality
// view and the per-bucket metrics use, and the correlation they report. Pure:
// the trainer, the host and the webview share it.

/**
 * Degradations of the built-in synthetic faces, as bits of a mask (bit i is
 * DEGRADATIONS[i]). low-light: contrast cut and brightness shifted; small-scale:
 * the face drawn at a third or a quarter of the resolution and scaled up (what a
 * small face in a photo becomes).
 */
export const DEGRADATIONS = ['blur', 'low-light', 'occlusion', 'noise', 'small-scale'] as const;
export type Degradation = (typeof DEGRADATIONS)[number];

/** The names of a degradation mask's bits, e.g. "blur + noise"; "none" for 0. */
export function degradationNames(mask: number): string {
  const names = DEGRADATIONS.filter((_, i) => mask & (1 << i));
  return names.length ? names.join(' + ') : 'none';
}

/** Quality thirds, lowest first. */
export const QUALITY_THIRDS = ['low', 'middle', 'high'] as const;
export type QualityThird = (typeof QUALITY_THIRDS)[number];

/**
 * Third of each image by the rank of its quality: 0 low, 1 middle, 2 high.
 * Equal qualities are ranked by index, so the thirds stay a third each even
 * when many images share a value (proxy scores capped at 1).
 */
export function thirdsOf(quality: ArrayLike<number>): Uint8Array {
  const n = quality.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => quality[a] - quality[b] || a - b);
  const out = new Uint8Array(n);
  order.forEach((i, rank) => (out[i] = Math.floor((3 * rank) / n)));
  return out;
}

/** Pairs by the quality of their two images: both in the high third, exactly one in the low third, both in the low third. */
export const PAIR_BUCKETS = ['both high', 'one low', 'both low'] as const;
export type PairBucket = (typeof PAIR_BUCKETS)[number];

/** The bucket of a pair whose images fall in thirds `ta` and `tb`; undefined for the pairs no bucket holds. */
export function pairBucket(ta: number, tb: number): number | undefined {
  if (ta === 2 && tb === 2) return 0;
  if (ta === 0 && tb === 0) return 2;
  if (ta === 0 || tb === 0) return 1;
  return undefined;
}

/** Pearson's correlation of x and y; NaN when either is constant or there are fewer than two values. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = Math.min(x.length, y.length);
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Ranks 1..n, ties sharing their mean rank. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const out = new Float64Array(x.length);
  for (let k = 0; k < order.length; ) {
    let end = k + 1;
    while (end < order.length && x[order[end]] === x[order[k]]) end++;
    for (let j = k; j < end; j++) out[order[j]] = (k + end + 1) / 2;
    k = end;
  }
  return out;
}

/** Spearman's rank correlation (Pearson's on the ranks): what a monotone but curved relation shows as 1. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}
