// A sweep's dashboard: verification accuracy and TAR@FAR=1e-3 against the swept
// value (mean over seeds with std error bars, each seed as a dot, plain softmax
// as a band, alpha_low as a marked line, learned alpha where it ended), a
// summary per value, a table of every cell, and the sweep's actions. Points and
// rows open their runs. The host sends the whole sweep again on every change.

import { Chart, type ChartDataset, type Plugin, type ScaleOptions } from 'chart.js';
import type { ChartId, WebviewMessage } from '../src/shared/dashboard';
import type { CellView, SweepMetric, SweepSnapshot } from '../src/shared/sweep';
import { chartOptions, chartPng, retheme } from './charts';
import { h, table } from './dom';
import { distinctColors, pct, type Point } from './model';
import { figureData, xRange, type FigureData, type FigurePoint } from './sweep-model';
import { readTheme, withAlpha, type Theme } from './theme';

type Post = (m: WebviewMessage) => void;

/** A dataset of the sweep charts: the figure points behind its data, and whether it draws error bars. */
type SweepDataset = ChartDataset<'line', Point[]> & { figure?: FigurePoint[]; errorBars?: boolean };

const METRICS: { metric: SweepMetric; chart: ChartId; title: string }[] = [
  { metric: 'accuracy', chart: 'sweep-accuracy', title: 'Verification accuracy (10-fold mean)' },
  { metric: 'tar', chart: 'sweep-tar', title: 'TAR @ FAR = 1e-3' },
];

/** Log axes get this much room beyond the first and last value (a factor); linear ones a share of the range. */
const LOG_PAD = 1.35;
const LINEAR_PAD = 0.06;
/** Half-width of an error bar's caps, in pixels. */
const CAP_PX = 4;

const STATUS_ORDER = ['completed', 'running', 'queued', 'failed', 'interrupted', 'stopped', 'missing'] as const;

/** Draws std error bars of datasets that ask for them, and the alpha_low line. */
const sweepPlugin: Plugin<'line'> = {
  id: 'l2softmaxSweep',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx;
    const y = chart.scales.y;
    chart.data.datasets.forEach((d, i) => {
      const ds = d as SweepDataset;
      if (!ds.errorBars || !ds.figure || !chart.isDatasetVisible(i)) return;
      const meta = chart.getDatasetMeta(i);
      ctx.save();
      ctx.strokeStyle = String(ds.borderColor);
      ctx.lineWidth = 1.5;
      ds.figure.forEach((p, j) => {
        const el = meta.data[j];
        if (!el || !(p.std > 0)) return;
        const top = y.getPixelForValue(p.y + p.std);
        const bottom = y.getPixelForValue(p.y - p.std);
        ctx.beginPath();
        ctx.moveTo(el.x, top);
        ctx.lineTo(el.x, bottom);
        ctx.moveTo(el.x - CAP_PX, top);
        ctx.lineTo(el.x + CAP_PX, top);
        ctx.moveTo(el.x - CAP_PX, bottom);
        ctx.lineTo(el.x + CAP_PX, bottom);
        ctx.stroke();
      });
      ctx.restore();
    });
  },
  afterDraw(chart) {
    const marker = (chart.options.plugins as { alphaLow?: { x: number; color: string } }).alphaLow;
    if (!marker) return;
    const x = chart.scales.x.getPixelForValue(marker.x);
    const area = chart.chartArea;
    if (!(x >= area.left && x <= area.right)) return;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = marker.color;
    ctx.fillStyle = marker.color;
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x, area.top);
    ctx.lineTo(x, area.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = '11px sans-serif';
    ctx.fillText(`α_low = ${marker.x.toFixed(2)}`, x + 4, area.top + 12);
    ctx.restore();
  },
};

