import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expandSweep, sweepSnapshot } from '../../src/core/sweep';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import type { Verification } from '../../src/shared/events';
import type { RunRecord, RunStatus } from '../../src/shared/run';
import type { SweepRecord, SweepSnapshot } from '../../src/shared/sweep';
import { launchBrowser, send, serve } from './harness';

const ROOT = path.resolve(__dirname, '../..');
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
const STATE = JSON.stringify({ mode: 'sweep', sweepId: 'sweep-1' });

function sweepRecord(): SweepRecord {
  const def = { base: DEFAULT_CONFIG, axes: [{ field: 'alpha', values: [1, 4, 8, 16, 32] }], withSoftmax: true, withLearned: true, seeds: 3 };
  return {
    format: 1, id: 'sweep-1', name: 'α sweep × 3 seeds', createdAt: '2026-01-01T00:00:00Z', launcher: 'local', ...def, seeds: [42, 43, 44], alphaLow: 7.89, classes: 300,
    cells: expandSweep(def).map((c, index) => ({ index, variant: c.variant, values: c.values, seed: c.seed, runId: `r${index}` })),
  };
}

/** Accuracy that rises with alpha up to 16, as in the paper; softmax in between. */
function result(sweep: SweepRecord, index: number, status: RunStatus): RunRecord {
  const cell = sweep.cells[index];
  const alpha = Number(cell.values.alpha ?? 0);
  const base = cell.variant === 'softmax' ? 0.84 : cell.variant === 'learned' ? 0.86 : alpha < 8 ? 0.78 + alpha * 0.01 : 0.87 - Math.abs(alpha - 16) * 0.002;
  const accuracy = base + (cell.seed - 43) * 0.004;
  const final = { pairs: 2000, accuracy, accuracyStd: 0.01, threshold: 0.4, auc: 0.9, eer: 0.1, tarAtFar: [{ far: 1e-3, tar: accuracy / 4, threshold: 0.8 }], roc: [] } as Verification;
  const record: RunRecord = { id: cell.runId, name: `cell ${index}`, status, config: DEFAULT_CONFIG, createdAt: '2026-01-01T00:00:00Z' };
  if (status === 'completed' || status === 'running') record.summary = { epochs: 3, steps: 300, seconds: 60, imagesPerSec: 100, finalLoss: 1, alpha: cell.variant === 'learned' ? 12 + cell.seed - 43 : null, bestEpoch: 3, bestAccuracy: accuracy, final };
  if (status === 'failed') record.reason = 'trainer crashed';
  return record;
}

function snapshot(statuses: (i: number) => RunStatus): SweepSnapshot {
  const sweep = sweepRecord();
  return sweepSnapshot(sweep, (id) => {
    const i = Number(id.slice(1));
    return result(sweep, i, statuses(i));
  });
}

interface DatasetSummary {
  label: string;
  data: { x: number; y: number }[];
}

async function datasets(p: Page, chart: string): Promise<DatasetSummary[]> {
  return p.evaluate((id) => {
    const view = (window as unknown as { dashboard: () => { charts: Map<string, { data: { datasets: { label: string; data: { x: number; y: number }[] }[] } }> } }).dashboard();
    return view.charts.get(id)!.data.datasets.map((d) => ({ label: d.label, data: d.data }));
  }, chart);
}

