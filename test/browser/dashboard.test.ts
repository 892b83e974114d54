import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { snapshotFromEvents, type RunSnapshot } from '../../src/shared/dashboard';
import { parseEventLine, type EpochEvent, type TrainerEvent } from '../../src/shared/events';
import { launchBrowser, send, serve } from './harness';

const ROOT = path.resolve(__dirname, '../..');
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

function recorded(name: string): TrainerEvent[] {
  return readFileSync(path.join(ROOT, 'test/fixtures/events', name), 'utf8')
    .split('\n')
    .map((l) => parseEventLine(l))
    .filter((e): e is TrainerEvent => !!e);
}

function snapshot(id: string, name: string, events: TrainerEvent[], status: RunSnapshot['status']): RunSnapshot {
  const started = events.find((e) => e.type === 'started');
  if (!started || started.type !== 'started') throw new Error('fixture has no started event');
  return snapshotFromEvents({ id, name, status, config: started.config, createdAt: new Date(started.time).toISOString() }, events);
}

interface ChartSummary {
  id: string;
  datasets: { label: string; n: number; last: { x: number; y: number } | null }[];
}

async function charts(p: Page): Promise<ChartSummary[]> {
  return p.evaluate(() => {
    const view = (window as unknown as { dashboard: () => { charts: Map<string, { data: { datasets: { label: string; data: { x: number; y: number }[] }[] } }> } }).dashboard();
    return [...view.charts.entries()].map(([id, c]) => ({
      id,
      datasets: c.data.datasets.map((d) => ({ label: d.label, n: d.data.length, last: d.data.length ? d.data[d.data.length - 1] : null })),
    }));
  });
}

const find = (all: ChartSummary[], id: string, label: string | RegExp) => {
  const c = all.find((x) => x.id === id);
  const d = c?.datasets.find((x) => (typeof label === 'string' ? x.label === label : label.test(x.label)));
  if (!d) throw new Error(`no dataset ${label} in chart ${id}: ${JSON.stringify(c)}`);
  return d;
};

