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
//   target below 1/N can only be met by accepting no mismatched pair at all
//   (readers show such a TAR as n/a: src/shared/format.ts).
// - 10-fold accuracy follows the LFW protocol: for each fold the threshold that
//   maximizes accuracy on the other nine folds is applied to it; we report the
//   mean and the population standard deviation of the ten accuracies.
// Cost: one sort of the scores (a radix sort on their bits), shared by the ROC
// and every fold, then linear sweeps; the folds are swept together, so k folds
// cost k counters per distinct score, not k sorts.

import { FAR_TARGETS, type RocPoint, type Verification } from '../../shared/events';
import { denseFolds, foldLabels } from '../../shared/folds';

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

/** Bits per radix-sort pass: two passes cover a float32 key. */
const RADIX_BITS = 16;
const RADIX = 1 << RADIX_BITS;
const DIGIT = RADIX - 1;
const SIGN = 0x80000000;
/** Runs of equal float32 keys longer than this are ordered by a comparison sort instead of insertion. */
const INSERTION_MAX = 32;

/** A float32's bits turned so that their unsigned order is descending value. */
function descendingKey(bits: number): number {
  return bits & SIGN ? bits : (bits ^ 0x7fffffff) >>> 0;
}

/** Indices in the order of their keys, ties in index order, and the keys in that order (a stable LSD radix sort, two 16-bit passes). */
function radixOrder(keys: Uint32Array): { order: Int32Array; sorted: Uint32Array } {
  const n = keys.length;
  let key: Uint32Array = keys;
  let idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let key2: Uint32Array = new Uint32Array(n);
  let idx2 = new Int32Array(n);
  const count = new Int32Array(RADIX);
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(key[i] >>> shift) & DIGIT]++;
    if (count[(key[0] >>> shift) & DIGIT] === n) continue; // one digit for all: nothing moves
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = count[(key[i] >>> shift) & DIGIT]++;
      key2[at] = key[i];
      idx2[at] = idx[i];
    }
    [key, key2, idx, idx2] = [key2, key === keys ? new Uint32Array(n) : key, idx2, idx];
  }
  return { order: idx, sorted: key };
}

/** Pairs sorted by descending score, with their scores, labels and (when given) folds in that order. */
interface SortedPairs {
  order: Int32Array;
  score: Float64Array;
  same: Uint8Array;
}

/**
 * Sorts by float32 keys (rounding to float32 never reverses an order, it only
 * makes ties), then puts each run of equal keys in exact float64 order, ties in
 * index order: the order of a stable comparison sort, at a radix sort's cost.
 */
export function descendingOrder(scores: ArrayLike<number>): Int32Array {
  const n = scores.length;
  const f32 = new Float32Array(n);
  for (let i = 0; i < n; i++) f32[i] = scores[i] + 0; // -0 becomes +0: equal scores, equal keys
  const keys = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i++) keys[i] = descendingKey(keys[i]);
  const { order, sorted } = radixOrder(keys);
  let start = 0;
  for (let k = 1; k <= n; k++) {
    if (k < n && sorted[k] === sorted[start]) continue;
    if (k - start > 1) orderRun(scores, order, start, k);
    start = k;
  }
  return order;
}

/** Orders order[from, to) by descending exact score, stable. */
function orderRun(scores: ArrayLike<number>, order: Int32Array, from: number, to: number): void {
  let k = from + 1;
  while (k < to && scores[order[k]] === scores[order[from]]) k++;
  if (k === to) return; // a tie: index order already
  if (to - from > INSERTION_MAX) {
    const run = Array.from(order.subarray(from, to)).sort((a, b) => scores[b] - scores[a] || a - b);
    order.set(run, from);
    return;
  }
  for (; k < to; k++) {
    const i = order[k];
    const s = scores[i];
    let j = k - 1;
    while (j >= from && scores[order[j]] < s) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = i;
  }
}

function sortPairs({ scores, same }: ScoredPairs): SortedPairs {
  const order = descendingOrder(scores);
  const n = order.length;
  const score = new Float64Array(n);
  const label = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    score[k] = scores[i];
    label[k] = same[i] ? 1 : 0;
  }
  return { order, score, same: label };
}

function sweep({ score: sorted, same }: SortedPairs): Sweep {
  const n = sorted.length;
  const score = new Float64Array(n);
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  let groups = 0;
  let t = 0;
  let f = 0;
  for (let k = 0; k < n; k++) {
    if (same[k]) t++;
    else f++;
    if (k + 1 === n || sorted[k + 1] !== sorted[k]) {
      score[groups] = sorted[k];
      tp[groups] = t;
      fp[groups] = f;
      groups++;
    }
  }
  return { score: score.subarray(0, groups), tp: tp.subarray(0, groups), fp: fp.subarray(0, groups), positives: t, negatives: f };
}

