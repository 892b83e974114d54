// Pure data of the sweep figure (no DOM, no Chart.js): the points a metric's
// chart draws, with error bars and the runs behind each point, the softmax
// band, the learned-alpha point and where each cell sits on the x axis.

import type { CellView, FigureView, PointView, SweepMetric, SweepSnapshot } from '../src/shared/sweep';

/** A drawn point: the mean over seeds, its std, and the runs a click opens. */
export interface FigurePoint {
  x: number;
  y: number;
  std: number;
  n: number;
  runIds: string[];
  /** "1 failed excluded · 1 running" */
  note: string;
}

export interface FigureLine {
  label: string;
  kind: 'series' | 'seeds' | 'learned';
  points: FigurePoint[];
}

export interface FigureBand {
  label: string;
  mean: number;
  std: number;
  n: number;
  runIds: string[];
  note: string;
}

export interface FigureData {
  lines: FigureLine[];
  bands: FigureBand[];
  /** Ticks at the swept values (category indexes for an enum axis). */
  ticks: number[];
  alphaLow?: number;
}

function note(p: PointView): string {
  const parts = p.excluded.length ? [`${p.excluded.length} excluded (${[...new Set(p.excluded.map((e) => e.status))].join(', ')})`] : [];
  if (p.pending) parts.push(`${p.pending} not finished`);
  return parts.join(' · ');
}

function drawn(p: PointView, metric: SweepMetric): FigurePoint | undefined {
  const s = p.stats[metric];
  if (!s || !Number.isFinite(p.x)) return undefined;
  return { x: p.x, y: s.mean, std: s.std, n: s.n, runIds: p.runIds, note: note(p) };
}

/** Where a cell sits on the x axis: its swept value (category index), a learned cell at the alpha it learned. */
export function cellX(figure: FigureView, cell: CellView): number | undefined {
  if (cell.variant === 'learned' && figure.xField === 'alpha') return cell.alpha ?? undefined;
  const v = cell.values[figure.xField];
  if (v === undefined) return undefined;
  return figure.xCategories ? figure.xCategories.indexOf(String(v)) : Number(v);
}

/** Every completed cell as its own dot (the seeds behind a mean). */
function seedDots(snap: SweepSnapshot, metric: SweepMetric): FigurePoint[] {
  const dots: FigurePoint[] = [];
  for (const cell of snap.cells) {
    const y = cell[metric];
    const x = cellX(snap.figure, cell);
    if (cell.status !== 'completed' || y === null || x === undefined || (cell.variant === 'softmax' && snap.figure.xField === 'alpha')) continue;
    dots.push({ x, y, std: 0, n: 1, runIds: [cell.runId], note: `seed ${cell.seed}` });
  }
  return dots;
}

export function figureData(snap: SweepSnapshot, metric: SweepMetric): FigureData {
  const f = snap.figure;
  const lines: FigureLine[] = f.series.map((s) => ({ label: s.label, kind: 'series', points: s.points.map((p) => drawn(p, metric)).filter((p): p is FigurePoint => !!p) }));
  for (const l of f.learned) {
    const p = drawn(l.point, metric);
    lines.push({ label: `${l.label}${p ? ` (→ ${p.x.toFixed(1)})` : ''}`, kind: 'learned', points: p ? [p] : [] });
  }
  lines.push({ label: 'seeds', kind: 'seeds', points: seedDots(snap, metric) });
  const bands: FigureBand[] = [];
  for (const b of f.softmax) {
    const s = b.point.stats[metric];
    if (s) bands.push({ label: b.label, mean: s.mean, std: s.std, n: s.n, runIds: b.point.runIds, note: note(b.point) });
  }
  const axis = snap.sweep.axes.find((a) => a.field === f.xField);
  const ticks = f.xCategories ? f.xCategories.map((_, i) => i) : (axis?.values ?? []).map(Number).filter(Number.isFinite);
  return { lines, bands, ticks, alphaLow: f.alphaLow };
}

/** The x range the figure spans (the band is drawn across it), alpha_low and learned points included. */
export function xRange(data: FigureData): { min: number; max: number } | undefined {
  const xs = [...data.ticks, ...data.lines.flatMap((l) => l.points.map((p) => p.x)), ...(data.alphaLow !== undefined ? [data.alphaLow] : [])].filter(Number.isFinite);
  return xs.length ? { min: Math.min(...xs), max: Math.max(...xs) } : undefined;
}
