// Decodes images with sharp (resize/crop to the input size, RGB or grayscale)
// into an on-disk cache: one pixels.bin of fixed-size uint8 slots plus an index
// keyed by path, file size and mtime, per (image folder, size, channels). A second
// run only stats the files; training reads batches from disk with positional
// reads, so a dataset larger than memory trains in bounded memory.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ImageSource } from './dataset';
import { TrainerError } from '../errors';

type Sharp = typeof import('sharp');

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
  /** The source image's own size and channels. */
  width: number;
  height: number;
  channels: number;
}

interface Index {
  version: 1;
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
  log: (message: string) => void;
}

export interface CachedImages extends ImageSource {
  /** Source sizes seen, most common first. */
  sizes: { width: number; height: number; count: number }[];
  decoded: number;
  reused: number;
  close(): Promise<void>;
}

/** Decodes one image to size x size x channels uint8 (centre crop after resize, EXIF-oriented). */
export async function decodeImage(file: string, size: number, channels: 1 | 3): Promise<{ pixels: Buffer; width: number; height: number; channels: number }> {
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

function errorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'the file does not exist';
  return ((err as Error).message ?? String(err)).split('\n')[0].replace(/^Input file/, 'input file');
}

async function lock(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'lock');
  const t0 = Date.now();
  for (;;) {
    try {
      const h = await fs.open(file, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await fs.readFile(file, 'utf8').catch(() => '0'));
      let alive = false;
      try {
        if (pid) process.kill(pid, 0);
        alive = pid > 0;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (!alive || Date.now() - t0 > 30 * 60 * 1000) await fs.rm(file, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Makes sure every file is decoded in the cache; returns a reader over them in the given order. */
export async function cacheImages(files: string[], opts: DecodeOptions): Promise<CachedImages> {
  const { imageSize: size, channels } = opts;
  const length = size * size * channels;
  const key = createHash('sha1').update(path.resolve(opts.folder)).digest('hex').slice(0, 16);
  const dir = path.join(opts.cacheRoot, `${key}-${size}x${size}x${channels}`);
  await fs.mkdir(dir, { recursive: true });
  const unlock = await lock(dir);
  let index: Index = { version: 1, imageSize: size, channels, slots: 0, entries: {} };
  const slots = new Int32Array(files.length);
  let decoded = 0;
  let reused = 0;
  const sizeCounts = new Map<string, number>();
  try {
    try {
      const saved = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as Index;
      if (saved.version === 1 && saved.imageSize === size && saved.channels === channels) index = saved;
    } catch {
      // no cache yet
    }
    // Not 'a+': on Linux, positional writes to a file opened for appending land at its end.
    await (await fs.open(path.join(dir, 'pixels.bin'), 'a')).close();
    const pixels = await fs.open(path.join(dir, 'pixels.bin'), 'r+');
    const failures: string[] = [];
    const seen = new Set<string>();
    let next = 0;
    let done = 0;
    let lastLog = Date.now();
    const work = async () => {
      while (next < files.length) {
        const k = next++;
        const file = files[k];
        let entry = index.entries[file];
        try {
          const st = await fs.stat(file);
          if (!entry || entry.size !== st.size || entry.mtimeMs !== st.mtimeMs) {
            const img = await decodeImage(file, size, channels);
            const slot = entry?.slot ?? index.slots++;
            await pixels.write(img.pixels, 0, length, slot * length);
            entry = { size: st.size, mtimeMs: st.mtimeMs, slot, width: img.width, height: img.height, channels: img.channels };
            index.entries[file] = entry;
            decoded++;
          } else if (!seen.has(file)) reused++;
          seen.add(file);
          slots[k] = entry.slot;
          const sizeKey = `${entry.width}x${entry.height}`;
          sizeCounts.set(sizeKey, (sizeCounts.get(sizeKey) ?? 0) + 1);
        } catch (err) {
          failures.push(`${path.relative(opts.folder, file) || file} (${errorText(err)})`);
        }
        done++;
        if (Date.now() - lastLog > 2000) {
          opts.log(`Decoding images: ${done.toLocaleString('en-US')} / ${files.length.toLocaleString('en-US')}`);
          lastLog = Date.now();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(2, os.cpus().length * 2) }, work));
    await pixels.close();
    const tmp = path.join(dir, `index.json.${process.pid}.tmp`);
    await fs.writeFile(tmp, JSON.stringify(index));
    await fs.rename(tmp, path.join(dir, 'index.json'));
    if (failures.length) {
      throw new TrainerError(
        'dataset',
        `Cannot decode ${failures.length} image(s) under ${opts.folder}: ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}. Remove or replace them.`,
      );
    }
  } finally {
    await unlock();
  }
  const reader = await fs.open(path.join(dir, 'pixels.bin'), 'r');
  const sizes = [...sizeCounts.entries()]
    .map(([k, count]) => {
      const [width, height] = k.split('x').map(Number);
      return { width, height, count };
    })
    .sort((a, b) => b.count - a.count);
  return {
    count: files.length,
    sizes,
    decoded,
    reused,
    async batch(indices: ArrayLike<number>): Promise<Float32Array> {
      const out = new Float32Array(indices.length * length);
      const buf = Buffer.alloc(length);
      for (let k = 0; k < indices.length; k++) {
        const { bytesRead } = await reader.read(buf, 0, length, slots[indices[k]] * length);
        if (bytesRead !== length) throw new TrainerError('dataset', `The decode cache in ${dir} is damaged; delete that folder and start again.`);
        for (let i = 0; i < length; i++) out[k * length + i] = buf[i] / 127.5 - 1;
      }
      return out;
    },
    close: () => reader.close(),
  };
}
