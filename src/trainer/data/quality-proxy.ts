// Measured image quality for folder datasets, whose images carry no record of
// what degraded them: sharpness as the variance of the Laplacian (a blurred
// image has weak second derivatives) and RMS contrast (a dark or washed-out one
// has little spread), both on a grayscale copy of fixed size, and one score
// from the two. Proxies, not a calibrated face-quality model: they rank blur and
// low contrast, not pose or occlusion. The decode cache measures each image
// once (decode-cache.ts).

/** Side of the grayscale copy the proxies are measured on: large enough to keep blur a 32 px input would hide. */
export const PROXY_SIZE = 96;

/** The measured proxies of one image. */
export interface QualityProxies {
  /** Variance of the 4-neighbour Laplacian of the 0..255 grayscale image. */
  sharpness: number;
  /** Standard deviation of the 0..1 grayscale image. */
  contrast: number;
}

/** Variance of the 4-neighbour Laplacian over the interior of a w x h grayscale image. */
export function laplacianVariance(gray: ArrayLike<number>, w: number, h: number): number {
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const lap = gray[i - w] + gray[i + w] + gray[i - 1] + gray[i + 1] - 4 * gray[i];
      sum += lap;
      sumSq += lap * lap;
      n++;
    }
  }
  if (!n) return 0;
  const mean = sum / n;
  return Math.max(0, sumSq / n - mean * mean);
}

/** RMS contrast: the standard deviation of the 0..255 grayscale values, scaled to 0..1. */
export function rmsContrast(gray: ArrayLike<number>): number {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < gray.length; i++) {
    sum += gray[i];
    sumSq += gray[i] * gray[i];
  }
  if (!gray.length) return 0;
  const mean = sum / gray.length;
  return Math.sqrt(Math.max(0, sumSq / gray.length - mean * mean)) / 255;
}

export function measureProxies(gray: ArrayLike<number>, w: number, h: number): QualityProxies {
  return { sharpness: laplacianVariance(gray, w, h), contrast: rmsContrast(gray) };
}

/** Laplacian variance at which sharpness counts as full (log10 scale: sharp face photos at 96 px reach 10^3). */
const FULL_SHARPNESS_LOG10 = 3;
/** RMS contrast at which contrast counts as full (a well-exposed photo has about 0.2). */
const FULL_CONTRAST = 0.15;

/** One score in [0, 1]: sharpness on a log scale, times contrast, each capped at "full". */
export function proxyScore({ sharpness, contrast }: QualityProxies): number {
  const sharp = Math.min(1, Math.log10(1 + sharpness) / FULL_SHARPNESS_LOG10);
  return sharp * Math.min(1, contrast / FULL_CONTRAST);
}
