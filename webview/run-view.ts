// The dashboard of one run: header, live charts, the TAR@FAR table and the
// run's evaluations on other pairs (eval).

import type { Chart } from 'chart.js';
import { applyEvent, boundSeries, type ChartId, type HostMessage, type RunSnapshot, type WebviewMessage } from '../src/shared/dashboard';
import { HEAD_NAMES, hasScaleS, headParameters } from '../src/shared/config';
import { FAR_TARGETS, type TrainerEvent, type Verification } from '../src/shared/events';
import { protocolText, tarText } from '../src/shared/format';
import { reportLabel, reportedEpoch } from '../src/shared/summary';
import type { InsightReply } from '../src/shared/insight';
import { PHASE_TEXT, type TrainerPhase } from '../src/shared/run';
import { ChartCard, type CardSpec } from './chart-card';
import { chartToolbar } from './chart-toolbar';
import { Redraw, retheme, setAxis } from './charts';
import { h, table } from './dom';
import { EmbeddingView } from './embedding-view';
import { bestEpoch, etaSeconds, formatDuration, pct, rocPoints, type Point } from './model';
import { RunSeries, xAxisSpec, type XMode } from './step-series';
import { readTheme, withAlpha, type Theme } from './theme';

type Post = (m: WebviewMessage) => void;


