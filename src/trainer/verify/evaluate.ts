// Verifies a saved checkpoint of a run without training: on any pairs file (train
// on one set, test on LFW), or on the run's own verification pairs. The net is
// built from the checkpoint's config and loaded with its weights, and embedded
// exactly as the training loop verifies, so the run's own pairs give the numbers
// of that epoch's event again. `eval` (src/cli/eval.ts) stores the result in the
// run folder.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CHECKPOINT_NAME, checkpointsDir, readCompleteMeta, type CheckpointPosition } from '../../core/checkpoints';
import { formatErrors, resolveConfig, upgradeConfig, type RunConfig } from '../../shared/config';
import type { EvaluationEvent, EventBody } from '../../shared/events';
import { initBackend, releaseBackend } from '../backend/select';
import { loadDataset } from '../data/load';
import { loadPairsFile } from '../data/pairs-file';
import { pairsSet } from '../data/pairs-set';
import { SkipReport } from '../data/skip-report';
import { TrainerError, type TrainerLog } from '../errors';
import { CLASSIFIER } from '../net/heads/head';
import { buildNet } from '../net/model';
import { loadCheckpoint } from '../train/checkpoint';
import { writeWeights, type TensorData } from '../train/state';
import { runVerification, type VerificationSet } from './embed';

/** What pairsSource says when a run is verified on its own pairs. */
export const OWN_PAIRS = "the run's own pairs";

export interface EvaluateOptions {
  runDir: string;
  /** LFW pairs.txt or CSV; undefined: the run's own verification pairs. */
  pairsFile?: string;
  /** Where the pairs' images are; default: next to the pairs file, then the run's dataset folder. */
  imagesFolder?: string;
  /** Let the pairs file name images outside its images folder, whatever the run's own setting says. */
  allowPairsOutsideFolder?: boolean;
  flip: boolean;
  /** A checkpoint folder name under checkpoints/; default: the newest complete end-of-epoch one. */
  checkpoint?: string;
  log: (message: string) => void;
}

export async function evaluateCheckpoint(opts: EvaluateOptions): Promise<EventBody<EvaluationEvent>> {
  const t0 = Date.now();
  const dir = await chooseCheckpoint(opts.runDir, opts.checkpoint);
  const checkpoint = await loadCheckpoint(dir);
  const config = checkpointConfig(checkpoint.config, dir);
  const backend = await initBackend(config.device, reportTo(opts.log));
  opts.log(`Backend: ${backend.description}`);
  const net = buildNet(config, classesOf(checkpoint.weights, dir));
  try {
    writeWeights(net.train, checkpoint.weights);
    const { set, images, close } = await verificationSet(config, opts);
    try {
      opts.log(`Verifying ${path.basename(dir)} on ${set.pairs.a.length} pairs over ${images} images${opts.flip ? ' with flipped copies' : ''}`);
      const verification = await runVerification(net, set, config.batchSize, opts.flip);
      return {
        type: 'evaluation',
        checkpoint: { name: path.basename(dir), epoch: checkpoint.meta.epoch, step: checkpoint.meta.step },
        pairsSource: opts.pairsFile ? path.resolve(opts.pairsFile) : OWN_PAIRS,
        ...(opts.pairsFile ? { imagesFolder: set.imagesRoot } : {}),
        flip: opts.flip,
        verification,
        images,
        seconds: (Date.now() - t0) / 1000,
      };
    } finally {
      await close();
    }
  } finally {
    net.train.dispose();
    await releaseBackend();
  }
}

/** The named checkpoint, or the newest complete one taken at the end of an epoch. */
async function chooseCheckpoint(runDir: string, name?: string): Promise<string> {
  const root = checkpointsDir(runDir);
  if (name) {
    const dir = path.join(root, name);
    if (!(await readCompleteMeta(dir))) throw new TrainerError('checkpoint', `${dir} is not a complete checkpoint.`);
    return dir;
  }
  const names = await fs.readdir(root).catch(() => [] as string[]);
  let best: { dir: string; meta: CheckpointPosition } | undefined;
  for (const n of names.filter((x) => CHECKPOINT_NAME.test(x))) {
    const meta = await readCompleteMeta(path.join(root, n));
    if (meta && !meta.partial && (!best || meta.epoch > best.meta.epoch)) best = { dir: path.join(root, n), meta };
  }
  if (!best) throw new TrainerError('checkpoint', `${runDir} holds no complete end-of-epoch checkpoint to evaluate.`);
  return best.dir;
}

function checkpointConfig(saved: RunConfig, dir: string): RunConfig {
  const resolved = resolveConfig(upgradeConfig(saved));
  if (!resolved.ok) throw new TrainerError('invalid-config', `${dir}: its config is not valid here: ${formatErrors(resolved.errors)}`);
  return resolved.config;
}

/** Training classes, from the classifier's kernel [embedding, classes]. */
function classesOf(weights: TensorData[], dir: string): number {
  const kernel = weights.find((w) => w.name === `${CLASSIFIER}/kernel`);
  if (!kernel || kernel.shape.length !== 2) throw new TrainerError('checkpoint', `${dir} has no ${CLASSIFIER}/kernel weight.`);
  return kernel.shape[1];
}

/** Warnings (undecodable images skipped, decode-cache trouble) go to the same lines as the rest. */
function reportTo(log: (message: string) => void): TrainerLog {
  return { info: log, warn: (_code, message) => log(message) };
}

/**
 * The pairs file's images and pairs, or the run's own verification set (its
 * dataset loaded again). The run's own data settings apply: pairs stay inside
 * their images folder unless it (or the caller) allowed otherwise, and undecodable
 * images are skipped unless it had strict data.
 */
async function verificationSet(config: RunConfig, opts: EvaluateOptions): Promise<{ set: VerificationSet & { imagesRoot?: string }; images: number; close: () => Promise<void> }> {
  const log = reportTo(opts.log);
  const { dataset: d } = config;
  if (opts.pairsFile) {
    const resolved = await loadPairsFile(path.resolve(opts.pairsFile), opts.imagesFolder ? path.resolve(opts.imagesFolder) : '', d.path ? path.resolve(d.path) : '', { allowOutside: opts.allowPairsOutsideFolder || d.allowPairsOutsideFolder });
    const set = await pairsSet(resolved, config.imageSize, config.channels, log, new SkipReport(d.strictData, log));
    return { set: { ...set, imagesRoot: resolved.imagesRoot }, images: set.verify.count, close: () => set.cache.close() };
  }
  const data = await loadDataset(config, log);
  return { set: data, images: data.verify.count, close: async () => data.close?.() };
}
