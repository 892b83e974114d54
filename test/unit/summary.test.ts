import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { PROTOCOL_VERSION, parseEventLine, type EpochEvent, type FinishedEvent, type RunSummary, type StartedEvent, type Verification } from '../../src/shared/events';
import { addEpochToSummary, reportedEpoch, reportedResult, resultText } from '../../src/shared/summary';
import { applyToRecord } from '../../src/core/record';
import { resultLine, runDescription, runTooltip } from '../../src/core/format';
import type { RunRecord } from '../../src/core/run-store';
import { cellView } from '../../src/core/sweep';
import { formatStarted, formatSummary } from '../../src/cli/report';
import { plural } from '../../src/shared/format';

const verification = (accuracy: number): Verification => ({
  pairs: 2000,
  mismatched: 1000,
  accuracy,
  accuracyStd: 0.01,
  threshold: 0.3,
  auc: 0.95,
  eer: 0.1,
  tarAtFar: [1e-4, 1e-3, 1e-2, 1e-1].map((far) => ({ far, tar: accuracy / 2, threshold: 0.5 })),
  roc: [],
});

/** Test accuracies peak at epoch 2, validation accuracies at epoch 3. */
const epochs = [
  { epoch: 1, test: 0.8, val: 0.5 },
  { epoch: 2, test: 0.95, val: 0.6 },
  { epoch: 3, test: 0.9, val: 0.7 },
  { epoch: 4, test: 0.85, val: 0.65 },
].map(({ epoch, test, val }) => ({ epoch, verification: verification(test), validation: { accuracy: val, loss: 1, images: 10 } }));

const empty = (): RunSummary => ({ epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null });

describe('the reported result: final or best validation, never best on the test pairs', () => {
  it('final: the last epoch is the result; the best on the test pairs is kept as such', () => {
    const s = empty();
    for (const e of epochs) addEpochToSummary(s, e, 'final');
    assert.equal(s.reported?.epoch, 4);
    assert.equal(reportedResult(s)?.verification.accuracy, 0.85);
    assert.deepEqual([s.bestEpoch, s.bestAccuracy], [2, 0.95]);
    assert.equal(resultText(s), '10-fold accuracy 85.0% (final epoch 4); best on the test pairs 95.0% (epoch 2)');
  });

  it('best-validation: the epoch with the best validation accuracy, whatever the test pairs say', () => {
    const s = empty();
    for (const e of epochs) addEpochToSummary(s, e, 'best-validation');
    assert.equal(s.reported?.epoch, 3);
    assert.equal(s.reported?.validationAccuracy, 0.7);
    assert.equal(reportedEpoch(epochs, 'best-validation')?.epoch, 3);
    assert.match(resultText(s) ?? '', /^10-fold accuracy 90\.0% \(best validation, epoch 3\)/);
  });

  it('without validation images, best-validation falls back to the final epoch', () => {
    const bare = epochs.map(({ epoch, verification: v }) => ({ epoch, verification: v, validation: null }));
    assert.equal(reportedEpoch(bare, 'best-validation')?.epoch, 4);
  });

  it('a summary from before the rule reports its final epoch, not its best', () => {
    const old = { ...empty(), epochs: 4, final: verification(0.85), bestEpoch: 2, bestAccuracy: 0.95 };
    assert.equal(reportedResult(old)?.label, 'final epoch 4');
  });

  it('the run record, the Runs view, the notification and sweeps show the reported epoch', () => {
    const record: RunRecord = { id: 'r', name: 'run', status: 'completed', config: { ...DEFAULT_CONFIG, reportEpoch: 'final' }, createdAt: '' };
    for (const e of epochs) applyToRecord(record, { v: 1, time: 0, type: 'epoch', epochs: 4, trainLoss: 1, trainAccuracy: 0.5, alpha: null, featureNorm: { mean: 1, min: 1, max: 1 }, seconds: 1, imagesPerSec: 1, ...e } as EpochEvent);
    assert.equal(record.summary?.reported?.epoch, 4);
    assert.equal(runDescription(record), 'acc 85.0% (final epoch 4) · TAR@1e-3 42.5%');
    assert.match(resultLine(record), /^10-fold accuracy 85\.0% \(final epoch 4\), TAR@FAR=1e-3 42\.5%; best on the test pairs 95\.0% \(epoch 2\)$/);
    assert.match(runTooltip(record).replace(/\\/g, ''), /best on the test pairs 95\.0% \(epoch 2\)/);
    const cell = cellView({ index: 0, variant: 'l2', values: {}, seed: 1, runId: 'r' } as unknown as Parameters<typeof cellView>[0], record);
    assert.equal(cell.accuracy, 0.85);
  });
});

