// The verification set of a pairs file: its images decoded into the cache and
// its pairs as indices into them, less the pairs that name an image that cannot
// be decoded (with strict data such an image ends the run instead). A folder
// dataset with a pairs file verifies on it every epoch; `eval` verifies a saved
// run on any pairs file with it.

import * as path from 'node:path';
import { TrainerError, type TrainerLog } from '../errors';
import { imageView, type ImageSource, type PairIndex } from './dataset';
import { cacheImages, defaultCacheRoot, type CachedImages, type ImageMeasures } from './decode-cache';
import type { PairsFile } from './lfw-pairs';
import type { ResolvedPairs } from './pairs-file';
import type { SkipReport } from './skip-report';

export interface PairsSet {
  /** The decodable images the pairs use. */
  verify: ImageSource;
  pairs: PairIndex;
  /** Identities the pairs' images belong to (their folders). */
  identities: number;
  /** The pairs in LFW form, while no pair was left out. */
  lfw?: PairsFile;
  /** The file of each image of `verify`, and what the decode cache measured of it. */
  files: string[];
  measures: (ImageMeasures | undefined)[];
  /** The cache the images were decoded into: its counts, and close() when done. */
  cache: CachedImages;
}

export async function pairsSet(pairs: ResolvedPairs, imageSize: number, channels: 1 | 3, log: TrainerLog, skipped: SkipReport): Promise<PairsSet> {
  const cache = await cacheImages(pairs.files, { cacheRoot: defaultCacheRoot(), folder: pairs.imagesRoot, imageSize, channels, log });
  try {
    skipped.add(pairs.imagesRoot, cache.failed);
    return { ...usablePairs(pairs, cache, log), cache };
  } catch (err) {
    await cache.close();
    throw err;
  }
}

/** A pairs file's pairs, less those naming an image that cannot be decoded (said in the log). */
function usablePairs(pairs: ResolvedPairs, images: CachedImages, log: TrainerLog): Omit<PairsSet, 'cache'> {
  const identities = new Set(pairs.files.map((f) => path.basename(path.dirname(f)))).size;
  if (!images.failed.length) return { verify: images, pairs: { a: pairs.a, b: pairs.b, same: pairs.same, fold: pairs.fold }, lfw: pairs.lfw, identities, files: pairs.files, measures: images.measures };
  const bad = new Set(images.failed.map((f) => f.file));
  const usable: number[] = [];
  const renumber = new Int32Array(pairs.files.length).fill(-1);
  pairs.files.forEach((f, i) => {
    if (!bad.has(f)) renumber[i] = usable.push(i) - 1;
  });
  const keep: number[] = [];
  for (let k = 0; k < pairs.a.length; k++) if (renumber[pairs.a[k]] >= 0 && renumber[pairs.b[k]] >= 0) keep.push(k);
  const index: PairIndex = {
    a: Int32Array.from(keep, (k) => renumber[pairs.a[k]]),
    b: Int32Array.from(keep, (k) => renumber[pairs.b[k]]),
    same: Uint8Array.from(keep, (k) => pairs.same[k]),
    fold: Int32Array.from(keep, (k) => pairs.fold[k]),
  };
  if (!index.same.some((v) => v) || !index.same.some((v) => !v)) {
    throw new TrainerError('dataset', `Without its undecodable images the pairs file has no ${index.same.some((v) => v) ? 'mismatched' : 'matched'} pairs left: replace those images.`);
  }
  log.info(`Left out ${pairs.a.length - keep.length} of ${pairs.a.length} verification pairs that name an undecodable image.`);
  // The LFW form no longer holds (folds lost pairs): no reference copy next to the run.
  return { verify: imageView(images, usable), pairs: index, identities, files: usable.map((i) => pairs.files[i]), measures: usable.map((i) => images.measures[i]) };
}
