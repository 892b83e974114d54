// One chart in its card, as the run and comparison dashboards show it: a title,
// a log/linear toggle where the axis calls for one, a Table toggle (the chart's
// data as an HTML table, its accessible alternative), PNG export, and the
// canvas with its accessible label. The table follows the chart while shown.

import type { Chart } from 'chart.js';
import type { ChartId } from '../src/shared/dashboard';
import { axisSpec, chartPng, exactValue, lineChart, setAxis, type AxisSpec, type ChartBehaviour, type LineDataset } from './charts';
import { h, table } from './dom';
import type { Point } from './model';
import type { Theme } from './theme';

/** Rows a chart's table shows at most: beyond that it keeps evenly spaced ones (and says so). */
export const MAX_TABLE_ROWS = 500;

export interface CardSpec {
  id: ChartId;
  title: string;
  x: AxisSpec;
  y: AxisSpec;
  datasets: LineDataset[];
  behaviour?: ChartBehaviour;
  /** The axis the Log button switches between logarithmic and linear. */
  logToggle?: 'x' | 'y';
  /** Controls under the chart (the loss chart's smoothing used to live there). */
  extra?: HTMLElement;
}

export class ChartCard {
  readonly element: HTMLElement;
  readonly chart: Chart<'line', Point[]>;
  private readonly tableHolder: HTMLElement;
  private readonly tableButton: HTMLButtonElement;
  private tableShown = false;

  constructor(
    private readonly spec: CardSpec,
    theme: Theme,
    private readonly exportPng: (id: ChartId, dataUrl: string) => void,
  ) {
    const canvas = h('canvas', { id: `chart-${spec.id}`, role: 'img', 'aria-label': spec.title });
    this.tableButton = h('button', { class: 'table-toggle', title: 'Show the data of this chart as a table', 'aria-pressed': 'false', onclick: () => this.toggleTable() }, 'Table');
    const logButton = spec.logToggle ? this.logButton(spec.logToggle) : null;
    this.tableHolder = h('div', { class: 'chart-table', id: `table-${spec.id}`, hidden: true });
    this.element = h(
      'div',
      { class: 'card', 'data-chart': spec.id },
      h('h2', {}, spec.title, h('span', { class: 'spacer' }), logButton, this.tableButton, h('button', { class: 'png-export', title: 'Save this chart as PNG', onclick: () => this.exportPng(spec.id, chartPng(this.chart, theme.background)) }, 'PNG')),
      h('div', { class: 'chart' }, canvas),
      spec.extra,
      this.tableHolder,
    );
    // While its table is shown, the table follows the chart's updates.
    this.chart = lineChart(canvas, theme, spec.x, spec.y, spec.datasets, { ...spec.behaviour, onUpdate: () => this.tableShown && this.renderTable() });
  }

  private logButton(which: 'x' | 'y'): HTMLButtonElement {
    const button = h('button', { class: 'log-toggle', title: `Switch the ${which} axis between logarithmic and linear`, 'aria-pressed': 'false' }, 'Log');
    const show = () => {
      const log = !!axisSpec(this.chart, which)?.log;
      button.setAttribute('aria-pressed', String(log));
      button.textContent = 'Log';
    };
    button.addEventListener('click', () => {
      const spec = axisSpec(this.chart, which);
      if (!spec) return;
      setAxis(this.chart, which, { ...spec, log: !spec.log });
      show();
    });
    queueMicrotask(show);
    return button;
  }

  get log(): boolean {
    return !!this.spec.logToggle && !!axisSpec(this.chart, this.spec.logToggle)?.log;
  }

  toggleTable(show = !this.tableShown): void {
    this.tableShown = show;
    this.tableHolder.hidden = !show;
    this.tableButton.setAttribute('aria-pressed', String(show));
    this.tableButton.textContent = show ? 'Chart only' : 'Table';
    if (show) this.renderTable();
    else this.tableHolder.replaceChildren();
  }

  /** The chart's datasets as one table: a row per x, a column per dataset shown in the legend. */
  renderTable(): void {
    const x = axisSpec(this.chart, 'x') ?? this.spec.x;
    const y = axisSpec(this.chart, 'y') ?? this.spec.y;
    const shown = this.chart.data.datasets.filter((d) => !String(d.label).startsWith('_'));
    const { xs, thinned, total } = tableRows(shown.map((d) => d.data));
    const columns = shown.map((d) => new Map(d.data.map((p) => [p.x, p.y])));
    const rows = xs.map((v) => [exactValue(v, x), ...columns.map((c) => (c.has(v) ? exactValue(c.get(v) as number, y) : ''))]);
    const caption = thinned ? `${xs.length} of ${total} rows (every ${thinned}th)` : `${xs.length} rows`;
    this.tableHolder.replaceChildren(
      h('div', { class: 'table-caption' }, `${this.spec.title}: ${caption}`),
      table([x.title, ...shown.map((d) => String(d.label))], rows),
    );
  }
}

/** The x values of several series, merged and sorted, thinned to about MAX_TABLE_ROWS (the last one always kept). */
export function tableRows(series: Point[][], max = MAX_TABLE_ROWS): { xs: number[]; thinned: number; total: number } {
  const all = [...new Set(series.flatMap((s) => s.map((p) => p.x)))].sort((a, b) => a - b);
  if (all.length <= max) return { xs: all, thinned: 0, total: all.length };
  const every = Math.ceil(all.length / max);
  return { xs: all.filter((_, i) => i % every === 0 || i === all.length - 1), thinned: every, total: all.length };
}
