import { strict as assert } from 'node:assert';
import { fieldOf, parseFilter } from '../../src/core/run-filter';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import type { RunRecord } from '../../src/shared/run';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');

function run(id: string, over: Partial<RunRecord> & { alpha?: number; loss?: RunRecord['config']['loss'] } = {}): RunRecord {
  const { alpha, loss, ...rest } = over;
  return { id, name: id, status: 'completed', createdAt: new Date(NOW - DAY).toISOString(), config: { ...DEFAULT_CONFIG, alpha: alpha ?? 16, loss: loss ?? 'l2-softmax' }, ...rest };
}

const runs = [
  run('a4', { alpha: 4, tags: ['paper'] }),
  run('a8', { alpha: 8, tags: ['paper', 'lfw'], note: 'trained on the LFW protocol' }),
  run('a16', { alpha: 16, status: 'failed', createdAt: new Date(NOW - 10 * DAY).toISOString() }),
  run('cos', { loss: 'cosface', name: 'CosFace baseline', summary: { epochs: 2, steps: 1, seconds: 1, imagesPerSec: 1, finalLoss: 1, alpha: 16, bestEpoch: 1, bestAccuracy: 0.91, final: { pairs: 100, accuracy: 0.9, accuracyStd: 0, threshold: 0.5, auc: 0.96, eer: 0.08, tarAtFar: [], roc: [] } } }),
];

function ids(text: string, sweepOf?: (id: string) => string | undefined): string[] {
  const f = parseFilter(text, { sweepOf, now: NOW });
  if (!f.ok) throw new Error(f.error);
  return runs.filter((r) => f.matches(r)).map((r) => r.id);
}

function error(text: string): string {
  const f = parseFilter(text);
  assert.ok(!f.ok, `"${text}" parsed`);
  return f.ok ? '' : f.error;
}

describe('run filter language', () => {
  it('matches every run when empty', () => {
    assert.deepEqual(ids(''), ['a4', 'a8', 'a16', 'cos']);
  });

  it('compares settings by their field, setting key or alias', () => {
    assert.deepEqual(ids('alpha>=8'), ['a8', 'a16', 'cos']);
    assert.deepEqual(ids('alpha<8'), ['a4']);
    assert.deepEqual(ids('alpha=16 loss=l2-softmax'), ['a16']);
    assert.deepEqual(ids('head:cos'), ['cos']);
    assert.deepEqual(ids('lr=0.001 epochs=10'), ['a4', 'a8', 'a16', 'cos']);
    assert.equal(fieldOf('datasetFolder'), 'dataset.path');
    assert.equal(fieldOf('identities'), 'dataset.synthetic.identities');
  });

  it('combines tags, status, words, notes and negation', () => {
    assert.deepEqual(ids('alpha>=8 tag:paper'), ['a8']);
    assert.deepEqual(ids('-tag:paper'), ['a16', 'cos']);
    assert.deepEqual(ids('status:failed'), ['a16']);
    assert.deepEqual(ids('lfw'), ['a8'], 'a bare word matches tags and notes');
    assert.deepEqual(ids('"cosface baseline"'), ['cos']);
    assert.deepEqual(ids('note:protocol'), ['a8']);
  });

  it('finds last week\'s runs and compares results', () => {
    assert.deepEqual(ids('since:7d alpha>=8'), ['a8', 'cos']);
    assert.deepEqual(ids('created<2026-11-25'), ['a16']);
    assert.deepEqual(ids('created=2026-11-29'), ['a4', 'a8', 'cos']);
    assert.deepEqual(ids('acc>=0.9'), ['cos']);
    assert.deepEqual(ids('acc>0.905'), [], 'acc is the reported (final) epoch\'s 0.9, not the best on the test pairs, 0.91');
    assert.deepEqual(ids('auc>0.95 eer<0.1'), ['cos']);
  });

  it('asks about the sweep a run belongs to', () => {
    assert.deepEqual(ids('sweep:alpha', (id) => (id.startsWith('a') ? 'alpha sweep' : undefined)), ['a4', 'a8', 'a16']);
  });

  it('says what is wrong with a term', () => {
    assert.match(error('alfa>=8'), /unknown key "alfa"/);
    assert.match(error('alpha>=high'), /compares numbers/);
    assert.match(error('tag>paper'), /tag takes : = or !=/);
    assert.match(error('since:week'), /since takes a number and h, d or w/);
    assert.match(error('created>=yesterday'), /created takes a date/);
    assert.match(error('alpha>='), /needs a value/);
  });
});