export class RunView {
  readonly charts = new Map<ChartId, Chart<'line', Point[]>>();
  readonly cards = new Map<ChartId, ChartCard>();
  /** The charts' points (smoothed, in the x unit chosen). */
  private readonly data: RunSeries;
  private theme: Theme = readTheme();
  private readonly redraw = new Redraw();
  private header!: HTMLElement;
  private headerQueued = false;
  /** "Inside the embedding": the run's records (norms, scores, feature space, failures). */
  embedding?: EmbeddingView;
  private table!: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    readonly run: RunSnapshot,
    private readonly post: Post,
  ) {
    boundSeries(run.steps);
    this.data = new RunSeries(run);
    this.render();
  }

  /** Applies a live event; duplicates (already in the snapshot) are ignored. */
  event(e: TrainerEvent): void {
    const st = this.run.steps;
    if (e.type === 'step' && st.step.length && e.step <= st.step[st.step.length - 1]) return;
    if (e.type === 'epoch' && this.run.epochs.some((x) => x.epoch === e.epoch)) return;
    if (e.type === 'warning' && this.run.warnings.includes(e.message)) return;
    if (e.type === 'evaluation' && this.run.evaluations?.some((x) => x.time === e.time)) return;
    if (e.type === 'system' && this.run.system?.time.length && e.time <= this.run.system.time[this.run.system.time.length - 1]) return;
    applyEvent(this.run, e);
    switch (e.type) {
      case 'step':
        if (boundSeries(this.run.steps)) this.data.rebuild();
        else this.data.pushStep(this.run.steps.step.length - 1);
        this.data.updateAlphaLow();
        // The first step is the wall-time origin of the system charts.
        if (this.run.steps.step.length === 1) this.data.rebuildSystem();
        for (const id of [...STEP_CHARTS, ...SYSTEM_CHARTS]) this.redraw.mark(this.charts.get(id));
        this.renderHeaderSoon();
        break;
      case 'system':
        this.data.pushSystem((this.run.system?.time.length ?? 1) - 1);
        for (const id of SYSTEM_CHARTS) this.redraw.mark(this.charts.get(id));
        this.renderHeaderSoon();
        break;
      case 'epoch':
        this.data.pushEpoch(e);
        for (const id of ['loss', 'accuracy', 'verification'] as ChartId[]) this.redraw.mark(this.charts.get(id));
        this.updateRoc();
        this.renderTable();
        this.renderHeader();
        this.embedding?.epochArrived(this.run.id, e);
        break;
      case 'evaluation':
        this.renderTable();
        break;
      case 'started':
      case 'finished':
      case 'warning':
      case 'error':
        this.data.updateAlphaLow();
        this.renderHeader();
        break;
    }
  }

  /** Steps arrive faster than anyone reads the header: it is rebuilt once per frame at most. */
  private renderHeaderSoon(): void {
    if (this.headerQueued) return;
    this.headerQueued = true;
    requestAnimationFrame(() => {
      this.headerQueued = false;
      this.renderHeader();
    });
  }

  /** What the Runs view knows of the run changed (status, name, phase, tags, note). */
  status(m: Extract<HostMessage, { type: 'status' }>): void {
    Object.assign(this.run, { status: m.status, name: m.name, phase: m.phase, tags: m.tags, note: m.note });
    if (m.reason) this.run.reason = m.reason;
    this.renderHeader();
  }

  private render(): void {
    this.root.replaceChildren();
    this.header = h('section', { class: 'header' });
    this.table = h('section', { class: 'card', id: 'tar-table' });
    const grid = h('section', { class: 'grid' });
    // The config never changes: built once, outside the header that redraws on every step.
    const config = h('details', {}, h('summary', {}, 'Configuration'), table(['setting', 'value'], Object.entries(flatten(this.run.config)).map(([k, v]) => [k, v])));
    this.root.append(this.header, config, grid, h('div', { style: 'height: 12px' }), this.table);
    this.renderHeader();
    grid.before(chartToolbar({ smoothing: this.data.smoothing, xMode: this.data.xMode }, { smoothing: (w) => this.restep(w, this.data.xMode), xMode: (m) => this.restep(this.data.smoothing, m), resetZoom: () => this.resetZoom() }));
    for (const spec of this.cardSpecs()) {
      const card = new ChartCard(spec, this.theme, (chart, dataUrl) => this.post({ type: 'exportPng', chart, dataUrl }));
      grid.append(card.element);
      this.cards.set(spec.id, card);
      this.charts.set(spec.id, card.chart);
    }
    this.updateRoc();
    this.renderTable();
    this.root.append(h('div', { style: 'height: 12px' }));
    this.embedding = new EmbeddingView(this.root, [this.run], this.post);
  }

  /** The host's answer to the embedding view's request. */
  insight(reply: InsightReply): void {
    this.embedding?.insight(reply);
  }

  /** Every chart of the dashboard: the step charts (zoomable, smoothed, in the chosen x unit), verification and ROC. */
  private cardSpecs(): CardSpec[] {
    const t = this.theme;
    const d = this.data;
    const c = datasetColors(t);
    const steps = { zoom: true, describeX: (x: number) => d.describe(x) };
    const x = xAxisSpec(d.xMode);
    const wall = xAxisSpec('time');
    const scale = scaleOf(this.run.config);
    const specs: CardSpec[] = [
      { id: 'loss', title: 'Training loss', x, y: { title: 'cross-entropy' }, behaviour: steps, logToggle: 'y', datasets: [
        { label: 'per step', data: d.loss.raw, borderColor: c.loss[0], borderWidth: 1 },
        { label: 'smoothed', data: d.loss.smooth, borderColor: c.loss[1], borderWidth: 2 },
        { label: 'epoch mean', data: d.epochLoss, borderColor: c.loss[2], pointRadius: 3, showLine: false },
      ] },
      { id: 'accuracy', title: 'Training accuracy', x, y: { title: 'accuracy', percent: true, min: 0, max: 1 }, behaviour: steps, datasets: [
        { label: 'per step', data: d.accuracy.raw, borderColor: c.accuracy[0], borderWidth: 1 },
        { label: 'smoothed', data: d.accuracy.smooth, borderColor: c.accuracy[1], borderWidth: 2 },
        { label: 'epoch mean', data: d.epochAccuracy, borderColor: c.accuracy[2], pointRadius: 3, showLine: false },
        { label: 'validation (held-out images)', data: d.validation, borderColor: c.accuracy[3], pointRadius: 3, borderWidth: 2 },
      ] },
    ];
    // Plain softmax has no scale: no empty chart for it.
    if (scale) {
      specs.push({ id: 'alpha', title: `${scale.title}${scale.trainable ? ' (trainable)' : ' (fixed)'}`, x, y: { title: scale.name }, behaviour: steps, datasets: [
        { label: scale.name, data: d.alpha.raw, borderColor: c.alpha[0], borderWidth: 1 },
        { label: `${scale.name} smoothed`, data: d.alpha.smooth, borderColor: c.alpha[1], borderWidth: 2 },
        { label: `${scale.name}_low (p = 0.9)`, data: d.alphaLow, borderColor: c.alpha[2], borderDash: [6, 4], borderWidth: 1.5 },
      ] });
    }
    specs.push(
      { id: 'norm', title: 'Feature norm ‖f(x)‖ before normalization', x, y: { title: '‖f(x)‖' }, behaviour: steps, datasets: [
        { label: '_min', data: d.normMin, borderColor: c.norm[0], borderWidth: 0.5 },
        { label: 'min–max', data: d.normMax, borderColor: c.norm[1][0], borderWidth: 0.5, backgroundColor: c.norm[1][1], fill: '-1' },
        { label: 'mean', data: d.normMean.raw, borderColor: c.norm[2], borderWidth: 1 },
        { label: 'mean smoothed', data: d.normMean.smooth, borderColor: c.norm[3], borderWidth: 2 },
      ] },
      { id: 'throughput', title: 'Throughput', x, y: { title: 'images/s' }, behaviour: steps, datasets: [
        { label: 'per step', data: d.throughput.raw, borderColor: c.throughput[0], borderWidth: 1 },
        { label: 'smoothed', data: d.throughput.smooth, borderColor: c.throughput[1], borderWidth: 2 },
      ] },
      { id: 'system', title: 'CPU and GPU use', x: wall, y: { title: '%' }, behaviour: { zoom: true }, datasets: [
        { label: 'trainer CPU (% of one core)', data: d.cpu, borderColor: c.system[0], borderWidth: 2 },
        { label: 'machine CPU (% of all cores)', data: d.systemCpu, borderColor: c.system[1], borderWidth: 1 },
        { label: 'GPU utilization', data: d.gpuUtilization, borderColor: c.system[2], borderWidth: 2 },
      ] },
      { id: 'memory', title: 'Memory', x: wall, y: { title: 'MB' }, behaviour: { zoom: true }, datasets: [
        { label: 'trainer resident memory', data: d.rss, borderColor: c.memory[0], borderWidth: 2 },
        { label: 'GPU memory used', data: d.gpuMemory, borderColor: c.memory[1], borderWidth: 2 },
      ] },
      { id: 'verification', title: 'Verification accuracy (10-fold)', x: { title: 'epoch', min: 1, integer: true }, y: { title: 'accuracy', percent: true }, datasets: [
        { label: '_lo', data: d.verificationLo, borderColor: c.verification[0] },
        { label: '± std', data: d.verificationHi, borderColor: c.verification[1][0], backgroundColor: c.verification[1][1], fill: '-1' },
        { label: 'mean', data: d.verification, borderColor: c.verification[2], borderWidth: 2, pointRadius: 3 },
      ] },
      { id: 'roc', title: 'ROC', x: { title: 'false accept rate', log: true, min: 1e-5, max: 1 }, y: { title: 'true accept rate', percent: true, min: 0, max: 1 }, logToggle: 'x', datasets: [
        { label: 'latest epoch', data: [], borderColor: c.roc[0], borderWidth: 2, stepped: 'after' },
        { label: 'best epoch', data: [], borderColor: c.roc[1], borderWidth: 1.5, borderDash: [5, 3], stepped: 'after' },
      ] },
    );
    return specs;
  }

  /** New smoothing or x unit: every step point is recomputed and the step charts redrawn. */
  private restep(weight: number, mode: XMode): void {
    const unitChanged = mode !== this.data.xMode;
    this.data.rebuild(weight, mode);
    for (const id of STEP_CHARTS) {
      const chart = this.charts.get(id);
      if (!chart) continue;
      if (unitChanged) setAxis(chart, 'x', xAxisSpec(mode));
      this.redraw.mark(chart);
    }
  }

  resetZoom(): void {
    for (const chart of this.charts.values()) chart.resetZoom('none');
  }

  private updateRoc(): void {
    const chart = this.charts.get('roc');
    if (!chart) return;
    const latest = this.run.epochs[this.run.epochs.length - 1];
    const best = bestEpoch(this.run.epochs);
    chart.data.datasets[0].data = latest ? rocPoints(latest.verification) : [];
    chart.data.datasets[0].label = latest ? `latest (epoch ${latest.epoch})` : 'latest epoch';
    chart.data.datasets[1].data = best ? rocPoints(best.verification) : [];
    chart.data.datasets[1].label = best ? `best on the test pairs (epoch ${best.epoch})` : 'best on the test pairs';
    this.redraw.mark(chart);
  }

  private renderHeader(): void {
    const r = this.run;
    const st = r.started;
    const n = r.steps.step.length;
    const rate = n ? r.steps.imagesPerSec[n - 1] : undefined;
    const last = r.epochs[r.epochs.length - 1];
    const epochNow = n ? r.steps.epoch[n - 1] : 0;
    const c = r.config;
    const gpu = st ? (st.backend.gpu ? `yes${st.backend.gpuName ? ` (${st.backend.gpuName})` : ''}` : 'no') : '–';
    const stoppable = r.status === 'running' || r.status === 'queued';
    const parts: (HTMLElement | null)[] = [
      h(
        'header',
        {},
        h('h1', { id: 'run-name' }, r.name),
        h('span', { class: `badge ${r.status}`, id: 'run-status' }, r.status),
        h(
          'div',
          { class: 'actions' },
          stoppable ? h('button', { class: 'primary', id: 'stop', onclick: () => this.post({ type: 'stop', runId: r.id }) }, 'Stop') : null,
          RESUMABLE.has(r.status) ? h('button', { id: 'resume', title: 'Continue from the newest checkpoint', onclick: () => this.post({ type: 'resume', runId: r.id }) }, 'Resume') : null,
          h('button', { id: 'show-log', onclick: () => this.post({ type: 'showLog', runId: r.id }) }, 'Log'),
          h('button', { id: 'export-csv', onclick: () => this.post({ type: 'exportCsv' }) }, 'Export CSV'),
        ),
      ),
      h(
        'div',
        { class: 'facts', id: 'facts' },
        h('span', {}, 'Backend ', h('b', { id: 'backend' }, st ? st.backend.description : backendPending(r))),
        activity(r),
        h('span', {}, 'GPU ', h('b', { id: 'gpu' }, gpu)),
        st?.workers && st.workers > 1 ? h('span', {}, 'Threads ', h('b', { id: 'threads' }, String(st.workers))) : null,
        h('span', {}, 'Epoch ', h('b', { id: 'epoch' }, `${r.status === 'running' ? Math.max(epochNow, 1) : (last?.epoch ?? 0)}/${c.epochs}`)),
        h('span', {}, 'Images/s ', h('b', { id: 'rate' }, rate ? Math.round(rate).toLocaleString() : '–')),
        systemFacts(r),
        r.status === 'running' ? h('span', {}, 'ETA ', h('b', { id: 'eta' }, formatDuration(etaSeconds(r)))) : null,
        r.finished ? h('span', {}, 'Took ', h('b', {}, formatDuration(r.finished.summary.seconds))) : null,
      ),
      st
        ? h(
            'div',
            { class: 'facts', id: 'dataset' },
            h('span', {}, 'Data ', h('b', {}, st.dataset.source)),
            h('span', {}, h('b', {}, st.dataset.identities.toLocaleString()), ' identities, ', h('b', {}, st.dataset.images.toLocaleString()), ' images'),
            h('span', {}, 'Verification ', h('b', {}, st.dataset.pairs.toLocaleString()), ` pairs (${st.dataset.folds} folds, ${st.dataset.verifyIdentities} identities)`),
            h('span', {}, 'Head ', h('b', { id: 'head' }, `${HEAD_NAMES[c.loss]} ${headParameters(c)}`.trim())),
            scaleOf(c) ? h('span', {}, `${scaleOf(c)?.name}_low `, h('b', {}, st.alphaLow.toFixed(2))) : null,
            st.dataset.overlap ? h('span', { id: 'protocol', class: st.dataset.overlap.identities || st.dataset.overlap.images ? 'overlap' : '' }, 'Protocol ', h('b', {}, protocolText(st.dataset.overlap) ?? '')) : null,
          )
        : null,
      provenanceLine(r),
      annotations(r, this.post),
      r.reason && r.status !== 'completed' ? h('div', { class: 'reason', id: 'reason' }, r.reason) : null,
      ...r.warnings.map((w) => h('div', { class: 'warning' }, `⚠ ${w}`)),
      r.skipped ? h('div', { class: 'warning', id: 'skipped' }, `⚠ ${r.skipped.toLocaleString()} malformed line${r.skipped === 1 ? '' : 's'} skipped in events.jsonl`) : null,
    ];
    this.header.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  /** The latest epoch, the reported one when the run reports its best validation epoch, and the best on the test pairs (labelled as such: it is chosen on them). */
  private renderTable(): void {
    const latest = this.run.epochs[this.run.epochs.length - 1];
    const best = bestEpoch(this.run.epochs);
    if (!latest || !best) {
      this.table.replaceChildren(h('h2', {}, 'Verification'), h('div', { class: 'empty' }, 'Verification metrics appear after the first epoch.'));
      return;
    }
    const rule = this.run.config.reportEpoch ?? 'final';
    const reported = rule === 'final' ? undefined : reportedEpoch(this.run.epochs, rule);
    const columns = [
      { head: `latest (epoch ${latest.epoch})`, v: latest.verification },
      ...(reported ? [{ head: `reported: ${reportLabel(rule, reported.epoch)}`, v: reported.verification }] : []),
      { head: `best on the test pairs (epoch ${best.epoch})`, v: best.verification },
    ];
    const row = (metric: string, cell: (v: Verification) => string) => [metric, ...columns.map((c) => cell(c.v))];
    this.table.replaceChildren(
      h('h2', {}, `Verification: ${latest.verification.pairs.toLocaleString()} pairs`),
      table(
        ['metric', ...columns.map((c) => c.head)],
        [
          row('10-fold accuracy', (v) => `${pct(v.accuracy, 2)} ± ${pct(v.accuracyStd, 2)}`),
          ...FAR_TARGETS.map((f) => row(`TAR @ FAR=${f.toExponential()}`, (v) => tarText(v, f, 2))),
          row('AUC', (v) => v.auc.toFixed(4)),
          row('EER', (v) => pct(v.eer, 2)),
          row('threshold (cosine)', (v) => v.threshold.toFixed(4)),
        ],
      ),
      this.evaluationsTable(),
    );
  }

  /** The run's checkpoints verified on other pairs (eval), newest last. */
  private evaluationsTable(): HTMLElement | string {
    const evaluations = this.run.evaluations ?? [];
    if (!evaluations.length) return '';
    return h(
      'div',
      { id: 'evaluations' },
      h('h2', {}, 'Evaluations'),
      table(
        ['when', 'checkpoint', 'pairs', 'flip', '10-fold accuracy', 'TAR @ FAR=1e-3', 'TAR @ FAR=1e-2', 'AUC', 'EER'],
        evaluations.map((e) => [
          new Date(e.time).toLocaleString(),
          `epoch ${e.checkpoint.epoch}`,
          `${e.pairsSource} (${e.verification.pairs.toLocaleString()} pairs)`,
          e.flip ? 'yes' : 'no',
          `${pct(e.verification.accuracy, 2)} ± ${pct(e.verification.accuracyStd, 2)}`,
          tarText(e.verification, 1e-3, 2),
          tarText(e.verification, 1e-2, 2),
          e.verification.auc.toFixed(4),
          pct(e.verification.eer, 2),
        ]),
      ),
    );
  }

  retheme(): void {
    this.theme = readTheme();
    const t = this.theme;
    const colors = datasetColors(t) as Partial<Record<ChartId, (string | [string, string])[]>>;
    for (const [id, chart] of this.charts) {
      retheme(chart, t);
      chart.data.datasets.forEach((d, i) => {
        const c = colors[id]?.[i];
        if (Array.isArray(c)) [d.borderColor, d.backgroundColor] = c;
        else if (c) d.borderColor = c;
      });
      this.redraw.mark(chart);
    }
    this.embedding?.retheme();
  }

  dispose(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
    this.embedding?.dispose();
  }
}

