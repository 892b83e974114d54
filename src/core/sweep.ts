// Sweeps without `vscode`: which settings can be swept and how typed values are
// read, the alpha values the paper's experiment needs (around alpha_low), the
// expansion of a definition into cells (grid x variants x seeds), and the
// aggregation behind the sweep figure (mean and std over seeds per value).

import { alphaLowerBound, checkField, heldOutIdentities, resolveConfig, setField, type RunConfig } from '../shared/config';
import { plural, tarAtFar } from '../shared/format';
import { reportedResult } from '../shared/summary';
import type { RunRecord } from '../shared/run';
import type { BaselineView, CellVariant, CellView, FigureView, PointView, SeriesView, Stat, SweepAxis, SweepCell, SweepMetric, SweepRecord, SweepSnapshot, SweepValue } from '../shared/sweep';
import { summarizeDataset } from './dataset-summary';
import { csvCell } from './export';
import { SETTINGS, type SettingSpec } from './settings';

/** The swept field that softmax and learned cells replace, and that alpha_low is drawn against. */
export const ALPHA_FIELD = 'alpha';

/** The target-class probability of the paper's bound (as the trainer and Suggest Alpha use it). */
const ALPHA_BOUND_P = 0.9;

/** The paper's fixed alphas besides the bound itself: two below it (they lose accuracy), three above. */
const PAPER_ALPHAS = [1, 4, 12, 16, 32];

export const DEFAULT_SEEDS = 3;

/** At most this many cells per sweep: a typo in a value list should not queue ten thousand runs. */
export const MAX_CELLS = 1000;

/** The seed is swept by the seed count; booleans by the softmax and learned variants. */
const NOT_SWEPT = new Set(['seed']);

/** Positive x values spanning at least this factor are drawn on a log axis. */
const LOG_AXIS_RATIO = 8;

export interface SweepDefinition {
  name?: string;
  base: RunConfig;
  axes: SweepAxis[];
  withSoftmax: boolean;
  withLearned: boolean;
  /** How many seeds each cell runs with: base.seed, base.seed + 1, ... */
  seeds: number;
}

export interface ExpandedCell {
  variant: CellVariant;
  values: Record<string, SweepValue>;
  seed: number;
  config: RunConfig;
}

/** Settings a sweep can vary: every numeric or enum run setting but the seed. */
export function sweepableSettings(): SettingSpec[] {
  return SETTINGS.filter((s) => s.field && (s.kind === 'number' || s.kind === 'integer' || s.kind === 'enum') && !NOT_SWEPT.has(s.field));
}

/** The sweepable setting a user named, by setting key (`learningRate`) or config field. */
export function sweepSetting(name: string): SettingSpec | undefined {
  return sweepableSettings().find((s) => s.key === name || s.field === name);
}

export function axisLabel(field: string): string {
  return SETTINGS.find((s) => s.field === field)?.label ?? field;
}

/** Reads a comma-separated value list for one setting; each value is checked as the setting checks it. */
export function parseSweepValues(spec: SettingSpec, text: string): { values?: SweepValue[]; error?: string } {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (!parts.length) return { error: `${spec.label}: give at least one value (comma-separated).` };
  const numeric = spec.kind !== 'enum' || typeof spec.options?.[0] === 'number';
  const values: SweepValue[] = [];
  for (const part of parts) {
    const value = numeric ? Number(part) : part;
    if (numeric && (part === '' || !Number.isFinite(value))) return { error: `${spec.label}: "${part}" is not a number.` };
    const reason = checkField(spec.field as string, value);
    if (reason) return { error: `${spec.label}: ${part} ${reason.replace(/, got .*$/, '')}.` };
    if (values.includes(value)) return { error: `${spec.label}: ${part} is listed twice.` };
    values.push(value);
  }
  return { values };
}

/** The paper's experiment for C classes: 1 and 4, alpha_low rounded up, and 12, 16, 32, ascending. */
export function defaultAlphas(alphaLow: number | undefined): number[] {
  const bound = alphaLow !== undefined && alphaLow > 0 ? [Math.ceil(alphaLow)] : [];
  return [...new Set([...PAPER_ALPHAS, ...bound])].sort((a, b) => a - b);
}

/** Training classes of a config's dataset (without a pairs file, a folder's held-out identities are not trained on). */
export async function trainingClasses(config: RunConfig): Promise<{ classes?: number; error?: string }> {
  const s = await summarizeDataset(config);
  if (s.error) return { error: s.error };
  const holdsOut = !!config.dataset.path && !config.dataset.pairsFile && s.classes >= 4;
  return { classes: holdsOut ? s.classes - heldOutIdentities(s.classes) : s.classes };
}

