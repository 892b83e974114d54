import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { snapshotFromEvents } from '../../src/shared/dashboard';
import { parseEventLine, type TrainerEvent } from '../../src/shared/events';
import { RunSeries, smoothedLoss, stepX } from '../../webview/step-series';

const ROOT = path.resolve(__dirname, '../..');
const events = readFileSync(path.join(ROOT, 'test/fixtures/events/l2-trainable.jsonl'), 'utf8')
  .split('\n')
  .map((l) => parseEventLine(l))
  .filter((e): e is TrainerEvent => !!e);
const started = events.find((e) => e.type === 'started') as Extract<TrainerEvent, { type: 'started' }>;
const run = snapshotFromEvents({ id: 'r', name: 'r', status: 'completed', config: started.config, createdAt: '2026-01-01T00:00:00Z' }, events);

describe('dashboard step series', () => {
  it('places steps by step, fractional epoch or seconds since the first step', () => {
    const last = run.steps.step.length - 1;
    assert.equal(stepX(run, last, 'step'), run.steps.step[last]);
    assert.equal(stepX(run, last, 'epoch'), run.steps.step[last] / started.stepsPerEpoch);
    assert.equal(stepX(run, 0, 'time'), 0);
    assert.equal(stepX(run, last, 'time'), (run.steps.time[last] - run.steps.time[0]) / 1000);
  });

  it('smooths every step series with one weight; 0 leaves them raw', () => {
    const s = new RunSeries(run, 0.9);
    assert.notDeepEqual(s.accuracy.smooth.map((p) => p.y), s.accuracy.raw.map((p) => p.y));
    s.rebuild(0);
    for (const series of [s.loss, s.accuracy, s.alpha, s.normMean]) assert.deepEqual(series.smooth, series.raw);
    assert.deepEqual(smoothedLoss(run, 0, 'step').map((p) => p.y), run.steps.loss);
  });

  it('moves the epoch points with the x unit and names a point\'s step, epoch and time', () => {
    const s = new RunSeries(run, 0.9, 'epoch');
    assert.deepEqual(s.epochLoss.map((p) => p.x), run.epochs.map((e) => e.epoch));
    const i = 7;
    assert.match(s.describe(s.x(i)), new RegExp(`^step ${run.steps.step[i]} · epoch ${run.steps.epoch[i]} · \\d+:\\d\\d in$`));
  });
});
