// A dataset from the user's ImageFolder tree (and optionally a pairs file):
// training identities, a validation share of their images, and verification
// pairs, either from the pairs file or drawn from held-out identities.

import * as path from 'node:path';
import { heldOutIdentities, type RunConfig } from '../../shared/config';
import type { DatasetStats } from '../../shared/events';
import { minMedianMax } from '../../shared/format';
import { generatePairs, indexPairs } from './draw-pairs';
import { imageView, type Dataset, type ImageSource, type PairIndex } from './dataset';
import { cacheImages, defaultCacheRoot, type CachedImages, type DecodeFailure } from './decode-cache';
import { TrainerError, type TrainerLog } from '../errors';
import { folderFacts, pickFacts, type ImageFacts } from './image-facts';
import { listImageFolder, selectIdentities, type FolderListing, type Identity } from './image-folder';
import type { PairsFile } from './lfw-pairs';
import { loadPairsFile } from './pairs-file';
import { pairsSet } from './pairs-set';
import { Rng, hashSeed } from './rng';
import { SkipReport } from './skip-report';

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

/**
 * How many training images `config`'s folder dataset gives, from its listing and split alone
 * (nothing is decoded, so an undecodable image counts); undefined for the synthetic set. A resume
 * compares it with its checkpoint's before it takes the run folder over.
 */
export async function listedTrainImages(config: RunConfig): Promise<number | undefined> {
  const d = config.dataset;
  if (!d.path) return undefined;
  const listing = await listImageFolder(d.path, d.minImagesPerIdentity);
  const split = splitIdentities(listing.identities, config.seed, !d.pairsFile);
  return split.train.reduce((n, id) => n + id.files.length - (split.validation.get(id.name)?.length ?? 0), 0);
}

