// "Inside the embedding": what a run's records show (src/shared/insight.ts,
// built by the host from records/). For one run, tabs for the feature norm
// against image quality (verification images and a training sample, histograms
// by quality third, the per-bucket verification), the matched and mismatched
// score distributions with the thresholds marked, the 2-D feature space by
// identity or quality, and the failure gallery at an operating point, with an
// epoch slider and CSV/.npy export. For several runs (Compare Runs), the norm
// and the feature space of each side by side.

import type { Chart } from 'chart.js';
import type { ChartId, RunSnapshot, WebviewMessage } from '../src/shared/dashboard';
import type { EpochEvent } from '../src/shared/events';
import type { EpochInsight, Failure, FailureImage, InsightReply, NormQuality, OperatingPoint } from '../src/shared/insight';
import { chartPng, lineChart, retheme, type AxisSpec, type LineDataset } from './charts';
import { h, table } from './dom';
import { OPERATING_POINTS, bucketRows, correlationText, histogramPoints, identityColor, mean, operatingKey, qualityColor, topOf, verticalLine } from './embedding-model';
import type { Point } from './model';
import { readTheme, withAlpha, type Theme } from './theme';

type Post = (m: WebviewMessage) => void;
type Tab = 'quality' | 'scores' | 'space' | 'failures';
type Coloring = 'identity' | 'quality';

const TABS: { id: Tab; label: string; compare: boolean }[] = [
  { id: 'quality', label: 'Norm vs quality', compare: true },
  { id: 'scores', label: 'Score distributions', compare: false },
  { id: 'space', label: 'Feature space', compare: true },
  { id: 'failures', label: 'Failures', compare: false },
];

const THIRD_LABELS = ['low-quality third', 'middle third', 'high-quality third'];
const SCATTER_RADIUS = 2;
const ORIGIN_RADIUS = 7;

export class EmbeddingView {
  /** The charts drawn now, by id (compare mode: `id:runId`), for tests and PNG export. */
  readonly charts = new Map<string, Chart<'line', Point[]>>();
  private readonly replies = new Map<string, InsightReply>();
  /** The `seq` of the last request for each run: replies to earlier ones are stale. */
  private readonly asked = new Map<string, number>();
  private seq = 0;
  private theme: Theme = readTheme();
  private tab: Tab = 'quality';
  private coloring: Coloring = 'identity';
  private operating: OperatingPoint = { kind: 'tenfold' };
  /** The epoch asked for; undefined follows the latest. */
  private epoch?: number;
  private readonly section: HTMLElement;
  private readonly body: HTMLElement;
  private readonly toolbar: HTMLElement;

  constructor(
    parent: HTMLElement,
    private readonly runs: RunSnapshot[],
    private readonly post: Post,
  ) {
    this.toolbar = h('div', { class: 'controls toolbar' });
    this.body = h('div', { id: 'embedding-body' });
    this.section = h('section', { class: 'card', id: this.compare ? 'embedding-compare' : 'embedding' }, this.heading(), this.toolbar, this.body);
    parent.append(this.section);
    this.renderToolbar();
    this.body.append(h('div', { class: 'empty' }, 'Loading the records…'));
    this.request();
  }

  private get compare(): boolean {
    return this.runs.length > 1;
  }

  private heading(): HTMLElement {
    const exports = this.compare
      ? []
      : (['csv', 'npy'] as const).map((format) =>
          h('button', { id: `export-records-${format}`, title: `Every score, norm, quality and embedding of the shown epoch, as ${format === 'csv' ? 'CSV tables' : '.npy arrays'}`, onclick: () => this.exportRecords(format) }, format === 'csv' ? 'Export CSV' : 'Export .npy'),
        );
    return h('h2', {}, this.compare ? 'Inside the embedding: each run\'s latest recorded epoch' : 'Inside the embedding', h('span', { class: 'spacer' }), ...exports);
  }

  /** Asks the host to export the epoch shown (the latest until a reply shows one). */
  private exportRecords(format: 'csv' | 'npy'): void {
    const runId = this.runs[0].id;
    const shown = this.replies.get(runId)?.insight?.epoch;
    this.post({ type: 'exportRecords', runId, ...(shown !== undefined ? { epoch: shown } : {}), format });
  }

