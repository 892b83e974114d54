import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunMonitor } from '../../src/core/run-monitor';
import { RunStore } from '../../src/core/run-store';
import { settingSpec } from '../../src/core/settings';
import { checkDefinition, defaultAlphas, expandSweep, parseSweepValues, stat, sweepCsv, sweepSnapshot, type SweepDefinition } from '../../src/core/sweep';
import { SweepMonitor } from '../../src/core/sweep-monitor';
import { SweepStore, sweepsRootFor } from '../../src/core/sweep-store';
import { DEFAULT_CONFIG, alphaLowerBound } from '../../src/shared/config';
import type { Verification } from '../../src/shared/events';
import type { RunRecord, RunStatus } from '../../src/shared/run';
import type { SweepRecord } from '../../src/shared/sweep';

function def(overrides: Partial<SweepDefinition> = {}): SweepDefinition {
  return { base: DEFAULT_CONFIG, axes: [{ field: 'alpha', values: [1, 4, 16] }], withSoftmax: true, withLearned: true, seeds: 3, ...overrides };
}

function verification(accuracy: number, tar: number): Verification {
  return { pairs: 100, accuracy, accuracyStd: 0.01, threshold: 0.5, auc: 0.9, eer: 0.1, tarAtFar: [{ far: 1e-3, tar, threshold: 0.9 }], roc: [] } as Verification;
}

/** A record as a trainer leaves it, with the final epoch's verification. */
function record(id: string, status: RunStatus, accuracy?: number, tar?: number, alpha: number | null = null): RunRecord {
  const r: RunRecord = { id, name: id, status, config: DEFAULT_CONFIG, createdAt: '2026-01-01T00:00:00Z' };
  if (accuracy !== undefined) {
    r.summary = { epochs: 3, steps: 30, seconds: 1, imagesPerSec: 1, finalLoss: 1, alpha, bestEpoch: 3, bestAccuracy: accuracy, final: verification(accuracy, tar ?? 0) };
  }
  return r;
}

