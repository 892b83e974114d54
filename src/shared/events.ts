// The trainer event protocol: what a trainer appends to its run folder's
// events.jsonl, one JSON object per line (docs/run-format.md). Versioned: a
// reader skips events whose `v` it does not know, and every body is checked
// against BODY_TABLE before anyone uses it.

import type { ReportEpoch, RunConfig } from './config';

export const PROTOCOL_VERSION = 1;

export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

/** A WebGPU adapter as Dawn reports it (GPUAdapterInfo). */
export interface GpuAdapter {
  /** e.g. "nvidia", "amd", "intel", "mesa". */
  vendor: string;
  /** e.g. "hopper", "rdna-3", "software"; may be empty. */
  architecture: string;
  device: string;
  /** The driver's own description, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
  description: string;
  /** False for a software adapter (lavapipe, SwiftShader: Dawn's isFallbackAdapter), which runs on the CPU. */
  hardware: boolean;
}

export interface BackendInfo {
  name: BackendName;
  /** True only when ops really run on a GPU (a software WebGPU adapter is not one). */
  gpu: boolean;
  gpuName?: string;
  /** The WebGPU backend's adapter. */
  adapter?: GpuAdapter;
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
  /** Images left out because they could not be read or decoded; only when some were. */
  skippedImages?: SkippedImages;
  /** What training and verification share (the protocol check); absent in runs from before it. */
  overlap?: ProtocolOverlap;
}

/**
 * Identities and images found on both sides of the protocol: training (with its
 * validation images) and verification. Either one inflates verification numbers.
 */
export interface ProtocolOverlap {
  /** Verification identities whose name is also a training identity's. */
  identities: number;
  /** Verification images with the same content as a training image. */
  images: number;
  /** How images were compared: the SHA-1 of their files, or of their decoded pixels (synthetic faces). */
  by: 'file' | 'pixels';
  /** A few of each, for people. */
  examples: string[];
}

/** The code of the `warning` event (an `error` with strict protocol) a run sends when training and verification overlap. */
export const PROTOCOL_OVERLAP_WARNING = 'protocol-overlap';

/** Images left out because they cannot be read or decoded (unless strict data is on, which fails the run). */
export interface SkippedImages {
  count: number;
  /** The first few, relative to their dataset or pairs folder. */
  examples: string[];
}

/** The code of the `warning` event a run sends when it leaves undecodable images out. */
export const SKIPPED_IMAGES_WARNING = 'skipped-images';

export interface NormStats {
  mean: number;
  min: number;
  max: number;
}

export interface RocPoint {
  far: number;
  tar: number;
}

/** The false accept rates every verification reports TAR at (the LFW/IJB convention), ascending. */
export const FAR_TARGETS = [1e-4, 1e-3, 1e-2, 1e-1] as const;

export interface TarAtFar {
  far: number;
  tar: number;
  /** Cosine threshold that achieves it (score >= threshold accepted); null when only accepting nothing keeps FAR low enough. */
  threshold: number | null;
}

export interface Verification {
  pairs: number;
  /** Mismatched pairs among them: a TAR@FAR target below 1/mismatched cannot be measured (absent in older runs). */
  mismatched?: number;
  /** 10-fold accuracy: threshold chosen on 9 folds, applied to the 10th. */
  accuracy: number;
  accuracyStd: number;
  /** The threshold each fold was scored with (chosen on the other folds), in fold order. */
  foldThresholds?: number[];
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
  /** The epoch with the best 10-fold accuracy, chosen on the verification pairs themselves: shown only as "best on the test pairs". */
  bestEpoch: number | null;
  bestAccuracy: number | null;
  final: Verification | null;
  /** The run's result (src/shared/summary.ts); absent in summaries written before it, whose result is `final`. */
  reported?: ReportedEpoch | null;
}