  /** Asks the host for the records of every run (the chosen epoch, or the latest). */
  private request(): void {
    for (const r of this.runs) this.ask(r.id, this.compare ? undefined : this.epoch);
  }

  /** Asks for one run's records at an epoch (the latest when undefined). */
  private ask(runId: string, epoch: number | undefined): void {
    this.asked.set(runId, ++this.seq);
    this.post({ type: 'insight', runId, seq: this.seq, ...(epoch !== undefined ? { epoch } : {}), operating: this.operating });
  }

  /** The host's answer for one run; an answer to an earlier request than the last is dropped. */
  insight(reply: InsightReply): void {
    if (reply.seq !== this.asked.get(reply.runId)) return;
    this.replies.set(reply.runId, reply);
    this.renderToolbar();
    this.renderBody();
  }

  /** A live epoch: new records to show when the view follows the latest. */
  epochArrived(runId: string, e: EpochEvent): void {
    if (!e.records || this.epoch !== undefined || !this.runs.some((r) => r.id === runId)) return;
    this.ask(runId, undefined);
  }

  // ---- toolbar: tabs, epoch slider, colouring, operating point

  private renderToolbar(): void {
    const first = this.replies.get(this.runs[0].id)?.insight;
    const tabs = TABS.filter((t) => !this.compare || t.compare).map((t) =>
      h('button', { 'aria-pressed': String(this.tab === t.id), 'data-tab': t.id, onclick: () => this.show(t.id) }, t.label),
    );
    this.toolbar.replaceChildren(...tabs, ...(this.compare || !first ? [] : [this.epochSlider(first)]), ...this.tabControls());
  }

  private epochSlider(insight: EpochInsight): HTMLElement {
    const stops = insight.epochs;
    const slider = h('input', { type: 'range', id: 'embedding-epoch', min: '0', max: String(stops.length - 1), step: '1', value: String(Math.max(0, stops.indexOf(insight.epoch))), 'aria-label': 'epoch' });
    slider.addEventListener('change', () => {
      const chosen = stops[Number(slider.value)];
      this.epoch = chosen === stops[stops.length - 1] ? undefined : chosen;
      this.ask(this.runs[0].id, chosen);
    });
    return h('label', {}, 'Epoch', slider, h('span', { id: 'embedding-epoch-label' }, `${insight.epoch} of ${stops.join(', ')}`));
  }

  private tabControls(): HTMLElement[] {
    if (this.tab === 'space') {
      const select = h('select', { id: 'embedding-coloring', 'aria-label': 'colour by' }, h('option', { value: 'identity' }, 'colour by identity'), h('option', { value: 'quality' }, 'colour by quality'));
      select.value = this.coloring;
      select.addEventListener('change', () => {
        this.coloring = select.value as Coloring;
        this.renderBody();
      });
      return [h('label', {}, select)];
    }
    if (this.tab === 'failures') {
      const select = h('select', { id: 'embedding-operating', 'aria-label': 'operating point' }, ...OPERATING_POINTS.map((o) => h('option', { value: operatingKey(o.value) }, o.label)));
      select.value = operatingKey(this.operating);
      select.addEventListener('change', () => {
        this.operating = OPERATING_POINTS.find((o) => operatingKey(o.value) === select.value)?.value ?? { kind: 'tenfold' };
        const shown = this.replies.get(this.runs[0].id)?.insight?.epoch;
        if (shown !== undefined) this.ask(this.runs[0].id, shown);
      });
      return [h('label', {}, 'Operating point', select)];
    }
    return [];
  }

  private show(tab: Tab): void {
    this.tab = tab;
    this.renderToolbar();
    this.renderBody();
  }

  // ---- the tabs

  private renderBody(): void {
    this.destroyCharts();
    const shown = this.runs.map((r) => ({ run: r, reply: this.replies.get(r.id) })).filter((x) => x.reply);
    if (!shown.length) return;
    if (this.compare) {
      this.body.replaceChildren(this.compareGrid(shown.map((x) => ({ run: x.run, reply: x.reply as InsightReply }))));
      return;
    }
    const { reply } = shown[0];
    if (!reply?.insight) {
      this.body.replaceChildren(h('div', { class: 'empty', id: 'embedding-empty' }, reply?.reason ?? 'No records.'));
      return;
    }
    const insight = reply.insight;
    const parts: Record<Tab, () => (HTMLElement | string)[]> = { quality: () => this.qualityTab(insight), scores: () => this.scoresTab(insight), space: () => this.spaceTab(insight), failures: () => this.failuresTab(insight) };
    this.body.replaceChildren(...parts[this.tab]());
  }