export class SweepView {
  readonly charts = new Map<ChartId, Chart<'line', Point[]>>();
  private theme: Theme = readTheme();
  private header!: HTMLElement;
  private summary!: HTMLElement;
  private cells!: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    public snapshot: SweepSnapshot,
    private readonly post: Post,
  ) {
    this.render();
  }

  /** The host sent the sweep again (a cell changed). */
  update(snapshot: SweepSnapshot): void {
    this.snapshot = snapshot;
    this.renderHeader();
    for (const m of METRICS) this.fill(m.metric, m.chart);
    this.renderSummary();
    this.renderCells();
  }

  private render(): void {
    this.root.replaceChildren();
    this.header = h('section', { class: 'header' });
    const grid = h('section', { class: 'grid' });
    this.summary = h('section', { class: 'card', id: 'sweep-summary' });
    this.cells = h('section', { class: 'card', id: 'sweep-cells' });
    this.root.append(this.header, grid, h('div', { style: 'height: 12px' }), this.summary, h('div', { style: 'height: 12px' }), this.cells);
    for (const m of METRICS) this.card(grid, m.metric, m.chart, m.title);
    this.update(this.snapshot);
  }

  private card(grid: HTMLElement, metric: SweepMetric, id: ChartId, title: string): void {
    const canvas = h('canvas', { id: `chart-${id}`, role: 'img', 'aria-label': title });
    grid.append(
      h(
        'div',
        { class: 'card', 'data-chart': id },
        h('h2', {}, title, h('span', { class: 'spacer' }), h('button', { title: 'Save this chart as PNG', onclick: () => this.exportPng(id) }, 'PNG')),
        h('div', { class: 'chart' }, canvas),
      ),
    );
    const options = chartOptions(this.theme, { title: this.snapshot.figure.xLabel }, { title: metric === 'accuracy' ? 'accuracy' : 'TAR', percent: true });
    options.interaction = { mode: 'point', intersect: true };
    (options.scales!.y as { ticks: { callback: unknown } }).ticks.callback = percentTick;
    options.onClick = (event, elements, chart) => this.click(chart, elements);
    options.onHover = (event, elements) => ((event.native?.target as HTMLElement | undefined)?.style.setProperty('cursor', elements.length ? 'pointer' : 'default'));
    options.plugins!.tooltip = { ...options.plugins!.tooltip, callbacks: { label: (c) => tooltipLine(c.dataset as SweepDataset, c.dataIndex) } };
    const chart = new Chart<'line', Point[]>(canvas, { type: 'line', data: { datasets: [] }, options, plugins: [sweepPlugin] });
    this.charts.set(id, chart);
  }

  /** Rebuilds one chart's datasets and x axis from the snapshot. */
  private fill(metric: SweepMetric, id: ChartId): void {
    const chart = this.charts.get(id);
    if (!chart) return;
    const data = figureData(this.snapshot, metric);
    chart.data.datasets = this.datasets(data);
    chart.options.scales!.x = this.xScale(data);
    (chart.options.plugins as { alphaLow?: { x: number; color: string } }).alphaLow = data.alphaLow !== undefined ? { x: data.alphaLow, color: this.theme.warn } : undefined;
    chart.update('none');
  }

  private datasets(data: FigureData): SweepDataset[] {
    const t = this.theme;
    const series = data.lines.filter((l) => l.kind !== 'seeds');
    const colors = distinctColors(series.length + data.bands.length, t.palette);
    const out: SweepDataset[] = [];
    series.forEach((line, i) => {
      out.push({
        label: line.label,
        data: line.points.map((p) => ({ x: p.x, y: p.y })),
        figure: line.points,
        errorBars: true,
        borderColor: colors[i],
        backgroundColor: colors[i],
        borderWidth: 2,
        pointRadius: line.kind === 'learned' ? 7 : 4.5,
        pointHoverRadius: line.kind === 'learned' ? 9 : 6,
        pointStyle: line.kind === 'learned' ? 'triangle' : 'circle',
        showLine: line.kind === 'series',
      });
    });
    const seeds = data.lines.find((l) => l.kind === 'seeds');
    if (seeds) out.push({ label: 'seeds', data: seeds.points.map((p) => ({ x: p.x, y: p.y })), figure: seeds.points, borderColor: withAlpha(t.foreground, 0.45), backgroundColor: 'transparent', pointRadius: 2.5, pointHoverRadius: 5, showLine: false, borderWidth: 1 });
    const range = xRange(data);
    data.bands.forEach((b, i) => {
      const color = colors[series.length + i];
      const span = (y: number) => (range ? [{ x: range.min, y }, { x: range.max, y }] : []);
      const figure = [b, b].map((p) => ({ x: 0, y: p.mean, std: p.std, n: p.n, runIds: p.runIds, note: p.note }));
      // Both metrics are rates: the band stays within [0, 1].
      out.push({ label: '_band-lo', data: span(Math.max(0, b.mean - b.std)), borderColor: 'transparent', pointRadius: 0 });
      out.push({ label: `${b.label} ± std`, data: span(Math.min(1, b.mean + b.std)), borderColor: 'transparent', backgroundColor: withAlpha(color, 0.16), fill: '-1', pointRadius: 0 });
      out.push({ label: b.label, data: span(b.mean), figure, borderColor: color, borderDash: [6, 4], borderWidth: 2, pointRadius: 0, pointHitRadius: 8 });
    });
    return out;
  }

  private xScale(data: FigureData): ScaleOptions<'linear'> {
    const f = this.snapshot.figure;
    const range = xRange(data);
    const t = this.theme;
    const pad = range ? (f.xLog ? [range.min / LOG_PAD, range.max * LOG_PAD] : [range.min - (range.max - range.min || 1) * LINEAR_PAD, range.max + (range.max - range.min || 1) * LINEAR_PAD]) : [undefined, undefined];
    return {
      type: f.xLog ? ('logarithmic' as 'linear') : 'linear',
      min: pad[0],
      max: pad[1],
      title: { display: true, text: f.xLabel, color: t.muted },
      grid: { color: t.grid },
      border: { color: t.grid },
      afterBuildTicks: (axis) => {
        axis.ticks = data.ticks.map((value) => ({ value }));
      },
      ticks: { color: t.muted, autoSkip: false, callback: (v) => (f.xCategories ? (f.xCategories[Number(v)] ?? '') : String(Number(Number(v).toPrecision(4)))) },
    } as ScaleOptions<'linear'>;
  }

  private click(chart: Chart, elements: { datasetIndex: number; index: number }[]): void {
    const hit = elements[0];
    if (!hit) return;
    const ds = chart.data.datasets[hit.datasetIndex] as SweepDataset;
    const runIds = ds.figure?.[hit.index]?.runIds ?? [];
    if (runIds.length === 1) this.post({ type: 'openRun', runId: runIds[0] });
    else if (runIds.length > 1) this.post({ type: 'compareRuns', runIds });
  }

  private renderHeader(): void {
    const s = this.snapshot.sweep;
    const counts = this.snapshot.counts;
    const active = !!(counts.running || counts.queued);
    const failed = !!(counts.failed || counts.interrupted || counts.stopped || counts.missing);
    const axes = s.axes.map((a) => `${a.field} ∈ {${a.values.join(', ')}}`).join(' × ');
    this.header.replaceChildren(
      h(
        'header',
        {},
        h('h1', { id: 'sweep-name' }, s.name),
        ...STATUS_ORDER.filter((k) => counts[k]).map((k) => h('span', { class: `badge ${k}`, 'data-status': k }, `${counts[k]} ${k}`)),
        h(
          'div',
          { class: 'actions' },
          active ? h('button', { class: 'primary', id: 'stop-sweep', onclick: () => this.post({ type: 'stopSweep' }) }, 'Stop Sweep') : null,
          failed && !active ? h('button', { id: 'rerun-failed', title: 'Run the cells that did not complete again, as new runs', onclick: () => this.post({ type: 'rerunFailed' }) }, 'Re-run Failed Cells') : null,
          h('button', { id: 'export-csv', onclick: () => this.post({ type: 'exportCsv' }) }, 'Export CSV'),
        ),
      ),
      h(
        'div',
        { class: 'facts' },
        h('span', {}, 'Varies ', h('b', {}, axes)),
        s.withSoftmax ? h('span', {}, h('b', {}, '+ softmax')) : null,
        s.withLearned ? h('span', {}, h('b', {}, '+ learned α')) : null,
        h('span', {}, 'Seeds ', h('b', {}, s.seeds.join(', '))),
        s.alphaLow !== undefined ? h('span', {}, 'α_low ', h('b', { id: 'alpha-low' }, s.alphaLow.toFixed(2)), ` (C = ${s.classes})`) : null,
        h('span', {}, 'Runs on ', h('b', {}, s.launcher === 'slurm' ? `Slurm${s.submissions?.length ? ` (job ${s.submissions.map((j) => j.jobId).join(', ')})` : ''}` : "this machine's queue")),
      ),
      h('div', { class: 'facts' }, 'Points: mean over completed seeds of each run\'s final epoch, bars ± one std; dots are single seeds. Click a point to open its runs.'),
    );
  }

  private renderSummary(): void {
    const f = this.snapshot.figure;
    const stat = (p: { stats: Partial<Record<SweepMetric, { mean: number; std: number }>> }, m: SweepMetric) => {
      const s = p.stats[m];
      return s ? `${pct(s.mean, 2)} ± ${pct(s.std, 2)}` : '–';
    };
    const rows: string[][] = [];
    for (const series of f.series) {
      for (const p of series.points) {
        const x = f.xCategories ? f.xCategories[p.x] : String(p.x);
        rows.push([f.series.length > 1 ? `${series.label}: ${x}` : x, String(p.runIds.length), stat(p, 'accuracy'), stat(p, 'tar'), pointNote(p)]);
      }
    }
    for (const b of f.softmax) rows.push([b.label, String(b.point.runIds.length), stat(b.point, 'accuracy'), stat(b.point, 'tar'), pointNote(b.point)]);
    for (const b of f.learned) rows.push([`${b.label}${Number.isFinite(b.point.x) ? ` (→ ${b.point.x.toFixed(2)})` : ''}`, String(b.point.runIds.length), stat(b.point, 'accuracy'), stat(b.point, 'tar'), pointNote(b.point)]);
    this.summary.replaceChildren(h('h2', {}, 'Per value (mean ± std over seeds)'), table([f.xLabel, 'seeds', 'accuracy', 'TAR@1e-3', 'left out'], rows));
  }

  private renderCells(): void {
    const axes = this.snapshot.sweep.axes.map((a) => a.field);
    const cells = [...this.snapshot.cells].sort(cellOrder(axes));
    const rows = cells.map((c) => {
      const row = [
        c.variant === 'fixed' ? 'fixed' : c.variant,
        ...axes.map((a) => (c.values[a] === undefined ? '–' : String(c.values[a]))),
        String(c.seed),
        h('span', { class: `badge ${c.status}` }, c.status),
        `${c.epoch}/${c.epochs || '–'}`,
        c.accuracy !== null ? `${pct(c.accuracy, 2)} ± ${pct(c.accuracyFoldStd, 2)}` : '–',
        pct(c.tar, 2),
        c.auc !== null ? c.auc.toFixed(4) : '–',
        pct(c.eer, 2),
        c.alpha !== null ? c.alpha.toFixed(2) : '–',
        c.jobId ?? '',
      ];
      return row;
    });
    const t = table(['variant', ...axes, 'seed', 'status', 'epochs', 'accuracy (± folds)', 'TAR@1e-3', 'AUC', 'EER', 'final α', 'job'], rows);
    t.querySelectorAll('tbody tr').forEach((tr, i) => {
      const c = cells[i];
      tr.setAttribute('data-run', c.runId);
      tr.setAttribute('title', c.reason ?? `${c.runName}: click to open its dashboard`);
      tr.classList.add('clickable');
      tr.addEventListener('click', () => this.post({ type: 'openRun', runId: c.runId }));
    });
    this.cells.replaceChildren(h('h2', {}, `Every cell (${cells.length})`), t);
  }

  private exportPng(id: ChartId): void {
    const chart = this.charts.get(id);
    if (chart) this.post({ type: 'exportPng', chart: id, dataUrl: chartPng(chart, this.theme.background) });
  }

  retheme(): void {
    this.theme = readTheme();
    for (const [, chart] of this.charts) retheme(chart, this.theme);
    this.update(this.snapshot);
  }

  dispose(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }
}

