// Verification metrics over scored pairs. Pure functions, no tfjs.
//
// Conventions (written down because papers differ):
// - A pair is accepted as "same identity" when its score >= threshold
//   (scores are similarities: higher means more alike).
// - Pairs with equal scores are never split: a threshold accepts all of them or
//   none. The ROC therefore has one point per distinct score, and a tie between
//   a matched and a mismatched pair counts half in the AUC (Mann-Whitney).
// - TAR@FAR=f is the highest TAR among thresholds whose FAR <= f: the threshold
//   keeps the false accept rate at or under the target. With N mismatched pairs a
//   target below 1/N can only be met by accepting no mismatched pair at all.
// - 10-fold accuracy follows the LFW protocol: for each fold the threshold that
//   maximizes accuracy on the other nine folds is applied to it; we report the
//   mean and the population standard deviation of the ten accuracies.
// Everything is O(n log n) in the number of pairs (one sort, then linear sweeps).

import { FAR_TARGETS, type RocPoint, type Verification } from '../../shared/events';

export interface ScoredPairs {
  scores: ArrayLike<number>;
  same: ArrayLike<boolean | number>;
}

interface Sweep {
  /** Score of each distinct-score group, descending. */
  score: Float64Array;
  /** Cumulative matched / mismatched pairs accepted when the threshold is that group's score. */
  tp: Float64Array;
  fp: Float64Array;
  positives: number;
  negatives: number;
}

function checkInput({ scores, same }: ScoredPairs): void {
  if (scores.length !== same.length) throw new Error(`scores (${scores.length}) and labels (${same.length}) differ in length`);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`score ${i} is not a finite number (${scores[i]})`);
  }
}

/** Indices sorted by descending score. */
function order(scores: ArrayLike<number>, keep?: (i: number) => boolean): Int32Array {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!keep || keep(i)) idx.push(i);
  idx.sort((a, b) => scores[b] - scores[a]);
  return Int32Array.from(idx);
}

function sweep(pairs: ScoredPairs, sorted: Int32Array): Sweep {
  const { scores, same } = pairs;
  const score: number[] = [];
  const tp: number[] = [];
  const fp: number[] = [];
  let t = 0;
  let f = 0;
  for (let k = 0; k < sorted.length; k++) {
    const i = sorted[k];
    if (same[i]) t++;
    else f++;
    const next = k + 1 < sorted.length ? scores[sorted[k + 1]] : NaN;
    if (next !== scores[i]) {
      score.push(scores[i]);
      tp.push(t);
      fp.push(f);
    }
  }
  return {
    score: Float64Array.from(score),
    tp: Float64Array.from(tp),
    fp: Float64Array.from(fp),
    positives: t,
    negatives: f,
  };
}

function fullSweep(pairs: ScoredPairs): Sweep {
  checkInput(pairs);
  const s = sweep(pairs, order(pairs.scores));
  if (s.positives === 0 || s.negatives === 0) {
    throw new Error('verification needs at least one matched and one mismatched pair');
  }
  return s;
}

export interface Roc {
  far: Float64Array;
  tar: Float64Array;
  /** threshold[i] accepts the point's pairs; the first point (0, 0) accepts nothing. */
  threshold: Float64Array;
}

/** The full ROC, starting at (0, 0) and ending at (1, 1). */
export function rocCurve(pairs: ScoredPairs): Roc {
  return rocFromSweep(fullSweep(pairs));
}

function rocFromSweep(s: Sweep): Roc {
  const n = s.score.length + 1;
  const far = new Float64Array(n);
  const tar = new Float64Array(n);
  const threshold = new Float64Array(n);
  threshold[0] = Infinity;
  for (let g = 0; g < s.score.length; g++) {
    far[g + 1] = s.fp[g] / s.negatives;
    tar[g + 1] = s.tp[g] / s.positives;
    threshold[g + 1] = s.score[g];
  }
  return { far, tar, threshold };
}

/** Area under the ROC by the trapezoid rule (equals the Mann-Whitney statistic, ties counting half). */
export function auc(roc: Roc): number {
  let area = 0;
  for (let i = 1; i < roc.far.length; i++) {
    area += (roc.far[i] - roc.far[i - 1]) * (roc.tar[i] + roc.tar[i - 1]) * 0.5;
  }
  return area;
}

/** Equal error rate: where FAR = FRR on the piecewise-linear ROC. */
export function eer(roc: Roc): number {
  for (let i = 0; i < roc.far.length; i++) {
    const d = roc.far[i] - (1 - roc.tar[i]);
    if (d >= 0) {
      if (i === 0) return roc.far[0];
      const dPrev = roc.far[i - 1] - (1 - roc.tar[i - 1]);
      const lambda = -dPrev / (d - dPrev);
      return roc.far[i - 1] + lambda * (roc.far[i] - roc.far[i - 1]);
    }
  }
  return 1;
}

