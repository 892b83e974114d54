// Writes synthetic faces as a real-format dataset: an ImageFolder of PNG files
// (root/<identity>/<identity>_0001.png) and, optionally, an LFW pairs.txt.
// Used by `scripts/make-dataset.ts`, the tests and the benchmarks.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { generatePairs } from './draw-pairs';
import { drawIdentity, renderFace } from './face-renderer';
import { formatPairs } from './lfw-pairs';
import { encodePng } from './png';
import { Rng, hashSeed } from './rng';

export interface FaceFolderOptions {
  identities: number;
  /** Images per identity, or a function of the identity's index. */
  images: number | ((identity: number) => number);
  size: number;
  seed: number;
  /** Identity folder names; default Person_00001 ... */
  name?: (identity: number) => string;
  hardShare?: number;
  channels?: 1 | 3;
}

export async function writeFaceFolder(root: string, opts: FaceFolderOptions): Promise<{ name: string; count: number }[]> {
  const out: { name: string; count: number }[] = [];
  const channels = opts.channels ?? 3;
  for (let i = 0; i < opts.identities; i++) {
    const name = opts.name ? opts.name(i) : `Person_${String(i + 1).padStart(5, '0')}`;
    const count = typeof opts.images === 'number' ? opts.images : opts.images(i);
    const dir = path.join(root, name);
    await fs.mkdir(dir, { recursive: true });
    const face = drawIdentity(new Rng(hashSeed(opts.seed, 501, i)));
    for (let j = 0; j < count; j++) {
      const rng = new Rng(hashSeed(opts.seed, 502, i, j));
      const hard = rng.next() < (opts.hardShare ?? 0.15);
      const pixels = renderFace(face, rng, { size: opts.size, channels, hard });
      await fs.writeFile(path.join(dir, `${name}_${String(j + 1).padStart(4, '0')}.png`), encodePng(pixels, opts.size, opts.size, channels));
    }
    out.push({ name, count });
  }
  return out;
}

/** Writes <root>/pairs.txt in LFW form over the identities of `root`. */
export async function writePairsTxt(root: string, identities: { name: string; count: number }[], perFold: number, seed: number, folds = 10): Promise<string> {
  const file = path.join(root, 'pairs.txt');
  await fs.writeFile(file, formatPairs(generatePairs(identities, folds, perFold, new Rng(hashSeed(seed, 503)))));
  return file;
}
