// Shared by the fault cases: small image folders, and checks that what a
// decode cache holds is what a fresh decode gives.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { checksum, decodeImage } from '../../src/trainer/data/decode-cache';
import { encodePng } from '../../src/trainer/data/png';

/** Side of the images the decode-cache faults decode to (small: the faults are about processes, not pixels). */
export const FAULT_IMAGE_SIZE = 8;

/** A distinct PNG per (identity, image) so that a slot holding the wrong image shows. */
export function facePng(identity: number, image: number, size = 12): Buffer {
  return encodePng(Float32Array.from({ length: size * size * 3 }, (_, i) => ((i * 31 + identity * 97 + image * 13) % 255) / 255), size, size, 3);
}

/** root/id_NNN/img_M.png for `identities` x `images`; returns the files in listing order. */
export function writeFolder(root: string, identities: number, images: number): string[] {
  const files: string[] = [];
  for (let i = 0; i < identities; i++) {
    const dir = path.join(root, `id_${String(i).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let k = 0; k < images; k++) {
      const file = path.join(dir, `img_${k + 1}.png`);
      writeFileSync(file, facePng(i, k));
      files.push(file);
    }
  }
  return files;
}

/**
 * Reads a decode cache folder the way a later run would trust it (index.json
 * and pixels.bin) and lists every entry whose slot is not what decoding its
 * file gives now. Also returns the files the index holds.
 */
export async function cacheMismatches(dir: string, size = FAULT_IMAGE_SIZE, channels: 1 | 3 = 3): Promise<{ files: string[]; mismatched: string[] }> {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { entries: Record<string, { slot: number; hash: number }> };
  const length = size * size * channels;
  const pixels = await fs.open(path.join(dir, 'pixels.bin'), 'r');
  const mismatched: string[] = [];
  try {
    for (const [file, entry] of Object.entries(index.entries)) {
      const slot = Buffer.alloc(length);
      await pixels.read(slot, 0, length, entry.slot * length);
      const fresh = (await decodeImage(file, size, channels)).pixels;
      if (!slot.equals(fresh) || checksum(fresh) !== entry.hash) mismatched.push(path.basename(path.dirname(file)) + '/' + path.basename(file));
    }
  } finally {
    await pixels.close();
  }
  return { files: Object.keys(index.entries), mismatched };
}