/** The epoch a run reports as its result, by the rule of its config's reportEpoch. */
export interface ReportedEpoch {
  epoch: number;
  rule: ReportEpoch;
  /** That epoch's validation accuracy (held-out images of the training identities); null without validation images. */
  validationAccuracy: number | null;
  verification: Verification;
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
  | 'protocol'
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
  /** Lower bound on the head's scale for the training class count at p = 0.9: alpha_low, or s_low for NormFace, CosFace and ArcFace. */
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
  /** The head's feature scale: alpha (L2-softmax) or s (NormFace, CosFace, ArcFace); null for softmax. */
  alpha: number | null;
  /** Norm of the embedding before L2 normalization, over the batch. */
  featureNorm: NormStats;
  imagesPerSec: number;
  /** Seconds the trainer expects the run to take from `time` on, verifications included (src/shared/eta.ts); absent until it knows. */
  eta?: number;
}

export interface EpochEvent extends Base {
  type: 'epoch';
  epoch: number;
  epochs: number;
  trainLoss: number;
  trainAccuracy: number;
  /** As in StepEvent. */
  alpha: number | null;
  featureNorm: NormStats;
  /** Classification on held-out images of the training identities; null when there are none. */
  validation?: { accuracy: number; loss: number; images: number } | null;
  verification: Verification;
  seconds: number;
  imagesPerSec: number;
  /** What the run recorded of this verification (records/, docs/run-format.md): written before this event. */
  records?: EpochRecords;
}

/** Pearson's and Spearman's correlation of two quantities; null where undefined (a constant one). */
export interface Correlation {
  pearson: number | null;
  spearman: number | null;
}

/** Verification of the pairs whose images fall in given quality thirds, each pair judged at its fold's threshold. */
export interface BucketResult {
  /** 'both high', 'one low' or 'both low' (PAIR_BUCKETS in src/shared/quality.ts). */
  bucket: string;
  pairs: number;
  matched: number;
  /** null when the bucket has no pairs (no matched pairs for tar, no mismatched for far). */
  accuracy: number | null;
  tar: number | null;
  far: number | null;
}

/** The records files of one epoch's verification, paths relative to the run folder, and what they show in numbers. */
export interface EpochRecords {
  set: string;
  epoch: string;
  /** The latest embeddings; null when they were too large to keep (see `note`). */
  embeddings: string | null;
  /** Synthetic faces' thumbnails, when drawn. */
  thumbnails?: string;
  images: number;
  pairs: number;
  /** Pairs whose scores are recorded: all of them, or an evenly spaced sample. */
  recordedPairs: number;
  trainSample: number;
  /** Feature norm f(x) before normalization against image quality. */
  normQuality: { verify: Correlation; train: Correlation | null };
  buckets: BucketResult[];
  /** What was left out, and why. */
  note?: string;
}

