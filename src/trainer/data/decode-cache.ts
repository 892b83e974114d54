// Decodes images with sharp (resize/crop to the input size, RGB or grayscale)
// into an on-disk cache: one pixels.bin of fixed-size uint8 slots plus an index
// keyed by path, file size and mtime, per (image folder, size, channels). A second
// run only stats the files; training reads batches from disk with positional
// reads, so a dataset larger than memory trains in bounded memory.
//
// Several runs may fill one cache at once: a lock (proper-lockfile: an atomic
// mkdir whose mtime its holder refreshes) makes them take turns, a crashed or
// hung holder's lock goes stale and is taken over, the index is replaced
// durably, and every slot carries a checksum that is checked as it is read
// (a slot that does not match is decoded again).

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { makePrivateDir, PRIVATE_FILE_MODE, writeFileAtomic } from '../../core/atomic-file';
import type { ImageSource } from './dataset';
import { TrainerError, type TrainerLog } from '../errors';
import { PROXY_SIZE, measureProxies, type QualityProxies } from './quality-proxy';

type Sharp = typeof import('sharp');

/** 3: entries carry the file's SHA-1 and its quality proxies. */
const INDEX_VERSION = 3;
const INDEX_FILE = 'index.json';
const PIXELS_FILE = 'pixels.bin';
const LOCK_DIR = 'writer.lock';
/** Who holds the lock, for the messages of those waiting (informational only). */
const OWNER_FILE = 'writer.owner';
/** A lock not refreshed for this long belongs to a process that crashed or hangs: it is taken over. */
export const LOCK_STALE_MS = 30_000;
const LOCK_REFRESH_MS = 5_000;
const LOCK_RETRY_MS = 250;
const WAIT_REPORT_MS = 30_000;
const PROGRESS_REPORT_MS = 2_000;
const FAILURES_NAMED = 5;

let sharpModule: Sharp | undefined;
function loadSharp(): Sharp {
  if (!sharpModule) {
    try {
      sharpModule = require('sharp') as Sharp;
    } catch (err) {
      throw new TrainerError('dataset', `Image folders need the "sharp" package, which did not load: ${(err as Error).message.split('\n')[0]}. Run npm install in the extension folder.`);
    }
  }
  return sharpModule;
}

export function defaultCacheRoot(): string {
  if (process.env.L2SOFTMAX_CACHE_DIR) return process.env.L2SOFTMAX_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || (process.platform === 'win32' ? process.env.LOCALAPPDATA : undefined) || path.join(os.homedir(), '.cache');
  return path.join(base ?? os.tmpdir(), 'l2-softmax-lab', 'images');
}

interface Entry {
  size: number;
  mtimeMs: number;
  slot: number;
  /** checksum() of the slot's pixels. */
  hash: number;
  /** The source image's own size and channels. */
  width: number;
  height: number;
  channels: number;
  /** SHA-1 of the file's bytes: the same image under another name has the same one. */
  sha1: string;
  sharpness: number;
  contrast: number;
}

/** What the cache knows of an image besides its pixels: its content hash and quality proxies. */
export interface ImageMeasures extends QualityProxies {
  sha1: string;
}

interface Index {
  version: typeof INDEX_VERSION;
  imageSize: number;
  channels: number;
  slots: number;
  entries: Record<string, Entry>;
}

export interface DecodeOptions {
  cacheRoot: string;
  /** The folder the images come from (one cache per folder and image settings). */
  folder: string;
  imageSize: number;
  channels: 1 | 3;
  log: TrainerLog;
}

export interface DecodeFailure {
  file: string;
  reason: string;
}

export interface CachedImages extends ImageSource {
  /** Source sizes seen, most common first. */
  sizes: { width: number; height: number; count: number }[];
  decoded: number;
  reused: number;
  /** Images that could not be read or decoded, in input order; their indices must not be read. */
  failed: DecodeFailure[];
  /** Per input file, its content hash and quality proxies (undefined for a file that failed). */
  measures: (ImageMeasures | undefined)[];
  close(): Promise<void>;
}

