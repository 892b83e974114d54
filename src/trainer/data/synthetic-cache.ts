// The built-in synthetic faces, kept on disk: rendering 6,400 faces takes 10-13 s
// on two cores, and every run of the same settings draws the same ones. One
// folder per generator version and rendering parameters (size, channels, seed,
// the synthetic set's settings) under the decode cache's root, holding the raw
// float32 pixels (faces.bin, bit-exact: a cached run trains exactly as a
// rendered one) and an index with their SHA-1, checked on every read. Runs
// take turns filling a folder with the decode cache's lock; a damaged or
// unreadable entry is rendered again, and a failed write costs only the next run.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from '../../shared/config';
import { PRIVATE_FILE_MODE, makePrivateDir, writeFileAtomic } from '../../core/atomic-file';
import type { TrainerLog } from '../errors';
import { errorText, throwIfLost, withLock } from './decode-cache';
import { FACE_GENERATOR_VERSION } from './face-renderer';
import { SYNTHETIC_VALIDATION_PER_IDENTITY, type SyntheticPixels } from './synthetic';

/** Bumped when the layout of faces.bin or index.json changes. */
const CACHE_FORMAT = 1;
const INDEX_FILE = 'index.json';
const PIXELS_FILE = 'faces.bin';
const FLOAT_BYTES = 4;

interface SyntheticIndex {
  format: typeof CACHE_FORMAT;
  key: string;
  endianness: string;
  trainFloats: number;
  verifyFloats: number;
  sha1: string;
}

/** Everything the pixels depend on; its hash names the cache folder. */
export function syntheticCacheKey(config: RunConfig): string {
  const { imageSize, channels, seed } = config;
  const what = { format: CACHE_FORMAT, generator: FACE_GENERATOR_VERSION, imageSize, channels, seed, synthetic: config.dataset.synthetic, validation: SYNTHETIC_VALIDATION_PER_IDENTITY };
  return createHash('sha1').update(JSON.stringify(what)).digest('hex').slice(0, 20);
}

export function syntheticCacheDir(cacheRoot: string, config: RunConfig): string {
  return path.join(cacheRoot, 'synthetic', syntheticCacheKey(config));
}

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/** The cached pixels when the folder holds a complete, undamaged entry for `key`; undefined otherwise. */
async function readEntry(dir: string, key: string): Promise<SyntheticPixels | undefined> {
  let index: SyntheticIndex;
  let bytes: Buffer;
  try {
    index = JSON.parse(await fs.readFile(path.join(dir, INDEX_FILE), 'utf8')) as SyntheticIndex;
    if (index.format !== CACHE_FORMAT || index.key !== key || index.endianness !== os.endianness()) return undefined;
    bytes = await fs.readFile(path.join(dir, PIXELS_FILE));
  } catch {
    return undefined;
  }
  if (bytes.length !== (index.trainFloats + index.verifyFloats) * FLOAT_BYTES || sha1(bytes) !== index.sha1) return undefined;
  // A Float32Array needs a 4-byte aligned start: copy the rare buffer that is not.
  const aligned = bytes.byteOffset % FLOAT_BYTES === 0 ? bytes : Buffer.from(bytes);
  const all = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / FLOAT_BYTES);
  return { train: all.subarray(0, index.trainFloats), verify: all.subarray(index.trainFloats) };
}

async function writeEntry(dir: string, key: string, pixels: SyntheticPixels): Promise<void> {
  const bytes = Buffer.concat([Buffer.from(pixels.train.buffer, pixels.train.byteOffset, pixels.train.byteLength), Buffer.from(pixels.verify.buffer, pixels.verify.byteOffset, pixels.verify.byteLength)]);
  const index: SyntheticIndex = { format: CACHE_FORMAT, key, endianness: os.endianness(), trainFloats: pixels.train.length, verifyFloats: pixels.verify.length, sha1: sha1(bytes) };
  // Pixels first: an index never names pixels that are not completely on disk.
  await writeFileAtomic(path.join(dir, PIXELS_FILE), bytes, PRIVATE_FILE_MODE);
  await writeFileAtomic(path.join(dir, INDEX_FILE), JSON.stringify(index), PRIVATE_FILE_MODE);
}

export interface CachedSynthetic {
  pixels: SyntheticPixels;
  /** True when the pixels came from the cache. */
  hit: boolean;
}

/**
 * The synthetic pixels of `config`: from the cache when it holds them, else
 * rendered by `render` (under the folder's lock, so concurrent runs render once)
 * and stored for the next run. `rendering` is called before rendering starts.
 */
export async function cachedSyntheticPixels(config: RunConfig, cacheRoot: string, log: TrainerLog, render: () => Promise<SyntheticPixels>, rendering: () => void = () => undefined): Promise<CachedSynthetic> {
  const key = syntheticCacheKey(config);
  const dir = syntheticCacheDir(cacheRoot, config);
  const cached = await readEntry(dir, key);
  if (cached) return { pixels: cached, hit: true };
  try {
    await makePrivateDir(dir);
  } catch (err) {
    log.warn('cache-write', `Cannot create the synthetic-face cache ${dir}: ${errorText(err)}. Rendering without it.`);
    rendering();
    return { pixels: await render(), hit: false };
  }
  return withLock(dir, log, async (lock) => {
    // Another run may have rendered them while this one waited for the lock.
    const filled = await readEntry(dir, key);
    if (filled) return { pixels: filled, hit: true };
    rendering();
    const pixels = await render();
    throwIfLost(lock, dir);
    await writeEntry(dir, key, pixels).catch((err) => log.warn('cache-write', `Could not save the synthetic faces to ${dir}: ${errorText(err)}. The next run renders them again.`));
    return { pixels, hit: false };
  });
}
