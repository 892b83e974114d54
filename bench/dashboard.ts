// Dashboard benchmarks (not tests), in Debian's Chromium:
// - opening a 100k-step run: time from `init` to the first painted frame;
// - event-to-paint latency of live step events arriving at 20 per second.
//   npx tsx bench/dashboard.ts

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunFollower } from '../src/core/run-follower';
import type { RunSnapshot } from '../src/shared/dashboard';
import { DASHBOARD_FOLLOW_MS, emptySeries, pushStep } from '../src/shared/dashboard';
import { DEFAULT_CONFIG } from '../src/shared/config';
import type { EpochEvent, StartedEvent, StepEvent, Verification } from '../src/shared/events';
import { chromiumPath, launchBrowser, send, serve } from '../test/browser/harness';

const STEPS = 100_000;
const EPOCHS = 50;

function verification(acc: number): Verification {
  return {
    pairs: 6000,
    accuracy: acc,
    accuracyStd: 0.01,
    threshold: 0.3,
    auc: 0.97,
    eer: 0.08,
    tarAtFar: [1e-4, 1e-3, 1e-2, 1e-1].map((far) => ({ far, tar: acc * (1 + Math.log10(far) / 10), threshold: 0.5 })),
    roc: Array.from({ length: 61 }, (_, k) => ({ far: 10 ** (-5 + k / 12), tar: Math.min(1, acc + k / 200) })),
  };
}

function step(i: number): StepEvent {
  return {
    v: 1,
    time: Date.now(),
    type: 'step',
    epoch: Math.ceil(i / (STEPS / EPOCHS)),
    step: i,
    epochStep: ((i - 1) % (STEPS / EPOCHS)) + 1,
    loss: 5 * Math.exp(-i / 30000) + 0.1 * Math.random(),
    accuracy: Math.min(1, i / STEPS + 0.05 * Math.random()),
    alpha: 16,
    featureNorm: { mean: 10 + Math.sin(i / 1000), min: 5, max: 15 },
    imagesPerSec: 500,
  };
}

function bigRun(): RunSnapshot {
  const steps = emptySeries();
  for (let i = 1; i <= STEPS; i++) pushStep(steps, step(i));
  const epochs: EpochEvent[] = Array.from({ length: EPOCHS }, (_, e) => ({
    v: 1,
    time: 0,
    type: 'epoch',
    epoch: e + 1,
    epochs: EPOCHS,
    trainLoss: 3 - e / 20,
    trainAccuracy: e / EPOCHS,
    alpha: 16,
    featureNorm: { mean: 10, min: 5, max: 15 },
    verification: verification(0.8 + e / 300),
    seconds: 60,
    imagesPerSec: 500,
  }));
  const started: StartedEvent = {
    v: 1,
    time: 0,
    type: 'started',
    backend: { name: 'wasm', gpu: false, description: 'WebAssembly' },
    dataset: { source: 'bench', identities: 1000, images: 128000, imagesPerIdentity: { min: 128, median: 128, max: 128 }, verifyIdentities: 100, verifyImages: 1000, pairs: 6000, matchedPairs: 3000, folds: 10, imageSize: 32, channels: 3 },
    alphaLow: 9.1,
    config: { ...DEFAULT_CONFIG, epochs: EPOCHS * 2 },
    stepsPerEpoch: STEPS / EPOCHS,
    parameters: 1,
    pid: 1,
  };
  return { id: 'big', name: '100k-step run', status: 'running', config: started.config, createdAt: new Date().toISOString(), started, steps, epochs, warnings: [] };
}

/**
 * The whole path a live event takes: the trainer appends it to events.jsonl,
 * the host's RunFollower (polling as an open dashboard does) reads it, the page
 * draws it. Timed from the write to the second animation frame after delivery.
 */
async function fileToPaint(page: import('playwright-core').Page): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'l2sm-bench-follow-'));
  const file = path.join(dir, 'events.jsonl');
  writeFileSync(file, '');
  const follower = new RunFollower(dir);
  let delivered: (() => void) | undefined;
  const watch = follower.watch(DASHBOARD_FOLLOW_MS, async (u) => {
    for (const event of u.events) await send(page, { type: 'event', runId: 'big', event });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    delivered?.();
  });
  const ms: number[] = [];
  try {
    for (let i = 1; i <= 40; i++) {
      const done = new Promise<void>((r) => (delivered = r));
      const t0 = performance.now();
      appendFileSync(file, JSON.stringify(step(STEPS + 1000 + i)) + '\n');
      await done;
      ms.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 97 * (i % 3)));
    }
  } finally {
    watch.dispose();
    follower.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(0);
  console.log(`event written to events.jsonl -> painted (RunFollower polling every ${DASHBOARD_FOLLOW_MS} ms): median ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms (${ms.length} events)`);
}

