// Draws LFW-style verification pairs from identities and resolves pairs to image
// indices of a verification image source.

import type { Pair, PairsFile } from './lfw-pairs';
import type { PairIndex } from './dataset';
import { Rng } from './rng';

export interface IdentityImages {
  name: string;
  /** Image numbers (1-based, as in LFW) available for this identity. */
  count: number;
}

/**
 * Draws LFW-style pairs: `folds` folds, each with `perFold` matched and `perFold`
 * mismatched pairs, no pair twice. With enough identities the folds are
 * identity-disjoint, as in LFW View 2.
 */
export function generatePairs(identities: IdentityImages[], folds: number, perFold: number, rng: Rng): PairsFile {
  const usable = identities.filter((i) => i.count >= 1);
  if (usable.length < 2) throw new Error('pairs need at least two identities');
  if (!usable.some((i) => i.count >= 2)) throw new Error('matched pairs need an identity with at least two images');
  const order = rng.shuffle([...usable]);
  const groups: IdentityImages[][] = [];
  const disjoint = order.length >= 2 * folds && order.filter((i) => i.count >= 2).length >= folds;
  for (let f = 0; f < folds; f++) groups.push(disjoint ? order.filter((_, k) => k % folds === f) : order);
  const pairs: Pair[] = [];
  const seen = new Set<string>();
  const key = (p: Pair) => {
    const x = `${p.a.name}/${p.a.index}`;
    const y = `${p.b.name}/${p.b.index}`;
    return x < y ? `${x}|${y}` : `${y}|${x}`;
  };
  const add = (make: () => Pair | undefined): void => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const p = make();
      if (p && !seen.has(key(p))) {
        seen.add(key(p));
        pairs.push(p);
        return;
      }
    }
    const p = make();
    if (!p) throw new Error('could not draw a pair');
    pairs.push(p); // a repeat, only when the pool is exhausted
  };
  groups.forEach((group, fold) => {
    const multi = group.filter((i) => i.count >= 2);
    const pool = multi.length ? multi : usable.filter((i) => i.count >= 2);
    for (let k = 0; k < perFold; k++) {
      add(() => {
        const id = rng.pick(pool);
        const i = 1 + rng.int(id.count);
        let j = 1 + rng.int(id.count - 1);
        if (j >= i) j++;
        return { a: { name: id.name, index: i }, b: { name: id.name, index: j }, same: true, fold };
      });
    }
    const mixPool = group.length >= 2 ? group : usable;
    for (let k = 0; k < perFold; k++) {
      add(() => {
        const x = rng.int(mixPool.length);
        let y = rng.int(mixPool.length - 1);
        if (y >= x) y++;
        const p = mixPool[x];
        const q = mixPool[y];
        return { a: { name: p.name, index: 1 + rng.int(p.count) }, b: { name: q.name, index: 1 + rng.int(q.count) }, same: false, fold };
      });
    }
  });
  return { folds, perFold, pairs };
}

/** Resolves pairs to image indices; `lookup` maps an image reference to its index in the verification source. */
export function indexPairs(file: PairsFile, lookup: (name: string, index: number) => number): PairIndex {
  const n = file.pairs.length;
  const out: PairIndex = { a: new Int32Array(n), b: new Int32Array(n), same: new Uint8Array(n), fold: new Int32Array(n) };
  file.pairs.forEach((p, k) => {
    out.a[k] = lookup(p.a.name, p.a.index);
    out.b[k] = lookup(p.b.name, p.b.index);
    out.same[k] = p.same ? 1 : 0;
    out.fold[k] = p.fold;
  });
  return out;
}
