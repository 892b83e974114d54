// Whether a run can be resumed, and what changed since it started (the
// trainer version, the dataset or pairs file): the caller asks the user
// before going on when something did.

import * as path from 'node:path';
import { RUN_FILES, type RunRecord } from '../shared/run';
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

/**
 * `status` is what the viewer sees (a stale running run is interrupted);
 * `epochs` a new epoch count, which may extend a completed run.
 */
export async function checkResume(dir: string, record: RunRecord, status: RunRecord['status'], epochs?: number): Promise<ResumeCheck> {
  const target = epochs ?? record.config.epochs;
  if (status === 'running' || status === 'queued') return { refusal: `run "${record.name}" is ${status}; stop it first`, changes: [] };
  if (status === 'completed' && target <= record.config.epochs) {
    return { refusal: `run "${record.name}" completed all its ${record.config.epochs} epochs; give a larger epoch count to train it further`, changes: [] };
  }
  const from = (await latestCheckpoint(dir))?.meta;
  if (!from) return { refusal: `run "${record.name}" has no complete checkpoint in ${path.join(dir, RUN_FILES.checkpoints)} (it stopped before its first one), so it can only be started again`, changes: [] };
  if (from.epoch > target || (from.epoch === target && !from.partial)) {
    return { refusal: `its newest checkpoint is already at epoch ${from.epoch}; give more than ${from.epoch} epochs`, changes: [] };
  }
  const changes: string[] = [];
  if (record.trainerVersion && record.trainerVersion !== TRAINER_VERSION) changes.push(`the trainer changed (version ${record.trainerVersion} then, ${TRAINER_VERSION} now)`);
  try {
    changes.push(...fingerprintChanges(record.fingerprint, await fingerprintDataset(record.config)));
  } catch (err) {
    changes.push(`the dataset cannot be read now (${(err as Error).message})`);
  }
  return { changes, from: { epoch: from.epoch, step: from.step, partial: !!from.partial } };
}
