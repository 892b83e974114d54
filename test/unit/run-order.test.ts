import { strict as assert } from 'node:assert';
import { groupRuns, sortRuns } from '../../src/core/run-order';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { cleanAnnotations, type RunRecord } from '../../src/shared/run';

function run(id: string, createdAt: string, over: Partial<RunRecord> = {}): RunRecord {
  return { id, name: id, status: 'completed', createdAt, config: DEFAULT_CONFIG, ...over };
}
const verification = (accuracy: number) => ({ pairs: 100, accuracy, accuracyStd: 0, threshold: 0.5, auc: accuracy, eer: 1 - accuracy, tarAtFar: [], roc: [] });
/** A finished run of two epochs: `acc` at the final one, `bestOnTest` at the first (best on the test pairs). */
const withAccuracy = (acc: number, bestOnTest = acc) => ({ epochs: 2, steps: 1, seconds: 1, imagesPerSec: 1, finalLoss: 1, alpha: null, bestEpoch: 1, bestAccuracy: Math.max(acc, bestOnTest), final: verification(acc) });

const runs = [
  run('b', '2026-11-01T00:00:00Z', { summary: withAccuracy(0.8, 0.95), tags: ['x'] }),
  run('a', '2026-11-03T00:00:00Z', { summary: withAccuracy(0.9), tags: ['x', 'y'] }),
  run('c', '2026-11-02T00:00:00Z', { pinned: true }),
];

describe('run order and groups', () => {
  it('puts pinned runs first, then sorts by start time, name or the reported accuracy (not the best on the test pairs)', () => {
    assert.deepEqual(sortRuns(runs, 'started').map((r) => r.id), ['c', 'a', 'b']);
    assert.deepEqual(sortRuns(runs, 'name').map((r) => r.id), ['c', 'a', 'b']);
    assert.deepEqual(sortRuns(runs.map((r) => ({ ...r, pinned: false })), 'accuracy').map((r) => r.id), ['a', 'b', 'c']);
  });

  it('groups by tag (a run in each of its tags) and by sweep, the rest last', () => {
    const byTag = groupRuns(sortRuns(runs, 'started'), 'tag', () => undefined);
    assert.deepEqual(byTag.map((g) => [g.label, g.runs.map((r) => r.id)]), [['#x', ['a', 'b']], ['#y', ['a']], ['Untagged', ['c']]]);
    const bySweep = groupRuns(runs, 'sweep', (id) => (id === 'b' ? { id: 's1', name: 'alpha sweep' } : undefined));
    assert.deepEqual(bySweep.map((g) => [g.label, g.runs.length]), [['alpha sweep', 1], ['Not in a sweep', 2]]);
  });

  it('keeps annotations small and tidy', () => {
    assert.deepEqual(cleanAnnotations({ tags: [' paper ', 'paper', 'two words', ''], note: 'n', name: '  x  ' }), { name: 'x', tags: ['paper', 'two-words'], note: 'n' });
    assert.equal(cleanAnnotations({ tags: Array.from({ length: 50 }, (_, i) => `t${i}`) }).tags?.length, 20);
  });
});
