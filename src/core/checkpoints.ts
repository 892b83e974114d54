// Which checkpoints a run folder holds, without loading any (tf-free, so the
// host can tell whether a run can be resumed). A checkpoint is a folder
// checkpoints/epoch-NNN or epoch-NNN-step-MMMMMM whose checkpoint.json,
// written last, parses and whose other files exist; anything else (a write
// interrupted at any stage, *.tmp folders) never counts.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES } from '../shared/run';

export const CHECKPOINT_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  optimizer: 'optimizer.json',
  optimizerData: 'optimizer.bin',
  config: 'config.json',
  meta: 'checkpoint.json',
} as const;

/** Written before checkpoint.json, so present in every complete checkpoint. */
const CONTENT_FILES = [CHECKPOINT_FILES.model, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.optimizer, CHECKPOINT_FILES.optimizerData, CHECKPOINT_FILES.config];

export const CHECKPOINT_NAME = /^epoch-\d+(-step-\d+)?$/;

/** What every checkpoint.json has; the trainer's CheckpointMeta has more. */
export interface CheckpointPosition {
  epoch: number;
  step: number;
  partial?: boolean;
  /** Size of the training set it was trained on (its batch order depends on it). */
  trainImages?: number;
}

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, RUN_FILES.checkpoints);
}

/** checkpoint.json of a complete checkpoint; undefined when it or a file written before it is missing or unreadable. */
export async function readCompleteMeta<M extends CheckpointPosition = CheckpointPosition>(dir: string): Promise<M | undefined> {
  try {
    const meta = JSON.parse(await fs.readFile(path.join(dir, CHECKPOINT_FILES.meta), 'utf8')) as M;
    if (!meta || !Number.isInteger(meta.epoch) || !Number.isInteger(meta.step)) return undefined;
    await Promise.all(CONTENT_FILES.map((f) => fs.access(path.join(dir, f))));
    return meta;
  } catch {
    return undefined;
  }
}

/** The newest complete checkpoint of a run, by (epoch, step). */
export async function latestCheckpoint<M extends CheckpointPosition = CheckpointPosition>(runDir: string): Promise<{ dir: string; meta: M } | undefined> {
  const root = checkpointsDir(runDir);
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
  let best: { dir: string; meta: M } | undefined;
  for (const name of names.filter((n) => CHECKPOINT_NAME.test(n))) {
    const dir = path.join(root, name);
    const meta = await readCompleteMeta<M>(dir);
    if (meta && (!best || meta.epoch > best.meta.epoch || (meta.epoch === best.meta.epoch && meta.step > best.meta.step))) best = { dir, meta };
  }
  return best;
}
