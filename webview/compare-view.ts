// Several runs in one panel: the results by head in the form papers use (copy
// as Markdown or LaTeX), overlaid curves and ROCs, a config diff and a metrics table.

import type { Chart } from 'chart.js';
import { hasScaleS } from '../src/shared/config';
import { applyEvent, type ChartId, type RunSnapshot, type WebviewMessage } from '../src/shared/dashboard';
import { FAR_TARGETS, type TrainerEvent } from '../src/shared/events';
import type { InsightReply } from '../src/shared/insight';
import { tarText } from '../src/shared/format';
import { reportLabel, reportedEpoch } from '../src/shared/summary';
import { ChartCard } from './chart-card';
import { chartToolbar } from './chart-toolbar';
import { Redraw, retheme, setAxis, type AxisSpec, type LineDataset } from './charts';
import { h, table } from './dom';
import { EmbeddingView } from './embedding-view';
import { PAPER_COLUMNS, bestEpoch, configDiff, distinctColors, provenanceDiff, paperCells, paperLatex, paperMarkdown, paperRows, pct, rocPoints, type Point } from './model';
import { DEFAULT_SMOOTHING, X_LABELS, smoothedLoss, xAxisSpec, type XMode } from './step-series';
import { readTheme, type Theme } from './theme';

type Post = (m: WebviewMessage) => void;

/** How the step curves are drawn: the toolbar's smoothing and x unit. */
interface StepView {
  smoothing: number;
  xMode: XMode;
}

interface Curve {
  id: ChartId;
  title: string;
  x: AxisSpec;
  y: AxisSpec;
  data: (run: RunSnapshot, view: StepView) => Point[];
  /** Its axis with a log/linear toggle. */
  logToggle?: 'x' | 'y';
  /** A curve of steps: zooms, and follows the toolbar's smoothing and x unit. */
  steps?: boolean;
}

const CURVES: Curve[] = [
  {
    id: 'loss',
    title: 'Training loss (smoothed)',
    x: xAxisSpec('epoch'),
    y: { title: 'cross-entropy' },
    data: (r, view) => smoothedLoss(r, view.smoothing, view.xMode),
    logToggle: 'y',
    steps: true,
  },
  {
    id: 'verification',
    title: 'Verification accuracy (10-fold)',
    x: { title: 'epoch', min: 1, integer: true },
    y: { title: 'accuracy', percent: true },
    data: (r) => r.epochs.map((e) => ({ x: e.epoch, y: e.verification.accuracy })),
  },
  {
    id: 'roc',
    title: 'ROC at each run\'s reported epoch',
    x: { title: 'false accept rate', log: true, min: 1e-5, max: 1 },
    logToggle: 'x',
    y: { title: 'true accept rate', percent: true, min: 0, max: 1 },
    data: (r) => {
      const e = reportedEpoch(r.epochs, r.config.reportEpoch ?? 'final');
      return e ? rocPoints(e.verification) : [];
    },
  },
  {
    id: 'accuracy',
    title: 'Training accuracy (by epoch)',
    x: { title: 'epoch', min: 1, integer: true },
    y: { title: 'accuracy', percent: true, min: 0, max: 1 },
    data: (r) => r.epochs.map((e) => ({ x: e.epoch, y: e.trainAccuracy })),
  },
  {
    id: 'alpha',
    title: 'Feature scale: alpha (L2-softmax) or s (NormFace, CosFace, ArcFace); dashed: each run\'s alpha_low or s_low',
    x: { title: 'epoch', min: 1, integer: true },
    y: { title: 'alpha or s' },
    data: (r) => r.epochs.filter((e) => e.alpha !== null).map((e) => ({ x: e.epoch, y: e.alpha as number })),
  },
  {
    id: 'norm',
    title: 'Mean feature norm ‖f(x)‖ (by epoch)',
    x: { title: 'epoch', min: 1, integer: true },
    y: { title: '‖f(x)‖' },
    data: (r) => r.epochs.map((e) => ({ x: e.epoch, y: e.featureNorm.mean })),
  },
];

export class CompareView {
  readonly charts = new Map<ChartId, Chart<'line', Point[]>>();
  private theme: Theme = readTheme();
  private colors: string[] = [];
  private readonly redraw = new Redraw();
  private tables!: HTMLElement;
  private readonly view: StepView = { smoothing: DEFAULT_SMOOTHING, xMode: 'epoch' };
  readonly cards = new Map<ChartId, ChartCard>();
  /** Softmax and L2 (or any runs) side by side inside the embedding: norm against quality, feature space. */
  embedding?: EmbeddingView;

