// What the dashboard shows of a run's embedding ("Inside the embedding"), as
// the host sends it: built from the run's records (src/core/records.ts) into
// histograms, bounded point samples and a failure list, so the page draws a
// million pairs from a few kilobytes. Also the messages that ask for it and
// for an export, checked like every other message from the page.

/** The charts of the embedding views (PNG export names them). */
export const INSIGHT_CHART_IDS = ['norm-quality', 'norm-thirds', 'train-norm-quality', 'scores', 'feature-space'] as const;
export type InsightChartId = (typeof INSIGHT_CHART_IDS)[number];

/** How many failures of each kind the gallery lists, at most. */
export const GALLERY_SIZE = 24;
/** Points a scatter gets at most (an evenly spaced sample beyond). */
export const MAX_POINTS = 4_000;
/** Bins of the norm histograms and of the score histograms. */
export const NORM_BINS = 30;
export const SCORE_BINS = 60;

/** Where the gallery judges pairs: each pair at its fold's 10-fold threshold, or at the threshold of a FAR target. */
export type OperatingPoint = { kind: 'tenfold' } | { kind: 'far'; far: number };

export interface Histogram {
  /** Bin edges, one more than counts. */
  edges: number[];
  counts: number[];
}

export interface NormQuality {
  /** One histogram of feature norms per quality third (low, middle, high), on shared edges. */
  thirds: Histogram[];
  /** (quality, norm) points, sampled. */
  points: { quality: number; norm: number }[];
  pearson: number | null;
  spearman: number | null;
  count: number;
}

export interface ScoreDistributions {
  matched: Histogram;
  mismatched: Histogram;
  /** The thresholds the ten folds were scored with. */
  foldThresholds: number[];
  /** The threshold of each measurable TAR@FAR target. */
  tarThresholds: { far: number; threshold: number }[];
  recordedPairs: number;
  pairs: number;
}

export interface FeatureSpace {
  kind: 'pca' | 'features';
  /** Share of the variance on each axis (PCA). */
  share: [number, number] | null;
  /** Where f(x) = 0 lies in the picture. */
  origin: [number, number];
  /** Sampled points: x, y, identity index, quality. */
  points: { x: number; y: number; identity: number; quality: number }[];
  identities: number;
  count: number;
}

export interface FailureImage {
  index: number;
  name: string;
  identity: string;
  norm: number;
  quality: number;
  /** Synthetic faces: their degradations in words ("blur + noise"; "none"). */
  degradations?: string;
  /** A URL the page may load (a webview resource URI), when the image has a file or a thumbnail. */
  src?: string;
}

export interface Failure {
  pair: number;
  kind: 'false accept' | 'false reject';
  score: number;
  threshold: number;
  /** How far the score is on the wrong side of the threshold. */
  margin: number;
  fold: number;
  a: FailureImage;
  b: FailureImage;
}

export interface FailureGallery {
  operating: OperatingPoint;
  falseAccepts: Failure[];
  falseRejects: Failure[];
  /** All of each, before the list was cut to GALLERY_SIZE. */
  counts: { falseAccepts: number; falseRejects: number };
  /** Why there is no list (a FAR the pairs cannot measure). */
  note?: string;
}

export interface EpochInsight {
  epoch: number;
  /** Epochs that have records, ascending (the slider's stops). */
  epochs: number[];
  quality: 'synthetic' | 'proxy';
  verify: NormQuality;
  train: NormQuality | null;
  scores: ScoreDistributions;
  space: FeatureSpace;
  gallery: FailureGallery;
}

/**
 * The page asks for one epoch of a run (its latest with records when `epoch` is
 * absent). The host answers requests as they finish, not in order: `seq` (the
 * page's count of its requests) comes back in the reply, and the page keeps
 * only the reply to its last request of a run.
 */
export interface InsightRequest {
  type: 'insight';
  runId: string;
  seq: number;
  epoch?: number;
  operating: OperatingPoint;
}

/** The page asks the host to export one epoch of a run's records (the latest when `epoch` is absent); the host asks where. */
export interface ExportRecordsRequest {
  type: 'exportRecords';
  runId: string;
  epoch?: number;
  format: 'csv' | 'npy';
}

export interface InsightReply {
  type: 'insight';
  runId: string;
  /** The request's `seq`. */
  seq: number;
  insight: EpochInsight | null;
  /** Why there is none: no records yet, records from before they existed, a damaged file. */
  reason?: string;
}

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const MAX_EPOCH = 1_000_000;

function operatingPoint(value: unknown): OperatingPoint | undefined {
  const o = value as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null) return undefined;
  if (o.kind === 'tenfold') return { kind: 'tenfold' };
  if (o.kind === 'far' && typeof o.far === 'number' && o.far > 0 && o.far < 1) return { kind: 'far', far: o.far };
  return undefined;
}

const isEpoch = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= MAX_EPOCH;

/** Checks an insight request or an export request from the page; undefined for anything else. */
export function parseInsightMessage(m: Record<string, unknown>): InsightRequest | ExportRecordsRequest | undefined {
  if (typeof m.runId !== 'string' || !ID_PATTERN.test(m.runId)) return undefined;
  if (m.epoch !== undefined && !isEpoch(m.epoch)) return undefined;
  const epoch = m.epoch === undefined ? {} : { epoch: m.epoch };
  if (m.type === 'exportRecords') return m.format === 'csv' || m.format === 'npy' ? { type: 'exportRecords', runId: m.runId, ...epoch, format: m.format } : undefined;
  if (m.type !== 'insight' || !Number.isSafeInteger(m.seq) || (m.seq as number) < 0) return undefined;
  const operating = operatingPoint(m.operating);
  return operating ? { type: 'insight', runId: m.runId, seq: m.seq as number, ...epoch, operating } : undefined;
}