  private qualityTab(insight: EpochInsight): (HTMLElement | string)[] {
    const grid = h('section', { class: 'grid' });
    this.scatterCard(grid, 'norm-quality', `Verification images: ‖f(x)‖ against quality (${correlationText(insight.verify)})`, insight.verify);
    this.thirdsCard(grid, insight.verify);
    if (insight.train) this.scatterCard(grid, 'train-norm-quality', `Training sample: ‖f(x)‖ against quality (${correlationText(insight.train)})`, insight.train);
    const buckets = this.runs[0].epochs.find((e) => e.epoch === insight.epoch)?.records?.buckets ?? [];
    return [
      h('p', { class: 'hint' }, this.qualityNote(insight)),
      grid,
      h('div', { style: 'height: 8px' }),
      buckets.length
        ? h('div', { id: 'quality-buckets' }, h('h2', {}, `Verification by pair quality, epoch ${insight.epoch} (each pair at its fold's threshold)`), table(['pairs', 'count', 'accuracy', 'TAR', 'FAR'], bucketRows(buckets)))
        : '',
    ];
  }

  private qualityNote(insight: EpochInsight): string {
    const where = insight.quality === 'synthetic' ? 'Quality: what the synthetic faces were drawn with (blur, low light, occlusion, noise, small scale lower it).' : 'Quality: a measured proxy (sharpness as the variance of the Laplacian, times RMS contrast).';
    const l2 = this.runs[0].config.loss !== 'softmax' ? ' The norms are f(x) before the L2 layer: after it every feature has the same norm.' : '';
    return `${where} Plain softmax lets hard faces keep small norms; the L2 constraint puts every face at the same norm.${l2}`;
  }

  private scatterCard(grid: HTMLElement, id: ChartId, title: string, nq: NormQuality, runId?: string): void {
    const points = nq.points.map((p) => ({ x: p.quality, y: p.norm }));
    this.chartCard(grid, id, title, { title: 'image quality', min: 0, max: 1 }, { title: '‖f(x)‖ before normalization' }, [scatter(`images (${nq.count.toLocaleString()})`, points, points.map((p) => qualityColor(p.x, 0.7)))], runId);
  }

  private thirdsCard(grid: HTMLElement, nq: NormQuality): void {
    const colors = [this.theme.warn, this.theme.palette[5] ?? this.theme.muted, this.theme.accent];
    const datasets: LineDataset[] = nq.thirds.map((h3, t) => ({ label: THIRD_LABELS[t], data: histogramPoints(h3), borderColor: colors[t], backgroundColor: withAlpha(colors[t], 0.15), fill: true, stepped: 'after', borderWidth: 1.5 }));
    this.chartCard(grid, 'norm-thirds', 'Feature norms by quality third (share of each third)', { title: '‖f(x)‖ before normalization' }, { title: 'share of images', percent: true, min: 0 }, datasets);
  }

  private scoresTab(insight: EpochInsight): HTMLElement[] {
    const s = insight.scores;
    const matched = histogramPoints(s.matched);
    const mismatched = histogramPoints(s.mismatched);
    const top = topOf(matched, mismatched);
    const foldMean = mean(s.foldThresholds);
    const datasets: LineDataset[] = [
      { label: 'matched pairs', data: matched, borderColor: this.theme.accent, backgroundColor: withAlpha(this.theme.accent, 0.18), fill: true, stepped: 'after' },
      { label: 'mismatched pairs', data: mismatched, borderColor: this.theme.warn, backgroundColor: withAlpha(this.theme.warn, 0.18), fill: true, stepped: 'after' },
      ...(Number.isFinite(foldMean) ? [{ label: `10-fold threshold (mean of ${s.foldThresholds.length}: ${foldMean.toFixed(3)})`, data: verticalLine(foldMean, top), borderColor: this.theme.foreground, borderWidth: 2 }] : []),
      ...s.tarThresholds.map((t, k) => ({ label: `TAR@FAR=${t.far.toExponential()} (${t.threshold.toFixed(3)})`, data: verticalLine(t.threshold, top), borderColor: this.theme.palette[k % this.theme.palette.length], borderDash: [5, 4], borderWidth: 1.5 })),
    ];
    const grid = h('section', { class: 'grid', style: 'grid-template-columns: 1fr' });
    this.chartCard(grid, 'scores', `Cosine scores at epoch ${insight.epoch}: ${s.recordedPairs.toLocaleString()} pairs${s.recordedPairs < s.pairs ? ` (an even sample of ${s.pairs.toLocaleString()})` : ''}`, { title: 'cosine score', min: -1, max: 1 }, { title: 'share of pairs', percent: true, min: 0 }, datasets);
    return [grid, h('p', { class: 'hint' }, 'A FAR target below 1/(mismatched pairs) has no threshold here: it cannot be measured on these pairs.')];
  }

