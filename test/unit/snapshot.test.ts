// SnapshotBuilder (src/shared/dashboard.ts): a history of any length becomes a
// snapshot of bounded size whose curves keep their shape.
import * as assert from 'node:assert/strict';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { MAX_STEP_POINTS, MAX_WARNINGS, SnapshotBuilder, snapshotFromEvents, type SnapshotBase } from '../../src/shared/dashboard';
import type { EpochEvent, StepEvent, TrainerEvent } from '../../src/shared/events';

const base: SnapshotBase = { id: 'a', name: 'a', status: 'running', config: DEFAULT_CONFIG, createdAt: '' };

function step(i: number): StepEvent {
  return { v: 1, time: i, type: 'step', epoch: 1 + Math.floor(i / 1000), step: i, epochStep: i % 1000, loss: 5 / (1 + i / 1e4), accuracy: 0.5, alpha: 16, featureNorm: { mean: 1, min: 0, max: 2 }, imagesPerSec: 100 };
}

const epoch = (e: number) => ({ v: 1, time: 0, type: 'epoch', epoch: e }) as unknown as EpochEvent;

describe('bounded snapshots', () => {
  it('thins a million steps to at most MAX_STEP_POINTS, first and newest kept, steps monotone, evenly spaced', () => {
    const b = new SnapshotBuilder(base);
    const N = 1_000_000;
    const chunk: TrainerEvent[] = [];
    for (let i = 1; i <= N; i++) {
      chunk.push(step(i));
      if (chunk.length === 10_000) b.add(chunk.splice(0));
    }
    b.add(chunk);
    const snap = b.build();
    const s = snap.steps.step;
    assert.ok(s.length <= MAX_STEP_POINTS, `${s.length} points`);
    assert.ok(s.length >= MAX_STEP_POINTS / 2, `${s.length} points`);
    assert.equal(s[0], 1);
    assert.equal(s[s.length - 1], N);
    for (let i = 1; i < s.length; i++) assert.ok(s[i] > s[i - 1], `step ${s[i]} after ${s[i - 1]}`);
    const gaps = new Set(s.slice(1, -1).map((x, i) => x - s[i]));
    assert.equal(gaps.size, 1, 'one stride between all kept points but the newest');
    for (const column of Object.values(snap.steps)) assert.equal(column.length, s.length);
    assert.equal(snap.steps.loss[s.length - 1], step(N).loss);
    assert.equal(snap.stepEvents, N);
  });

  it('keeps the newest point after every single step, and stays within the bound at every size', () => {
    const b = new SnapshotBuilder(base, 16);
    for (let i = 1; i <= 1000; i++) {
      b.add([step(i)]);
      const s = b.build().steps.step;
      assert.ok(s.length <= 16);
      assert.equal(s[0], 1);
      assert.equal(s[s.length - 1], i);
    }
  });

  it('keeps a short history whole, and snapshotFromEvents gives the same', () => {
    const events = [step(1), step(2), epoch(1), step(3)];
    const snap = snapshotFromEvents(base, events);
    assert.deepEqual(snap.steps.step, [1, 2, 3]);
    assert.equal(snap.epochs.length, 1);
    assert.equal(snap.stepEvents, undefined);
    assert.equal(snap.skipped, undefined);
  });

  it('caps warnings and counts the rest; reports skipped lines', () => {
    const b = new SnapshotBuilder(base);
    for (let i = 0; i < MAX_WARNINGS + 7; i++) b.add([{ v: 1, time: 0, type: 'warning', code: 'w', message: `w${i}` }]);
    b.skipped = 3;
    const snap = b.build();
    assert.equal(snap.warnings.length, MAX_WARNINGS);
    assert.equal(snap.warnings[0], 'w0');
    assert.equal(snap.droppedWarnings, 7);
    assert.equal(snap.skipped, 3);
  });

  it('drops what a resumed trainer redoes: later steps, later epochs and the previous finish', () => {
    const summary = { epochs: 2, steps: 20, seconds: 1, imagesPerSec: 1, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null };
    const before: TrainerEvent[] = [];
    for (let i = 1; i <= 25; i++) before.push(step(i));
    before.push(epoch(1), epoch(2), epoch(3), { v: 1, time: 0, type: 'finished', status: 'stopped', summary });
    const b = new SnapshotBuilder(base, 8);
    b.add(before);
    b.add([{ v: 1, time: 0, type: 'resumed', fromEpoch: 2, fromStep: 20, epochs: 4, resume: 1 }]);
    for (let i = 21; i <= 40; i++) b.add([step(i)]);
    const snap = b.build();
    const s = snap.steps.step;
    for (let i = 1; i < s.length; i++) assert.ok(s[i] > s[i - 1], `monotone: ${s.join(',')}`);
    assert.equal(s[s.length - 1], 40);
    assert.ok(s.length <= 8);
    assert.deepEqual(
      snap.epochs.map((e) => e.epoch),
      [1, 2],
    );
    assert.equal(snap.finished, undefined);
  });

  it('build returns copies: adding more does not change an earlier snapshot; reset forgets everything', () => {
    const b = new SnapshotBuilder(base);
    b.add([step(1)]);
    const first = b.build();
    b.add([step(2)]);
    assert.deepEqual(first.steps.step, [1]);
    b.reset();
    assert.deepEqual(b.build().steps.step, []);
  });
});