export function alphaLowFor(classes: number): number {
  return alphaLowerBound(classes, ALPHA_BOUND_P);
}

function variantsOf(def: Pick<SweepDefinition, 'withSoftmax' | 'withLearned'>): CellVariant[] {
  return ['fixed', ...(def.withSoftmax ? (['softmax'] as const) : []), ...(def.withLearned ? (['learned'] as const) : [])];
}

/** The axes a variant is crossed with: softmax and learned cells replace the alpha axis. */
function axesFor(variant: CellVariant, axes: SweepAxis[]): SweepAxis[] {
  return variant === 'fixed' ? axes : axes.filter((a) => a.field !== ALPHA_FIELD);
}

function grid(axes: SweepAxis[]): Record<string, SweepValue>[] {
  return axes.reduce<Record<string, SweepValue>[]>((rows, axis) => rows.flatMap((row) => axis.values.map((v) => ({ ...row, [axis.field]: v }))), [{}]);
}

/** The run config of one cell: the base, the variant's loss, the axis values and the seed. */
export function cellConfig(base: RunConfig, variant: CellVariant, values: Record<string, SweepValue>, seed: number, sweptAlpha: boolean): RunConfig {
  let config = base;
  if (variant === 'softmax') config = setField(config, 'loss', 'softmax');
  if (variant === 'learned') config = setField(setField(config, 'loss', 'l2-softmax'), 'alphaTrainable', true);
  if (variant === 'fixed' && sweptAlpha) config = setField(setField(config, 'loss', 'l2-softmax'), 'alphaTrainable', false);
  for (const [field, value] of Object.entries(values)) config = setField(config, field, value);
  return setField(config, 'seed', seed);
}

export function seedList(base: RunConfig, count: number): number[] {
  return Array.from({ length: count }, (_, i) => base.seed + i);
}

/** Why a definition cannot run, naming the setting or value; undefined when it can. */
export function checkDefinition(def: SweepDefinition): string | undefined {
  if (!def.axes.length) return 'Choose a setting to vary.';
  if (def.axes.length > 2) return 'A sweep varies at most two settings at once (a grid).';
  if (def.axes.length === 2 && def.axes[0].field === def.axes[1].field) return `${axisLabel(def.axes[0].field)} is varied twice.`;
  for (const axis of def.axes) {
    const spec = sweepSetting(axis.field);
    if (!spec) return `${axis.field} cannot be swept; sweepable settings: ${sweepableSettings().map((s) => s.key).join(', ')}.`;
    if (!axis.values.length) return `${spec.label}: the value list is empty.`;
    for (const v of axis.values) {
      const reason = checkField(axis.field, v);
      if (reason) return `${spec.label}: ${String(v)} ${reason.replace(/, got .*$/, '')}.`;
    }
  }
  if (!Number.isInteger(def.seeds) || def.seeds < 1) return `The seed count must be a whole number of at least 1, got ${def.seeds}.`;
  if (def.seeds > 1 && def.base.seed + def.seeds - 1 > 2 ** 31 - 1) return `Seeds from ${def.base.seed} on overflow the seed range.`;
  const count = expandCount(def);
  if (count > MAX_CELLS) return `${count} runs is more than a sweep may hold (${MAX_CELLS}); use fewer values or seeds.`;
  return undefined;
}

function expandCount(def: SweepDefinition): number {
  return variantsOf(def).reduce((n, v) => n + axesFor(v, def.axes).reduce((k, a) => k * a.values.length, 1), 0) * def.seeds;
}

/**
 * Every cell of a definition, seed-major (all values with the first seed, then
 * the second, ...) so a queue running them in order fills the figure early.
 * Throws when a cell's config does not validate.
 */