describe('dashboard webview in Chromium', function () {
  this.timeout(120000);
  let browser: Browser;
  let server: Server;
  let url: string;
  const l2 = recorded('l2-trainable.jsonl');
  const soft = recorded('softmax.jsonl');
  const l2Epochs = l2.filter((e): e is EpochEvent => e.type === 'epoch');
  const l2Steps = l2.filter((e) => e.type === 'step');

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ({ url, server } = await serve());
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function open(theme = 'vscode-dark', state = '{"mode":"run","runIds":["r1"]}'): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await p.goto(`${url}/?theme=${theme}&state=${encodeURIComponent(state)}`);
    await p.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
    (p as unknown as { errors: string[] }).errors = errors;
    return p;
  }

  it('says ready, keeps its state for reloads, then draws a finished run from init', async () => {
    const p = await open();
    assert.deepEqual(await p.evaluate(() => (window as unknown as { savedState: unknown }).savedState), { mode: 'run', runIds: ['r1'] });
    await send(p, { type: 'init', mode: 'run', runs: [snapshot('r1', 'L2 α=8↗ · synthetic', l2, 'completed')] });
    await p.waitForSelector('body[data-ready=true]');
    const all = await charts(p);
    assert.equal(find(all, 'loss', 'per step').n, l2Steps.length);
    assert.equal(find(all, 'loss', 'epoch mean').n, l2Epochs.length);
    assert.equal(find(all, 'verification', 'mean').n, l2Epochs.length);
    const last = l2Epochs[l2Epochs.length - 1];
    assert.ok(Math.abs((find(all, 'verification', 'mean').last?.y ?? 0) - last.verification.accuracy) < 1e-12);
    assert.ok(find(all, 'roc', /^latest/).n > 10);
    assert.ok(find(all, 'alpha', 'alpha').n === l2Steps.length);
    assert.equal(find(all, 'alpha', 'alpha_low (p = 0.9)').n, 2);
    assert.ok(find(all, 'norm', 'min–max').n === l2Steps.length);
    // The TAR@FAR table shows the last epoch's numbers.
    const rows = await p.$$eval('#tar-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.equal(rows[0][1], `${(last.verification.accuracy * 100).toFixed(2)}% ± ${(last.verification.accuracyStd * 100).toFixed(2)}%`);
    const tar3 = last.verification.tarAtFar.find((t) => t.far === 1e-3)!.tar;
    assert.deepEqual(rows[2].slice(0, 2), ['TAR @ FAR=1e-3', `${(tar3 * 100).toFixed(2)}%`]);
    assert.equal(rows[5][1], last.verification.auc.toFixed(4));
    assert.match(await p.textContent('#backend') ?? '', /WebAssembly/);
    assert.equal(await p.textContent('#gpu'), 'no');
    assert.equal(await p.textContent('#run-status'), 'completed');
    assert.equal(await p.$('#stop'), null);
    await p.screenshot({ path: path.join(SHOTS, 'dashboard-dark.png'), fullPage: true });
    assert.deepEqual((p as unknown as { errors: string[] }).errors, []);
    await p.close();
  });

  it('fills live from events without re-sending history, ignoring duplicates', async () => {
    const p = await open();
    const firstStarted = l2.findIndex((e) => e.type === 'started');
    await send(p, { type: 'init', mode: 'run', runs: [snapshot('r1', 'live', l2.slice(0, firstStarted + 1), 'running')] });
    await p.waitForSelector('body[data-ready=true]');
    assert.equal(find(await charts(p), 'loss', 'per step').n, 0);
    assert.match(await p.textContent('#tar-table') ?? '', /appear after the first epoch/);
    assert.ok(await p.$('#stop'));
    for (const e of l2.slice(firstStarted + 1)) await send(p, { type: 'event', runId: 'r1', event: e });
    // Replays of already-seen events (a reconnect) change nothing.
    for (const e of l2.slice(firstStarted + 1, firstStarted + 6)) await send(p, { type: 'event', runId: 'r1', event: e });
    await send(p, { type: 'event', runId: 'other-run', event: l2[firstStarted + 1] });
    await p.waitForTimeout(100);
    const all = await charts(p);
    assert.equal(find(all, 'loss', 'per step').n, l2Steps.length);
    assert.equal(find(all, 'verification', 'mean').n, l2Epochs.length);
    await send(p, { type: 'status', runId: 'r1', status: 'completed', name: 'renamed run' });
    assert.equal(await p.textContent('#run-name'), 'renamed run');
    assert.equal(await p.$('#stop'), null);
    // An evaluation stored by `eval` after the run ended shows under the verification table, once.
    const evaluation = { v: 1, time: Date.now(), type: 'evaluation', checkpoint: { name: 'epoch-003', epoch: 3, step: 30 }, pairsSource: '/data/lfw/pairs.txt', flip: true, verification: l2Epochs[l2Epochs.length - 1].verification, images: 100, seconds: 2 };
    for (let k = 0; k < 2; k++) await send(p, { type: 'event', runId: 'r1', event: evaluation });
    const rows = await p.$$eval('#evaluations tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent)));
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0][0], rows[0][2]], ['epoch 3', 'yes']);
    await p.close();
  });

  it('posts Stop, CSV and PNG export requests; the PNG is a real image', async () => {
    const p = await open('vscode-light');
    await send(p, { type: 'init', mode: 'run', runs: [snapshot('r1', 'x', l2, 'running')] });
    await p.waitForSelector('body[data-ready=true]');
    await p.click('#stop');
    await p.click('#export-csv');
    await p.click('[data-chart=roc] h2 button.png-export');
    // The embedding view asks for the run's records as it opens (embedding.test.ts): not what this test is about.
    const posted = (await p.evaluate(() => (window as unknown as { posted: { type: string; chart?: string; dataUrl?: string; runId?: string }[] }).posted)).filter((m) => m.type !== 'insight');
    assert.deepEqual(posted.slice(1, 3), [{ type: 'stop', runId: 'r1' }, { type: 'exportCsv' }]);
    const png = posted[3];
    assert.equal(png.type, 'exportPng');
    assert.equal(png.chart, 'roc');
    const bytes = Buffer.from((png.dataUrl ?? '').split(',')[1], 'base64');
    assert.equal(bytes.subarray(1, 4).toString('ascii'), 'PNG');
    assert.ok(bytes.length > 2000);
    await p.close();
  });

  it('redraws with the new colours when the theme changes (light and dark screenshots)', async () => {
    const p = await open('vscode-light');
    await send(p, { type: 'init', mode: 'run', runs: [snapshot('r1', 'L2 α=8↗ · synthetic', l2, 'completed')] });
    await p.waitForSelector('body[data-ready=true]');
    const color = () => p.evaluate(() => (window as unknown as { dashboard: () => { charts: Map<string, { options: { scales: { x: { ticks: { color: string } } } } }> } }).dashboard().charts.get('loss')!.options.scales.x.ticks.color);
    const light = await color();
    await p.screenshot({ path: path.join(SHOTS, 'dashboard-light.png'), fullPage: true });
    await p.evaluate(() => (document.body.className = 'vscode-dark'));
    await p.waitForTimeout(100);
    const dark = await color();
    assert.notEqual(light, dark);
    assert.equal(dark, '#9d9d9d');
    await p.close();
  });

  it('compares runs: overlaid curves in distinct colours, a config diff and a metrics table', async () => {
    const p = await open('vscode-dark', '{"mode":"compare","runIds":["a","b"]}');
    await send(p, { type: 'init', mode: 'compare', runs: [snapshot('a', 'L2 α=8↗', l2, 'completed'), snapshot('b', 'Softmax', soft, 'completed')] });
    await p.waitForSelector('body[data-ready=true]');
    const all = await charts(p);
    for (const id of ['loss', 'verification', 'roc']) {
      const c = all.find((x) => x.id === id)!;
      assert.deepEqual(c.datasets.map((d) => d.label), ['L2 α=8↗', 'Softmax']);
      assert.ok(c.datasets.every((d) => d.n > 0));
    }
    const colors = await p.evaluate(() => (window as unknown as { dashboard: () => { charts: Map<string, { data: { datasets: { borderColor: string }[] } }> } }).dashboard().charts.get('roc')!.data.datasets.map((d) => d.borderColor));
    assert.notEqual(colors[0], colors[1]);
    const diff = await p.$$eval('#config-diff tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(diff.find((r) => r[0] === 'loss'), ['loss', 'l2-softmax', 'softmax']);
    assert.ok(!diff.some((r) => r[0] === 'epochs'));
    const metrics = await p.$$eval('#metrics-table tbody tr', (trs) => trs.length);
    assert.equal(metrics, 2);
    const paper = await p.$$eval('#paper-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent)));
    assert.deepEqual(paper.map((r) => r[0]), ['Softmax', 'L2-softmax'], 'grouped by head, baseline first');
    await p.click('#paper-table button:has-text("Copy LaTeX")');
    await p.waitForSelector('#paper-table button:has-text("Cop")');
    assert.match(await p.textContent('#paper-table h2') ?? '', /Copied|Copy failed/);
    await p.screenshot({ path: path.join(SHOTS, 'compare-dark.png'), fullPage: true });
    await p.close();
  });
});
