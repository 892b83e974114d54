// The sweep contract: a sweep is a folder <sweeps>/<id>/sweep.json (its
// definition and the run id of every cell) plus ordinary runs in the runs
// folder, one per cell. Also what the sweep dashboard receives: every cell as
// it stands and the figure's aggregates (mean and std over seeds per value).
// Imports types only, so the host, the CLI and the webview share it.

import type { RunConfig } from './config';
import type { RunStatus } from './run';

/** Bumped when a reader of the previous version would misread a sweep.json. */
export const SWEEP_FORMAT_VERSION = 1;

export const SWEEP_FILES = {
  record: 'sweep.json',
  /** The generated job script of the latest Slurm submission. */
  script: 'sweep.sbatch',
  /** Slurm's own output of each array task (%A_%a), before the trainer's log takes over. */
  slurmOutput: 'slurm',
} as const;

export type SweepValue = number | string;

/**
 * How a cell trains: the swept alpha (or any other swept setting) as given,
 * plain softmax (the baseline), or alpha learned from the base setting.
 */
export type CellVariant = 'fixed' | 'softmax' | 'learned';

/** One swept run-config field (dotted, e.g. `alpha`, `learningRate`) and its values in order. */
export interface SweepAxis {
  field: string;
  values: SweepValue[];
}

export type SweepLauncher = 'local' | 'slurm';

/** How a sweep is submitted to Slurm (the l2softmax.slurm.* settings when it was created). */
export interface SlurmOptions {
  partition: string;
  account: string;
  /** sbatch --time, e.g. "02:00:00"; empty = the partition's default. */
  timeLimit: string;
  cpusPerTask: number;
  gpusPerTask: number;
  /** Array tasks running at once (the %K of --array); 0 = no limit. */
  maxParallel: number;
  /** More sbatch arguments, one argument per entry. */
  extraArgs: string[];
  /** Shell lines run before the trainer on the node (module load ..., conda activate ...). */
  setup: string;
  /** Node.js on the nodes; empty = `node` on PATH after the setup lines. */
  nodePath: string;
}

/** One sbatch call: the array job and the cells it ran. */
export interface SlurmSubmission {
  jobId: string;
  submittedAt: string;
  cells: number[];
}

export interface SweepCell {
  index: number;
  variant: CellVariant;
  /** The axis values this cell sets; softmax and learned cells have no alpha value. */
  values: Record<string, SweepValue>;
  seed: number;
  runId: string;
  /** Runs that held this cell before it was run again (kept as ordinary runs). */
  previousRunIds?: string[];
}

export interface SweepRecord {
  format: number;
  id: string;
  name: string;
  createdAt: string;
  launcher: SweepLauncher;
  /** The config every cell starts from (the settings when the sweep was created). */
  base: RunConfig;
  axes: SweepAxis[];
  withSoftmax: boolean;
  withLearned: boolean;
  seeds: number[];
  /** The paper's lower bound for the dataset's training classes, when known. */
  alphaLow?: number;
  classes?: number;
  cells: SweepCell[];
  slurm?: SlurmOptions;
  submissions?: SlurmSubmission[];
  /** Set by Stop Sweep: cells are not resubmitted after it. */
  stoppedAt?: string;
}

/** Mean and sample standard deviation over a cell group's seeds (std 0 for one seed). */
export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** A cell as the sweep dashboard shows it. */
export interface CellView {
  index: number;
  variant: CellVariant;
  values: Record<string, SweepValue>;
  seed: number;
  runId: string;
  runName: string;
  status: RunStatus | 'missing';
  reason?: string;
  /** Epochs done and planned. */
  epoch: number;
  epochs: number;
  /** Metrics of the latest verified epoch (10-fold accuracy, its std over folds, TAR@FAR=1e-3, AUC, EER). */
  accuracy: number | null;
  accuracyFoldStd: number | null;
  tar: number | null;
  auc: number | null;
  eer: number | null;
  /** The final alpha (for learned cells, what it learned). */
  alpha: number | null;
  jobId?: string;
}

export type SweepMetric = 'accuracy' | 'tar';

export const SWEEP_METRICS: readonly SweepMetric[] = ['accuracy', 'tar'];

/** Cells that share a swept value (and series): the figure's unit. */
export interface PointView {
  x: number;
  /** Completed cells' metrics; a metric no completed cell has is absent. */
  stats: Partial<Record<SweepMetric, Stat>>;
  /** Completed cells (in the stats). */
  runIds: string[];
  /** Cells left out of the stats because they ended without completing, with their status. */
  excluded: { runId: string; status: CellView['status'] }[];
  /** Cells still queued or running. */
  pending: number;
}

export interface SeriesView {
  label: string;
  variant: CellVariant;
  points: PointView[];
}

/** A group of cells drawn apart from the x axis: softmax (a band) or learned alpha (a point at the alpha learned). */
export interface BaselineView {
  label: string;
  point: PointView;
}

export interface FigureView {
  /** The swept field on the x axis and its label. */
  xField: string;
  xLabel: string;
  /** Enum axes: the category of each x index. */
  xCategories?: string[];
  /** Positive values spanning a factor of 8 or more are drawn on a log axis. */
  xLog: boolean;
  series: SeriesView[];
  /** Plain softmax over every seed (per value of the other axis), drawn as horizontal bands when x is alpha. */
  softmax: BaselineView[];
  /** Learned-alpha cells, each group placed at the mean alpha it learned. */
  learned: BaselineView[];
  alphaLow?: number;
}

export interface SweepSnapshot {
  sweep: SweepRecord;
  cells: CellView[];
  figure: FigureView;
  counts: Partial<Record<CellView['status'], number>>;
}
