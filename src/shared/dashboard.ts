// Messages between the extension host and the dashboard webview.
// The webview says `ready` first; the host answers with `init` (the history,
// steps in columns, thinned to MAX_STEP_POINTS by SnapshotBuilder), then streams
// live `event`s. Every message from the webview is checked with
// `parseWebviewMessage` before use.

import type { RunConfig } from './config';
import type { EpochEvent, EvaluationEvent, FinishedEvent, ResumedEvent, StartedEvent, StepEvent, TrainerEvent } from './events';
import { INSIGHT_CHART_IDS, parseInsightMessage, type ExportRecordsRequest, type InsightChartId, type InsightReply, type InsightRequest } from './insight';
import type { RunStatus } from './run';
import { copySystem, emptySystem, pushSystem, type SystemSeries } from './system';
import type { SweepSnapshot } from './sweep';

/** Step events in columns: compact to send, and what the charts consume. */
export interface StepSeries {
  step: number[];
  /** When the trainer sent the step (ms since the epoch): the wall-time axis. */
  time: number[];
  epoch: number[];
  loss: number[];
  accuracy: number[];
  alpha: (number | null)[];
  normMean: number[];
  normMin: number[];
  normMax: number[];
  imagesPerSec: number[];
  /** The trainer's estimate of the seconds left (null before it had one, and from trainers that do not send it). */
  eta: (number | null)[];
}

export interface RunSnapshot {
  id: string;
  name: string;
  status: RunStatus;
  reason?: string;
  config: RunConfig;
  createdAt: string;
  started?: StartedEvent;
  steps: StepSeries;
  epochs: EpochEvent[];
  finished?: FinishedEvent;
  /** Checkpoints verified after training (`eval`), oldest first; a resume keeps them. */
  evaluations?: EvaluationEvent[];
  /** What the trainer cost the machine: its `system` samples (CPU, memory, GPU). */
  system?: SystemSeries;
  warnings: string[];
  /** Warnings after the first MAX_WARNINGS, counted but not kept. */
  droppedWarnings?: number;
  /** Step events in the history; more than `steps.step.length` when the series was thinned. */
  stepEvents?: number;
  /** Lines of events.jsonl that were not valid events (malformed, truncated, garbage). */
  skipped?: number;
  /** The trainer's heartbeat phase while it runs (see TrainerPhase). */
  phase?: string;
  /** The user's tags and note (run.json). */
  tags?: string[];
  note?: string;
  /** Where the run came from (provenanceFacts): git commit, dataset and pairs fingerprints, versions, backend. */
  provenance?: [string, string][];
}

export type SnapshotBase = Omit<RunSnapshot, 'steps' | 'epochs' | 'warnings'>;

/** Step points a snapshot keeps at most: far more than a chart's width in pixels, and a few MB to post to the webview. */
export const MAX_STEP_POINTS = 20_000;

/** How often the host looks for new events of a run whose dashboard is open (the event-to-paint budget's largest part). */
export const DASHBOARD_FOLLOW_MS = 250;

/** Warnings a snapshot keeps; the first ones usually explain the rest. */
export const MAX_WARNINGS = 200;

export type HostMessage =
  | { type: 'init'; mode: 'run' | 'compare'; runs: RunSnapshot[] }
  | { type: 'event'; runId: string; event: TrainerEvent }
  /** What the Runs view knows of a run changed; `phase` is its trainer's heartbeat phase while it runs. */
  | { type: 'status'; runId: string; status: RunStatus; name: string; reason?: string; phase?: string; tags?: string[]; note?: string }
  /** A sweep's dashboard: the whole sweep again whenever one of its cells changed (a few dozen cells). */
  | { type: 'sweep'; snapshot: SweepSnapshot }
  | { type: 'notice'; level: 'info' | 'error'; message: string }
  /** An epoch of a run's records as the "Inside the embedding" views draw it (src/shared/insight.ts). */
  | InsightReply;

export type ChartId = 'loss' | 'accuracy' | 'alpha' | 'norm' | 'throughput' | 'system' | 'memory' | 'verification' | 'roc' | 'sweep-accuracy' | 'sweep-tar' | InsightChartId;

export const CHART_IDS: readonly ChartId[] = ['loss', 'accuracy', 'alpha', 'norm', 'throughput', 'system', 'memory', 'verification', 'roc', 'sweep-accuracy', 'sweep-tar', ...INSIGHT_CHART_IDS];

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'exportCsv' }
  | { type: 'exportPng'; chart: ChartId; dataUrl: string }
  | { type: 'stop'; runId: string }
  | { type: 'resume'; runId: string }
  | { type: 'showLog'; runId: string }
  /** Run dashboard header: edit the run's tags or note (the host asks for them). */
  | { type: 'editTags'; runId: string }
  | { type: 'editNote'; runId: string }
  /** Sweep dashboard: open a cell's run, compare a point's seeds, re-run the cells that did not complete, stop every cell. */
  | { type: 'openRun'; runId: string }
  | { type: 'compareRuns'; runIds: string[] }
  | { type: 'rerunFailed' }
  | { type: 'stopSweep' }
  /** "Inside the embedding": an epoch of a run's records, or their export as CSV or .npy. */
  | InsightRequest
  | ExportRecordsRequest;