describe('sweep definition and expansion', () => {
  it('expands alpha values x (fixed, softmax, learned) x seeds, seed-major, with the cell configs', () => {
    const cells = expandSweep(def());
    assert.equal(cells.length, (3 + 1 + 1) * 3);
    assert.deepEqual(
      cells.slice(0, 5).map((c) => [c.variant, c.values.alpha ?? '-', c.seed]),
      [['fixed', 1, 42], ['fixed', 4, 42], ['fixed', 16, 42], ['softmax', '-', 42], ['learned', '-', 42]],
    );
    assert.deepEqual([...new Set(cells.map((c) => c.seed))], [42, 43, 44]);
    const fixed = cells[1].config;
    assert.equal(fixed.loss, 'l2-softmax');
    assert.equal(fixed.alpha, 4);
    assert.equal(fixed.alphaTrainable, false);
    assert.equal(cells[3].config.loss, 'softmax');
    assert.equal(cells[4].config.alphaTrainable, true);
    assert.equal(cells[4].config.alpha, DEFAULT_CONFIG.alpha, 'learned alpha starts from the base alpha');
    assert.equal(cells[5].config.seed, 43);
    assert.equal(cells[5].config.dataset.synthetic.identities, DEFAULT_CONFIG.dataset.synthetic.identities);
  });

  it('crosses two settings as a grid; softmax and learned cells replace the alpha axis only', () => {
    const cells = expandSweep(def({ axes: [{ field: 'alpha', values: [4, 16] }, { field: 'learningRate', values: [0.001, 0.01] }], seeds: 2 }));
    assert.equal(cells.length, (2 * 2 + 2 + 2) * 2);
    const seed42 = cells.filter((c) => c.seed === 42);
    assert.deepEqual(
      seed42.map((c) => `${c.variant} ${c.values.alpha ?? '-'} ${c.values.learningRate}`),
      ['fixed 4 0.001', 'fixed 4 0.01', 'fixed 16 0.001', 'fixed 16 0.01', 'softmax - 0.001', 'softmax - 0.01', 'learned - 0.001', 'learned - 0.01'],
    );
    assert.equal(seed42[1].config.learningRate, 0.01);
  });

  it('sweeps an enum setting, and softmax cells cross a non-alpha axis', () => {
    const cells = expandSweep(def({ axes: [{ field: 'optimizer', values: ['adam', 'sgd'] }], withLearned: false, seeds: 1 }));
    assert.deepEqual(cells.map((c) => `${c.variant} ${c.values.optimizer} ${c.config.loss}`), ['fixed adam l2-softmax', 'fixed sgd l2-softmax', 'softmax adam softmax', 'softmax sgd softmax']);
  });

  it('refuses an empty value list, a value the setting rejects, unknown settings, the seed, three axes and too many cells', () => {
    assert.match(checkDefinition(def({ axes: [] })) ?? '', /Choose a setting/);
    assert.match(checkDefinition(def({ axes: [{ field: 'alpha', values: [] }] })) ?? '', /Alpha: the value list is empty/);
    assert.match(checkDefinition(def({ axes: [{ field: 'alpha', values: [4, 0] }] })) ?? '', /Alpha: 0 must be greater than 0/);
    assert.match(checkDefinition(def({ axes: [{ field: 'batchSize', values: [2.5] }] })) ?? '', /Batch size: 2.5 must be a whole number/);
    assert.match(checkDefinition(def({ axes: [{ field: 'seed', values: [1, 2] }] })) ?? '', /seed cannot be swept/);
    assert.match(checkDefinition(def({ axes: [{ field: 'datasetFolder', values: ['a'] }] })) ?? '', /cannot be swept/);
    const three = [1, 2, 3].map((i) => ({ field: ['alpha', 'learningRate', 'batchSize'][i - 1], values: [i] }));
    assert.match(checkDefinition(def({ axes: three })) ?? '', /at most two/);
    assert.match(checkDefinition(def({ axes: [{ field: 'alpha', values: Array.from({ length: 400 }, (_, i) => i + 1) }] })) ?? '', /more than a sweep may hold/);
    assert.match(checkDefinition(def({ seeds: 0 })) ?? '', /seed count/);
    assert.throws(() => expandSweep(def({ axes: [{ field: 'alpha', values: [] }] })), /empty/);
  });

  it('reads typed value lists with the setting\'s own validation', () => {
    const alpha = settingSpec('alpha')!;
    assert.deepEqual(parseSweepValues(alpha, '1, 4,16 ,32').values, [1, 4, 16, 32]);
    assert.match(parseSweepValues(alpha, ' , ').error ?? '', /at least one value/);
    assert.match(parseSweepValues(alpha, '4, x').error ?? '', /"x" is not a number/);
    assert.match(parseSweepValues(alpha, '4,-1').error ?? '', /-1 must be greater than 0/);
    assert.match(parseSweepValues(alpha, '4,4').error ?? '', /listed twice/);
    assert.deepEqual(parseSweepValues(settingSpec('optimizer')!, 'sgd,adam').values, ['sgd', 'adam']);
    assert.match(parseSweepValues(settingSpec('optimizer')!, 'rmsprop').error ?? '', /must be one of/);
    assert.deepEqual(parseSweepValues(settingSpec('channels')!, '1,3').values, [1, 3]);
  });

  it('prefills the paper\'s alphas around alpha_low for the class count', () => {
    const low = alphaLowerBound(300, 0.9);
    assert.ok(low > 7.8 && low < 7.9);
    assert.deepEqual(defaultAlphas(low), [1, 4, 8, 12, 16, 32]);
    assert.deepEqual(defaultAlphas(alphaLowerBound(10000, 0.9)), [1, 4, 12, 16, 32], 'a bound of 11.4 rounds up to 12, already listed');
    assert.deepEqual(defaultAlphas(undefined), [1, 4, 12, 16, 32]);
  });
});

