// Pure data helpers of the dashboard (no DOM, no Chart.js), unit-tested in Node.

import { getField, CONFIG_FIELDS, HEAD_NAMES, LOSSES, headParameters, type RunConfig } from '../src/shared/config';
import type { RunSnapshot } from '../src/shared/dashboard';
import type { EpochEvent, Verification } from '../src/shared/events';
import { secondsLeft, tarAtFar, tarMeasurable } from '../src/shared/format';
import { reportedEpoch } from '../src/shared/summary';

export interface Point {
  x: number;
  y: number;
}

/** TensorBoard-style exponential moving average, debiased so the first points are not pulled to 0. */
export class Ema {
  private last = 0;
  private n = 0;
  constructor(readonly weight: number) {}

  next(value: number): number {
    if (!Number.isFinite(value)) return NaN;
    this.n++;
    this.last = this.last * this.weight + (1 - this.weight) * value;
    return this.weight === 0 ? value : this.last / (1 - this.weight ** this.n);
  }
}

export function smooth(xs: number[], ys: number[], weight: number): Point[] {
  const ema = new Ema(weight);
  return ys.map((y, i) => ({ x: xs[i], y: ema.next(y) }));
}

export function points(xs: number[], ys: (number | null)[]): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y !== null && Number.isFinite(y)) out.push({ x: xs[i], y });
  }
  return out;
}

export function bestEpoch(epochs: EpochEvent[]): EpochEvent | undefined {
  let best: EpochEvent | undefined;
  for (const e of epochs) if (!best || e.verification.accuracy > best.verification.accuracy) best = e;
  return best;
}

/**
 * Seconds left: the trainer's own smoothed estimate at its last step event,
 * counted down since (never below zero); from trainers that send none, the
 * latest throughput. Undefined when unknown or finished.
 */
export function etaSeconds(run: RunSnapshot, now = Date.now()): number | undefined {
  if (run.status !== 'running' || !run.started) return undefined;
  const n = run.steps.step.length;
  if (!n) return undefined;
  const eta = run.steps.eta[n - 1];
  if (eta !== null && eta !== undefined) return Math.max(0, eta - Math.max(0, now - run.steps.time[n - 1]) / 1000);
  return secondsLeft(run.steps.step[n - 1], run.started.stepsPerEpoch * run.config.epochs, run.config.batchSize, run.steps.imagesPerSec[n - 1]);
}

export { formatDuration, pct, tarAtFar as tarAt } from '../src/shared/format';

/** The config fields whose values differ between runs (for the comparison view). */
export function configDiff(configs: RunConfig[]): { field: string; values: string[] }[] {
  const out: { field: string; values: string[] }[] = [];
  for (const field of CONFIG_FIELDS) {
    const values = configs.map((c) => {
      const v = getField(c, field);
      return v === '' ? '(empty)' : v === undefined ? '–' : String(v);
    });
    if (new Set(values).size > 1) out.push({ field, values });
  }
  return out;
}

/** The provenance facts (git commit, data fingerprints, versions, backend) whose values differ between runs, for the settings diff. */
export function provenanceDiff(runs: RunSnapshot[]): { field: string; values: string[] }[] {
  const facts = runs.map((r) => new Map(r.provenance ?? []));
  const labels = [...new Set(runs.flatMap((r) => (r.provenance ?? []).map(([label]) => label)))];
  return labels
    .map((label) => ({ field: label, values: facts.map((f) => f.get(label) ?? '–') }))
    .filter((d) => new Set(d.values).size > 1);
}

/** N visually distinct colours: the theme palette first, then golden-angle hues. */
export function distinctColors(n: number, palette: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i < palette.length) out.push(palette[i]);
    else out.push(`hsl(${Math.round((i * 137.508) % 360)}, 65%, 55%)`);
  }
  return out;
}

/** ROC points for a log-x chart: FAR > 0 only. */
export function rocPoints(v: Verification): Point[] {
  return v.roc.filter((p) => p.far > 0).map((p) => ({ x: p.far, y: p.tar }));
}

/** One row of the comparison table in the form papers use: a run's final epoch, or an evaluation of it. */
export interface PaperRow {
  head: string;
  hyperparameters: string;
  run: string;
  /** Where the numbers come from: "epoch 10", or "eval: pairs.txt (flip)". */
  source: string;
  accuracy: number;
  accuracyStd: number;
  /** 'n/a' where the pairs cannot measure it (fewer mismatched pairs than 1/FAR). */
  tar1e3: number | 'n/a' | undefined;
  tar1e2: number | 'n/a' | undefined;
  auc: number;
  eer: number;
}