function fullSweep(sorted: SortedPairs): Sweep {
  const s = sweep(sorted);
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
  checkInput(pairs);
  return rocFromSweep(fullSweep(sortPairs(pairs)));
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

/**
 * Highest TAR whose FAR stays <= target, at the lowest threshold that has it;
 * threshold is Infinity when only "accept nothing" qualifies. FAR and TAR rise
 * and thresholds fall along the ROC, so that is its last point within the target.
 */
export function tarAtFarOnRoc(roc: Roc, target: number): { far: number; tar: number; threshold: number } {
  // Tolerate float rounding of fp / negatives right at the target.
  const limit = target * (1 + 1e-9);
  let lo = 0;
  let hi = roc.far.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (roc.far[mid] <= limit) lo = mid;
    else hi = mid - 1;
  }
  return { far: target, tar: roc.tar[lo], threshold: roc.threshold[lo] };
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
  return bestFromSweep(sweep(sortPairs(pairs)));
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

/** Each pair's fold number (src/shared/folds.ts), in sorted order. */
function sortedFolds(folds: ArrayLike<number>, order: Int32Array): { k: number; fold: Uint16Array } {
  const labels = foldLabels(folds);
  const dense = denseFolds(folds, labels);
  const fold = new Uint16Array(order.length);
  for (let j = 0; j < order.length; j++) fold[j] = dense[order[j]];
  return { k: labels.length, fold };
}

/** Per fold: the best training-fold accuracy's last sorted position (-1: accept nothing) and its score. */
interface FoldChoice {
  end: Int32Array;
  score: Float64Array;
}

/**
 * Sweeps every fold's training set (all pairs but the fold's) at once. At a
 * threshold, fold f's training count of right answers is lead + own[f]: lead =
 * matched - mismatched accepted over all pairs, own[f] = the rest, which only
 * f's own pairs change. So f improves where lead > need[f] = best[f] - own[f],
 * and a group end where lead stays at or under every need (a lower bound on
 * them is kept) is passed over in O(1). A score that only fold f holds leaves
 * f's counts unchanged, so the strict test picks the group a sweep of f's
 * training set alone would.
 */
function chooseFoldGroups({ score: sorted, same }: SortedPairs, fold: Uint16Array, k: number): FoldChoice {
  const need = new Float64Array(k);
  const end = new Int32Array(k).fill(-1);
  const score = new Float64Array(k);
  let lead = 0;
  let floor = 0;
  const n = sorted.length;
  for (let j = 0; j < n; j++) {
    const f = fold[j];
    if (same[j]) {
      lead++;
      need[f]++;
    } else {
      lead--;
      if (--need[f] < floor) floor = need[f];
    }
    if ((j + 1 < n && sorted[j + 1] === sorted[j]) || lead <= floor) continue;
    floor = Infinity;
    for (let g = 0; g < k; g++) {
      if (lead > need[g]) {
        need[g] = lead;
        end[g] = j;
        score[g] = sorted[j];
      }
      if (need[g] < floor) floor = need[g];
    }
  }
  return { end, score };
}

/** The first score at or after sorted position `from` of a pair outside fold f; undefined when there is none. */
function nextTrainingScore(sorted: SortedPairs, fold: Uint16Array, f: number, from: number): number | undefined {
  for (let j = from; j < fold.length; j++) if (fold[j] !== f) return sorted.score[j];
  return undefined;
}

/** Fold f's threshold, placed as bestFromSweep places it on f's training set. */
function foldThreshold(sorted: SortedPairs, fold: Uint16Array, choice: FoldChoice, f: number): number {
  if (choice.end[f] < 0) {
    const top = nextTrainingScore(sorted, fold, f, 0);
    return top === undefined ? 0 : top + 1;
  }
  const next = nextTrainingScore(sorted, fold, f, choice.end[f] + 1);
  return next === undefined ? choice.score[f] - 1 : (choice.score[f] + next) / 2;
}

/** LFW-protocol k-fold accuracy; `folds[i]` is pair i's fold index. */
export function kFoldAccuracy(pairs: ScoredPairs, folds: ArrayLike<number>): FoldResult {
  checkInput(pairs);
  return foldsOfSorted(pairs, folds, sortPairs(pairs));
}

function foldsOfSorted(pairs: ScoredPairs, folds: ArrayLike<number>, sorted: SortedPairs): FoldResult {
  if (folds.length !== pairs.scores.length) throw new Error('every pair needs a fold index');
  const { k, fold } = sortedFolds(folds, sorted.order);
  if (k < 2) throw new Error('k-fold accuracy needs at least two folds');
  const choice = chooseFoldGroups(sorted, fold, k);
  const thresholds = Array.from({ length: k }, (_, f) => foldThreshold(sorted, fold, choice, f));
  const correct = new Float64Array(k);
  const total = new Float64Array(k);
  const at = Float64Array.from(thresholds);
  const { score, same } = sorted;
  for (let j = 0; j < fold.length; j++) {
    const f = fold[j];
    total[f]++;
    if (score[j] >= at[f] === (same[j] === 1)) correct[f]++;
  }
  const accuracies = Array.from({ length: k }, (_, f) => (total[f] ? correct[f] / total[f] : 0));
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

/** Every verification number the trainer reports for one epoch: one sort serves all of them. */
export function verify(pairs: ScoredPairs, folds: ArrayLike<number>): Verification {
  checkInput(pairs);
  const sorted = sortPairs(pairs);
  const s = fullSweep(sorted);
  const k = foldsOfSorted(pairs, folds, sorted);
  const roc = rocFromSweep(s);
  const finite = (t: number) => (Number.isFinite(t) ? t : null);
  return {
    pairs: pairs.scores.length,
    mismatched: s.negatives,
    accuracy: k.mean,
    accuracyStd: k.std,
    foldThresholds: k.thresholds,
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
