// The 2-D picture of the feature space the records keep each epoch: the
// embeddings f(x) (before normalization) on their top two principal axes, with
// the projected origin recorded too, so a reader can mark it: a face with a
// small norm sits near it (the paper's figures are of raw features around the
// origin). With a 2-D embedding, f(x) itself. The axes come from a sample of
// rows (a d x d covariance and power iteration); every image is projected.

import { Rng } from '../data/rng';
import type { Embeddings } from './embed';

/** Rows the second-moment matrix is estimated from at most. */
const SAMPLE_ROWS = 20_000;
const POWER_ITERATIONS = 200;
const POWER_TOLERANCE = 1e-10;
/** Seed of the power iteration's start vector. */
const START_SEED = 12;

export interface Projection2d {
  /** x, y of each image, interleaved. */
  xy: Float32Array;
  kind: 'pca' | 'features';
  /** Share of the variance each axis holds (NaN for raw 2-D features). */
  share: [number, number];
  /** Where f(x) = 0 lands in the picture. */
  origin: [number, number];
}

/** The mean of up to SAMPLE_ROWS evenly spaced rows, and their covariance. */
function covariance(e: Embeddings): { mean: Float64Array; cov: Float64Array } {
  const { dim, values, count } = e;
  const step = Math.max(1, Math.floor(count / SAMPLE_ROWS));
  const mean = new Float64Array(dim);
  let rows = 0;
  for (let i = 0; i < count; i += step, rows++) for (let a = 0; a < dim; a++) mean[a] += values[i * dim + a];
  for (let a = 0; a < dim; a++) mean[a] /= Math.max(rows, 1);
  const m = new Float64Array(dim * dim);
  const centered = new Float64Array(dim);
  for (let i = 0; i < count; i += step) {
    for (let a = 0; a < dim; a++) centered[a] = values[i * dim + a] - mean[a];
    for (let a = 0; a < dim; a++) {
      const va = centered[a];
      for (let b = a; b < dim; b++) m[a * dim + b] += va * centered[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      m[a * dim + b] /= Math.max(rows, 1);
      m[b * dim + a] = m[a * dim + b];
    }
  }
  return { mean, cov: m };
}

/** v minus its component along the unit vector u (nothing without u). */
function orthogonalize(v: Float64Array, u: Float64Array | undefined): void {
  if (!u) return;
  let dot = 0;
  for (let a = 0; a < v.length; a++) dot += v[a] * u[a];
  for (let a = 0; a < v.length; a++) v[a] -= dot * u[a];
}

/**
 * The leading eigenvector and eigenvalue of a symmetric matrix, by power
 * iteration; with `against` (a unit vector), of the matrix on the vectors
 * orthogonal to it: every iterate is Gram–Schmidted against it, so the result
 * is orthogonal to it even when the top eigenvalues are too close for the first
 * vector to have converged (deflating by it would leave a residue).
 */
function leading(m: Float64Array, dim: number, rng: Rng, against?: Float64Array): { vector: Float64Array; value: number } {
  let v = Float64Array.from({ length: dim }, () => rng.normal());
  orthogonalize(v, against);
  let value = 0;
  for (let it = 0; it < POWER_ITERATIONS; it++) {
    const w = new Float64Array(dim);
    for (let a = 0; a < dim; a++) {
      let sum = 0;
      for (let b = 0; b < dim; b++) sum += m[a * dim + b] * v[b];
      w[a] = sum;
    }
    orthogonalize(w, against);
    const length = Math.hypot(...w);
    if (length === 0) return { vector: v, value: 0 };
    for (let a = 0; a < dim; a++) w[a] /= length;
    const change = w.reduce((s, x, a) => s + (x - v[a]) ** 2, 0);
    v = w;
    value = length;
    if (change < POWER_TOLERANCE) break;
  }
  return { vector: v, value };
}

export interface Axis {
  /** A unit vector. */
  vector: Float64Array;
  /** The variance along it. */
  value: number;
}

/** The mean of the sampled rows, their two principal axes (orthogonal) and their total variance. */
export function principalAxes(e: Embeddings): { mean: Float64Array; first: Axis; second: Axis; trace: number } {
  const { dim } = e;
  const { mean, cov: m } = covariance(e);
  let trace = 0;
  for (let a = 0; a < dim; a++) trace += m[a * dim + a];
  const rng = new Rng(START_SEED);
  const first = leading(m, dim, rng);
  const second = leading(m, dim, rng, first.vector);
  return { mean, first, second, trace };
}

export function project2d(e: Embeddings): Projection2d {
  const { dim, values, count } = e;
  if (dim === 2) return { xy: Float32Array.from(values), kind: 'features', share: [NaN, NaN], origin: [0, 0] };
  const { mean, first, second, trace } = principalAxes(e);
  const xy = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    let x = 0;
    let y = 0;
    for (let d = 0, o = i * dim; d < dim; d++) {
      x += (values[o + d] - mean[d]) * first.vector[d];
      y += (values[o + d] - mean[d]) * second.vector[d];
    }
    xy[2 * i] = x;
    xy[2 * i + 1] = y;
  }
  let ox = 0;
  let oy = 0;
  for (let d = 0; d < dim; d++) {
    ox -= mean[d] * first.vector[d];
    oy -= mean[d] * second.vector[d];
  }
  return { xy, kind: 'pca', share: trace > 0 ? [first.value / trace, second.value / trace] : [0, 0], origin: [ox, oy] };
}