  constructor(
    private readonly root: HTMLElement,
    readonly runs: RunSnapshot[],
    private readonly post: Post,
  ) {
    this.render();
  }

  private datasets(curve: Curve): LineDataset[] {
    const curves = this.runs.map((r, i) => ({
      label: r.name,
      data: curve.data(r, this.view),
      borderColor: this.colors[i],
      borderWidth: 2,
      pointRadius: curve.id === 'loss' || curve.id === 'roc' ? 0 : 2.5,
      stepped: curve.id === 'roc' ? ('after' as const) : false,
    }));
    // The scale chart: each run's lower bound as a dashed line in its colour, after the runs' curves.
    const bounds = curve.id === 'alpha' ? this.runs.map((r, i) => ({ label: `_low ${r.name}`, data: boundLine(r), borderColor: this.colors[i], borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 })) : [];
    return [...curves, ...bounds];
  }

  private render(): void {
    this.colors = distinctColors(this.runs.length, this.theme.palette);
    this.root.replaceChildren();
    this.root.append(
      h(
        'header',
        {},
        h('h1', {}, `Comparing ${this.runs.length} runs`),
        h('div', { class: 'actions' }, h('button', { id: 'export-csv', onclick: () => this.post({ type: 'exportCsv' }) }, 'Export CSV')),
      ),
    );
    this.tables = h('section', { id: 'compare-tables' });
    const grid = h('section', { class: 'grid' });
    this.root.append(this.tables, grid);
    grid.before(chartToolbar(this.view, { smoothing: (w) => this.restep({ ...this.view, smoothing: w }), xMode: (m) => this.restep({ ...this.view, xMode: m }), resetZoom: () => this.resetZoom() }));
    for (const curve of CURVES) {
      const describeX = curve.steps ? (x: number) => `${X_LABELS[this.view.xMode]} ${x.toLocaleString(undefined, { maximumFractionDigits: 3 })}` : undefined;
      const card = new ChartCard({ id: curve.id, title: curve.title, x: curve.x, y: curve.y, datasets: this.datasets(curve), logToggle: curve.logToggle, behaviour: { zoom: curve.steps, describeX } }, this.theme, (chart, dataUrl) =>
        this.post({ type: 'exportPng', chart, dataUrl }),
      );
      grid.append(card.element);
      this.cards.set(curve.id, card);
      this.charts.set(curve.id, card.chart);
    }
    this.renderTables();
    this.root.append(h('div', { style: 'height: 12px' }));
    this.embedding = new EmbeddingView(this.root, this.runs, this.post);
  }

  /** The host's answer to the embedding view's request for one run. */
  insight(reply: InsightReply): void {
    this.embedding?.insight(reply);
  }

  private renderTables(): void {
    const swatch = (i: number) => h('span', { class: 'swatch', style: `background:${this.colors[i]}` });
    const metrics = this.runs.map((r, i) => {
      const rule = r.config.reportEpoch ?? 'final';
      const e = reportedEpoch(r.epochs, rule);
      const v = e?.verification;
      const b = bestEpoch(r.epochs);
      return [
        [swatch(i), r.name],
        r.status,
        e ? reportLabel(rule, e.epoch) : '–',
        v ? `${pct(v.accuracy, 2)} ± ${pct(v.accuracyStd, 2)}` : '–',
        v ? v.auc.toFixed(4) : '–',
        v ? pct(v.eer, 2) : '–',
        ...FAR_TARGETS.map((f) => (v ? tarText(v, f, 2) : '–')),
        b ? `${pct(b.verification.accuracy, 2)} (epoch ${b.epoch})` : '–',
      ];
    });
    const diff = [...configDiff(this.runs.map((r) => r.config)), ...provenanceDiff(this.runs).map((d) => ({ ...d, field: `${d.field} (provenance)` }))];
    this.tables.replaceChildren(
      this.paperTable(),
      h('div', { style: 'height: 12px' }),
      h(
        'div',
        { class: 'card', id: 'metrics-table' },
        h('h2', {}, 'Metrics at each run\'s reported epoch'),
        table(['run', 'status', 'reported epoch', '10-fold accuracy', 'AUC', 'EER', ...FAR_TARGETS.map((f) => `TAR@${f.toExponential()}`), 'best on the test pairs'], metrics),
      ),
      h('div', { style: 'height: 12px' }),
      h(
        'div',
        { class: 'card', id: 'config-diff' },
        h('h2', {}, 'Settings that differ'),
        diff.length
          ? table(['setting', ...this.runs.map((r) => r.name)], diff.map((d) => [d.field, ...d.values]))
          : h('div', { class: 'empty' }, 'These runs share every setting.'),
      ),
      h('div', { style: 'height: 12px' }),
    );
  }

