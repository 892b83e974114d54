import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { MAX_STEP_POINTS, emptySeries, pushStep, type RunSnapshot } from '../../src/shared/dashboard';
import type { StepEvent } from '../../src/shared/events';
import { launchBrowser, send, serve } from './harness';

/** A long run's dashboard: the history the host read (decimated), live steps for days, lines the reader skipped. */
describe('dashboard of a long run in Chromium', function () {
  this.timeout(180000);
  let browser: Browser;
  let server: Server;
  let url: string;
  before(async () => {
    ({ url, server } = await serve());
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  it('keeps step points bounded (history and live), newest last, and says how many malformed lines were skipped', async () => {
    const p = await browser.newPage();
    await p.goto(`${url}/?theme=vscode-dark&state=${encodeURIComponent('{"mode":"run","runIds":["long"]}')}`);
    await p.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));
    // A history longer than the view keeps (a host that sends it whole must not make the page hold it all).
    const history = 5 * MAX_STEP_POINTS;
    const steps = emptySeries();
    for (let i = 1; i <= history; i++) pushStep(steps, step(i));
    const run: RunSnapshot = { id: 'long', name: 'long run', status: 'running', config: DEFAULT_CONFIG, createdAt: new Date().toISOString(), steps, epochs: [], warnings: [], skipped: 3 };
    await send(p, { type: 'init', mode: 'run', runs: [run] });
    await p.waitForSelector('body[data-ready=true]');
    assert.equal(await p.textContent('#skipped'), '⚠ 3 malformed lines skipped in events.jsonl');
    const kept = () =>
      p.evaluate(() => {
        const view = (window as unknown as { dashboard: () => { run: { steps: { step: number[] } } } }).dashboard();
        const s = view.run.steps.step;
        return { kept: s.length, last: s[s.length - 1] };
      });
    const first = await kept();
    assert.ok(first.kept <= 2 * MAX_STEP_POINTS && first.kept > MAX_STEP_POINTS / 2, `${first.kept} of ${history} history points kept`);
    assert.equal(first.last, history);
    // Live steps for days: the series keeps halving, never growing past its bound.
    let sent = history;
    for (let round = 0; round < 3; round++) {
      const room = 2 * MAX_STEP_POINTS - (await kept()).kept + 1;
      for (let i = 0; i < room; i += 1000) {
        const batch = Array.from({ length: Math.min(1000, room - i) }, () => step(++sent));
        await p.evaluate((events) => {
          const view = (window as unknown as { dashboard: () => { event(e: unknown): void } }).dashboard();
          for (const e of events) view.event(e);
        }, batch);
      }
      const now = await kept();
      assert.ok(now.kept <= 2 * MAX_STEP_POINTS, `${now.kept} step points after ${sent} steps`);
      assert.equal(now.last, sent);
    }
    await p.close();
  });
});

function step(i: number): StepEvent {
  return { v: 1, time: i, type: 'step', epoch: 1, step: i, epochStep: i, loss: 1 / i, accuracy: 0.5, alpha: 16, featureNorm: { mean: 1, min: 1, max: 1 }, imagesPerSec: 100 };
}
