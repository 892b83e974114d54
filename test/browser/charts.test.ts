// The charts' controls in Chromium: zoom (wheel) and reset (double-click, the
// toolbar), the log/linear toggle, one smoothing slider for every step chart
// (and the comparison's loss), the x unit, exact tooltips, the table alternative.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { snapshotFromEvents, type RunSnapshot } from '../../src/shared/dashboard';
import { parseEventLine, type TrainerEvent } from '../../src/shared/events';
import { launchBrowser, send, serve } from './harness';

const ROOT = path.resolve(__dirname, '../..');

function recorded(name: string): TrainerEvent[] {
  return readFileSync(path.join(ROOT, 'test/fixtures/events', name), 'utf8')
    .split('\n')
    .map((l) => parseEventLine(l))
    .filter((e): e is TrainerEvent => !!e);
}

function snapshot(id: string, name: string, events: TrainerEvent[]): RunSnapshot {
  const started = events.find((e) => e.type === 'started');
  if (!started || started.type !== 'started') throw new Error('fixture has no started event');
  return snapshotFromEvents({ id, name, status: 'completed', config: started.config, createdAt: new Date(started.time).toISOString() }, events);
}

type ChartProbe = { scales: Record<string, { min: number; max: number; type: string }>; data: { datasets: { label: string; data: { x: number; y: number }[] }[] } };

/** A chart's x range, its axis types and one dataset's points, read from the page. */
function probe(p: Page, chart: string, label?: string) {
  return p.evaluate(
    ([id, wanted]) => {
      const c = (window as unknown as { dashboard: () => { charts: Map<string, ChartProbe> } }).dashboard().charts.get(id)!;
      const d = c.data.datasets.find((x) => x.label === wanted) ?? c.data.datasets[0];
      return { xMin: c.scales.x.min, xMax: c.scales.x.max, xType: c.scales.x.type, yType: c.scales.y.type, points: d.data.map((q) => [q.x, q.y]) };
    },
    [chart, label ?? ''] as const,
  );
}