/** Persisted by the webview (vscode.setState) so a reload restores the same panel. */
export interface PanelState {
  mode: 'run' | 'compare';
  runIds: string[];
}

/** Persisted by a sweep's dashboard (its own panel type). */
export interface SweepPanelState {
  mode: 'sweep';
  sweepId: string;
}

const PNG_PREFIX = 'data:image/png;base64,';
const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Run ids one compare message may name (a sweep point's seeds). */
const MAX_COMPARE = 64;
const MAX_PNG_LENGTH = 50 * 1024 * 1024;

export function parseWebviewMessage(value: unknown): WebviewMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'exportCsv':
    case 'rerunFailed':
    case 'stopSweep':
      return { type: m.type };
    case 'exportPng':
      if (typeof m.chart === 'string' && (CHART_IDS as readonly string[]).includes(m.chart) && typeof m.dataUrl === 'string' && m.dataUrl.startsWith(PNG_PREFIX) && m.dataUrl.length < MAX_PNG_LENGTH) {
        return { type: 'exportPng', chart: m.chart as ChartId, dataUrl: m.dataUrl };
      }
      return undefined;
    case 'stop':
    case 'resume':
    case 'showLog':
    case 'editTags':
    case 'editNote':
    case 'openRun':
      return typeof m.runId === 'string' && ID_PATTERN.test(m.runId) ? { type: m.type, runId: m.runId } : undefined;
    case 'compareRuns':
      return Array.isArray(m.runIds) && m.runIds.length >= 1 && m.runIds.length <= MAX_COMPARE && m.runIds.every((id) => typeof id === 'string' && ID_PATTERN.test(id))
        ? { type: 'compareRuns', runIds: m.runIds as string[] }
        : undefined;
    case 'insight':
    case 'exportRecords':
      return parseInsightMessage(m);
    default:
      return undefined;
  }
}

export function isPanelState(value: unknown): value is PanelState {
  const s = value as PanelState;
  return typeof s === 'object' && s !== null && (s.mode === 'run' || s.mode === 'compare') && Array.isArray(s.runIds) && s.runIds.every((id) => typeof id === 'string');
}

export function isSweepPanelState(value: unknown): value is SweepPanelState {
  const s = value as SweepPanelState;
  return typeof s === 'object' && s !== null && s.mode === 'sweep' && typeof s.sweepId === 'string' && ID_PATTERN.test(s.sweepId);
}

export function emptySeries(): StepSeries {
  return { step: [], time: [], epoch: [], loss: [], accuracy: [], alpha: [], normMean: [], normMin: [], normMax: [], imagesPerSec: [], eta: [] };
}

export function pushStep(series: StepSeries, e: StepEvent): void {
  setStep(series, series.step.length, e);
}

/** Writes a step at index `i` of every column (`i` = length appends). */
function setStep(series: StepSeries, i: number, e: StepEvent): void {
  series.step[i] = e.step;
  series.time[i] = e.time;
  series.epoch[i] = e.epoch;
  series.loss[i] = e.loss;
  series.accuracy[i] = e.accuracy;
  series.alpha[i] = e.alpha;
  series.normMean[i] = e.featureNorm.mean;
  series.normMin[i] = e.featureNorm.min;
  series.normMax[i] = e.featureNorm.max;
  series.imagesPerSec[i] = e.imagesPerSec;
  series.eta[i] = e.eta ?? null;
}

const columns = (series: StepSeries): unknown[][] => Object.values(series);

function truncateSeries(series: StepSeries, length: number): void {
  for (const c of columns(series)) c.length = length;
}

/** Keeps the points at even indices. */
function halveSeries(series: StepSeries): void {
  for (const c of columns(series)) {
    let j = 0;
    for (let i = 0; i < c.length; i += 2) c[j++] = c[i];
    c.length = j;
  }
}

/**
 * Keeps a live series within `max` points: a dashboard open for days gets a
 * few step events a second. Halves it (the newest point stays) whenever it
 * grows past `max`; returns true when it did, so views rebuild what they draw.
 */
export function boundSeries(series: StepSeries, max = 2 * MAX_STEP_POINTS): boolean {
  if (series.step.length <= max) return false;
  while (series.step.length > max) {
    const newest = columns(series).map((c) => c[c.length - 1]);
    halveSeries(series);
    if (series.step[series.step.length - 1] !== newest[0]) columns(series).forEach((c, k) => c.push(newest[k]));
  }
  return true;
}

function copySeries(series: StepSeries): StepSeries {
  return Object.fromEntries(Object.entries(series).map(([k, c]) => [k, c.slice()])) as unknown as StepSeries;
}

