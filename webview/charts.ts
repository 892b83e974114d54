// Chart.js setup shared by the run and comparison views: axes (linear, log,
// durations), exact values in tooltips, zoom and pan (chartjs-plugin-zoom).

import {
  Chart,
  Decimation,
  Filler,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type ScaleOptions,
} from 'chart.js';
import zoomPlugin from 'chartjs-plugin-zoom';
import { formatDuration } from '../src/shared/format';
import type { Point } from './model';
import type { Theme } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Filler, Legend, Tooltip, Decimation, zoomPlugin);

export type LineDataset = ChartDataset<'line', Point[]>;

export interface AxisSpec {
  title: string;
  log?: boolean;
  min?: number;
  max?: number;
  percent?: boolean;
  /** Whole-number ticks (epochs). */
  integer?: boolean;
  /** Seconds, shown as m:ss or h:mm:ss (the wall-time axis). */
  duration?: boolean;
}

/** What a chart does besides drawing: zoom and pan along x, and what its tooltips say about a point's x. */
export interface ChartBehaviour {
  /** Wheel (or pinch) zooms x, dragging pans it, a double-click resets both. */
  zoom?: boolean;
  /** The tooltip's title for a point at `x` (e.g. "step 1,200 · epoch 3 · 2:41 in"). */
  describeX?: (x: number) => string;
  /** Called after each update (a table that follows the chart). */
  onUpdate?: () => void;
}

/** The axes a chart was made with, so a toggle (log, another x) can rebuild one. */
const axesOf = new WeakMap<Chart<'line', Point[]>, { x: AxisSpec; y: AxisSpec; theme: Theme }>();

export function lineChart(canvas: HTMLCanvasElement, theme: Theme, x: AxisSpec, y: AxisSpec, datasets: LineDataset[], behaviour: ChartBehaviour = {}): Chart<'line', Point[]> {
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: chartOptions(theme, x, y, behaviour),
    plugins: behaviour.onUpdate ? [{ id: 'onUpdate', afterUpdate: () => behaviour.onUpdate?.() }] : [],
  });
  axesOf.set(chart, { x, y, theme });
  if (behaviour.zoom) canvas.addEventListener('dblclick', () => chart.resetZoom('none'));
  return chart;
}

/** The spec a chart's axis was last given. */
export function axisSpec(chart: Chart<'line', Point[]>, which: 'x' | 'y'): AxisSpec | undefined {
  return axesOf.get(chart)?.[which];
}

/** Gives one axis a new spec (log or linear, another quantity on x); the zoom starts over. */
export function setAxis(chart: Chart<'line', Point[]>, which: 'x' | 'y', spec: AxisSpec): void {
  const known = axesOf.get(chart);
  if (!known) return;
  known[which] = spec;
  (chart.options.scales as Record<string, unknown>)[which] = axis(known.theme, spec);
  chart.resetZoom?.('none');
  chart.update('none');
}

/** A value as the tooltip shows it: every significant digit a reader may want to copy. */
export function exactValue(y: number, spec: AxisSpec): string {
  if (!Number.isFinite(y)) return String(y);
  return spec.percent ? `${(y * 100).toPrecision(5)}%` : spec.duration ? formatDuration(y) : Number(y.toPrecision(6)).toString();
}

function axis(theme: Theme, spec: AxisSpec): ScaleOptions<'linear'> {
  return {
    type: spec.log ? ('logarithmic' as 'linear') : 'linear',
    min: spec.min,
    max: spec.max,
    title: { display: true, text: spec.title, color: theme.muted },
    grid: { color: theme.grid },
    border: { color: theme.grid },
    ticks: {
      color: theme.muted,
      maxTicksLimit: 8,
      precision: spec.integer ? 0 : undefined,
      callback: spec.percent
        ? (v) => `${Math.round(Number(v) * 100)}%`
        : spec.duration
          ? (v) => formatDuration(Number(v))
          : spec.log
          ? (v) => {
              const e = Math.log10(Number(v));
              return Math.abs(e - Math.round(e)) < 1e-9 ? `1e${Math.round(e)}` : '';
            }
          : undefined,
    },
  } as ScaleOptions<'linear'>;
}

export function chartOptions(theme: Theme, x: AxisSpec, y: AxisSpec, behaviour: ChartBehaviour = {}): ChartOptions<'line'> {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    normalized: true,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    scales: { x: axis(theme, x), y: axis(theme, y) },
    plugins: {
      // Keeps 100k-point series responsive: draws at most a few points per pixel.
      decimation: { enabled: true, algorithm: 'lttb', samples: 1000, threshold: 2000 },
      legend: {
        labels: { color: theme.foreground, boxWidth: 12, filter: (item) => !String(item.text).startsWith('_') },
      },
      tooltip: {
        filter: (item) => !String(item.dataset.label).startsWith('_'),
        callbacks: {
          title: (items) => (items.length ? (behaviour.describeX?.(items[0].parsed.x ?? NaN) ?? `${x.title} ${exactValue(items[0].parsed.x ?? NaN, x)}`) : ''),
          label: (c) => `${c.dataset.label}: ${exactValue(c.parsed.y ?? NaN, y)}`,
        },
      },
      zoom: behaviour.zoom
        ? {
            zoom: { wheel: { enabled: true }, pinch: { enabled: true }, mode: 'x' },
            pan: { enabled: true, mode: 'x' },
            limits: { x: { min: 'original', max: 'original' } },
          }
        : undefined,
    },
    elements: { point: { radius: 0, hoverRadius: 3 }, line: { borderWidth: 1.5, tension: 0 } },
  };
}

/** Re-applies theme colours to an existing chart's axes and legend. */
export function retheme(chart: Chart<'line', Point[]>, theme: Theme): void {
  const scales = chart.options.scales as Record<string, { grid?: { color?: string }; border?: { color?: string }; ticks?: { color?: string }; title?: { color?: string } }>;
  for (const s of Object.values(scales)) {
    if (s.grid) s.grid.color = theme.grid;
    if (s.border) s.border.color = theme.grid;
    if (s.ticks) s.ticks.color = theme.muted;
    if (s.title) s.title.color = theme.muted;
  }
  const legend = chart.options.plugins?.legend?.labels;
  if (legend) legend.color = theme.foreground;
}

/** The chart as a PNG data URL, on the theme background (the canvas itself is transparent). */
export function chartPng(chart: Chart<'line', Point[]>, background: string): string {
  const out = document.createElement('canvas');
  out.width = chart.canvas.width;
  out.height = chart.canvas.height;
  const ctx = out.getContext('2d') as CanvasRenderingContext2D;
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(chart.canvas, 0, 0);
  return out.toDataURL('image/png');
}

/** Batches redraws into one animation frame, however many events arrive. */
export class Redraw {
  private dirty = new Set<Chart<'line', Point[]>>();
  private scheduled = false;
  constructor(private readonly before: () => void = () => undefined) {}

  mark(chart: Chart<'line', Point[]> | undefined): void {
    if (!chart) return;
    this.dirty.add(chart);
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    this.before();
    const charts = [...this.dirty];
    this.dirty.clear();
    for (const c of charts) c.update('none');
  }
}
