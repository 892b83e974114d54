// Messages between the extension host and the dashboard webview.
// The webview says `ready` first; the host answers with `init` (the whole
// history, steps in columns), then streams live `event`s. Every message from
// the webview is checked with `parseWebviewMessage` before use.

import type { RunConfig } from './config';
import type { EpochEvent, FinishedEvent, StartedEvent, TrainerEvent } from './events';
import type { RunStatus as RunStatusName } from './run';

export type { RunStatus as RunStatusName } from './run';

/** Step events in columns: compact to send, and what the charts consume. */
export interface StepSeries {
  step: number[];
  epoch: number[];
  loss: number[];
  accuracy: number[];
  alpha: (number | null)[];
  normMean: number[];
  normMin: number[];
  normMax: number[];
  imagesPerSec: number[];
}

export interface RunSnapshot {
  id: string;
  name: string;
  status: RunStatusName;
  reason?: string;
  config: RunConfig;
  createdAt: string;
  started?: StartedEvent;
  steps: StepSeries;
  epochs: EpochEvent[];
  finished?: FinishedEvent;
  warnings: string[];
}

export type HostMessage =
  | { type: 'init'; mode: 'run' | 'compare'; runs: RunSnapshot[] }
  | { type: 'event'; runId: string; event: TrainerEvent }
  | { type: 'status'; runId: string; status: RunStatusName; name: string; reason?: string }
  | { type: 'notice'; level: 'info' | 'error'; message: string };

export type ChartId = 'loss' | 'accuracy' | 'alpha' | 'norm' | 'verification' | 'roc';

export const CHART_IDS: readonly ChartId[] = ['loss', 'accuracy', 'alpha', 'norm', 'verification', 'roc'];

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'exportCsv' }
  | { type: 'exportPng'; chart: ChartId; dataUrl: string }
  | { type: 'stop'; runId: string }
  | { type: 'showLog'; runId: string };

/** Persisted by the webview (vscode.setState) so a reload restores the same panel. */
export interface PanelState {
  mode: 'run' | 'compare';
  runIds: string[];
}

const PNG_PREFIX = 'data:image/png;base64,';
const MAX_PNG_LENGTH = 50 * 1024 * 1024;

export function parseWebviewMessage(value: unknown): WebviewMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'exportCsv':
      return { type: m.type };
    case 'exportPng':
      if (typeof m.chart === 'string' && (CHART_IDS as readonly string[]).includes(m.chart) && typeof m.dataUrl === 'string' && m.dataUrl.startsWith(PNG_PREFIX) && m.dataUrl.length < MAX_PNG_LENGTH) {
        return { type: 'exportPng', chart: m.chart as ChartId, dataUrl: m.dataUrl };
      }
      return undefined;
    case 'stop':
    case 'showLog':
      return typeof m.runId === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(m.runId) ? { type: m.type, runId: m.runId } : undefined;
    default:
      return undefined;
  }
}

export function isPanelState(value: unknown): value is PanelState {
  const s = value as PanelState;
  return typeof s === 'object' && s !== null && (s.mode === 'run' || s.mode === 'compare') && Array.isArray(s.runIds) && s.runIds.every((id) => typeof id === 'string');
}

export function emptySeries(): StepSeries {
  return { step: [], epoch: [], loss: [], accuracy: [], alpha: [], normMean: [], normMin: [], normMax: [], imagesPerSec: [] };
}

export function pushStep(series: StepSeries, e: Extract<TrainerEvent, { type: 'step' }>): void {
  series.step.push(e.step);
  series.epoch.push(e.epoch);
  series.loss.push(e.loss);
  series.accuracy.push(e.accuracy);
  series.alpha.push(e.alpha);
  series.normMean.push(e.featureNorm.mean);
  series.normMin.push(e.featureNorm.min);
  series.normMax.push(e.featureNorm.max);
  series.imagesPerSec.push(e.imagesPerSec);
}

/** Folds a run's event history into a snapshot (the host does this once per panel open). */
export function snapshotFromEvents(base: Omit<RunSnapshot, 'steps' | 'epochs' | 'warnings'>, events: TrainerEvent[]): RunSnapshot {
  const snap: RunSnapshot = { ...base, steps: emptySeries(), epochs: [], warnings: [] };
  for (const e of events) applyEvent(snap, e);
  return snap;
}

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
    case 'finished':
      snap.finished = e;
      break;
  }
}