export const PAPER_COLUMNS = ['Head', 'Hyperparameters', 'Run', 'Source', '10-fold accuracy (%)', 'TAR@FAR=1e-3 (%)', 'TAR@FAR=1e-2 (%)', 'AUC', 'EER (%)'] as const;
/** The accuracy ± std column: math in LaTeX. */
const ACCURACY_COLUMN = 4;

/**
 * Rows for every run, grouped by head in LOSSES order (baseline first), runs in
 * the order given: each run's reported epoch (the final one, as papers report the
 * final model, or the best on validation; never the epoch that scored best on the
 * test pairs), then its evaluations.
 */
export function paperRows(runs: RunSnapshot[]): PaperRow[] {
  const order = (r: RunSnapshot) => LOSSES.indexOf(r.config.loss);
  const sorted = runs.map((r, i) => ({ r, i })).sort((a, b) => order(a.r) - order(b.r) || a.i - b.i).map((x) => x.r);
  const rows: PaperRow[] = [];
  for (const r of sorted) {
    const base = { head: HEAD_NAMES[r.config.loss], hyperparameters: headParameters(r.config), run: r.name };
    const rule = r.config.reportEpoch ?? 'final';
    const reported = reportedEpoch(r.epochs, rule);
    if (reported) rows.push({ ...base, source: `epoch ${reported.epoch}${rule === 'final' ? '' : ' (best validation)'}`, ...numbers(reported.verification) });
    for (const e of r.evaluations ?? []) rows.push({ ...base, source: `eval: ${baseName(e.pairsSource)}${e.flip ? ' (flip)' : ''}`, ...numbers(e.verification) });
  }
  return rows;
}

function numbers(v: Verification): Pick<PaperRow, 'accuracy' | 'accuracyStd' | 'tar1e3' | 'tar1e2' | 'auc' | 'eer'> {
  const tar = (far: number) => (tarMeasurable(v, far) ? tarAtFar(v, far) : 'n/a');
  return { accuracy: v.accuracy, accuracyStd: v.accuracyStd, tar1e3: tar(1e-3), tar1e2: tar(1e-2), auc: v.auc, eer: v.eer };
}

function baseName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

const percent = (x: number | 'n/a' | undefined) => (x === 'n/a' ? x : x === undefined || !Number.isFinite(x) ? '–' : (x * 100).toFixed(2));

/** A row's cells as text; `pm` joins accuracy and std (± in Markdown, $\pm$ in LaTeX). */
export function paperCells(row: PaperRow, pm = '±'): string[] {
  return [row.head, row.hyperparameters || '–', row.run, row.source, `${percent(row.accuracy)} ${pm} ${percent(row.accuracyStd)}`, percent(row.tar1e3), percent(row.tar1e2), row.auc.toFixed(4), percent(row.eer)];
}

export function paperMarkdown(rows: PaperRow[]): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  const line = (cells: readonly string[]) => `| ${cells.map(escape).join(' | ')} |`;
  return [line(PAPER_COLUMNS), line(PAPER_COLUMNS.map(() => '---')), ...rows.map((r) => line(paperCells(r)))].join('\n') + '\n';
}

/** A booktabs table; a rule between heads. */
export function paperLatex(rows: PaperRow[]): string {
  const escape = (s: string) => s.replace(/\\/g, '\\textbackslash{}').replace(/([&%$#_{}])/g, '\\$1').replace(/~/g, '\\textasciitilde{}').replace(/\^/g, '\\textasciicircum{}').replace(/α/g, '$\\alpha$').replace(/↗/g, ' (learned)');
  const body: string[] = [];
  rows.forEach((r, i) => {
    if (i > 0 && r.head !== rows[i - 1].head) body.push('\\midrule');
    const cells = paperCells(r, '\\pm').map((c, k) => (k === ACCURACY_COLUMN ? `$${c}$` : escape(c)));
    body.push(`${cells.join(' & ')} \\\\`);
  });
  return [
    `\\begin{tabular}{llll${'r'.repeat(PAPER_COLUMNS.length - 4)}}`,
    '\\toprule',
    `${PAPER_COLUMNS.map(escape).join(' & ')} \\\\`,
    '\\midrule',
    ...body,
    '\\bottomrule',
    '\\end{tabular}',
  ].join('\n') + '\n';
}
