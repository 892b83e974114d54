// The built-in synthetic face set: procedurally drawn identities (face-renderer.ts),
// training and verification identities kept apart as on LFW, rendered on this
// thread or in parallel ranges.

import type { RunConfig } from '../../shared/config';
import { MemoryImages, MemoryTrainSet, type Dataset } from './dataset';
import { generatePairs, indexPairs, type IdentityImages } from './draw-pairs';
import { drawIdentity, renderFace } from './face-renderer';
import { Rng, hashSeed } from './rng';

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

const splitSalt = (split: Split) => (split === 'train' ? 1 : 2);

/** The random stream of face j of identity i, past its first draw, which made it hard or not: its pixels and its quality both come from it. */
export function faceStream(config: RunConfig, split: Split, i: number, j: number): { rng: Rng; hard: boolean } {
  const rng = new Rng(hashSeed(config.seed, splitSalt(split) + 10, i, j));
  return { rng, hard: rng.next() < config.dataset.synthetic.hardShare };
}

/**
 * Renders identities [from, to) x `perIdentity` faces. Seeds depend only on
 * (seed, split, identity, image), so ranges can be rendered anywhere, in any order.
 */
export function renderRange(config: RunConfig, split: Split, from: number, to: number, perIdentity: number): Float32Array {
  const { imageSize: size, channels, seed } = config;
  const len = size * size * channels;
  const pixels = new Float32Array((to - from) * perIdentity * len);
  for (let i = from; i < to; i++) {
    const face = drawIdentity(new Rng(hashSeed(seed, splitSalt(split), i)));
    for (let j = 0; j < perIdentity; j++) {
      const { rng, hard } = faceStream(config, split, i, j);
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
  return splitOf(split, pixels, identities, perIdentity);
}

/** The rendered pixels of both splits: what the synthetic cache keeps on disk. */
export interface SyntheticPixels {
  /** Training identities, each with its training images then its validation images. */
  train: Float32Array;
  verify: Float32Array;
}

/**
 * Renders both splits. With `render` and `parts` > 1, identity ranges are
 * rendered in parallel (the first on this thread); the pixels are the same either way.
 */
export async function renderSyntheticPixels(config: RunConfig, render?: RangeRenderer, parts = 1): Promise<SyntheticPixels> {
  const s = config.dataset.synthetic;
  const [train, verify] = await Promise.all([
    renderSyntheticSplit(config, 'train', s.identities, s.imagesPerIdentity + SYNTHETIC_VALIDATION_PER_IDENTITY, render, parts),
    renderSyntheticSplit(config, 'verify', s.verifyIdentities, s.verifyImagesPerIdentity, render, parts),
  ]);
  return { train: train.pixels, verify: verify.pixels };
}

/** The built-in synthetic face set: disjoint training and verification identities. */
export async function syntheticDataset(config: RunConfig, render?: RangeRenderer, parts = 1): Promise<Dataset> {
  return syntheticFromPixels(config, await renderSyntheticPixels(config, render, parts));
}

/** The names and labels of a split of `identities` x `perIdentity` images. */
function splitOf(split: Split, pixels: Float32Array, identities: number, perIdentity: number): RenderedSet {
  return {
    pixels,
    labels: Int32Array.from({ length: identities * perIdentity }, (_, k) => Math.floor(k / perIdentity)),
    names: Array.from({ length: identities }, (_, i) => syntheticName(split, i)),
  };
}

/** The dataset over rendered (or cached) pixels. */
export function syntheticFromPixels(config: RunConfig, pixels: SyntheticPixels): Dataset {
  const s = config.dataset.synthetic;
  const len = config.imageSize * config.imageSize * config.channels;
  // Two more images per training identity, never trained on, measure classification accuracy.
  const extra = SYNTHETIC_VALIDATION_PER_IDENTITY;
  const rendered = splitOf('train', pixels.train, s.identities, s.imagesPerIdentity + extra);
  const held = splitOf('verify', pixels.verify, s.verifyIdentities, s.verifyImagesPerIdentity);
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