  /** Results by head: each run's final epoch and its evaluations, with Copy Markdown / Copy LaTeX. */
  private paperTable(): HTMLElement {
    const rows = paperRows(this.runs);
    const copy = (label: string, text: () => string) => {
      const button = h('button', { onclick: () => void copyText(text()).then((ok) => flash(button, ok ? 'Copied' : 'Copy failed')) }, label);
      return button;
    };
    return h(
      'div',
      { class: 'card', id: 'paper-table' },
      h('h2', {}, 'Results by head (final epoch and evaluations)', h('span', { class: 'spacer' }), copy('Copy Markdown', () => paperMarkdown(rows)), copy('Copy LaTeX', () => paperLatex(rows))),
      rows.length ? table([...PAPER_COLUMNS], rows.map((r) => paperCells(r))) : h('div', { class: 'empty' }, 'Results appear after the first epoch.'),
    );
  }

  event(runId: string, e: TrainerEvent): void {
    const run = this.runs.find((r) => r.id === runId);
    if (!run) return;
    if (e.type === 'step' && run.steps.step.length && e.step <= run.steps.step[run.steps.step.length - 1]) return;
    if (e.type === 'epoch' && run.epochs.some((x) => x.epoch === e.epoch)) return;
    if (e.type === 'evaluation' && run.evaluations?.some((x) => x.time === e.time)) return;
    applyEvent(run, e);
    if (e.type === 'evaluation') return this.renderTables();
    if (e.type !== 'step' && e.type !== 'epoch' && e.type !== 'started') return;
    const i = this.runs.indexOf(run);
    for (const curve of CURVES) {
      if (e.type === 'step' && curve.id !== 'loss') continue;
      const chart = this.charts.get(curve.id);
      if (!chart) continue;
      chart.data.datasets[i].data = curve.data(run, this.view);
      if (curve.id === 'alpha') chart.data.datasets[this.runs.length + i].data = boundLine(run);
      this.redraw.mark(chart);
    }
    if (e.type === 'epoch') {
      this.renderTables();
      this.embedding?.epochArrived(runId, e);
    }
  }

  /** New smoothing or x unit for the step curves. */
  private restep(view: StepView): void {
    const unitChanged = view.xMode !== this.view.xMode;
    Object.assign(this.view, view);
    for (const curve of CURVES.filter((c) => c.steps)) {
      const chart = this.charts.get(curve.id);
      if (!chart) continue;
      this.runs.forEach((r, i) => (chart.data.datasets[i].data = curve.data(r, this.view)));
      if (unitChanged) setAxis(chart, 'x', xAxisSpec(view.xMode));
      this.redraw.mark(chart);
    }
  }

  resetZoom(): void {
    for (const chart of this.charts.values()) chart.resetZoom('none');
  }

  status(runId: string, status: RunSnapshot['status'], name: string): void {
    const run = this.runs.find((r) => r.id === runId);
    if (!run) return;
    run.status = status;
    run.name = name;
    this.renderTables();
  }

  retheme(): void {
    this.theme = readTheme();
    this.colors = distinctColors(this.runs.length, this.theme.palette);
    for (const chart of this.charts.values()) {
      retheme(chart, this.theme);
      chart.data.datasets.forEach((d, i) => (d.borderColor = this.colors[i % this.runs.length]));
      this.redraw.mark(chart);
    }
    this.renderTables();
    this.embedding?.retheme();
  }

  dispose(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
    this.embedding?.dispose();
  }
}

/** A run's alpha_low (or s_low) across its epochs, for the scale chart; empty before it started. */
function boundLine(run: RunSnapshot): Point[] {
  const low = run.started?.alphaLow;
  if (low === undefined || !(run.config.loss === 'l2-softmax' || hasScaleS(run.config.loss))) return [];
  const last = Math.max(1, run.epochs.length ? run.epochs[run.epochs.length - 1].epoch : run.config.epochs);
  return [{ x: 1, y: low }, { x: last, y: low }];
}

/** Puts text on the clipboard: the async API where the page may use it, else a selected textarea. */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h('textarea', { style: 'position: fixed; opacity: 0' });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** Shows `message` on the button for a moment. */
function flash(button: HTMLButtonElement, message: string): void {
  const label = button.textContent;
  button.textContent = message;
  setTimeout(() => (button.textContent = label), FLASH_MS);
}

const FLASH_MS = 1500;