export function expandSweep(def: SweepDefinition): ExpandedCell[] {
  const problem = checkDefinition(def);
  if (problem) throw new Error(problem);
  const sweptAlpha = def.axes.some((a) => a.field === ALPHA_FIELD);
  const cells: ExpandedCell[] = [];
  for (const seed of seedList(def.base, def.seeds)) {
    for (const variant of variantsOf(def)) {
      for (const values of grid(axesFor(variant, def.axes))) {
        const config = cellConfig(def.base, variant, values, seed, sweptAlpha);
        const checked = resolveConfig(config);
        if (!checked.ok) throw new Error(`${cellLabel({ variant, values })}: ${checked.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
        cells.push({ variant, values, seed, config: checked.config });
      }
    }
  }
  return cells;
}

function formatValue(value: SweepValue): string {
  return typeof value === 'number' ? String(Number(value.toPrecision(6))) : value;
}

const SHORT: Record<string, string> = { alpha: 'α', learningRate: 'lr', batchSize: 'batch', embeddingSize: 'emb', imageSize: 'size' };

/** "α=16", "softmax", "learned α · lr=0.01". */
export function cellLabel(cell: Pick<SweepCell, 'variant' | 'values'>): string {
  const values = Object.entries(cell.values).map(([f, v]) => `${SHORT[f] ?? f}=${formatValue(v)}`);
  const head = cell.variant === 'softmax' ? ['softmax'] : cell.variant === 'learned' ? ['learned α'] : [];
  return [...head, ...values].join(' · ') || 'base';
}

export function runName(sweep: Pick<SweepRecord, 'name'>, cell: Pick<SweepCell, 'variant' | 'values' | 'seed'>): string {
  return `${sweep.name} · ${cellLabel(cell)} · seed ${cell.seed}`;
}

/** "α sweep (1, 4, 8, 16, 32, softmax, learned) × 3 seeds". */
export function defaultSweepName(def: Pick<SweepDefinition, 'axes' | 'withSoftmax' | 'withLearned' | 'seeds'>): string {
  const axes = def.axes.map((a, i) => {
    const extra = i === 0 ? [...(def.withSoftmax ? ['softmax'] : []), ...(def.withLearned ? ['learned'] : [])] : [];
    return `${SHORT[a.field] ?? a.field} (${[...a.values.map(formatValue), ...extra].join(', ')})`;
  });
  return `${axes.join(' × ')} sweep × ${plural(def.seeds, 'seed')}`;
}

// ---------------------------------------------------------------- aggregation

/** Mean and sample standard deviation (n - 1); one value has std 0. */
export function stat(values: number[]): Stat | undefined {
  if (!values.length) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance), n: values.length };
}

/**
 * A Slurm cell's job as Slurm names it ("1234_5"): the one recorded in its
 * run, else the sweep's newest submission that ran the cell (its trainer may
 * have started before the job was recorded), else the trainer's own
 * SLURM_JOB_ID.
 */
export function cellJobId(sweep: SweepRecord | undefined, record: RunRecord | undefined): string | undefined {
  if (record?.job?.jobId) return record.job.jobId;
  const index = sweep?.cells.findIndex((c) => c.runId === record?.id) ?? -1;
  const submission = index < 0 || record?.job ? undefined : [...(sweep?.submissions ?? [])].reverse().find((s) => s.cells.includes(index));
  if (submission) return `${submission.jobId}_${index}`;
  return record?.owner?.jobId;
}

/** The figure's metrics of one run: its reported epoch (the final model, or the best on validation; never the best epoch picked on the test pairs). */
export function cellView(cell: SweepCell, record: RunRecord | undefined, jobId?: string): CellView {
  const v = reportedResult(record?.summary)?.verification ?? null;
  return {
    index: cell.index,
    variant: cell.variant,
    values: cell.values,
    seed: cell.seed,
    runId: cell.runId,
    runName: record?.name ?? cell.runId,
    status: record?.status ?? 'missing',
    reason: record?.reason,
    epoch: record?.summary?.epochs ?? record?.progress?.epoch ?? 0,
    epochs: record?.config.epochs ?? 0,
    accuracy: v?.accuracy ?? null,
    accuracyFoldStd: v?.accuracyStd ?? null,
    tar: tarAtFar(v, 1e-3) ?? null,
    auc: v?.auc ?? null,
    eer: v?.eer ?? null,
    alpha: record?.summary?.alpha ?? null,
    jobId,
  };
}

const PENDING = new Set<CellView['status']>(['queued', 'running']);

function point(x: number, cells: CellView[]): PointView {
  const done = cells.filter((c) => c.status === 'completed');
  const stats: PointView['stats'] = {};
  for (const metric of ['accuracy', 'tar'] as SweepMetric[]) {
    const s = stat(done.map((c) => c[metric]).filter((m): m is number => m !== null));
    if (s) stats[metric] = s;
  }
  return {
    x,
    stats,
    runIds: done.map((c) => c.runId),
    excluded: cells.filter((c) => c.status !== 'completed' && !PENDING.has(c.status)).map((c) => ({ runId: c.runId, status: c.status })),
    pending: cells.filter((c) => PENDING.has(c.status)).length,
  };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

/** The x axis: alpha when it is swept, else the first axis. */
function xAxis(sweep: SweepRecord): SweepAxis {
  return sweep.axes.find((a) => a.field === ALPHA_FIELD) ?? sweep.axes[0];
}

/**
 * The sweep figure: for each series (variant and the value of the other axis)
 * one point per x value with the mean and std over completed seeds. Cells that
 * ended otherwise are excluded from the statistics and listed. When alpha is
 * on the x axis, softmax cells form the baseline band and learned cells a
 * point at the alpha they learned (per value of the other axis, if any, as
 * their own series).
 */
export function sweepFigure(sweep: SweepRecord, cells: CellView[]): FigureView {
  const x = xAxis(sweep);
  const categorical = x.values.some((v) => typeof v !== 'number');
  const xOf = (v: SweepValue | undefined) => (categorical ? x.values.indexOf(v as SweepValue) : Number(v));
  const others = sweep.axes.filter((a) => a !== x);
  const otherLabel = (c: CellView) => others.map((a) => `${SHORT[a.field] ?? a.field}=${formatValue(c.values[a.field])}`).join(' · ');
  const alphaOnX = x.field === ALPHA_FIELD;
  const series: SeriesView[] = [];
  const softmax: BaselineView[] = [];
  const learned: BaselineView[] = [];
  for (const [, group] of groupBy(cells, (c) => `${c.variant}|${otherLabel(c)}`)) {
    const { variant } = group[0];
    const suffix = otherLabel(group[0]);
    const name = variant === 'fixed' ? axisLabel(x.field) : variant === 'softmax' ? 'softmax' : 'learned α';
    const label = suffix ? `${name} · ${suffix}` : name;
    if (alphaOnX && variant !== 'fixed') {
      const learnedAlpha = stat(group.filter((c) => c.status === 'completed' && c.alpha !== null).map((c) => c.alpha as number))?.mean ?? NaN;
      (variant === 'softmax' ? softmax : learned).push({ label, point: point(variant === 'learned' ? learnedAlpha : NaN, group) });
      continue;
    }
    const points = [...groupBy(group, (c) => String(c.values[x.field])).values()].map((g) => point(xOf(g[0].values[x.field]), g)).sort((a, b) => a.x - b.x);
    series.push({ label, variant, points });
  }
  const xs = x.values.filter((v): v is number => typeof v === 'number');
  const xLog = !categorical && xs.length > 1 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= LOG_AXIS_RATIO;
  const figure: FigureView = { xField: x.field, xLabel: axisLabel(x.field), xLog, series, softmax, learned };
  if (categorical) figure.xCategories = x.values.map(String);
  if (alphaOnX && sweep.alphaLow !== undefined) figure.alphaLow = sweep.alphaLow;
  return figure;
}

/** Everything the sweep dashboard and the CLI report show, from the sweep and its runs' records. */
export function sweepSnapshot(sweep: SweepRecord, records: (id: string) => RunRecord | undefined): SweepSnapshot {
  const cells = sweep.cells.map((c) => cellView(c, records(c.runId), cellJobId(sweep, records(c.runId))));
  const counts: SweepSnapshot['counts'] = {};
  for (const c of cells) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return { sweep, cells, figure: sweepFigure(sweep, cells), counts };
}

/** Cells that ended without completing: what Re-run Failed Cells runs again. */
export function failedCells(snapshot: SweepSnapshot): CellView[] {
  return snapshot.cells.filter((c) => c.status === 'failed' || c.status === 'interrupted' || c.status === 'stopped' || c.status === 'missing');
}

/** One row per cell, for the CSV export. */
export function sweepCsv(snapshot: SweepSnapshot): string {
  const axes = snapshot.sweep.axes.map((a) => a.field);
  const head = ['sweep_id', 'cell', 'variant', ...axes, 'seed', 'run_id', 'status', 'epochs', 'accuracy_10fold', 'accuracy_fold_std', 'tar_at_far_1e-3', 'auc', 'eer', 'final_alpha', 'job_id'];
  const num = (x: number | null) => (x === null ? '' : String(x));
  const rows = snapshot.cells.map((c) => [
    snapshot.sweep.id,
    String(c.index),
    c.variant,
    ...axes.map((f) => (c.values[f] === undefined ? '' : String(c.values[f]))),
    String(c.seed),
    c.runId,
    c.status,
    String(c.epoch),
    num(c.accuracy),
    num(c.accuracyFoldStd),
    num(c.tar),
    num(c.auc),
    num(c.eer),
    num(c.alpha),
    c.jobId ?? '',
  ]);
  return [head, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}
