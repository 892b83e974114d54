import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { epochInsight } from '../../src/core/records';
import { snapshotFromEvents, type RunSnapshot } from '../../src/shared/dashboard';
import { parseEventLine, type TrainerEvent } from '../../src/shared/events';
import type { InsightRequest } from '../../src/shared/insight';
import { RECORDED_RUNS, launchBrowser, send, serve } from './harness';

const SHOTS = path.resolve(__dirname, '../../test-results/screenshots');

function recordedRun(name: 'softmax' | 'l2'): RunSnapshot {
  const events = readFileSync(path.join(RECORDED_RUNS, name, 'events.jsonl'), 'utf8')
    .split('\n')
    .map((l) => parseEventLine(l))
    .filter((e): e is TrainerEvent => !!e);
  const started = events.find((e) => e.type === 'started');
  if (started?.type !== 'started') throw new Error(`${name} has no started event`);
  return snapshotFromEvents({ id: name, name: name === 'l2' ? 'L2 α=8' : 'Softmax', status: 'completed', config: started.config, createdAt: new Date(started.time).toISOString() }, events);
}

interface ChartSummary {
  id: string;
  datasets: { label: string; n: number }[];
}

describe('inside the embedding (dashboard views of a run\'s records) in Chromium', function () {
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

  /** Plays the host: answers every insight request the page posted since `seen` from the recorded run's records. */
  async function answer(p: Page, seen: number): Promise<number> {
    const posted = await p.evaluate(() => (window as unknown as { posted: { type: string }[] }).posted);
    for (const m of posted.slice(seen)) {
      if (m.type !== 'insight') continue;
      const req = m as InsightRequest;
      const insight = await epochInsight(path.join(RECORDED_RUNS, req.runId), req.epoch, req.operating, (i) => `${url}/records/${req.runId}/records/thumbs/${i}.png`);
      await send(p, { type: 'insight', runId: req.runId, seq: req.seq, insight: insight ?? null });
    }
    return posted.length;
  }

  async function charts(p: Page, view: 'dashboard' = 'dashboard'): Promise<ChartSummary[]> {
    return p.evaluate((v) => {
      const e = (window as unknown as Record<string, () => { embedding: { charts: Map<string, { data: { datasets: { label: string; data: unknown[] }[] } }> } }>)[v]().embedding;
      return [...e.charts.entries()].map(([id, c]) => ({ id, datasets: c.data.datasets.map((d) => ({ label: d.label, n: d.data.length })) }));
    }, view);
  }

  async function open(state: string): Promise<Page & { errors: string[] }> {
    const p = (await browser.newPage({ viewport: { width: 1280, height: 1600 } })) as Page & { errors: string[] };
    p.errors = [];
    p.on('pageerror', (e) => p.errors.push(e.message));
    p.on('console', (m) => m.type() === 'error' && p.errors.push(m.text()));
    await p.goto(`${url}/?theme=vscode-dark&state=${encodeURIComponent(state)}`);
    await p.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
    return p;
  }

  it('one run: norm against quality, score distributions, the feature space and the failure gallery, by epoch', async () => {
    const p = await open('{"mode":"run","runIds":["softmax"]}');
    const run = recordedRun('softmax');
    await send(p, { type: 'init', mode: 'run', runs: [run] });
    await p.waitForSelector('body[data-ready=true]');
    let seen = await answer(p, 0);
    await p.waitForSelector('#embedding [data-chart=norm-quality]');
    let all = await charts(p);
    assert.equal(all.find((c) => c.id === 'norm-quality')?.datasets[0].n, 80);
    assert.deepEqual(all.find((c) => c.id === 'norm-thirds')?.datasets.map((d) => d.label), ['low-quality third', 'middle third', 'high-quality third']);
    assert.equal(all.find((c) => c.id === 'train-norm-quality')?.datasets[0].n, 96);
    const buckets = await p.$$eval('#quality-buckets tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent));
    assert.deepEqual(buckets, ['both high', 'one low', 'both low']);
    const last = run.epochs[run.epochs.length - 1];
    assert.match((await p.textContent('[data-chart=norm-quality] h2')) ?? '', new RegExp(`r = ${last.records?.normQuality.verify.pearson?.toFixed(2)}`));
    await p.locator('#embedding').screenshot({ path: path.join(SHOTS, 'embedding-quality.png') });

    await p.click('[data-tab=scores]');
    all = await charts(p);
    const labels = all.find((c) => c.id === 'scores')?.datasets.map((d) => d.label) ?? [];
    assert.deepEqual(labels.slice(0, 2), ['matched pairs', 'mismatched pairs']);
    assert.ok(labels.some((l) => /^10-fold threshold \(mean of 10/.test(l)), labels.join(' | '));
    // 100 mismatched pairs: only FAR = 1e-1 and 1e-2 are measurable, so only they are marked.
    assert.deepEqual(labels.filter((l) => l.startsWith('TAR@')).map((l) => l.split(' ')[0]), ['TAR@FAR=1e-2', 'TAR@FAR=1e-1']);

    await p.click('[data-tab=space]');
    all = await charts(p);
    const space = all.find((c) => c.id === 'feature-space');
    assert.deepEqual(space?.datasets.map((d) => [d.label, d.n]), [['_images', 80], ['f(x) = 0', 1]]);
    await p.selectOption('#embedding-coloring', 'quality');
    await p.locator('#embedding').screenshot({ path: path.join(SHOTS, 'embedding-space.png') });

    await p.click('[data-tab=failures]');
    await p.waitForSelector('#false-rejects');
    const margins = await p.$$eval('#false-accepts .failure-facts', (els) => els.map((e) => Number(/margin ([\d.]+)/.exec(e.textContent ?? '')?.[1])));
    for (let k = 1; k < margins.length; k++) assert.ok(margins[k] <= margins[k - 1], 'sorted by margin');
    // The thumbnails load from the host's resource URLs under the page's CSP (img-src: the resource origin), not as inlined data.
    await p.waitForFunction(() => [...document.querySelectorAll('.gallery img')].every((i) => (i as HTMLImageElement).complete));
    const images = await p.$$eval('.gallery img', (imgs) => imgs.map((i) => ({ src: (i as HTMLImageElement).src, width: (i as HTMLImageElement).naturalWidth })));
    assert.ok(images.length > 0);
    assert.ok(images.every((i) => i.width === 16 && i.src.startsWith('http://127.0.0.1')), JSON.stringify(images.slice(0, 2)));
    await p.locator('#embedding').screenshot({ path: path.join(SHOTS, 'embedding-failures.png') });
    await p.selectOption('#embedding-operating', 'far:0.0001');
    seen = await answer(p, seen);
    await p.waitForSelector('#gallery-note');
    assert.match((await p.textContent('#gallery-note')) ?? '', /n\/a \(needs 10,000 mismatched pairs\)/);

    // The epoch slider asks for an earlier epoch's records.
    await p.click('[data-tab=quality]');
    await p.$eval('#embedding-epoch', (el) => {
      (el as HTMLInputElement).value = '0';
      el.dispatchEvent(new Event('change'));
    });
    const asked = await p.evaluate(() => (window as unknown as { posted: InsightRequest[] }).posted.filter((m) => m.type === 'insight'));
    assert.equal(asked[asked.length - 1].epoch, 1);
    await answer(p, seen);
    await p.waitForFunction(() => document.querySelector('#embedding-epoch-label')?.textContent?.startsWith('1 of'));
    // A reply to an earlier request (the latest epoch) that arrives last is dropped.
    const stale = await epochInsight(path.join(RECORDED_RUNS, 'softmax'), undefined, { kind: 'tenfold' }, () => undefined);
    await send(p, { type: 'insight', runId: 'softmax', seq: asked[0].seq, insight: stale });
    await p.click('[data-tab=quality]');
    assert.match((await p.textContent('#embedding-epoch-label')) ?? '', /^1 of/);
    await p.click('#export-records-npy');
    const exported = await p.evaluate(() => (window as unknown as { posted: { type: string }[] }).posted.pop());
    assert.deepEqual(exported, { type: 'exportRecords', runId: 'softmax', epoch: 1, format: 'npy' }, 'the epoch shown, not the latest');
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  it('says why a run has no records', async () => {
    const p = await open('{"mode":"run","runIds":["old"]}');
    await send(p, { type: 'init', mode: 'run', runs: [{ ...recordedRun('l2'), id: 'old' }] });
    await p.waitForSelector('body[data-ready=true]');
    const asked = await p.evaluate(() => (window as unknown as { posted: InsightRequest[] }).posted.find((m) => m.type === 'insight'));
    await send(p, { type: 'insight', runId: 'old', seq: asked?.seq, insight: null, reason: 'No records yet.' });
    assert.equal(await p.textContent('#embedding-empty'), 'No records yet.');
    await p.close();
  });

  it('Compare Runs: softmax and L2 side by side, norm against quality and the feature space', async () => {
    const p = await open('{"mode":"compare","runIds":["softmax","l2"]}');
    await send(p, { type: 'init', mode: 'compare', runs: [recordedRun('softmax'), recordedRun('l2')] });
    await p.waitForSelector('body[data-ready=true]');
    await answer(p, 0);
    await p.waitForSelector('#embedding-compare [data-chart="norm-quality:l2"]');
    let all = await charts(p);
    assert.deepEqual(all.map((c) => c.id).sort(), ['norm-quality:l2', 'norm-quality:softmax']);
    const rows = await p.$$eval('#embedding-compare-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
    assert.deepEqual(rows.map((r) => r[0]), ['Softmax', 'L2 α=8']);
    assert.ok(rows.every((r) => /^r = -?\d\.\d\d, ρ = /.test(r[2] ?? '')), JSON.stringify(rows));
    await p.click('#embedding-compare [data-tab=space]');
    all = await charts(p);
    assert.deepEqual(all.map((c) => c.id).sort(), ['feature-space:l2', 'feature-space:softmax']);
    await p.locator('#embedding-compare').screenshot({ path: path.join(SHOTS, 'embedding-compare.png') });
    assert.deepEqual(p.errors, []);
    await p.close();
  });
});
