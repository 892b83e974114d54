// Checkpoints, one folder each under <run>/checkpoints/: epoch-NNN after every
// epoch, epoch-NNN-step-MMMMMM when a stop interrupts an epoch (partial; MMMMMM
// is the global step). Each holds the model in TensorFlow.js layers format
// (model.json + weights.bin), the optimizer state of both groups, weights and
// learned scale (optimizer.json + optimizer.bin: the weights group's tensors,
// then the scale group's), the run config and checkpoint.json, everything a
// resume needs.
//
// Crash safety: the files are written and fsynced into <name>.tmp, checkpoint.json
// last, then the folder is renamed into place; an older folder of the same name is
// renamed away first and deleted only afterwards. A folder is a checkpoint only
// when its checkpoint.json parses, so an interrupted write is never resumed from,
// and *.tmp folders are ignored (and removed by the next write).

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../../shared/config';
import type { RunSummary } from '../../shared/events';
import { pathExists } from '../../core/atomic-file';
import { CHECKPOINT_FILES, checkpointsDir, latestCheckpoint as newestComplete, readCompleteMeta } from '../../core/checkpoints';
import { DATA_ORDER } from '../data/batches';
import { TrainerError, isDiskError } from '../errors';
import * as tf from '../tf';
import type { NetOptimizer, OptimizerState } from './optimizer';
import type { StateDtype, TensorData } from './state';

/** Version of the folder layout and checkpoint.json; a resume refuses others (2: optimizer state in two groups). */
export const CHECKPOINT_FORMAT = 2;

const FILES = CHECKPOINT_FILES;

const TMP_SUFFIX = '.tmp';
/** Where a same-named older checkpoint waits while the new one is renamed in (ends in .tmp: cleaned like one). */
const OLD_SUFFIX = '.old.tmp';
const EPOCH_DIGITS = 3;
const STEP_DIGITS = 6;
/** fsync of a folder is not possible everywhere (Windows cannot open one; some filesystems refuse). */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EACCES']);

/** Sums over the steps done so far of a partial epoch, so the resumed epoch reports the whole epoch. */
export interface EpochProgress {
  images: number;
  lossSum: number;
  accuracySum: number;
  normSum: number;
  /** null stands for "none yet" (JSON has no infinities). */
  normMin: number | null;
  normMax: number | null;
  seconds: number;
}

/** checkpoint.json. */
export interface CheckpointMeta {
  format: number;
  epoch: number;
  /** Global steps done. */
  step: number;
  /** Steps done in `epoch` (all of them unless partial). */
  epochStep: number;
  /** Taken mid-epoch: a resume continues `epoch` at step `epochStep`. */
  partial: boolean;
  /** The epoch count the run had when this was written. */
  epochs: number;
  alpha: number | null;
  /** How the batch stream is derived (data/batches.ts); a resume needs the same. */
  dataOrder: string;
  seed: number;
  /** Size of the training set, which the batch order depends on. */
  trainImages: number;
  summary: RunSummary;
  epochProgress?: EpochProgress;
  /** Resumes the run had gone through when this was written. */
  resumes: number;
  savedAt: string;
}

export type CheckpointMetaInput = Omit<CheckpointMeta, 'format' | 'savedAt' | 'dataOrder'>;

export interface LoadedCheckpoint {
  dir: string;
  meta: CheckpointMeta;
  /** The config the checkpoint was trained with. */
  config: RunConfig;
  weights: TensorData[];
  optimizer: { className: string; state: OptimizerState };
}

export function checkpointName(meta: Pick<CheckpointMeta, 'epoch' | 'step' | 'partial'>): string {
  const epoch = `epoch-${String(meta.epoch).padStart(EPOCH_DIGITS, '0')}`;
  return meta.partial ? `${epoch}-step-${String(meta.step).padStart(STEP_DIGITS, '0')}` : epoch;
}

/** Writes a checkpoint into <runDir>/checkpoints/ and returns its folder; failures are TrainerErrors ('disk' or 'checkpoint') naming it. */
export async function saveCheckpoint(runDir: string, model: tf.LayersModel, optimizer: NetOptimizer, config: RunConfig, input: CheckpointMetaInput): Promise<string> {
  const root = checkpointsDir(runDir);
  const dir = path.join(root, checkpointName(input));
  const tmp = dir + TMP_SUFFIX;
  try {
    if (await fs.mkdir(root, { recursive: true })) await syncDir(runDir);
    await removeTemps(root);
    await fs.mkdir(tmp);
    await writeContents(tmp, model, optimizer, config);
    await writeSynced(path.join(tmp, FILES.meta), JSON.stringify(completeMeta(input), null, 2));
    await syncDir(tmp);
    await moveIntoPlace(tmp, dir);
  } catch (err) {
    throw writeError(dir, err);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
  return dir;
}

function completeMeta(input: CheckpointMetaInput): CheckpointMeta {
  return { format: CHECKPOINT_FORMAT, ...input, dataOrder: DATA_ORDER, savedAt: new Date().toISOString() };
}

function writeError(dir: string, err: unknown): TrainerError {
  const reason = err instanceof Error ? err.message : String(err);
  if (isDiskError(err)) {
    return new TrainerError('disk', `Could not write the checkpoint to ${dir}: ${reason}. Free disk space (or make the folder writable), then resume the run from its last checkpoint.`);
  }
  return new TrainerError('checkpoint', `Could not write the checkpoint to ${dir}: ${reason}. Check the folder's permissions and free disk space.`);
}

/** Leftovers of interrupted writes. */
async function removeTemps(root: string): Promise<void> {
  const names = await fs.readdir(root);
  await Promise.all(names.filter((n) => n.endsWith(TMP_SUFFIX)).map((n) => fs.rm(path.join(root, n), { recursive: true, force: true })));
}

async function writeContents(dir: string, model: tf.LayersModel, optimizer: NetOptimizer, config: RunConfig): Promise<void> {
  await writeModel(dir, model);
  await writeOptimizer(dir, optimizer);
  await writeSynced(path.join(dir, FILES.config), JSON.stringify(config, null, 2));
}

function joinBuffers(data: ArrayBuffer | ArrayBuffer[] | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((b) => Buffer.from(b)));
}