/** The charts whose x is the step (or epoch, or wall time) of a step event. */
const STEP_CHARTS: readonly ChartId[] = ['loss', 'accuracy', 'alpha', 'norm', 'throughput'];
/** The charts of the trainer's system samples, against wall time. */
const SYSTEM_CHARTS: readonly ChartId[] = ['system', 'memory'];

/** The latest system sample in the header: the trainer's CPU and memory, the GPUs' use. */
function systemFacts(r: RunSnapshot): HTMLElement | null {
  const s = r.system;
  const n = s?.time.length ?? 0;
  if (!s || !n || r.status !== 'running') return null;
  const gpu = s.gpuUtilization[n - 1];
  const memory = s.gpuMemory[n - 1];
  const total = s.gpuMemoryTotal[n - 1];
  return h(
    'span',
    { id: 'system-facts' },
    'CPU ',
    h('b', {}, `${Math.round(s.cpu[n - 1])}%`),
    ' · RSS ',
    h('b', {}, `${Math.round(s.rss[n - 1] / 1e6).toLocaleString()} MB`),
    gpu !== null ? [' · GPU ', h('b', {}, `${Math.round(gpu)}%${memory !== null && total !== null ? `, ${(memory / 1024).toFixed(1)}/${(total / 1024).toFixed(0)} GiB` : ''}`)] : null,
  );
}