describe('sweep aggregation (the figure)', () => {
  const sweep = (): SweepRecord => {
    const expanded = expandSweep(def({ axes: [{ field: 'alpha', values: [1, 16] }], seeds: 3 }));
    return {
      format: 1, id: 'sweep-x', name: 'x', createdAt: '2026-01-01T00:00:00Z', launcher: 'local', base: DEFAULT_CONFIG,
      axes: [{ field: 'alpha', values: [1, 16] }], withSoftmax: true, withLearned: true, seeds: [42, 43, 44], alphaLow: 7.89, classes: 300,
      cells: expanded.map((c, index) => ({ index, variant: c.variant, values: c.values, seed: c.seed, runId: `r${index}` })),
    };
  };

  it('gives mean and sample std over seeds per value; a failed cell is excluded and listed', () => {
    const s = sweep();
    // cells per seed: α=1, α=16, softmax, learned
    const results: Record<string, RunRecord> = {
      r0: record('r0', 'completed', 0.7, 0.1), r4: record('r4', 'completed', 0.8, 0.2), r8: record('r8', 'failed'),
      r1: record('r1', 'completed', 0.9, 0.5), r5: record('r5', 'completed', 0.92, 0.55), r9: record('r9', 'completed', 0.94, 0.6),
      r2: record('r2', 'completed', 0.85, 0.3), r6: record('r6', 'completed', 0.87, 0.3), r10: record('r10', 'running', 0.5, 0.1),
      r3: record('r3', 'completed', 0.91, 0.4, 12), r7: record('r7', 'completed', 0.93, 0.4, 14), r11: record('r11', 'interrupted', 0.2, 0, 9),
    };
    const snap = sweepSnapshot(s, (id) => results[id]);
    const f = snap.figure;
    assert.equal(f.xField, 'alpha');
    assert.equal(f.xLog, true);
    assert.equal(f.alphaLow, 7.89);
    assert.equal(f.series.length, 1);
    const [one, sixteen] = f.series[0].points;
    assert.equal(one.x, 1);
    assert.equal(one.stats.accuracy?.n, 2);
    assert.ok(Math.abs((one.stats.accuracy?.mean ?? 0) - 0.75) < 1e-12);
    assert.ok(Math.abs((one.stats.accuracy?.std ?? 0) - Math.sqrt(0.005)) < 1e-12, 'sample std (n - 1)');
    assert.deepEqual(one.excluded, [{ runId: 'r8', status: 'failed' }]);
    assert.deepEqual(one.runIds, ['r0', 'r4']);
    assert.equal(sixteen.stats.accuracy?.n, 3);
    assert.ok(Math.abs((sixteen.stats.tar?.mean ?? 0) - 0.55) < 1e-12);
    assert.equal(f.softmax.length, 1);
    assert.equal(f.softmax[0].point.stats.accuracy?.n, 2, 'the running softmax cell is pending, not in the band');
    assert.equal(f.softmax[0].point.pending, 1);
    assert.equal(f.learned[0].point.x, 13, 'learned cells sit at the mean alpha they learned');
    assert.deepEqual(f.learned[0].point.excluded, [{ runId: 'r11', status: 'interrupted' }]);
    assert.deepEqual(snap.counts, { completed: 9, failed: 1, running: 1, interrupted: 1 });
  });

  it('shows cells whose runs are gone as missing, and writes one CSV row per cell', () => {
    const snap = sweepSnapshot(sweep(), (id) => (id === 'r0' ? record('r0', 'completed', 0.7, 0.1) : undefined));
    assert.equal(snap.cells[1].status, 'missing');
    assert.equal(snap.figure.series[0].points[0].stats.accuracy?.mean, 0.7);
    assert.equal(snap.figure.series[0].points[0].stats.accuracy?.std, 0, 'one seed: std 0');
    const csv = sweepCsv(snap).trim().split('\n');
    assert.equal(csv.length, 1 + 12);
    assert.equal(csv[0], 'sweep_id,cell,variant,alpha,seed,run_id,status,epochs,accuracy_10fold,accuracy_fold_std,tar_at_far_1e-3,auc,eer,final_alpha,job_id');
    assert.equal(csv[1], 'sweep-x,0,fixed,1,42,r0,completed,3,0.7,0.01,0.1,0.9,0.1,,');
  });

  it('neutralizes CSV cells a spreadsheet would run as formulas (sweep.json is anyone\'s to commit), keeping negative numbers', () => {
    const snap = sweepSnapshot(sweep(), (id) => (id === 'r0' ? record('r0', 'completed', 0.7, 0.1) : undefined));
    snap.cells[0].runId = '=HYPERLINK("http://x","y")';
    snap.cells[0].jobId = '-12';
    const row = sweepCsv(snap).split('\n')[1];
    assert.ok(row.includes(`"'=HYPERLINK(""http://x"",""y"")"`), row);
    assert.ok(row.endsWith(',-12'), row);
  });

  it('stat: mean and sample standard deviation', () => {
    assert.equal(stat([]), undefined);
    assert.deepEqual(stat([2]), { mean: 2, std: 0, n: 1 });
    const s = stat([1, 2, 3, 4]);
    assert.equal(s?.mean, 2.5);
    assert.ok(Math.abs((s?.std ?? 0) - Math.sqrt(5 / 3)) < 1e-12);
  });
});

