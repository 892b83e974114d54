// A dataset from the user's ImageFolder tree (and optionally a pairs file):
// training identities, a validation share of their images, and verification
// pairs, either from the pairs file or drawn from held-out identities.

import * as path from 'node:path';
import { heldOutIdentities, type RunConfig } from '../../shared/config';
import type { DatasetStats } from '../../shared/events';
import { median } from '../../shared/format';
import { generatePairs, indexPairs } from './draw-pairs';
import type { Dataset, ImageSource, PairIndex } from './dataset';
import { cacheImages, defaultCacheRoot, type CachedImages } from './decode-cache';
import { TrainerError } from '../errors';
import { listImageFolder, type Identity } from './image-folder';
import type { PairsFile } from './lfw-pairs';
import { loadPairsFile } from './pairs-file';
import { pairsSet } from './pairs-set';
import { Rng, hashSeed } from './rng';

export const VALIDATION_SHARE = 0.1;
export const FOLDS = 10;

export interface FolderSplit {
  train: Identity[];
  held: Identity[];
  /** Per training identity, the images kept for validation. */
  validation: Map<string, string[]>;
}

/**
 * Reproducible splits: without a pairs file, 10% of identities (at least two)
 * are held out for verification pairs; within training identities with at least
 * three images, 10% of the images (at least one) are kept for validation.
 */
export function splitIdentities(identities: Identity[], seed: number, holdOut: boolean): FolderSplit {
  const rng = new Rng(hashSeed(seed, 31));
  let train = identities;
  let held: Identity[] = [];
  if (holdOut) {
    if (identities.length < 4) {
      throw new TrainerError('dataset', `Only ${identities.length} identities: holding some out for verification needs at least 4 (2 to train, 2 to verify). Add identities or give a pairs file.`);
    }
    const order = rng.shuffle(identities.map((_, i) => i));
    const n = heldOutIdentities(identities.length);
    // Held-out identities need two images for matched pairs; prefer those.
    const multi = order.filter((i) => identities[i].files.length >= 2);
    const pick = new Set((multi.length >= n ? multi : order).slice(0, n));
    held = identities.filter((_, i) => pick.has(i));
    train = identities.filter((_, i) => !pick.has(i));
  }
  const validation = new Map<string, string[]>();
  for (const id of train) {
    if (id.files.length < 3) continue;
    const k = Math.max(1, Math.floor(id.files.length * VALIDATION_SHARE));
    validation.set(id.name, rng.shuffle([...id.files]).slice(0, k).sort());
  }
  return { train, held, validation };
}

export async function folderDataset(config: RunConfig, log: (message: string) => void): Promise<Dataset> {
  const t0 = Date.now();
  const { dataset: d, imageSize, channels, seed } = config;
  const listing = await listImageFolder(d.path, d.minImagesPerIdentity);
  if (listing.skipped.length) {
    log(`Skipped ${listing.skipped.length} identities with fewer than ${d.minImagesPerIdentity} image(s) (e.g. ${listing.skipped.slice(0, 3).map((i) => i.name).join(', ')}).`);
  }
  const pairs = d.pairsFile ? await loadPairsFile(path.resolve(d.pairsFile), d.pairsImages ? path.resolve(d.pairsImages) : '', listing.root) : undefined;
  const split = splitIdentities(listing.identities, seed, !pairs);
  const trainFiles: string[] = [];
  const labels: number[] = [];
  const valFiles: string[] = [];
  const valLabels: number[] = [];
  split.train.forEach((id, label) => {
    const val = new Set(split.validation.get(id.name) ?? []);
    for (const f of id.files) {
      if (val.has(f)) {
        valFiles.push(f);
        valLabels.push(label);
      } else {
        trainFiles.push(f);
        labels.push(label);
      }
    }
  });
  const cacheRoot = defaultCacheRoot();
  const opts = { cacheRoot, imageSize, channels, log } as const;
  const trainImages = await cacheImages([...trainFiles, ...valFiles], { ...opts, folder: listing.root });
  let verifyImages: CachedImages;
  let pairIndex: PairIndex;
  let pairsFile: PairsFile | undefined;
  let verifyIdentities: number;
  try {
    if (pairs) {
      const set = await pairsSet(pairs, imageSize, channels, log);
      [verifyImages, pairIndex, verifyIdentities] = [set.verify, set.pairs, set.identities];
      pairsFile = pairs.lfw;
    } else {
      const held = split.held;
      const heldFiles = held.flatMap((id) => id.files);
      const start = new Map<string, number>();
      let offset = 0;
      for (const id of held) {
        start.set(id.name, offset);
        offset += id.files.length;
      }
      const perFold = Math.min(300, Math.max(1, Math.floor(heldFiles.length / 4)));
      pairsFile = generatePairs(held.map((id) => ({ name: id.name, count: id.files.length })), FOLDS, perFold, new Rng(hashSeed(seed, 99)));
      pairIndex = indexPairs(pairsFile, (name, index) => (start.get(name) as number) + index - 1);
      verifyImages = await cacheImages(heldFiles, { ...opts, folder: listing.root });
      verifyIdentities = held.length;
    }
  } catch (err) {
    await trainImages.close();
    throw err;
  }
  const counts = split.train.map((id) => id.files.length);
  const sizes = new Map<string, { width: number; height: number; count: number }>();
  for (const s of [...trainImages.sizes, ...verifyImages.sizes]) {
    const k = `${s.width}x${s.height}`;
    const e = sizes.get(k) ?? { width: s.width, height: s.height, count: 0 };
    e.count += s.count;
    sizes.set(k, e);
  }
  const decoded = trainImages.decoded + verifyImages.decoded;
  const reused = trainImages.reused + verifyImages.reused;
  log(`Loaded ${listing.root}: ${decoded} images decoded, ${reused} from the cache (${cacheRoot}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const trainCount = trainFiles.length;
  const stats: DatasetStats = {
    source: listing.root,
    identities: split.train.length,
    images: trainCount,
    imagesPerIdentity: { min: Math.min(...counts), median: median(counts), max: Math.max(...counts) },
    verifyIdentities,
    verifyImages: verifyImages.count,
    pairs: pairIndex.a.length,
    matchedPairs: pairIndex.same.reduce((s, v) => s + v, 0),
    folds: new Set(pairIndex.fold).size,
    imageSize,
    channels,
    imageSizes: [...sizes.values()].sort((a, b) => b.count - a.count).slice(0, 5),
    distinctImageSizes: sizes.size,
    skippedIdentities: listing.skipped.length,
    validationImages: valFiles.length,
    pairsSource: pairs ? path.resolve(d.pairsFile) : 'held-out identities',
  };
  const all = Int32Array.from([...labels, ...valLabels]);
  return {
    train: { ...subset(trainImages, 0, trainCount), labels: all.subarray(0, trainCount), classNames: split.train.map((i) => i.name) },
    validation: valFiles.length ? { images: subset(trainImages, trainCount, valFiles.length), labels: all.subarray(trainCount) } : undefined,
    verify: verifyImages,
    pairs: pairIndex,
    pairsFile,
    stats,
    close: async () => {
      await trainImages.close();
      await verifyImages.close();
    },
  };
}

/** A contiguous range of another source's images (training and validation share one cache). */
function subset(source: ImageSource, start: number, count: number): ImageSource {
  return { count, batch: (indices) => source.batch(Array.from(indices as ArrayLike<number>, (i) => i + start)) };
}