/**
 * Memory of a dashboard given a 1M-step history whole (a host that did not
 * decimate), measured after a garbage collection: the page keeps bounded columns.
 */
async function millionStepHeap(browser: import('playwright-core').Browser): Promise<void> {
  const { url, server } = await serve();
  const page = await browser.newPage();
  try {
    await page.goto(`${url}/?theme=vscode-dark&state=${encodeURIComponent('{"mode":"run","runIds":["m"]}')}`);
    await page.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
    const cdp = await page.context().newCDPSession(page);
    const t0 = performance.now();
    await page.evaluate(
      ({ n, config }) => {
        const cols = ['step', 'epoch', 'loss', 'accuracy', 'alpha', 'normMean', 'normMin', 'normMax', 'imagesPerSec'];
        const steps = Object.fromEntries(cols.map((c) => [c, new Array<number>(n)])) as Record<string, number[]>;
        for (let i = 0; i < n; i++) {
          steps.step[i] = i + 1;
          steps.epoch[i] = 1 + Math.floor(i / 10000);
          steps.loss[i] = 5 * Math.exp(-i / 300000) + 0.1 * Math.random();
          steps.accuracy[i] = i / n;
          steps.alpha[i] = 16;
          steps.normMean[i] = 10;
          steps.normMin[i] = 5;
          steps.normMax[i] = 15;
          steps.imagesPerSec[i] = 500;
        }
        const run = { id: 'm', name: '1M steps', status: 'running', config, createdAt: new Date().toISOString(), steps, epochs: [], warnings: [] };
        window.dispatchEvent(new MessageEvent('message', { data: { type: 'init', mode: 'run', runs: [run] } }));
      },
      { n: 1_000_000, config: DEFAULT_CONFIG },
    );
    await page.waitForSelector('body[data-ready=true]');
    const openMs = performance.now() - t0;
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    const kept = await page.evaluate(() => (window as unknown as { dashboard: () => { run: { steps: { step: number[] } } } }).dashboard().run.steps.step.length);
    console.log(`a 1,000,000-step history given whole to the page: ${(heap.usedSize / 2 ** 20).toFixed(0)} MB of JS heap after GC (target < 200 MB), ${kept.toLocaleString('en-US')} step points kept, ${openMs.toFixed(0)} ms to draw`);
  } finally {
    await page.close();
    server.close();
  }
}

async function main(): Promise<void> {
  try {
    chromiumPath();
  } catch (err) {
    console.log(`dashboard benchmark skipped: ${(err as Error).message}`);
    return;
  }
  const { url, server } = await serve();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
    await page.goto(`${url}/?theme=vscode-dark`);
    await page.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
    const run = bigRun();
    const json = JSON.stringify({ type: 'init', mode: 'run', runs: [run] });
    const openMs: number[] = [];
    for (let k = 0; k < 3; k++) {
      // A string, not a function: tsx would wrap named closures in a helper the page lacks.
      const ms = (await page.evaluate(`new Promise((resolve) => {
        const t0 = performance.now();
        document.body.dataset.ready = '';
        window.postMessage(JSON.parse(${JSON.stringify(json)}), '*');
        (function wait() {
          if (document.body.dataset.ready === 'true') requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
          else setTimeout(wait, 1);
        })();
      })`)) as number;
      openMs.push(ms);
    }
    console.log(`open a ${STEPS.toLocaleString('en-US')}-step run (${(json.length / 2 ** 20).toFixed(1)} MiB init message): ${openMs.map((m) => m.toFixed(0)).join(', ')} ms to first paint`);
    // Live: 20 step events per second for 10 s; latency from receipt to the next painted frame.
    await page.evaluate(() => {
      const w = window as unknown as { lat: number[] };
      w.lat = [];
      window.addEventListener('message', (e) => {
        if (e.data?.type !== 'event') return;
        const t0 = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => w.lat.push(performance.now() - t0)));
      });
    });
    for (let i = 1; i <= 200; i++) {
      await send(page, { type: 'event', runId: 'big', event: step(STEPS + i) });
      await new Promise((r) => setTimeout(r, 50));
    }
    await page.waitForTimeout(300);
    const lat = (await page.evaluate(() => (window as unknown as { lat: number[] }).lat)).sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
    console.log(`event-to-paint at 20 events/s on a ${STEPS.toLocaleString('en-US')}-step run: median ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms (${lat.length} events)`);
    await fileToPaint(page);
    await millionStepHeap(browser);
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
