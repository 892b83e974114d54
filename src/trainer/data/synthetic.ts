// Datasets as the training loop sees them: a labelled training image source, a
// verification image source and scored pairs over it (LFW protocol, 10 folds).

import type { RunConfig } from '../shared/config';
import type { DatasetStats } from '../shared/events';
import { drawIdentity, renderFace } from './faces';
import type { Pair, PairsFile } from './pairs';
import { Rng, hashSeed } from './rng';

export interface ImageSource {
  readonly count: number;
  /** Pixels of the given images, HWC, scaled to [-1, 1], concatenated. */
  batch(indices: ArrayLike<number>): Promise<Float32Array>;
}

export interface TrainSet extends ImageSource {
  labels: Int32Array;
  classNames: string[];
}

export interface PairIndex {
  a: Int32Array;
  b: Int32Array;
  same: Uint8Array;
  fold: Int32Array;
}

export interface Dataset {
  train: TrainSet;
  /** Held-out images of the training identities: classification accuracy on unseen images. */
  validation?: { images: ImageSource; labels: Int32Array };
  verify: ImageSource;
  pairs: PairIndex;
  /** The verification pairs in LFW form (written next to the run for reference), when they have that form. */
  pairsFile?: PairsFile;
  stats: DatasetStats;
  close?(): Promise<void>;
}

/** Images held in memory as [0, 1] floats. */
export class MemoryImages implements ImageSource {
  constructor(
    private readonly pixels: Float32Array,
    private readonly imageLength: number,
  ) {}

  get count(): number {
    return this.pixels.length / this.imageLength;
  }

  async batch(indices: ArrayLike<number>): Promise<Float32Array> {
    const n = this.imageLength;
    const out = new Float32Array(indices.length * n);
    for (let k = 0; k < indices.length; k++) {
      const src = indices[k] * n;
      for (let i = 0; i < n; i++) out[k * n + i] = this.pixels[src + i] * 2 - 1;
    }
    return out;
  }
}

export class MemoryTrainSet extends MemoryImages implements TrainSet {
  constructor(
    pixels: Float32Array,
    imageLength: number,
    readonly labels: Int32Array,
    readonly classNames: string[],
  ) {
    super(pixels, imageLength);
  }
}

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

export const SYNTHETIC_FOLDS = 10;

export function syntheticName(split: 'train' | 'verify', id: number): string {
  return `${split === 'train' ? 'Synth' : 'Held'}_${String(id + 1).padStart(5, '0')}`;
}

export interface RenderedSet {
  pixels: Float32Array;
  labels: Int32Array;
  names: string[];
}

export type Split = 'train' | 'verify';

/**
 * Renders identities [from, to) x `perIdentity` faces. Seeds depend only on
 * (seed, split, identity, image), so ranges can be rendered anywhere, in any order.
 */
export function renderRange(config: RunConfig, split: Split, from: number, to: number, perIdentity: number): Float32Array {
  const { imageSize: size, channels, seed } = config;
  const { hardShare } = config.dataset.synthetic;
  const len = size * size * channels;
  const pixels = new Float32Array((to - from) * perIdentity * len);
  const salt = split === 'train' ? 1 : 2;
  for (let i = from; i < to; i++) {
    const face = drawIdentity(new Rng(hashSeed(seed, salt, i)));
    for (let j = 0; j < perIdentity; j++) {
      const rng = new Rng(hashSeed(seed, salt + 10, i, j));
      const hard = rng.next() < hardShare;
      pixels.set(renderFace(face, rng, { size, channels, hard }), ((i - from) * perIdentity + j) * len);
    }
  }
  return pixels;
}

/** Renders a range somewhere (this thread, or a worker thread). */
export type RangeRenderer = (split: Split, from: number, to: number, perIdentity: number) => Promise<Float32Array>;

