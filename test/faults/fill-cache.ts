// A child process of the decode-cache faults: waits for the go signal, fills
// one decode cache with the files listed in a JSON file (in that order), and
// prints what the cache reported, one "info ..." or "warn <code> ..." line each.
//   node --require tsx/cjs test/faults/fill-cache.ts <cacheRoot> <folder> <files.json> <barrier dir> <name>
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cacheImages } from '../../src/trainer/data/decode-cache';
import { FAULT_IMAGE_SIZE } from './helpers';

const BARRIER_POLL_MS = 2;

async function main(): Promise<void> {
  const [cacheRoot, folder, list, barrier, name] = process.argv.slice(2);
  const files = JSON.parse(readFileSync(list, 'utf8')) as string[];
  writeFileSync(path.join(barrier, `ready-${name}`), '');
  while (!existsSync(path.join(barrier, 'go'))) await new Promise((r) => setTimeout(r, BARRIER_POLL_MS));
  const log = { info: (m: string) => console.log(`info ${m}`), warn: (code: string, m: string) => console.log(`warn ${code} ${m}`) };
  const images = await cacheImages(files, { cacheRoot, folder, imageSize: FAULT_IMAGE_SIZE, channels: 3, log });
  console.log(`done decoded=${images.decoded} reused=${images.reused} failed=${images.failed.length}`);
  await images.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