/** Each chart's dataset colours in dataset order ([border, fill] for bands): one place for drawing and re-theming. */
function datasetColors(t: Theme) {
  const norm = withAlpha(t.palette[2], 0.4);
  return {
    loss: [t.loss, t.smooth, t.palette[1]],
    accuracy: [t.loss, t.smooth, t.palette[1], t.palette[4]],
    alpha: [withAlpha(t.palette[3], 0.35), t.palette[3], t.warn],
    norm: [norm, [norm, withAlpha(t.palette[2], 0.18)] as [string, string], norm, t.palette[2]],
    verification: ['transparent', ['transparent', t.band] as [string, string], t.smooth],
    roc: [t.smooth, t.palette[1]],
    throughput: [t.loss, t.smooth],
    system: [t.palette[0], withAlpha(t.palette[5], 0.8), t.palette[2]],
    memory: [t.palette[3], t.palette[1]],
  };
}

/** The scale a head learns or keeps, as its chart names it; undefined for plain softmax. */
function scaleOf(config: RunSnapshot['config']): { name: string; title: string; trainable: boolean } | undefined {
  if (config.loss === 'l2-softmax') return { name: 'alpha', title: 'Alpha', trainable: config.alphaTrainable };
  if (hasScaleS(config.loss)) return { name: 's', title: 'Scale s', trainable: config.scaleTrainable };
  return undefined;
}