  private spaceTab(insight: EpochInsight): HTMLElement[] {
    const grid = h('section', { class: 'grid', style: 'grid-template-columns: 1fr' });
    this.spaceCard(grid, insight);
    return [grid];
  }

  private spaceCard(grid: HTMLElement, insight: EpochInsight, runId?: string, title?: string): void {
    const sp = insight.space;
    const points = sp.points.map((p) => ({ x: p.x, y: p.y }));
    const colors = sp.points.map((p) => (this.coloring === 'identity' ? identityColor(p.identity) : qualityColor(p.quality)));
    const axes = sp.kind === 'pca' ? ['principal axis 1', 'principal axis 2'] : ['f(x)₁', 'f(x)₂'];
    const share = sp.share && Number.isFinite(sp.share[0]) ? ` (${(sp.share[0] * 100).toFixed(0)}% and ${(sp.share[1] * 100).toFixed(0)}% of the variance)` : '';
    const heading = title ?? `${sp.kind === 'pca' ? 'f(x) on its two principal axes' : 'the 2-D features f(x) themselves'}, epoch ${insight.epoch}${share}: ${sp.count.toLocaleString()} images of ${sp.identities.toLocaleString()} identities`;
    this.chartCard(grid, 'feature-space', heading, { title: axes[0] }, { title: axes[1] }, [
      scatter('_images', points, colors),
      { label: 'f(x) = 0', data: [{ x: sp.origin[0], y: sp.origin[1] }], showLine: false, pointStyle: 'crossRot', pointRadius: ORIGIN_RADIUS, borderColor: this.theme.foreground, borderWidth: 2 },
    ], runId, true);
  }

  private failuresTab(insight: EpochInsight): HTMLElement[] {
    const g = insight.gallery;
    if (g.note) return [h('div', { class: 'empty', id: 'gallery-note' }, g.note)];
    const where = g.operating.kind === 'tenfold' ? 'each pair at its fold\'s 10-fold threshold' : `the TAR@FAR=${g.operating.far.toExponential()} threshold`;
    const column = (title: string, list: Failure[], count: number, id: string) =>
      h('div', { class: 'gallery-column', id }, h('h2', {}, `${title}: ${count.toLocaleString()}${count > list.length ? ` (the ${list.length} farthest from the threshold)` : ''}`), list.length ? list.map((f) => this.failureCard(f)) : h('div', { class: 'muted' }, 'none'));
    return [
      h('p', { class: 'hint' }, `Epoch ${insight.epoch}, ${where}; sorted by how far each score is on the wrong side.`),
      h('div', { class: 'gallery' }, column('False accepts', g.falseAccepts, g.counts.falseAccepts, 'false-accepts'), column('False rejects', g.falseRejects, g.counts.falseRejects, 'false-rejects')),
    ];
  }

  private failureCard(f: Failure): HTMLElement {
    return h(
      'div',
      { class: 'failure', 'data-pair': String(f.pair) },
      h('div', { class: 'failure-images' }, faceImage(f.a), faceImage(f.b)),
      h('div', { class: 'failure-facts' }, `score ${f.score.toFixed(3)} vs ${f.threshold.toFixed(3)} (margin ${Number.isFinite(f.margin) ? f.margin.toFixed(3) : '∞'}), fold ${f.fold}`),
    );
  }

  // ---- compare mode