describe('sweep dashboard in Chromium', function () {
  this.timeout(120000);
  let browser: Browser;
  let server: Server;
  let url: string;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ({ url, server } = await serve());
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function open(): Promise<Page & { errors: string[] }> {
    const p = (await browser.newPage({ viewport: { width: 1280, height: 1600 } })) as Page & { errors: string[] };
    p.errors = [];
    p.on('pageerror', (e) => p.errors.push(e.message));
    await p.goto(`${url}/?theme=vscode-dark&state=${encodeURIComponent(STATE)}`);
    await p.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
    return p;
  }

  const posted = (p: Page) => p.evaluate(() => (window as unknown as { posted: Record<string, unknown>[] }).posted);

  it('draws accuracy and TAR against alpha: means with error bars, seed dots, the softmax band, learned alpha, alpha_low; a failed cell is left out and listed', async () => {
    const p = await open();
    // Every cell completed but α=1 seed 44 (failed); cells are seed-major, 7 per seed.
    await send(p, { type: 'sweep', snapshot: snapshot((i) => (i === 14 ? 'failed' : 'completed')) });
    await p.waitForSelector('body[data-ready=true]');
    assert.deepEqual(await p.evaluate(() => (window as unknown as { savedState: unknown }).savedState), { mode: 'sweep', sweepId: 'sweep-1' });
    const acc = await datasets(p, 'sweep-accuracy');
    const alpha = acc.find((d) => d.label === 'Alpha')!;
    assert.deepEqual(alpha.data.map((d) => d.x), [1, 4, 8, 16, 32]);
    assert.ok(Math.abs(alpha.data[3].y - 0.87) < 1e-9, 'mean over the three seeds at α=16');
    assert.ok(Math.abs(alpha.data[0].y - (0.79 - 0.004 + 0.79) / 2) < 1e-9, 'α=1 averages the two completed seeds');
    assert.equal(acc.find((d) => d.label === 'seeds')!.data.length, 5 * 3 - 1 + 3, 'one dot per completed fixed or learned cell');
    const learned = acc.find((d) => /^learned α \(→ 12\.0\)$/.test(d.label))!;
    assert.equal(learned.data[0].x, 12);
    const band = acc.find((d) => d.label === 'softmax')!;
    assert.deepEqual(band.data.map((d) => d.x), [1, 32]);
    assert.ok(Math.abs(band.data[0].y - 0.84) < 1e-9);
    assert.ok(acc.some((d) => d.label === 'softmax ± std'));
    assert.equal(await p.evaluate(() => (window as unknown as { dashboard: () => { charts: Map<string, { options: { plugins: { alphaLow?: { x: number } } }; scales: { x: { type: string } } }> } }).dashboard().charts.get('sweep-accuracy')!.options.plugins.alphaLow?.x), 7.89);
    assert.equal(await p.evaluate(() => (window as unknown as { dashboard: () => { charts: Map<string, { scales: { x: { type: string } } }> } }).dashboard().charts.get('sweep-tar')!.scales.x.type), 'logarithmic');
    const tar = await datasets(p, 'sweep-tar');
    assert.ok(Math.abs(tar.find((d) => d.label === 'Alpha')!.data[3].y - 0.87 / 4) < 1e-9);
    const summary = await p.$$eval('#sweep-summary tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(summary[0].slice(0, 2), ['1', '2']);
    assert.equal(summary[0][4], '1 failed');
    assert.equal(summary.length, 5 + 2);
    assert.equal(await p.$$eval('#sweep-cells tbody tr', (trs) => trs.length), 21);
    assert.equal(await p.textContent('#sweep-cells tbody tr[data-run=r14] .badge'), 'failed');
    assert.equal(await p.textContent('#alpha-low'), '7.89');
    assert.ok(await p.$('#rerun-failed'), 'Re-run Failed Cells is offered once nothing runs');
    assert.equal(await p.$('#stop-sweep'), null);
    await p.screenshot({ path: path.join(SHOTS, 'sweep-dashboard.png'), fullPage: true });
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  it('opens a point\'s runs (compare for several seeds), a row\'s run, and posts the sweep\'s actions and exports', async () => {
    const p = await open();
    await send(p, { type: 'sweep', snapshot: snapshot((i) => (i >= 20 ? 'running' : 'completed')) });
    await p.waitForSelector('#stop-sweep');
    const at = await p.evaluate(() => {
      const chart = (window as unknown as { dashboard: () => { charts: Map<string, { canvas: HTMLCanvasElement; data: { datasets: { label: string }[] }; getDatasetMeta(i: number): { data: { x: number; y: number }[] } }> } }).dashboard().charts.get('sweep-accuracy')!;
      const i = chart.data.datasets.findIndex((d) => d.label === 'Alpha');
      const el = chart.getDatasetMeta(i).data[3];
      const box = chart.canvas.getBoundingClientRect();
      return { x: box.left + el.x, y: box.top + el.y };
    });
    await p.mouse.click(at.x, at.y);
    await p.click('#sweep-cells tbody tr[data-run=r5]');
    await p.click('#stop-sweep');
    await p.click('#export-csv');
    await p.click('[data-chart=sweep-tar] h2 button');
    const messages = (await posted(p)).filter((m) => m.type !== 'ready');
    assert.deepEqual(messages[0], { type: 'compareRuns', runIds: ['r3', 'r10', 'r17'] });
    assert.deepEqual(messages[1], { type: 'openRun', runId: 'r5' });
    assert.deepEqual(messages[2], { type: 'stopSweep' });
    assert.deepEqual(messages[3], { type: 'exportCsv' });
    assert.equal(messages[4].type, 'exportPng');
    assert.equal(messages[4].chart, 'sweep-tar');
    assert.match(String(messages[4].dataUrl), /^data:image\/png;base64,/);
    // Live: the remaining cells finish and the figure follows.
    await send(p, { type: 'sweep', snapshot: snapshot(() => 'completed') });
    await p.waitForFunction(() => !document.querySelector('#stop-sweep'));
    const acc = await datasets(p, 'sweep-accuracy');
    assert.equal(acc.find((d) => d.label === 'seeds')!.data.length, 5 * 3 + 3);
    assert.deepEqual(p.errors, []);
    await p.close();
  });
});