/** Decodes one image (a file, or its bytes) to size x size x channels uint8 (centre crop after resize, EXIF-oriented). */
export async function decodeImage(file: string | Buffer, size: number, channels: 1 | 3): Promise<{ pixels: Buffer; width: number; height: number; channels: number }> {
  const sharp = loadSharp();
  const img = sharp(file, { failOn: 'warning' });
  const meta = await img.metadata();
  let pipeline = img.rotate().resize(size, size, { fit: 'cover', position: 'centre' }).removeAlpha();
  pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  let pixels = data;
  if (info.channels !== channels) {
    // A grayscale source can come out with one channel: spread it (or average down to one).
    pixels = Buffer.alloc(size * size * channels);
    for (let i = 0; i < size * size; i++) {
      if (channels === 3) pixels.fill(data[i * info.channels], i * 3, i * 3 + 3);
      else pixels[i] = Math.round((data[i * info.channels] + data[i * info.channels + 1] + data[i * info.channels + 2]) / 3);
    }
  }
  return { pixels, width: meta.width ?? 0, height: meta.height ?? 0, channels: meta.channels ?? info.channels };
}

/** Decodes an image file and measures it: its pixels, its bytes' SHA-1 and its quality proxies on a PROXY_SIZE grayscale copy. */
async function decodeAndMeasure(file: string, size: number, channels: 1 | 3): Promise<Awaited<ReturnType<typeof decodeImage>> & ImageMeasures> {
  const bytes = await fs.readFile(file);
  const img = await decodeImage(bytes, size, channels);
  const gray = await loadSharp()(bytes, { failOn: 'warning' }).rotate().resize(PROXY_SIZE, PROXY_SIZE, { fit: 'cover', position: 'centre' }).removeAlpha().greyscale().raw().toBuffer({ resolveWithObject: true });
  const proxies = measureProxies(grayChannel(gray.data, gray.info.channels), PROXY_SIZE, PROXY_SIZE);
  return { ...img, ...proxies, sha1: createHash('sha1').update(bytes).digest('hex') };
}

/** The first channel of interleaved pixels (sharp may keep three equal channels after greyscale()). */
function grayChannel(data: Buffer, channels: number): Uint8Array {
  if (channels === 1) return data;
  const out = new Uint8Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels];
  return out;
}

/** FNV-1a, 32 bits: cheap enough to check every slot as it is read. */
export function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

export function errorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'the file does not exist';
  if (code === 'ENOSPC') return 'no space left on the device';
  return ((err as Error).message ?? String(err)).split('\n')[0].replace(/^Input (file|buffer)/, 'input file');
}

/** "Cannot decode 2 image(s) under <folder>: a.jpg (why); b.png (why)" */
export function describeFailures(folder: string, failed: DecodeFailure[]): string {
  const named = failed.slice(0, FAILURES_NAMED).map((f) => `${path.relative(folder, f.file) || f.file} (${f.reason})`);
  const more = failed.length > FAILURES_NAMED ? `; and ${failed.length - FAILURES_NAMED} more` : '';
  return `Cannot decode ${failed.length} image(s) under ${folder}: ${named.join('; ')}${more}`;
}

/** The cache folder of one image folder and image settings. */
export function cacheDir(cacheRoot: string, folder: string, size: number, channels: number): string {
  const key = createHash('sha1').update(path.resolve(folder)).digest('hex').slice(0, 16);
  return path.join(cacheRoot, `${key}-${size}x${size}x${channels}`);
}

export interface CacheLock {
  release(): Promise<void>;
  /** Why the lock was lost (another process took it over because ours was not refreshed in time), if it was. */
  lost(): Error | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function lockOwner(dir: string): Promise<string> {
  const owner = await fs.readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => '');
  return owner.trim() ? `process ${owner.trim()}` : 'another process';
}

/** Seconds since the lock was last refreshed, or undefined when there is none. */
async function lockAge(dir: string): Promise<number | undefined> {
  const st = await fs.stat(path.join(dir, LOCK_DIR)).catch(() => undefined);
  return st ? (Date.now() - st.mtimeMs) / 1000 : undefined;
}

/**
 * Takes the cache's writer lock, waiting while a live process holds it (saying
 * so), and taking over one that its holder stopped refreshing (saying so).
 */