describe('chart controls in Chromium', function () {
  this.timeout(120000);
  let browser: Browser;
  let server: Server;
  let url: string;
  const l2 = recorded('l2-trainable.jsonl');
  const soft = recorded('softmax.jsonl');

  before(async () => {
    ({ url, server } = await serve());
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function open(state: string, runs: RunSnapshot[], mode: 'run' | 'compare'): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
    await p.goto(`${url}/?theme=vscode-dark&state=${encodeURIComponent(state)}`);
    await p.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
    await send(p, { type: 'init', mode, runs });
    await p.waitForSelector('body[data-ready=true]');
    return p;
  }

  it('zooms a step chart with the wheel, resets with a double-click and with Reset zoom', async () => {
    const p = await open('{"mode":"run","runIds":["r1"]}', [snapshot('r1', 'l2', l2)], 'run');
    const before = await probe(p, 'loss');
    const box = (await p.$('#chart-loss'))!.boundingBox();
    const { x, y, width, height } = (await box)!;
    await p.mouse.move(x + width / 2, y + height / 2);
    for (let i = 0; i < 5; i++) await p.mouse.wheel(0, -200);
    await p.waitForTimeout(300);
    const zoomed = await probe(p, 'loss');
    assert.ok(zoomed.xMax - zoomed.xMin < (before.xMax - before.xMin) * 0.8, `the wheel did not zoom: ${before.xMin}..${before.xMax} -> ${zoomed.xMin}..${zoomed.xMax}`);
    await p.mouse.dblclick(x + width / 2, y + height / 2);
    await p.waitForTimeout(200);
    const reset = await probe(p, 'loss');
    assert.deepEqual([reset.xMin, reset.xMax], [before.xMin, before.xMax]);
    for (let i = 0; i < 5; i++) await p.mouse.wheel(0, -200);
    await p.click('#reset-zoom');
    const again = await probe(p, 'loss');
    assert.deepEqual([again.xMin, again.xMax], [before.xMin, before.xMax]);
    await p.close();
  });

  it('switches the loss axis and the ROC axis between log and linear', async () => {
    const p = await open('{"mode":"run","runIds":["r1"]}', [snapshot('r1', 'l2', l2)], 'run');
    assert.equal((await probe(p, 'loss')).yType, 'linear');
    await p.click('[data-chart=loss] .log-toggle');
    assert.equal((await probe(p, 'loss')).yType, 'logarithmic');
    assert.equal(await p.getAttribute('[data-chart=loss] .log-toggle', 'aria-pressed'), 'true');
    assert.equal((await probe(p, 'roc')).xType, 'logarithmic');
    await p.click('[data-chart=roc] .log-toggle');
    assert.equal((await probe(p, 'roc')).xType, 'linear');
    await p.close();
  });

  it('smooths every step chart with one slider, and draws steps against epochs or wall time', async () => {
    const p = await open('{"mode":"run","runIds":["r1"]}', [snapshot('r1', 'l2', l2)], 'run');
    const raw = await probe(p, 'accuracy', 'per step');
    const smooth = await probe(p, 'accuracy', 'smoothed');
    assert.notDeepEqual(smooth.points, raw.points);
    await p.fill('#smoothing', '0');
    await p.dispatchEvent('#smoothing', 'input');
    await p.waitForTimeout(100);
    for (const [chart, label] of [['accuracy', 'smoothed'], ['loss', 'smoothed'], ['norm', 'mean smoothed']]) {
      const unsmoothed = await probe(p, chart, label);
      const rawOf = await probe(p, chart, label === 'mean smoothed' ? 'mean' : 'per step');
      assert.deepEqual(unsmoothed.points, rawOf.points, `${chart} ignores the slider`);
    }
    await p.selectOption('#x-axis', 'epoch');
    const byEpoch = await probe(p, 'loss', 'per step');
    assert.ok(byEpoch.points[byEpoch.points.length - 1][0] <= 3 + 1e-9, 'the loss is not drawn against epochs');
    await p.selectOption('#x-axis', 'time');
    const byTime = await probe(p, 'loss', 'per step');
    assert.equal(byTime.points[0][0], 0);
    await p.close();
  });

  it('shows the exact value and the epoch in a step chart\'s tooltip', async () => {
    const p = await open('{"mode":"run","runIds":["r1"]}', [snapshot('r1', 'l2', l2)], 'run');
    const text = await p.evaluate(() => {
      type T = { callbacks: { title: (items: unknown[]) => string; label: (item: unknown) => string } };
      const c = (window as unknown as { dashboard: () => { charts: Map<string, { options: { plugins: { tooltip: T } }; data: { datasets: { label: string; data: { x: number; y: number }[] }[] } }> } }).dashboard().charts.get('loss')!;
      const d = c.data.datasets[0];
      const point = d.data[10];
      const item = { parsed: point, dataset: d, raw: point };
      const cb = c.options.plugins.tooltip.callbacks;
      return `${cb.title([item])} | ${cb.label(item)} | ${point.y}`;
    });
    const [title, label, value] = text.split(' | ');
    assert.match(title, /^step \d+ · epoch \d+ · \d+:\d\d in$/);
    assert.equal(label, `per step: ${Number(Number(value).toPrecision(6))}`);
    await p.close();
  });

  it('offers every chart as a table (its accessible alternative), following the chart', async () => {
    const p = await open('{"mode":"run","runIds":["r1"]}', [snapshot('r1', 'l2', l2)], 'run');
    for (const id of ['loss', 'accuracy', 'alpha', 'norm', 'verification', 'roc']) {
      assert.ok(await p.$(`#chart-${id}[role=img][aria-label]`), `${id} lost its accessible label`);
      assert.equal(await p.isVisible(`#table-${id}`), false);
    }
    await p.click('[data-chart=verification] .table-toggle');
    const rows = await p.$$eval('#table-verification tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const epochs = l2.filter((e) => e.type === 'epoch');
    assert.equal(rows.length, epochs.length);
    const last = epochs[epochs.length - 1] as Extract<TrainerEvent, { type: 'epoch' }>;
    assert.equal(rows[rows.length - 1][2], `${(last.verification.accuracy * 100).toPrecision(5)}%`);
    await p.click('[data-chart=loss] .table-toggle');
    const head = await p.$$eval('#table-loss thead th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(head, ['step', 'per step', 'smoothed', 'epoch mean']);
    await p.close();
  });

  it('compares runs with the smoothing slider (not fixed at 0.9), an alpha_low per run and the same controls', async () => {
    const p = await open('{"mode":"compare","runIds":["a","b"]}', [snapshot('a', 'L2', l2), snapshot('b', 'Softmax', soft)], 'compare');
    const before = await probe(p, 'loss', 'L2');
    await p.fill('#smoothing', '0.5');
    await p.dispatchEvent('#smoothing', 'input');
    await p.waitForTimeout(100);
    const after = await probe(p, 'loss', 'L2');
    assert.equal(after.points.length, before.points.length);
    assert.notDeepEqual(after.points, before.points, 'the comparison ignores the slider');
    const low = await probe(p, 'alpha', '_low L2');
    const started = l2.find((e) => e.type === 'started') as Extract<TrainerEvent, { type: 'started' }>;
    assert.equal(low.points[0][1], started.alphaLow);
    assert.equal((await probe(p, 'alpha', '_low Softmax')).points.length, 0, 'plain softmax has no scale bound');
    await p.click('[data-chart=loss] .log-toggle');
    assert.equal((await probe(p, 'loss')).yType, 'logarithmic');
    await p.click('[data-chart=alpha] .table-toggle');
    assert.ok((await p.$$('#table-alpha tbody tr')).length > 0);
    assert.ok(await p.$('#chart-loss[role=img][aria-label]'));
    await p.close();
  });
});
