// The bar above a dashboard's charts: one smoothing slider for every step chart,
// what their x axis counts (steps, epochs, wall time), and Reset zoom.

import { h } from './dom';
import { X_LABELS, X_MODES, type XMode } from './step-series';

export interface ToolbarActions {
  smoothing(weight: number): void;
  xMode(mode: XMode): void;
  resetZoom(): void;
}

export function chartToolbar(initial: { smoothing: number; xMode: XMode }, on: ToolbarActions): HTMLElement {
  const slider = h('input', { type: 'range', min: '0', max: '0.99', step: '0.01', value: String(initial.smoothing), 'aria-label': 'smoothing of the step charts', id: 'smoothing' });
  const shown = h('span', { id: 'smoothing-value' }, initial.smoothing.toFixed(2));
  slider.addEventListener('input', () => {
    const weight = Number(slider.value);
    shown.textContent = weight.toFixed(2);
    on.smoothing(weight);
  });
  const select = h('select', { id: 'x-axis', 'aria-label': 'x axis of the step charts' }, X_MODES.map((m) => h('option', { value: m, selected: m === initial.xMode }, X_LABELS[m])));
  select.addEventListener('change', () => on.xMode(select.value as XMode));
  return h(
    'div',
    { class: 'controls toolbar', id: 'chart-toolbar' },
    h('label', {}, 'Smoothing ', slider, ' ', shown),
    h('label', {}, 'x axis ', select),
    h('button', { id: 'reset-zoom', title: 'Undo zoom and pan on every chart (or double-click a chart)', onclick: () => on.resetZoom() }, 'Reset zoom'),
    h('span', { class: 'hint' }, 'Wheel to zoom, drag to pan, double-click to reset.'),
  );
}