describe('the CLI\'s final table', () => {
  it('reads n/a in the TAR columns that 1,000 mismatched pairs cannot measure, and says why once below', () => {
    const events: EpochEvent[] = epochs.map((e) => ({ v: PROTOCOL_VERSION, time: 0, type: 'epoch', epochs: 4, trainLoss: 1, trainAccuracy: 0.5, alpha: 16, featureNorm: { mean: 1, min: 1, max: 1 }, seconds: 1, imagesPerSec: 1, ...e }));
    const summary = empty();
    for (const e of epochs) addEpochToSummary(summary, e, 'final');
    const finished: FinishedEvent = { v: PROTOCOL_VERSION, time: 0, type: 'finished', status: 'completed', summary };
    const lines = formatSummary(events, finished).split('\n');
    const header = lines.find((l) => l.trim().startsWith('epoch')) ?? '';
    assert.match(header, /TAR@1e-4\s+TAR@1e-3/);
    const last = lines.find((l) => l.trim().startsWith('4 ')) ?? '';
    assert.match(last, /n\/a\s+42\.5%\s+42\.5%\s+42\.5%$/);
    assert.equal(lines.filter((l) => l.includes('mismatched')).length, 1);
    assert.match(lines[lines.length - 1], /^n\/a: TAR@1e-4 needs 10,000 mismatched pairs; these pairs have 1,000\.$/);
  });

  it('lists every epoch once, in order, the last result of an epoch trained again after a resume', () => {
    const event = (epoch: number, trainLoss: number): EpochEvent => ({ v: PROTOCOL_VERSION, time: 0, type: 'epoch', epoch, epochs: 3, trainLoss, trainAccuracy: 0.5, alpha: 16, featureNorm: { mean: 1, min: 1, max: 1 }, seconds: 1, imagesPerSec: 1, verification: verification(0.9) });
    const finished: FinishedEvent = { v: PROTOCOL_VERSION, time: 0, type: 'finished', status: 'completed', summary: empty() };
    const rows = formatSummary([event(1, 3), event(2, 2), event(3, 1.5), event(2, 1.9)], finished)
      .split('\n')
      .filter((l) => /^\s+\d+\s/.test(l))
      .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    assert.deepEqual(rows, ['1 3.000', '2 1.900', '3 1.500']);
  });

  it('counts in the singular where there is one: "1 epoch x 1 step", "1 step"', () => {
    const fixture = readFileSync(path.resolve(__dirname, '../fixtures/events/softmax.jsonl'), 'utf8').split('\n');
    const started = fixture.map((l) => parseEventLine(l)).find((e): e is StartedEvent => e?.type === 'started') as StartedEvent;
    const one = { ...started, config: { ...started.config, epochs: 1 }, stepsPerEpoch: 1, dataset: { ...started.dataset, folds: 1 } };
    assert.match(formatStarted(one), /^Training {2}1 epoch x 1 step, batch/m);
    assert.match(formatStarted(one), / in 1 fold over /);
    assert.match(formatStarted(started), /^Training {2}3 epochs x 12 steps, batch/m);
    const finished: FinishedEvent = { v: PROTOCOL_VERSION, time: 0, type: 'finished', status: 'stopped', summary: { ...empty(), steps: 1 } };
    assert.match(formatSummary([], finished), / 1 step, /);
    assert.deepEqual([plural(0, 'epoch'), plural(1, 'epoch'), plural(2, 'identity', 'identities')], ['0 epochs', '1 epoch', '2 identities']);
  });
});