async function acquireLock(dir: string, log: TrainerLog): Promise<CacheLock> {
  const lockPath = path.join(dir, LOCK_DIR);
  let lost: Error | undefined;
  let lastReport = 0;
  const t0 = Date.now();
  for (;;) {
    const age = await lockAge(dir);
    if (age !== undefined && age * 1000 > LOCK_STALE_MS) {
      log.warn('stale-cache-lock', `Taking over the decode-cache lock ${lockPath}: ${await lockOwner(dir)} has not refreshed it for ${Math.round(age)} s (it exited without releasing it, or hangs).`);
    }
    try {
      const release = await lockfile.lock(dir, {
        lockfilePath: lockPath,
        realpath: false,
        stale: LOCK_STALE_MS,
        update: LOCK_REFRESH_MS,
        retries: 0,
        onCompromised: (err) => (lost = err),
      });
      await fs.writeFile(path.join(dir, OWNER_FILE), `${process.pid} on ${os.hostname()}`, { mode: PRIVATE_FILE_MODE }).catch(() => undefined);
      if (lastReport) log.info(`Got the decode-cache lock after ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
      return { release: () => release().catch(() => undefined), lost: () => lost };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new TrainerError('dataset', `Cannot lock the decode cache ${lockPath}: ${errorText(err)}.`);
      }
      if (Date.now() - lastReport > WAIT_REPORT_MS) {
        log.info(`Waiting for ${await lockOwner(dir)}, which is decoding images into the cache ${dir} (lock ${lockPath}, refreshed ${Math.round((await lockAge(dir)) ?? 0)} s ago).`);
        lastReport = Date.now();
      }
      await sleep(LOCK_RETRY_MS);
    }
  }
}

/** Runs `fn` holding the cache folder's writer lock (other caches, such as the synthetic faces', take turns the same way). */
export async function withLock<T>(dir: string, log: TrainerLog, fn: (lock: CacheLock) => Promise<T>): Promise<T> {
  const lock = await acquireLock(dir, log);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

export function throwIfLost(lock: CacheLock, dir: string): void {
  const err = lock.lost();
  if (err) {
    throw new TrainerError('dataset', `Lost the lock on the decode cache ${dir} (${err.message}): another process took it over while this one was decoding. Start the run again.`);
  }
}

async function readIndex(dir: string, size: number, channels: number): Promise<Index> {
  const fresh: Index = { version: INDEX_VERSION, imageSize: size, channels, slots: 0, entries: {} };
  try {
    const saved = JSON.parse(await fs.readFile(path.join(dir, INDEX_FILE), 'utf8')) as Index;
    return saved.version === INDEX_VERSION && saved.imageSize === size && saved.channels === channels ? saved : fresh;
  } catch {
    return fresh; // no cache yet, or an unreadable index: decode again
  }
}

/** A failed index write costs the next run a decode, not this run: it is reported, not thrown. */
async function writeIndex(dir: string, index: Index, log: TrainerLog): Promise<void> {
  const file = path.join(dir, INDEX_FILE);
  try {
    await writeFileAtomic(file, JSON.stringify(index), PRIVATE_FILE_MODE);
  } catch (err) {
    log.warn('cache-index', `Could not save the decode-cache index ${file}: ${errorText(err)}. The next run decodes these images again.`);
  }
}

function cacheWriteError(file: string, err: unknown): TrainerError {
  return new TrainerError('disk', `Cannot write the decode cache ${file}: ${errorText(err)}. Free some space, or point L2SOFTMAX_CACHE_DIR at another disk.`);
}

interface Filled {
  slots: Int32Array;
  hashes: Uint32Array;
  measures: (ImageMeasures | undefined)[];
  sizes: Map<string, number>;
  decoded: number;
  reused: number;
  failed: DecodeFailure[];
}

/** Under the lock: decodes every file the index does not hold (or holds stale) into its slot. */
async function fill(files: string[], opts: DecodeOptions, dir: string, lock: CacheLock): Promise<Filled> {
  const { imageSize: size, channels } = opts;
  const length = size * size * channels;
  const index = await readIndex(dir, size, channels);
  const pixelsPath = path.join(dir, PIXELS_FILE);
  // Not 'a+': on Linux, positional writes to a file opened for appending land at its end.
  const pixels = await fs.open(pixelsPath, 'a', PRIVATE_FILE_MODE).then((h) => h.close()).then(() => fs.open(pixelsPath, 'r+'));
  const stored = (await pixels.stat()).size;
  const out: Filled = { slots: new Int32Array(files.length).fill(-1), hashes: new Uint32Array(files.length), measures: new Array(files.length).fill(undefined), sizes: new Map(), decoded: 0, reused: 0, failed: [] };
  const failedAt: (DecodeFailure | undefined)[] = [];
  const seen = new Set<string>();
  let next = 0;
  let done = 0;
  let lastReport = Date.now();
  const decodeOne = async (k: number) => {
    const file = files[k];
    let entry: Entry | undefined = index.entries[file];
    let st;
    let img;
    try {
      st = await fs.stat(file);
      const current = entry && entry.size === st.size && entry.mtimeMs === st.mtimeMs && (entry.slot + 1) * length <= stored;
      if (!current) {
        if (!out.decoded) opts.log.phase?.('decoding');
        img = await decodeAndMeasure(file, size, channels);
      }
    } catch (err) {
      failedAt[k] = { file, reason: errorText(err) };
      return;
    }
    if (img) {
      throwIfLost(lock, dir);
      const slot = entry?.slot ?? index.slots++;
      await pixels.write(img.pixels, 0, length, slot * length).catch((err) => Promise.reject(cacheWriteError(pixelsPath, err)));
      entry = { size: st.size, mtimeMs: st.mtimeMs, slot, hash: checksum(img.pixels), width: img.width, height: img.height, channels: img.channels, sha1: img.sha1, sharpness: img.sharpness, contrast: img.contrast };
      index.entries[file] = entry;
      out.decoded++;
    } else if (!seen.has(file)) out.reused++;
    seen.add(file);
    out.slots[k] = entry!.slot;
    out.hashes[k] = entry!.hash;
    out.measures[k] = { sha1: entry!.sha1, sharpness: entry!.sharpness, contrast: entry!.contrast };
    const sizeKey = `${entry!.width}x${entry!.height}`;
    out.sizes.set(sizeKey, (out.sizes.get(sizeKey) ?? 0) + 1);
  };
  let aborted = false;
  const work = async () => {
    while (next < files.length && !aborted) {
      await decodeOne(next++).catch((err) => {
        aborted = true; // the other workers stop too, before the file is closed under them
        throw err;
      });
      done++;
      if (Date.now() - lastReport > PROGRESS_REPORT_MS) {
        opts.log.info(`Decoding images: ${done.toLocaleString('en-US')} / ${files.length.toLocaleString('en-US')}`);
        lastReport = Date.now();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(2, os.cpus().length * 2) }, work));
    // The index must never name pixels that a crash could still lose.
    await pixels.sync().catch((err) => Promise.reject(cacheWriteError(pixelsPath, err)));
  } finally {
    await pixels.close();
  }
  throwIfLost(lock, dir);
  if (out.decoded) await writeIndex(dir, index, opts.log);
  for (const f of failedAt) if (f) out.failed.push(f);
  return out;
}

/**
 * Makes sure every file is decoded in the cache; returns a reader over them in
 * the given order. Files that cannot be read or decoded are listed in `failed`.
 */
export async function cacheImages(files: string[], opts: DecodeOptions): Promise<CachedImages> {
  const { imageSize: size, channels } = opts;
  const length = size * size * channels;
  const dir = cacheDir(opts.cacheRoot, opts.folder, size, channels);
  await makePrivateDir(dir);
  const filled = await withLock(dir, opts.log, (lock) => fill(files, opts, dir, lock));
  const { slots, hashes } = filled;
  const pixelsPath = path.join(dir, PIXELS_FILE);
  const reader = await fs.open(pixelsPath, 'r');

  /** A slot whose bytes do not match its checksum: decode the image again and put it back. */
  const repair = async (k: number): Promise<Buffer> => {
    const img = await decodeImage(files[k], size, channels).catch((err) => {
      throw new TrainerError('dataset', `The decode cache ${dir} is damaged and ${files[k]} cannot be decoded again (${errorText(err)}); delete that folder and start again.`);
    });
    await withLock(dir, opts.log, async () => {
      const h = await fs.open(pixelsPath, 'r+');
      try {
        await h.write(img.pixels, 0, length, slots[k] * length);
        await h.sync();
      } finally {
        await h.close();
      }
    }).catch((err) => opts.log.warn('cache-write', `Could not repair ${pixelsPath}: ${errorText(err)}`));
    hashes[k] = checksum(img.pixels);
    opts.log.warn('cache-damaged', `The decode cache held damaged pixels for ${files[k]}; decoded it again.`);
    return img.pixels;
  };

  const sizes = [...filled.sizes.entries()]
    .map(([k, count]) => {
      const [width, height] = k.split('x').map(Number);
      return { width, height, count };
    })
    .sort((a, b) => b.count - a.count);
  return {
    count: files.length,
    sizes,
    decoded: filled.decoded,
    reused: filled.reused,
    failed: filled.failed,
    measures: filled.measures,
    async batch(indices: ArrayLike<number>): Promise<Float32Array> {
      const out = new Float32Array(indices.length * length);
      const buf = Buffer.alloc(length);
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k];
        if (slots[i] < 0) throw new TrainerError('internal', `${files[i]} was asked for but could not be decoded.`);
        const { bytesRead } = await reader.read(buf, 0, length, slots[i] * length);
        const pixels = bytesRead === length && checksum(buf) === hashes[i] ? buf : await repair(i);
        for (let j = 0; j < length; j++) out[k * length + j] = pixels[j] / 127.5 - 1;
      }
      return out;
    },
    close: () => reader.close(),
  };
}