/** Where the run came from: the git commit it was started at, its data's fingerprints, what created and trained it. */
function provenanceLine(r: RunSnapshot): HTMLElement | null {
  const facts = (r.provenance ?? []).filter(([label]) => label !== 'backend');
  if (!facts.length) return null;
  return h('div', { class: 'facts', id: 'provenance' }, facts.map(([label, value]) => h('span', { 'data-fact': label }, `${label[0].toUpperCase()}${label.slice(1)} `, h('b', {}, value))));
}

/** The run's tags and note, each with its edit button. */
function annotations(r: RunSnapshot, post: Post): HTMLElement {
  const tags = r.tags ?? [];
  return h(
    'div',
    { class: 'annotations', id: 'annotations' },
    h('span', { id: 'tags' }, tags.length ? tags.map((t) => h('span', { class: 'tag' }, `#${t}`)) : h('span', { class: 'muted' }, 'no tags')),
    h('button', { class: 'link', id: 'edit-tags', title: 'Edit the tags of this run', onclick: () => post({ type: 'editTags', runId: r.id }) }, 'Tags…'),
    h('span', { id: 'note', class: r.note ? 'note' : 'muted' }, r.note || 'no note'),
    h('button', { class: 'link', id: 'edit-note', title: 'Edit the note on this run', onclick: () => post({ type: 'editNote', runId: r.id }) }, 'Note…'),
  );
}

/** What the backend fact says before the trainer named its backend. */
function backendPending(r: RunSnapshot): string {
  if (r.status === 'queued') return 'not yet: waiting in the queue';
  if (r.status === 'running') return 'starting…';
  return 'none: the trainer never got that far';
}

/** What a live trainer is doing when it is not simply training (loading, rendering faces, verifying...). */
function activity(r: RunSnapshot): HTMLElement | null {
  if (r.status !== 'running' || !r.phase || r.phase === 'training') return null;
  const text = PHASE_TEXT[r.phase as TrainerPhase] ?? r.phase;
  return h('span', { id: 'phase', class: 'phase' }, 'Now ', h('b', {}, `${text}…`));
}

/** A run in these states can continue from its checkpoint (the host checks that one exists). */
const RESUMABLE: ReadonlySet<string> = new Set(['stopped', 'interrupted', 'failed']);

export function flatten(obj: object, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object') Object.assign(out, flatten(v, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v === '' ? '(empty)' : String(v);
  }
  return out;
}