/** tfjs layers format, so tf.loadLayersModel reads it (see loadCheckpointModel). */
async function writeModel(dir: string, model: tf.LayersModel): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const json = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [FILES.weights], weights: artifacts.weightSpecs }],
      };
      await writeSynced(path.join(dir, FILES.model), JSON.stringify(json));
      await writeSynced(path.join(dir, FILES.weights), joinBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

async function writeOptimizer(dir: string, optimizer: NetOptimizer): Promise<void> {
  const state = await optimizer.readState();
  const specs = (group: TensorData[]) => group.map(({ name, shape, dtype }) => ({ name, shape, dtype }));
  const json = { className: optimizer.getClassName(), config: optimizer.weights.getConfig(), weights: specs(state.weights), scale: specs(state.scale) };
  const tensors = [...state.weights, ...state.scale];
  await writeSynced(path.join(dir, FILES.optimizer), JSON.stringify(json));
  await writeSynced(path.join(dir, FILES.optimizerData), Buffer.concat(tensors.map((s) => Buffer.from(s.values.buffer, s.values.byteOffset, s.values.byteLength))));
}

async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

/** Renames `tmp` to `dir`; a `dir` already there is renamed away first and deleted only once `tmp` is in place. */
async function moveIntoPlace(tmp: string, dir: string): Promise<void> {
  const old = dir + OLD_SUFFIX;
  const replacing = await pathExists(dir);
  if (replacing) await fs.rename(dir, old);
  try {
    await fs.rename(tmp, dir);
  } catch (err) {
    if (replacing) await fs.rename(old, dir).catch(() => undefined);
    throw err;
  }
  await syncDir(path.dirname(dir));
  if (replacing) await fs.rm(old, { recursive: true, force: true });
}


/** The newest complete checkpoint of a run, by (epoch, step); undefined when there is none. */
/** The newest complete checkpoint of a run, with its full checkpoint.json. */
export function latestCheckpoint(runDir: string): Promise<{ dir: string; meta: CheckpointMeta } | undefined> {
  return newestComplete<CheckpointMeta>(runDir);
}

/** Reads everything a resume needs; a checkpoint that is incomplete or of another format is a TrainerError 'resume'. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const fail = (reason: string) => new TrainerError('resume', `Cannot resume from ${dir}: ${reason}`);
  const meta = await readCompleteMeta<CheckpointMeta>(dir);
  if (!meta) throw fail('it is not a complete checkpoint (checkpoint.json or a file written before it is missing or unreadable).');
  if (meta.format !== CHECKPOINT_FORMAT) throw fail(`it was written in checkpoint format ${meta.format ?? 'of an older trainer'}; this trainer reads format ${CHECKPOINT_FORMAT}.`);
  if (meta.dataOrder !== DATA_ORDER) throw fail(`its batch order "${meta.dataOrder}" differs from this trainer's "${DATA_ORDER}", so the run would not continue the same way.`);
  try {
    const read = (file: string) => fs.readFile(path.join(dir, file));
    const model = JSON.parse((await read(FILES.model)).toString('utf8'));
    const optimizer = JSON.parse((await read(FILES.optimizer)).toString('utf8'));
    return {
      dir,
      meta,
      config: JSON.parse((await read(FILES.config)).toString('utf8')),
      weights: decodeTensors(await read(FILES.weights), model.weightsManifest[0].weights, FILES.weights),
      optimizer: { className: optimizer.className, state: splitGroups(decodeTensors(await read(FILES.optimizerData), [...optimizer.weights, ...optimizer.scale], FILES.optimizerData), optimizer.weights.length) },
    };
  } catch (err) {
    throw err instanceof TrainerError ? err : fail((err as Error).message);
  }
}

function splitGroups(tensors: TensorData[], weights: number): OptimizerState {
  return { weights: tensors.slice(0, weights), scale: tensors.slice(weights) };
}

/** Cuts a buffer of concatenated little-endian tensors into their specs' arrays. */
function decodeTensors(buffer: Buffer, specs: { name: string; shape: number[]; dtype: string }[], file: string): TensorData[] {
  let offset = 0;
  const tensors = specs.map(({ name, shape, dtype }) => {
    if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`${file}: ${name} has dtype ${dtype}`);
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    if (offset + bytes > buffer.length) throw new Error(`${file} is shorter than its manifest (at ${name})`);
    // A copy: Buffer views need not be 4-byte aligned.
    const slice = buffer.buffer.slice(buffer.byteOffset + offset, buffer.byteOffset + offset + bytes);
    offset += bytes;
    const values = dtype === 'int32' ? new Int32Array(slice) : new Float32Array(slice);
    return { name, shape, dtype: dtype as StateDtype, values };
  });
  if (offset !== buffer.length) throw new Error(`${file} is longer than its manifest`);
  return tensors;
}

/** Loads a checkpoint's model (custom layers must be registered, i.e. l2-layer imported). */
export async function loadCheckpointModel(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await fs.readFile(path.join(dir, FILES.model), 'utf8'));
  const weights = await fs.readFile(path.join(dir, FILES.weights));
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: buffer }));
}