/**
 * Folds an event history of any length into a snapshot of bounded size, fed in
 * chunks (as a RunFollower reads them). Step points are kept at every `stride`-th
 * step event; when the series is full, every second point is dropped and the
 * stride doubles, so the curves keep their shape over the whole run. The newest
 * step is always the last point. Epochs are kept whole; warnings up to MAX_WARNINGS.
 */
export class SnapshotBuilder {
  private steps = emptySeries();
  private epochs: EpochEvent[] = [];
  private evaluations: EvaluationEvent[] = [];
  private system = emptySystem();
  private warnings: string[] = [];
  private droppedWarnings = 0;
  private started?: StartedEvent;
  private finished?: FinishedEvent;
  private stepEvents = 0;
  private stride = 1;
  /** The last point is the newest step event, kept off-stride until a newer one replaces it. */
  private provisional = false;
  /** Malformed lines the reader skipped, reported in the snapshot. */
  skipped = 0;

  readonly maxStepPoints: number;

  constructor(
    private readonly base: SnapshotBase,
    maxStepPoints = MAX_STEP_POINTS,
  ) {
    this.maxStepPoints = Math.max(2, Math.floor(maxStepPoints));
  }

  add(events: readonly TrainerEvent[]): void {
    for (const e of events) this.addOne(e);
  }

  addOne(e: TrainerEvent): void {
    switch (e.type) {
      case 'started':
        this.started = e;
        break;
      case 'step':
        this.addStep(e);
        break;
      case 'epoch':
        this.epochs.push(e);
        break;
      case 'warning':
        if (this.warnings.length < MAX_WARNINGS) this.warnings.push(e.message);
        else this.droppedWarnings++;
        break;
      case 'resumed':
        this.resume(e);
        break;
      case 'evaluation':
        this.evaluations.push(e);
        break;
      case 'system':
        pushSystem(this.system, e);
        break;
      case 'finished':
        this.finished = e;
        break;
    }
  }

  /** Forgets every event (the events file was replaced or truncated). */
  reset(): void {
    this.steps = emptySeries();
    this.epochs = [];
    this.evaluations = [];
    this.system = emptySystem();
    this.warnings = [];
    this.droppedWarnings = 0;
    this.started = this.finished = undefined;
    this.stepEvents = 0;
    this.stride = 1;
    this.provisional = false;
    this.skipped = 0;
  }

  build(): RunSnapshot {
    const snap: RunSnapshot = { ...this.base, steps: copySeries(this.steps), epochs: this.epochs.slice(), warnings: this.warnings.slice() };
    if (this.started) snap.started = this.started;
    if (this.finished) snap.finished = this.finished;
    if (this.evaluations.length) snap.evaluations = this.evaluations.slice();
    if (this.system.time.length) snap.system = copySystem(this.system);
    if (this.stepEvents > this.steps.step.length) snap.stepEvents = this.stepEvents;
    if (this.droppedWarnings) snap.droppedWarnings = this.droppedWarnings;
    if (this.skipped) snap.skipped = this.skipped;
    return snap;
  }

  private addStep(e: StepEvent): void {
    let at = this.steps.step.length - (this.provisional ? 1 : 0);
    if (at >= this.maxStepPoints) {
      truncateSeries(this.steps, at);
      halveSeries(this.steps);
      this.stride *= 2;
      at = this.steps.step.length;
    }
    this.provisional = this.stepEvents % this.stride !== 0;
    this.stepEvents++;
    setStep(this.steps, at, e);
  }

  /** A resumed trainer redoes the steps and epochs after its checkpoint: the previous trainer's later ones go. */
  private resume(e: ResumedEvent): void {
    const step = this.steps.step;
    let keep = step.length;
    while (keep > 0 && step[keep - 1] > e.fromStep) keep--;
    truncateSeries(this.steps, keep);
    this.provisional = false;
    this.stepEvents = keep * this.stride;
    this.epochs = this.epochs.filter((x) => x.epoch <= e.fromEpoch);
    this.finished = undefined;
  }
}

/** Folds a run's event history into a snapshot (the host does this once per panel open). */
export function snapshotFromEvents(base: SnapshotBase, events: readonly TrainerEvent[]): RunSnapshot {
  const builder = new SnapshotBuilder(base);
  builder.add(events);
  return builder.build();
}

/** Applies one live event to a snapshot the webview holds (unbounded: live runs add a few points a second). */
export function applyEvent(snap: RunSnapshot, e: TrainerEvent): void {
  switch (e.type) {
    case 'started':
      snap.started = e;
      break;
    case 'step':
      pushStep(snap.steps, e);
      break;
    case 'epoch':
      snap.epochs.push(e);
      break;
    case 'warning':
      snap.warnings.push(e.message);
      break;
    case 'evaluation':
      (snap.evaluations ??= []).push(e);
      break;
    case 'system':
      pushSystem((snap.system ??= emptySystem()), e);
      break;
    case 'finished':
      snap.finished = e;
      break;
  }
}