export interface CheckpointEvent extends Base {
  type: 'checkpoint';
  epoch: number;
  path: string;
  /** Global step it was taken after. */
  step?: number;
  /** Taken mid-epoch (a stop): resuming continues that epoch. */
  partial?: boolean;
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

/**
 * A saved checkpoint of the run verified on a pairs file after training (`eval`,
 * "Evaluate Run on Pairs..."): appended by the evaluating process, which is the
 * folder's writer for that moment (never while a trainer owns it).
 */
export interface EvaluationEvent extends Base {
  type: 'evaluation';
  /** The checkpoint evaluated: its folder under checkpoints/, epoch and global step. */
  checkpoint: { name: string; epoch: number; step: number };
  /** The pairs file's path, or "the run's own pairs". */
  pairsSource: string;
  /** The folder its images were read from, when a pairs file was given. */
  imagesFolder?: string;
  /** Each descriptor is the sum of the embeddings of the image and its mirror image. */
  flip: boolean;
  verification: Verification;
  /** Images embedded. */
  images: number;
  seconds: number;
}

/** One GPU as nvidia-smi reported it in a `system` sample. */
export interface GpuSample {
  index: number;
  name: string;
  /** Percent busy; null where the driver cannot say. */
  utilization: number | null;
  /** MiB. */
  memoryUsed: number | null;
  memoryTotal: number | null;
}

/** What the trainer costs the machine, sampled every few seconds (src/trainer/system-monitor.ts). */
export interface SystemEvent extends Base {
  type: 'system';
  /** The trainer process's CPU use since the last sample, in percent of one core (200 = two cores busy), worker threads included. */
  cpu: number;
  /** The whole machine's CPU use since the last sample, in percent of all its cores. */
  systemCpu: number;
  /** The trainer's resident memory, bytes. */
  rss: number;
  /** NVIDIA GPUs (nvidia-smi), when there are any. */
  gpus?: GpuSample[];
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
  | EvaluationEvent
  | SystemEvent
  | LogEvent
  | WarningEvent
  | ErrorEvent
  | FinishedEvent;

export type TrainerEventType = TrainerEvent['type'];

/** Distributive Omit, so each union member keeps its own fields. */
export type EventBody<E extends TrainerEvent = TrainerEvent> = E extends TrainerEvent ? Omit<E, 'v' | 'time'> : never;

/** An event body in its envelope (protocol version, time): every writer of events stamps them here. */
export function stampEvent(body: EventBody, time = Date.now()): TrainerEvent {
  return { v: PROTOCOL_VERSION, time, ...body } as TrainerEvent;
}

// Event bodies are checked against the table below with plain typeof tests: a
// step event is checked millions of times when a long run's history loads.
// Numbers must be finite (JSON turns NaN and Infinity into null, and 1e999 into
// Infinity); counts must be safe integers. Codes, names and levels are checked as
// strings only, so an event carrying a code a newer trainer added still shows.

type Check = (x: unknown) => boolean;

const num: Check = (x) => typeof x === 'number' && x - x === 0;
const int: Check = (x) => Number.isSafeInteger(x);
const str: Check = (x) => typeof x === 'string';
const bool: Check = (x) => typeof x === 'boolean';
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const nullable = (c: Check): Check => (x) => x === null || c(x);
const optional = (c: Check): Check => (x) => x === undefined || c(x);
const oneOf = (...values: string[]): Check => (x) => values.includes(x as string);
const arrayOf = (c: Check): Check => (x) => Array.isArray(x) && x.every(c);

/** An object with at least these fields (more are allowed: newer writers may add some). */
function obj(shape: Record<string, Check>): Check {
  const keys = Object.keys(shape);
  const checks = keys.map((k) => shape[k]);
  return (x) => {
    if (!isObject(x)) return false;
    for (let i = 0; i < keys.length; i++) if (!checks[i](x[keys[i]])) return false;
    return true;
  };
}

const NORM = obj({ mean: num, min: num, max: num });

const VERIFICATION = obj({
  pairs: int,
  mismatched: optional(int),
  accuracy: num,
  accuracyStd: num,
  foldThresholds: optional(arrayOf(num)),
  threshold: num,
  auc: num,
  eer: num,
  tarAtFar: arrayOf(obj({ far: num, tar: num, threshold: nullable(num) })),
  roc: arrayOf(obj({ far: num, tar: num })),
});

const SUMMARY = obj({
  epochs: int,
  steps: int,
  seconds: num,
  imagesPerSec: num,
  finalLoss: nullable(num),
  alpha: nullable(num),
  bestEpoch: nullable(int),
  bestAccuracy: nullable(num),
  final: nullable(VERIFICATION),
  reported: optional(nullable(obj({ epoch: int, rule: oneOf('final', 'best-validation'), validationAccuracy: nullable(num), verification: VERIFICATION }))),
});

const CORRELATION = obj({ pearson: nullable(num), spearman: nullable(num) });

const RECORDS = obj({
  set: str,
  epoch: str,
  embeddings: nullable(str),
  thumbnails: optional(str),
  images: int,
  pairs: int,
  recordedPairs: int,
  trainSample: int,
  normQuality: obj({ verify: CORRELATION, train: nullable(CORRELATION) }),
  buckets: arrayOf(obj({ bucket: str, pairs: int, matched: int, accuracy: nullable(num), tar: nullable(num), far: nullable(num) })),
  note: optional(str),
});

const ADAPTER = obj({ vendor: str, architecture: str, device: str, description: str, hardware: bool });

const BACKEND = obj({ name: str, gpu: bool, gpuName: optional(str), adapter: optional(ADAPTER), description: str });

const DATASET = obj({
  source: str,
  identities: int,
  images: int,
  imagesPerIdentity: obj({ min: num, median: num, max: num }),
  verifyIdentities: int,
  verifyImages: int,
  pairs: int,
  matchedPairs: int,
  folds: int,
  imageSize: int,
  channels: int,
  imageSizes: optional(arrayOf(obj({ width: int, height: int, count: int }))),
  distinctImageSizes: optional(int),
  skippedIdentities: optional(int),
  validationImages: optional(int),
  pairsSource: optional(str),
  skippedImages: optional(obj({ count: int, examples: arrayOf(str) })),
  overlap: optional(obj({ identities: int, images: int, by: str, examples: arrayOf(str) })),
});

/** The body of each event type, envelope (v, time, type) excluded. */
const BODY_TABLE: Record<TrainerEventType, Check> = {
  started: obj({ backend: BACKEND, dataset: DATASET, alphaLow: num, config: isObject, stepsPerEpoch: int, parameters: int, workers: optional(int), pid: int }),
  step: obj({ epoch: int, step: int, epochStep: int, loss: num, accuracy: num, alpha: nullable(num), featureNorm: NORM, imagesPerSec: num, eta: optional(num) }),
  epoch: obj({
    epoch: int,
    epochs: int,
    trainLoss: num,
    trainAccuracy: num,
    alpha: nullable(num),
    featureNorm: NORM,
    validation: optional(nullable(obj({ accuracy: num, loss: num, images: int }))),
    verification: VERIFICATION,
    seconds: num,
    imagesPerSec: num,
    records: optional(RECORDS),
  }),
  checkpoint: obj({ epoch: int, path: str, step: optional(int), partial: optional(bool) }),
  resumed: obj({ fromEpoch: int, fromStep: int, epochs: int, resume: int }),
  evaluation: obj({
    checkpoint: obj({ name: str, epoch: int, step: int }),
    pairsSource: str,
    imagesFolder: optional(str),
    flip: bool,
    verification: VERIFICATION,
    images: int,
    seconds: num,
  }),
  system: obj({ cpu: num, systemCpu: num, rss: num, gpus: optional(arrayOf(obj({ index: int, name: str, utilization: nullable(num), memoryUsed: nullable(num), memoryTotal: nullable(num) }))) }),
  log: obj({ level: str, message: str }),
  warning: obj({ code: str, message: str }),
  error: obj({ code: str, message: str }),
  finished: obj({ status: oneOf('completed', 'stopped', 'failed'), reason: optional(str), code: optional(str), summary: SUMMARY }),
};

const BODIES: ReadonlyMap<string, Check> = new Map(Object.entries(BODY_TABLE));

/** Checks that a value is a trainer event this reader understands: envelope and every field its consumers read. */
export function isTrainerEvent(value: unknown): value is TrainerEvent {
  if (!isObject(value) || value.v !== PROTOCOL_VERSION || !num(value.time) || Object.prototype.hasOwnProperty.call(value, '__proto__')) return false;
  const body = typeof value.type === 'string' ? BODIES.get(value.type) : undefined;
  return body !== undefined && body(value);
}

/** Lines that may name a key which, assigned or merged later, would reach Object.prototype (escapes included). */
const RISKY_KEYS = /__proto__|constructor|prototype|\\u/;
const dropRiskyKeys = (key: string, value: unknown): unknown => (key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value);

/** Parses one JSON line; returns undefined for anything that is not a valid event. */
export function parseEventLine(line: string): TrainerEvent | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = RISKY_KEYS.test(trimmed) ? JSON.parse(trimmed, dropRiskyKeys) : JSON.parse(trimmed);
    return isTrainerEvent(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

