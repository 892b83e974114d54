// The trainer event protocol: what the training child process reports to its
// parent (the extension host or the CLI), one JSON object per event.
// Versioned: a parent refuses events whose `v` it does not know.

import type { RunConfig } from './config';

export const PROTOCOL_VERSION = 1;

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** True only when TensorFlow really places ops on a GPU. */
  gpu: boolean;
  gpuName?: string;
  /** One line a user can read, e.g. "WebAssembly (XNNPACK, SIMD) on the CPU, no GPU". */
  description: string;
}

export interface DatasetStats {
  source: string;
  identities: number;
  images: number;
  imagesPerIdentity: { min: number; median: number; max: number };
  verifyIdentities: number;
  verifyImages: number;
  pairs: number;
  matchedPairs: number;
  folds: number;
  imageSize: number;
  channels: number;
  /** Source image sizes seen, most common first (folder datasets). */
  imageSizes?: { width: number; height: number; count: number }[];
  distinctImageSizes?: number;
  skippedIdentities?: number;
  /** Images of the training identities kept out of training to measure classification accuracy. */
  validationImages?: number;
  /** Where the verification pairs come from: a pairs file's path, or "held-out identities". */
  pairsSource?: string;
}

export interface NormStats {
  mean: number;
  min: number;
  max: number;
}

export interface RocPoint {
  far: number;
  tar: number;
}

export interface TarAtFar {
  far: number;
  tar: number;
  /** Cosine threshold that achieves it (score >= threshold accepted); null when only accepting nothing keeps FAR low enough. */
  threshold: number | null;
}

export interface Verification {
  pairs: number;
  /** 10-fold accuracy: threshold chosen on 9 folds, applied to the 10th. */
  accuracy: number;
  accuracyStd: number;
  /** Best-accuracy threshold over all pairs. */
  threshold: number;
  auc: number;
  eer: number;
  tarAtFar: TarAtFar[];
  /** ROC downsampled for plotting, FAR ascending. */
  roc: RocPoint[];
}

export interface RunSummary {
  epochs: number;
  steps: number;
  seconds: number;
  imagesPerSec: number;
  finalLoss: number | null;
  alpha: number | null;
  bestEpoch: number | null;
  bestAccuracy: number | null;
  final: Verification | null;
}

export type ErrorCode =
  | 'invalid-config'
  | 'backend-unavailable'
  | 'gpu-unavailable'
  | 'dataset'
  | 'non-finite-loss'
  | 'out-of-memory'
  | 'checkpoint'
  | 'disk'
  | 'resume'
  | 'internal';

export type FinishStatus = 'completed' | 'stopped' | 'failed';

interface Base {
  v: typeof PROTOCOL_VERSION;
  /** Milliseconds since the epoch when the event was emitted. */
  time: number;
}

export interface StartedEvent extends Base {
  type: 'started';
  backend: BackendInfo;
  dataset: DatasetStats;
  /** alpha_low for the training class count at p = 0.9. */
  alphaLow: number;
  config: RunConfig;
  stepsPerEpoch: number;
  parameters: number;
  /** Threads training data-parallel (1 = this process's main thread only). */
  workers?: number;
  pid: number;
}

export interface StepEvent extends Base {
  type: 'step';
  epoch: number;
  /** Global step, 1-based. */
  step: number;
  epochStep: number;
  loss: number;
  accuracy: number;
  alpha: number | null;
  /** Norm of the embedding before L2 normalization, over the batch. */
  featureNorm: NormStats;
  imagesPerSec: number;
}

export interface EpochEvent extends Base {
  type: 'epoch';
  epoch: number;
  epochs: number;
  trainLoss: number;
  trainAccuracy: number;
  alpha: number | null;
  featureNorm: NormStats;
  /** Classification on held-out images of the training identities; null when there are none. */
  validation?: { accuracy: number; loss: number; images: number } | null;
  verification: Verification;
  seconds: number;
  imagesPerSec: number;
}

export interface CheckpointEvent extends Base {
  type: 'checkpoint';
  epoch: number;
  path: string;
}

/** Marks the seam where a resumed run continues: events before it came from the previous trainer. */
export interface ResumedEvent extends Base {
  type: 'resumed';
  /** The checkpoint it continues from. */
  fromEpoch: number;
  fromStep: number;
  /** The (possibly extended) epoch count. */
  epochs: number;
  /** Which resume this is (1 for the first). */
  resume: number;
}

export interface LogEvent extends Base {
  type: 'log';
  level: 'debug' | 'info';
  message: string;
}

export interface WarningEvent extends Base {
  type: 'warning';
  code: string;
  message: string;
}

export interface ErrorEvent extends Base {
  type: 'error';
  code: ErrorCode;
  message: string;
}

export interface FinishedEvent extends Base {
  type: 'finished';
  status: FinishStatus;
  reason?: string;
  code?: ErrorCode;
  summary: RunSummary;
}

export type TrainerEvent =
  | StartedEvent
  | StepEvent
  | EpochEvent
  | CheckpointEvent
  | ResumedEvent
  | LogEvent
  | WarningEvent
  | ErrorEvent
  | FinishedEvent;

export type TrainerEventType = TrainerEvent['type'];

/** Distributive Omit, so each union member keeps its own fields. */
export type EventBody<E extends TrainerEvent = TrainerEvent> = E extends TrainerEvent ? Omit<E, 'v' | 'time'> : never;

/** Messages from the parent to the trainer over the IPC channel. */
export type TrainerCommand = { type: 'stop' };

const TYPES: ReadonlySet<string> = new Set<TrainerEventType>([
  'started',
  'step',
  'epoch',
  'checkpoint',
  'resumed',
  'log',
  'warning',
  'error',
  'finished',
]);

/** Checks the envelope of something claiming to be a trainer event. */
export function isTrainerEvent(value: unknown): value is TrainerEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.v === PROTOCOL_VERSION && typeof v.type === 'string' && TYPES.has(v.type) && typeof v.time === 'number';
}

/** Parses one JSON line; returns undefined for anything that is not a valid event. */
export function parseEventLine(line: string): TrainerEvent | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isTrainerEvent(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isTrainerCommand(value: unknown): value is TrainerCommand {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'stop';
}
