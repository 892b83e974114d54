// Resuming a run: checks that a checkpoint fits the run's settings, loads its
// weights (the learned alpha included) and optimizer state into a freshly built
// net and optimizer, and says where training continues.

import { upgradeConfig, type RunConfig } from '../../shared/config';
import { loadCheckpoint, type CheckpointMeta, type EpochProgress, type LoadedCheckpoint } from './checkpoint';
import { TrainerError } from '../errors';
import type { Net } from '../net/model';
import type { NetOptimizer } from './optimizer';
import { slotsPerVariable, writeWeights, type TensorData } from './state';

/** Where training continues: step `epochStep` (0-based) of `epoch`, with the sums of that epoch's earlier steps. */
export interface Position {
  epoch: number;
  epochStep: number;
  progress?: EpochProgress;
}

/** Settings a resume may change (where and how long it trains, what it reports); a change to any other would make the continued run a different run. */
const MAY_CHANGE: ReadonlySet<string> = new Set<keyof RunConfig>(['epochs', 'device', 'workers', 'reportEpoch']);

/** Loads the checkpoint in `dir` into a freshly built net and optimizer for `config` and a training set of `trainImages`. */
export async function restoreCheckpoint(dir: string, config: RunConfig, trainImages: number, net: Net, optimizer: NetOptimizer): Promise<{ meta: CheckpointMeta; from: Position }> {
  const fail = (reason: string) => new TrainerError('resume', `Cannot resume from ${dir}: ${reason}`);
  const checkpoint = await loadCheckpoint(dir);
  const changed = changedSettings(upgradeConfig(checkpoint.config) as RunConfig, config);
  if (changed.length) throw fail(`the run's settings differ from the checkpoint's (${changed.join('; ')}). Only epochs, device and threads may change.`);
  if (checkpoint.meta.trainImages !== trainImages) {
    throw fail(`the training set has ${trainImages} images now and had ${checkpoint.meta.trainImages} then, so the batches would not continue the same way.`);
  }
  const from = nextPosition(checkpoint.meta);
  if (from.epoch > config.epochs) throw fail(`it already holds all ${config.epochs} epochs; raise the epoch count to train further.`);
  try {
    writeWeights(net.train, checkpoint.weights);
  } catch (err) {
    throw fail(`its weights do not fit the net (${(err as Error).message}).`);
  }
  await restoreOptimizer(checkpoint, net, optimizer, fail);
  return { meta: checkpoint.meta, from };
}

function nextPosition(meta: CheckpointMeta): Position {
  if (meta.partial) return { epoch: meta.epoch, epochStep: meta.epochStep, progress: meta.epochProgress };
  return { epoch: meta.epoch + 1, epochStep: 0 };
}

async function restoreOptimizer(checkpoint: LoadedCheckpoint, net: Net, optimizer: NetOptimizer, fail: (reason: string) => Error): Promise<void> {
  const { className, state } = checkpoint.optimizer;
  if (className !== optimizer.getClassName()) throw fail(`it holds ${className} optimizer state, the run uses ${optimizer.getClassName()}.`);
  const perVariable = slotsPerVariable(className) ?? 0;
  const learnedScale = optimizer.scale ? 1 : 0;
  checkGroup('weights', state.weights, perVariable * (net.train.trainableWeights.length - learnedScale), fail);
  if (learnedScale) checkGroup('scale', state.scale, perVariable, fail);
  else if (state.scale.length) throw fail('it holds optimizer state for a learned scale, and the run keeps its scale fixed.');
  await optimizer.writeState(state);
}

/** A group's state is its iteration count, then the slots of its variables (none before its first step). */
function checkGroup(group: string, state: TensorData[], slots: number, fail: (reason: string) => Error): void {
  if (state.length !== 1 && state.length !== 1 + slots) throw fail(`its ${group} optimizer state has ${state.length} tensors, the net needs ${1 + slots}.`);
}

/** "field: was x, now y" for every setting outside MAY_CHANGE that differs. */
function changedSettings(saved: RunConfig, now: RunConfig): string[] {
  const a = saved as unknown as Record<string, unknown>;
  const b = now as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => !MAY_CHANGE.has(k) && !sameValue(a[k], b[k])).map((k) => `${k}: was ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