/** Percent ticks with as many decimals as their spacing needs (a sweep's means are often within a few points). */
function percentTick(value: string | number, index: number, ticks: { value: number }[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) : 1;
  const digits = Math.max(0, Math.min(2, Math.ceil(-Math.log10(step * 100) + 0.01)));
  return `${(Number(value) * 100).toFixed(digits)}%`;
}

function pointNote(p: { excluded: { status: string }[]; pending: number }): string {
  const parts = p.excluded.length ? [`${p.excluded.length} ${[...new Set(p.excluded.map((e) => e.status))].join('/')}`] : [];
  if (p.pending) parts.push(`${p.pending} unfinished`);
  return parts.join(', ') || '–';
}

function tooltipLine(ds: SweepDataset, index: number): string {
  const p = ds.figure?.[index];
  if (!p) return ds.label ?? '';
  const value = `${(p.y * 100).toFixed(2)}%${p.n > 1 ? ` ± ${(p.std * 100).toFixed(2)} (n = ${p.n})` : ''}`;
  return `${ds.label}: ${value}${p.note ? ` · ${p.note}` : ''}`;
}

/** Cells by variant, then axis values, then seed: the seeds of a value next to each other. */
function cellOrder(axes: string[]): (a: CellView, b: CellView) => number {
  const variant = { fixed: 0, softmax: 1, learned: 2 };
  const cmp = (x: unknown, y: unknown) => (typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? '')));
  return (a, b) => variant[a.variant] - variant[b.variant] || axes.reduce((r, f) => r || cmp(a.values[f], b.values[f]), 0) || a.seed - b.seed;
}