/** Highest TAR whose FAR stays <= target; threshold is null when only "accept nothing" qualifies. */
export function tarAtFarOnRoc(roc: Roc, target: number): { far: number; tar: number; threshold: number } {
  let best = 0;
  let threshold = Infinity;
  // Tolerate float rounding of fp / negatives right at the target.
  const limit = target * (1 + 1e-9);
  for (let i = 0; i < roc.far.length; i++) {
    if (roc.far[i] <= limit && roc.tar[i] >= best) {
      if (roc.tar[i] > best || roc.threshold[i] < threshold) threshold = roc.threshold[i];
      best = roc.tar[i];
    }
  }
  return { far: target, tar: best, threshold };
}

export interface ThresholdChoice {
  threshold: number;
  accuracy: number;
}

function bestFromSweep(s: Sweep): ThresholdChoice {
  const total = s.positives + s.negatives;
  // Accept nothing: every mismatched pair is right.
  let bestCorrect = s.negatives;
  let bestGroup = -1;
  for (let g = 0; g < s.score.length; g++) {
    const correct = s.tp[g] + (s.negatives - s.fp[g]);
    if (correct > bestCorrect) {
      bestCorrect = correct;
      bestGroup = g;
    }
  }
  let threshold: number;
  if (bestGroup < 0) threshold = s.score.length ? s.score[0] + 1 : 0;
  else if (bestGroup + 1 < s.score.length) threshold = (s.score[bestGroup] + s.score[bestGroup + 1]) / 2;
  else threshold = s.score[bestGroup] - 1;
  return { threshold, accuracy: total ? bestCorrect / total : 0 };
}

/**
 * The threshold with the highest accuracy (the strictest one on ties), placed
 * halfway between neighbouring distinct scores so it generalizes to new pairs.
 */
export function bestThreshold(pairs: ScoredPairs): ThresholdChoice {
  checkInput(pairs);
  return bestFromSweep(sweep(pairs, order(pairs.scores)));
}

export function accuracyAt(pairs: ScoredPairs, threshold: number, keep?: (i: number) => boolean): number {
  let correct = 0;
  let total = 0;
  for (let i = 0; i < pairs.scores.length; i++) {
    if (keep && !keep(i)) continue;
    total++;
    if (pairs.scores[i] >= threshold === Boolean(pairs.same[i])) correct++;
  }
  return total ? correct / total : 0;
}

export interface FoldResult {
  accuracies: number[];
  thresholds: number[];
  mean: number;
  std: number;
}

/** LFW-protocol k-fold accuracy; `folds[i]` is pair i's fold index. */
export function kFoldAccuracy(pairs: ScoredPairs, folds: ArrayLike<number>): FoldResult {
  checkInput(pairs);
  if (folds.length !== pairs.scores.length) throw new Error('every pair needs a fold index');
  const ids = [...new Set(Array.from(folds))].sort((a, b) => a - b);
  if (ids.length < 2) throw new Error('k-fold accuracy needs at least two folds');
  const sorted = order(pairs.scores);
  const accuracies: number[] = [];
  const thresholds: number[] = [];
  for (const fold of ids) {
    const train = sorted.filter((i) => folds[i] !== fold);
    const { threshold } = bestFromSweep(sweep(pairs, train));
    thresholds.push(threshold);
    accuracies.push(accuracyAt(pairs, threshold, (i) => folds[i] === fold));
  }
  const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
  const variance = accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / accuracies.length;
  return { accuracies, thresholds, mean, std: Math.sqrt(variance) };
}

/** The ROC sampled at log-spaced FARs (1e-5 .. 1) for plotting: TAR is the best with FAR <= each grid value. */
export function downsampleRoc(roc: Roc, pointsPerDecade = 12, minFar = 1e-5): RocPoint[] {
  const decades = Math.round(-Math.log10(minFar));
  const out: RocPoint[] = [];
  let i = 0;
  let best = 0;
  for (let k = 0; k <= decades * pointsPerDecade; k++) {
    const far = 10 ** (-decades + k / pointsPerDecade);
    while (i < roc.far.length && roc.far[i] <= far * (1 + 1e-9)) {
      best = Math.max(best, roc.tar[i]);
      i++;
    }
    out.push({ far, tar: best });
  }
  return out;
}

/** Every verification number the trainer reports for one epoch. */
export function verify(pairs: ScoredPairs, folds: ArrayLike<number>): Verification {
  const s = fullSweep(pairs);
  const roc = rocFromSweep(s);
  const k = kFoldAccuracy(pairs, folds);
  const finite = (t: number) => (Number.isFinite(t) ? t : null);
  return {
    pairs: pairs.scores.length,
    accuracy: k.mean,
    accuracyStd: k.std,
    threshold: bestFromSweep(s).threshold,
    auc: auc(roc),
    eer: eer(roc),
    tarAtFar: FAR_TARGETS.map((f) => {
      const r = tarAtFarOnRoc(roc, f);
      return { far: f, tar: r.tar, threshold: finite(r.threshold) };
    }),
    roc: downsampleRoc(roc),
  };
}
