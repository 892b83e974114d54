// Whether a run can be resumed, and what changed since it started (the
// trainer version, the dataset or pairs file): the caller asks the user
// before going on when something did.

import * as path from 'node:path';
import type { RunConfig } from '../shared/config';
import { plural } from '../shared/format';
import { RUN_FILES, type DatasetFingerprint, type RunRecord } from '../shared/run';
import type { CheckpointPosition } from './checkpoints';
import { latestCheckpoint } from './checkpoints';
import { fingerprintChanges, fingerprintDataset } from './fingerprint';
import { TRAINER_VERSION } from './version';

export interface ResumeCheck {
  /** Why it cannot be resumed at all. */
  refusal?: string;
  /** What differs from when it started; resuming anyway needs a confirmation. */
  changes: string[];
  /** The checkpoint it would continue from. */
  from?: { epoch: number; step: number; partial: boolean };
}

/** The training images `config`'s dataset gives now, counted without decoding (the trainer's listedTrainImages); undefined when it cannot tell. */
export type TrainImageCounter = (config: RunConfig) => Promise<number | undefined>;

/**
 * `status` is what the viewer sees (a stale running run is interrupted);
 * `epochs` a new epoch count, which may extend a completed run;
 * `countTrainImages`, when given, refuses a changed dataset whose training set
 * no longer has the checkpoint's size (no confirmation can make that resume work).
 */
export async function checkResume(dir: string, record: RunRecord, status: RunRecord['status'], epochs?: number, countTrainImages?: TrainImageCounter): Promise<ResumeCheck> {
  const target = epochs ?? record.config.epochs;
  if (status === 'running' || status === 'queued') return { refusal: `run "${record.name}" is ${status}; stop it first`, changes: [] };
  if (status === 'completed' && target <= record.config.epochs) {
    return { refusal: `run "${record.name}" completed all its ${plural(record.config.epochs, 'epoch')}; give a larger epoch count to train it further`, changes: [] };
  }
  const from = (await latestCheckpoint(dir))?.meta;
  if (!from) return { refusal: `run "${record.name}" has no complete checkpoint in ${path.join(dir, RUN_FILES.checkpoints)} (it stopped before its first one), so it can only be started again`, changes: [] };
  if (from.epoch > target || (from.epoch === target && !from.partial)) {
    return { refusal: `its newest checkpoint is already at epoch ${from.epoch}; give more than ${plural(from.epoch, 'epoch')}`, changes: [] };
  }
  const changes: string[] = [];
  if (record.trainerVersion && record.trainerVersion !== TRAINER_VERSION) changes.push(`the trainer changed (version ${record.trainerVersion} then, ${TRAINER_VERSION} now)`);
  let now: DatasetFingerprint | undefined;
  try {
    now = await fingerprintDataset(record.config);
    changes.push(...fingerprintChanges(record.fingerprint, now));
  } catch (err) {
    changes.push(`the dataset cannot be read now (${(err as Error).message})`);
  }
  const position = { epoch: from.epoch, step: from.step, partial: !!from.partial };
  const refusal = countTrainImages && (await trainingSetRefusal(record, from, now, countTrainImages));
  return refusal ? { refusal, changes, from: position } : { changes, from: position };
}

/** Why a resume cannot continue from `from` whatever the user says: the training set's size changed, and the checkpoint's batch order depends on it. */
async function trainingSetRefusal(record: RunRecord, from: CheckpointPosition, now: DatasetFingerprint | undefined, count: TrainImageCounter): Promise<string | undefined> {
  if (from.trainImages === undefined) return undefined;
  if (now && record.fingerprint && now.hash === record.fingerprint.hash) return undefined;
  // The listing counts the images the trainer skipped as undecodable: with some, it cannot compare.
  if (record.dataset?.skippedImages?.count) return undefined;
  const images = await count(record.config).catch(() => undefined);
  if (images === undefined || images === from.trainImages) return undefined;
  return (
    `its training set would have ${plural(images, 'image')} now and had ${from.trainImages} when its newest checkpoint was written. ` +
    'The checkpoint continues a batch order drawn for that many images, so it cannot go on, even when forced. Put the dataset back as it was, or start a new run'
  );
}
