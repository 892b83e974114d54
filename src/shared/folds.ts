// Verification folds. A pair's fold label is what its pairs file says (an LFW
// pairs.txt's set, a CSV's fold column, 0..9 when dealt round-robin); a
// verification numbers its folds 0..k-1 in ascending order of their labels, and
// `foldThresholds[f]` is fold f's threshold. Pure: the trainer numbers the
// folds so, and the host judges recorded pairs with the same numbers.

/** Folds a verification takes at most (their numbers fit 16 bits). */
export const MAX_FOLDS = 0xffff;

const small = (v: number) => Number.isInteger(v) && v >= 0 && v <= MAX_FOLDS;

/** The distinct fold labels, ascending. */
export function foldLabels(folds: ArrayLike<number>): number[] {
  let max = -1;
  for (let i = 0; i < folds.length; i++) {
    if (!small(folds[i])) return [...new Set(Array.from(folds))].sort((a, b) => a - b);
    if (folds[i] > max) max = folds[i];
  }
  // Small whole numbers (the usual 0..9): a table instead of a set.
  const seen = new Uint8Array(max + 1);
  for (let i = 0; i < folds.length; i++) seen[folds[i]] = 1;
  const out: number[] = [];
  for (let v = 0; v <= max; v++) if (seen[v]) out.push(v);
  return out;
}

/** Each pair's fold number: the place of its label among `labels` (those of all the verification's pairs, ascending). */
export function denseFolds(folds: ArrayLike<number>, labels: readonly number[] = foldLabels(folds)): Uint16Array {
  if (labels.length > MAX_FOLDS) throw new Error(`a verification takes at most ${MAX_FOLDS} folds, got ${labels.length}`);
  let at: (label: number) => number | undefined;
  if (labels.every(small)) {
    const table = new Int32Array(labels.length ? labels[labels.length - 1] + 1 : 0).fill(-1);
    labels.forEach((l, k) => (table[l] = k));
    at = (label) => (table[label] >= 0 ? table[label] : undefined);
  } else {
    const map = new Map(labels.map((l, k) => [l, k]));
    at = (label) => map.get(label);
  }
  const out = new Uint16Array(folds.length);
  for (let i = 0; i < folds.length; i++) {
    const k = at(folds[i]);
    if (k === undefined) throw new Error(`fold ${folds[i]} is not one of the folds ${labels.join(', ')}`);
    out[i] = k;
  }
  return out;
}