  private compareGrid(shown: { run: RunSnapshot; reply: InsightReply }[]): HTMLElement {
    const grid = h('section', { class: 'grid' });
    for (const { run, reply } of shown) {
      const insight = reply.insight;
      if (!insight) {
        grid.append(h('div', { class: 'card' }, h('h2', {}, run.name), h('div', { class: 'empty' }, reply.reason ?? 'No records.')));
        continue;
      }
      if (this.tab === 'space') this.spaceCard(grid, insight, run.id, `${run.name}: f(x), epoch ${insight.epoch}`);
      else this.scatterCard(grid, 'norm-quality', `${run.name}: ‖f(x)‖ against quality, epoch ${insight.epoch} (${correlationText(insight.verify)})`, insight.verify, run.id);
    }
    const rows = shown.map(({ run, reply }) => {
      const i = reply.insight;
      const buckets = i ? (run.epochs.find((e) => e.epoch === i.epoch)?.records?.buckets ?? []) : [];
      return [run.name, i ? String(i.epoch) : '–', correlationText(i?.verify), correlationText(i?.train), ...['both high', 'one low', 'both low'].map((b) => bucketRows(buckets.filter((x) => x.bucket === b))[0]?.[2] ?? '–')];
    });
    return h('div', {}, grid, h('div', { style: 'height: 8px' }), h('div', { id: 'embedding-compare-table' }, table(['run', 'epoch', 'norm vs quality (verification)', 'norm vs quality (training sample)', 'accuracy: both high', 'one low', 'both low'], rows)));
  }

  // ---- charts

  private chartCard(grid: HTMLElement, id: ChartId, title: string, x: AxisSpec, y: AxisSpec, datasets: LineDataset[], runId?: string, square = false): void {
    const key = runId ? `${id}:${runId}` : id;
    const canvas = h('canvas', { id: `chart-${key}`, role: 'img', 'aria-label': title });
    grid.append(
      h(
        'div',
        { class: 'card', 'data-chart': key },
        h('h2', {}, title, h('span', { class: 'spacer' }), h('button', { title: 'Save this chart as PNG', onclick: () => this.exportPng(id, key) }, 'PNG')),
        h('div', { class: 'chart', style: square ? 'height: 420px' : '' }, canvas),
      ),
    );
    const chart = lineChart(canvas, this.theme, x, y, datasets);
    // Scatters: no decimation (it would thin clouds of points as if they were curves), tooltips for the point under the pointer.
    const scattered = datasets.some((d) => d.showLine === false);
    if (chart.options.plugins?.decimation) chart.options.plugins.decimation.enabled = false;
    chart.options.interaction = { mode: 'nearest', intersect: scattered };
    chart.update('none');
    this.charts.set(key, chart);
  }

  private exportPng(id: ChartId, key: string): void {
    const chart = this.charts.get(key);
    if (chart) this.post({ type: 'exportPng', chart: id, dataUrl: chartPng(chart, this.theme.background) });
  }

  private destroyCharts(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }

  retheme(): void {
    this.theme = readTheme();
    for (const c of this.charts.values()) retheme(c, this.theme);
    this.renderBody();
  }

  dispose(): void {
    this.destroyCharts();
    this.section.remove();
  }
}

/** Points drawn without a line. Sorted by x, with their colours: with parsing off, Chart.js takes the x range from the first and last point. */
function scatter(label: string, data: Point[], colors: string[]): LineDataset {
  const order = data.map((_, i) => i).sort((a, b) => data[a].x - data[b].x);
  return {
    label,
    data: order.map((i) => data[i]),
    showLine: false,
    pointRadius: SCATTER_RADIUS,
    pointHoverRadius: SCATTER_RADIUS + 2,
    pointBackgroundColor: order.map((i) => colors[i]),
    pointBorderWidth: 0,
    borderColor: 'transparent',
  };
}

/** An image of a failing pair: its thumbnail (served through the panel's resource roots) and what is known of it. */
function faceImage(img: FailureImage): HTMLElement {
  return h(
    'figure',
    { class: 'face' },
    img.src ? h('img', { src: img.src, alt: img.name, width: '64', height: '64' }) : h('div', { class: 'no-image' }, 'no image'),
    h('figcaption', {}, h('div', {}, img.name), h('div', { class: 'muted' }, `‖f‖ ${img.norm.toFixed(2)} · quality ${img.quality.toFixed(2)}${img.degradations ? ` · ${img.degradations}` : ''}`)),
  );
}