describe('sweep store', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'l2sm-sweep-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps sweeps beside .l2softmax/runs, and inside any other runs folder', () => {
    assert.equal(sweepsRootFor('/w/.l2softmax/runs'), path.resolve('/w/.l2softmax/sweeps'));
    assert.equal(sweepsRootFor('/scratch/me'), path.resolve('/scratch/me/.sweeps'));
  });

  it('writes sweep.json, then one queued ordinary run per cell in cell order; re-running a cell keeps its old run', async () => {
    const runs = new RunStore(path.join(root, 'runs'));
    const sweeps = new SweepStore(sweepsRootFor(runs.root));
    const created = await sweeps.create({ ...def({ seeds: 2 }), launcher: 'local', alphaLow: 7.89, classes: 300 }, runs);
    assert.equal(created.cells.length, 10);
    assert.match(created.name, /^α \(1, 4, 16, softmax, learned\) sweep × 2 seeds$/);
    const listed = await runs.list();
    assert.equal(listed.length, 10);
    assert.ok(listed.every((r) => r.status === 'queued' && r.launcher === 'local'));
    assert.deepEqual(listed.map((r) => r.id).reverse(), created.cells.map((c) => c.runId), 'a queue takes the oldest first: cell order');
    assert.equal((await runs.get(created.cells[3].runId))?.config.loss, 'softmax');
    assert.match((await runs.get(created.cells[1].runId))?.name ?? '', / · α=4 · seed 42$/);
    assert.deepEqual((await sweeps.list()).map((s) => s.id), [created.id]);
    assert.equal((await sweeps.ofRun(created.cells[2].runId))?.id, created.id);

    const again = await sweeps.rerun(created.id, [2], runs);
    assert.equal(again.cells[2].runId, `${created.cells[2].runId}-r1`);
    assert.deepEqual(again.cells[2].previousRunIds, [created.cells[2].runId]);
    assert.ok(await runs.get(created.cells[2].runId), 'the old run stays an ordinary run');
    assert.equal((await runs.get(again.cells[2].runId))?.config.alpha, 16);
  });

  it('the sweep monitor lists sweeps, ignores stray files, and fires when one of a sweep\'s runs changes', async () => {
    const runs = new RunStore(path.join(root, 'runs'));
    const sweeps = new SweepStore(sweepsRootFor(runs.root));
    const created = await sweeps.create({ ...def({ seeds: 1, withLearned: false }), launcher: 'local' }, runs);
    writeFileSync(path.join(sweeps.root, 'notes.txt'), 'not a sweep');
    mkdirSync(path.join(sweeps.root, '.tmp'));
    const monitor = new RunMonitor(runs, { activePollMs: 50, sweepMs: 50 });
    const sweepMonitor = new SweepMonitor(sweeps, monitor, { pollMs: 50 });
    try {
      await monitor.ready();
      await sweepMonitor.ready();
      assert.deepEqual(sweepMonitor.list().map((s) => s.id), [created.id]);
      assert.equal(sweepMonitor.sweepOf(created.cells[2].runId), created.id);
      assert.deepEqual(sweepMonitor.snapshot(created.id)?.counts, { queued: 4 });
      const fired = new Promise<string>((resolve) => sweepMonitor.onDidChange(resolve));
      const r = (await runs.get(created.cells[0].runId))!;
      await runs.save({ ...r, status: 'completed', summary: { epochs: 1, steps: 1, seconds: 1, imagesPerSec: 1, finalLoss: 1, alpha: 1, bestEpoch: 1, bestAccuracy: 0.9, final: verification(0.9, 0.3) } });
      await monitor.poke(r.id);
      assert.equal(await fired, created.id);
      assert.deepEqual(sweepMonitor.snapshot(created.id)?.counts, { completed: 1, queued: 3 });
    } finally {
      sweepMonitor.dispose();
      monitor.dispose();
    }
  });

  it('creates Slurm cells queued and marked as being submitted', async () => {
    const runs = new RunStore(path.join(root, 'runs'));
    const sweeps = new SweepStore(sweepsRootFor(runs.root));
    const s = await sweeps.create({ ...def({ seeds: 1, withLearned: false }), launcher: 'slurm' }, runs);
    const r = await runs.get(s.cells[0].runId);
    assert.equal(r?.status, 'queued');
    assert.equal(r?.launcher, 'slurm');
    assert.equal(r?.job?.jobId, '');
  });
});
