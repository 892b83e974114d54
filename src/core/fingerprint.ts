// A cheap fingerprint of what a run trains and verifies on: the dataset's
// listing (names, sizes, modification times; nothing is decoded) and the pairs
// file's content. A resume compares it with the one the run recorded.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../shared/config';
import type { DatasetFingerprint } from '../shared/run';

/** Identity folders listed at once: bounded so a 100k-identity set does not exhaust file handles. */
const LIST_CONCURRENCY = 32;

export async function fingerprintDataset(config: RunConfig): Promise<DatasetFingerprint> {
  const { path: root, pairsFile, synthetic } = config.dataset;
  const fp: DatasetFingerprint = root ? await fingerprintFolder(root) : { files: 0, bytes: 0, hash: hash(JSON.stringify(synthetic)) };
  if (pairsFile) fp.pairs = await fingerprintFile(pairsFile);
  return fp;
}

async function fingerprintFolder(root: string): Promise<DatasetFingerprint> {
  const identities = (await fs.readdir(root, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).map((e) => e.name).sort();
  const lines: string[][] = new Array(identities.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < identities.length; i = next++) lines[i] = await listIdentity(root, identities[i]);
  };
  await Promise.all(Array.from({ length: LIST_CONCURRENCY }, worker));
  const h = createHash('sha256');
  let files = 0;
  let bytes = 0;
  for (const group of lines) {
    for (const line of group) {
      h.update(line + '\n');
      files++;
      bytes += Number(line.split('\t')[1]);
    }
  }
  return { files, bytes, hash: h.digest('hex').slice(0, 16) };
}

async function listIdentity(root: string, name: string): Promise<string[]> {
  const dir = path.join(root, name);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).sort();
  } catch {
    return []; // a plain file beside the identity folders
  }
  const out: string[] = [];
  for (const file of names) {
    try {
      const st = await fs.stat(path.join(dir, file));
      if (st.isFile()) out.push(`${name}/${file}\t${st.size}\t${Math.round(st.mtimeMs)}`);
    } catch {
      // vanished or a dangling link: the trainer names it
    }
  }
  return out;
}

async function fingerprintFile(file: string): Promise<string | undefined> {
  try {
    return hash(await fs.readFile(file));
  } catch {
    return undefined;
  }
}

function hash(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** What differs between two fingerprints, in words; empty when nothing does. */
export function fingerprintChanges(before: DatasetFingerprint | undefined, now: DatasetFingerprint): string[] {
  if (!before) return [];
  const changes: string[] = [];
  if (before.hash !== now.hash) {
    changes.push(before.files || now.files ? `the dataset changed (${before.files} files, ${mb(before.bytes)} then; ${now.files} files, ${mb(now.bytes)} now)` : 'the synthetic dataset settings changed');
  }
  if (before.pairs !== now.pairs) changes.push('the pairs file changed');
  return changes;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