export async function folderDataset(config: RunConfig, log: TrainerLog): Promise<Dataset> {
  const t0 = Date.now();
  const { dataset: d, imageSize, channels, seed } = config;
  let listing = await listImageFolder(d.path, d.minImagesPerIdentity);
  reportSkippedIdentities(listing.skipped, d.minImagesPerIdentity, log);
  const pairs = d.pairsFile
    ? await loadPairsFile(path.resolve(d.pairsFile), d.pairsImages ? path.resolve(d.pairsImages) : '', listing.root, { allowOutside: d.allowPairsOutsideFolder })
    : undefined;
  const cacheRoot = defaultCacheRoot();
  const opts = { cacheRoot, imageSize, channels, log } as const;
  const all = listing.identities.flatMap((id) => id.files);
  const images = await cacheImages(all, { ...opts, folder: listing.root });
  const open: CachedImages[] = [images];
  try {
    const skipped = new SkipReport(d.strictData, log);
    skipped.add(listing.root, images.failed);
    listing = withoutUndecodable(listing, images.failed, d.minImagesPerIdentity);
    const split = splitIdentities(listing.identities, seed, !pairs);
    const position = new Map(all.map((f, i) => [f, i]));
    const { trainFiles, validationFiles, ...training } = trainingSets(split, images, position);
    const allFacts = folderFacts(
      listing.identities.flatMap((id) => id.files.map((file) => ({ file, identity: id.name, measures: images.measures[position.get(file) as number] }))),
      listing.root,
    );
    const factAt = new Map((allFacts.files as string[]).map((f, i) => [f, i]));
    const factsOf = (files: string[]) => pickFacts(allFacts, files.map((f) => factAt.get(f) as number));
    let verification: Verification;
    if (pairs) {
      const set = await pairsSet(pairs, imageSize, channels, log, skipped);
      open.push(set.cache);
      const facts = folderFacts(set.files.map((file, i) => ({ file, identity: path.basename(path.dirname(file)), measures: set.measures[i] })), pairs.imagesRoot);
      verification = { images: set.verify, pairs: set.pairs, pairsFile: set.lfw, identities: set.identities, facts };
    } else verification = heldOutVerification(split.held, images, position, seed, factsOf);
    const read = (caches: CachedImages[]) => `${sum(caches, (c) => c.decoded)} images decoded, ${sum(caches, (c) => c.reused)} from the cache`;
    log.info(
      `Loaded ${listing.root}: ${read([images])}${open.length > 1 ? `; the pairs' images: ${read(open.slice(1))}` : ''} (${cacheRoot}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const sizes = mergeSizes(open.flatMap((c) => c.sizes));
    const stats: DatasetStats = {
      source: listing.root,
      identities: split.train.length,
      images: training.train.count,
      // Training images, as `images` counts them: the validation images taken from each identity are not.
      imagesPerIdentity: minMedianMax(split.train.map((id) => id.files.length - (split.validation.get(id.name)?.length ?? 0))),
      verifyIdentities: verification.identities,
      verifyImages: verification.images.count,
      pairs: verification.pairs.a.length,
      matchedPairs: verification.pairs.same.reduce((s, v) => s + v, 0),
      folds: new Set(verification.pairs.fold).size,
      imageSize,
      channels,
      imageSizes: sizes.slice(0, 5),
      distinctImageSizes: sizes.length,
      skippedIdentities: listing.skipped.length,
      validationImages: training.validation?.labels.length ?? 0,
      pairsSource: pairs ? path.resolve(d.pairsFile) : 'held-out identities',
      ...skipped.stats(),
    };
    return {
      ...training,
      verify: verification.images,
      pairs: verification.pairs,
      pairsFile: verification.pairsFile,
      stats,
      facts: { train: factsOf(trainFiles), validation: validationFiles.length ? factsOf(validationFiles) : undefined, verify: verification.facts },
      close: () => closeAll(open),
    };
  } catch (err) {
    await closeAll(open);
    throw err;
  }
}

function reportSkippedIdentities(skipped: Identity[], minImages: number, log: TrainerLog): void {
  if (!skipped.length) return;
  log.info(`Skipped ${skipped.length} identities with fewer than ${minImages} image(s) (e.g. ${skipped.slice(0, 3).map((i) => i.name).join(', ')}).`);
}

/** The listing without images that failed to decode; identities left with too few images join the skipped ones. */
export function withoutUndecodable(listing: FolderListing, failed: DecodeFailure[], minImages: number): FolderListing {
  if (!failed.length) return listing;
  const bad = new Set(failed.map((f) => f.file));
  const remaining = listing.identities.map((id) => ({ name: id.name, files: id.files.filter((f) => !bad.has(f)) }));
  const kept = selectIdentities(listing.root, remaining, minImages);
  return { ...kept, skipped: [...listing.skipped, ...kept.skipped] };
}

/** Training and validation images of the training identities, as views of the decoded folder, and their files in view order. */
function trainingSets(split: FolderSplit, images: ImageSource, position: Map<string, number>): Pick<Dataset, 'train' | 'validation'> & { trainFiles: string[]; validationFiles: string[] } {
  const trainFiles: string[] = [];
  const labels: number[] = [];
  const validationFiles: string[] = [];
  const valLabels: number[] = [];
  split.train.forEach((id, label) => {
    const held = new Set(split.validation.get(id.name) ?? []);
    for (const f of id.files) {
      if (held.has(f)) {
        validationFiles.push(f);
        valLabels.push(label);
      } else {
        trainFiles.push(f);
        labels.push(label);
      }
    }
  });
  const at = (files: string[]) => files.map((f) => position.get(f) as number);
  return {
    train: { ...imageView(images, at(trainFiles)), labels: Int32Array.from(labels), classNames: split.train.map((i) => i.name) },
    validation: validationFiles.length ? { images: imageView(images, at(validationFiles)), labels: Int32Array.from(valLabels) } : undefined,
    trainFiles,
    validationFiles,
  };
}

interface Verification {
  images: ImageSource;
  pairs: PairIndex;
  pairsFile?: PairsFile;
  identities: number;
  facts: ImageFacts;
}

/** Without a pairs file: LFW-style pairs drawn from the held-out identities. */
function heldOutVerification(held: Identity[], images: ImageSource, position: Map<string, number>, seed: number, factsOf: (files: string[]) => ImageFacts): Verification {
  const heldFiles = held.flatMap((id) => id.files);
  const start = new Map<string, number>();
  let offset = 0;
  for (const id of held) {
    start.set(id.name, offset);
    offset += id.files.length;
  }
  const perFold = Math.min(300, Math.max(1, Math.floor(heldFiles.length / 4)));
  const pairsFile = generatePairs(held.map((id) => ({ name: id.name, count: id.files.length })), FOLDS, perFold, new Rng(hashSeed(seed, 99)));
  return {
    images: imageView(images, heldFiles.map((f) => position.get(f) as number)),
    pairs: indexPairs(pairsFile, (name, index) => (start.get(name) as number) + index - 1),
    pairsFile,
    identities: held.length,
    facts: factsOf(heldFiles),
  };
}

function mergeSizes(all: { width: number; height: number; count: number }[]): { width: number; height: number; count: number }[] {
  const sizes = new Map<string, { width: number; height: number; count: number }>();
  for (const s of all) {
    const k = `${s.width}x${s.height}`;
    const e = sizes.get(k) ?? { width: s.width, height: s.height, count: 0 };
    e.count += s.count;
    sizes.set(k, e);
  }
  return [...sizes.values()].sort((a, b) => b.count - a.count);
}

function sum<T>(items: T[], of: (item: T) => number): number {
  return items.reduce((s, item) => s + of(item), 0);
}

async function closeAll(caches: CachedImages[]): Promise<void> {
  for (const c of caches) await c.close();
}