export async function renderSyntheticSplit(config: RunConfig, split: Split, identities: number, perIdentity: number, render?: RangeRenderer, parts = 1): Promise<RenderedSet> {
  const len = config.imageSize * config.imageSize * config.channels;
  const pixels = new Float32Array(identities * perIdentity * len);
  const chunk = render ? Math.ceil(identities / Math.max(1, parts)) : identities;
  // Hand the other ranges out first, then yield (so a concurrent call can too), then render the first here.
  const jobs: Promise<void>[] = [];
  for (let from = chunk; from < identities; from += chunk) {
    const start = from;
    jobs.push((render as RangeRenderer)(split, start, Math.min(identities, start + chunk), perIdentity).then((p) => pixels.set(p, start * perIdentity * len)));
  }
  await null;
  pixels.set(renderRange(config, split, 0, Math.min(chunk, identities), perIdentity), 0);
  await Promise.all(jobs);
  return {
    pixels,
    labels: Int32Array.from({ length: identities * perIdentity }, (_, k) => Math.floor(k / perIdentity)),
    names: Array.from({ length: identities }, (_, i) => syntheticName(split, i)),
  };
}

/**
 * The built-in synthetic face set: disjoint training and verification identities.
 * With `render` and `parts` > 1, identity ranges are rendered in parallel (the
 * first on this thread); the pixels are the same either way.
 */
export async function syntheticDataset(config: RunConfig, render?: RangeRenderer, parts = 1): Promise<Dataset> {
  const s = config.dataset.synthetic;
  const len = config.imageSize * config.imageSize * config.channels;
  // Two more images per training identity, never trained on, measure classification accuracy.
  const extra = SYNTHETIC_VALIDATION_PER_IDENTITY;
  const [rendered, held] = await Promise.all([
    renderSyntheticSplit(config, 'train', s.identities, s.imagesPerIdentity + extra, render, parts),
    renderSyntheticSplit(config, 'verify', s.verifyIdentities, s.verifyImagesPerIdentity, render, parts),
  ]);
  const train = pickImages(rendered, len, (j) => j < s.imagesPerIdentity, s.imagesPerIdentity + extra);
  const validation = pickImages(rendered, len, (j) => j >= s.imagesPerIdentity, s.imagesPerIdentity + extra);
  const ids: IdentityImages[] = held.names.map((name) => ({ name, count: s.verifyImagesPerIdentity }));
  const pairsFile = generatePairs(ids, SYNTHETIC_FOLDS, s.pairsPerFold, new Rng(hashSeed(config.seed, 99)));
  const byName = new Map(held.names.map((n, i) => [n, i]));
  const pairs = indexPairs(pairsFile, (name, index) => (byName.get(name) as number) * s.verifyImagesPerIdentity + index - 1);
  return {
    train: new MemoryTrainSet(train.pixels, len, train.labels, rendered.names),
    validation: { images: new MemoryImages(validation.pixels, len), labels: validation.labels },
    verify: new MemoryImages(held.pixels, len),
    pairs,
    pairsFile,
    stats: {
      source: 'built-in synthetic faces',
      identities: s.identities,
      images: s.identities * s.imagesPerIdentity,
      imagesPerIdentity: { min: s.imagesPerIdentity, median: s.imagesPerIdentity, max: s.imagesPerIdentity },
      verifyIdentities: s.verifyIdentities,
      verifyImages: s.verifyIdentities * s.verifyImagesPerIdentity,
      pairs: pairsFile.pairs.length,
      matchedPairs: pairsFile.pairs.filter((p) => p.same).length,
      folds: pairsFile.folds,
      imageSize: config.imageSize,
      channels: config.channels,
      validationImages: validation.labels.length,
      pairsSource: 'held-out identities',
    },
  };
}

export const SYNTHETIC_VALIDATION_PER_IDENTITY = 2;

/** The images of a rendered split whose per-identity index passes `keep`. */
function pickImages(set: RenderedSet, len: number, keep: (j: number) => boolean, perIdentity: number): { pixels: Float32Array; labels: Int32Array } {
  const picked: number[] = [];
  for (let k = 0; k < set.labels.length; k++) if (keep(k % perIdentity)) picked.push(k);
  const pixels = new Float32Array(picked.length * len);
  picked.forEach((k, i) => pixels.set(set.pixels.subarray(k * len, (k + 1) * len), i * len));
  return { pixels, labels: Int32Array.from(picked, (k) => set.labels[k]) };
}
