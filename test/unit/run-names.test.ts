import { strict as assert } from 'node:assert';
import { defaultRunName, rerunName, uniqueName } from '../../src/core/run-names';
import { DEFAULT_CONFIG } from '../../src/shared/config';

describe('run names', () => {
  const at = new Date(2026, 10, 30, 14, 5, 9);

  it('names a run after its head, data and start time', () => {
    assert.equal(defaultRunName(DEFAULT_CONFIG, at, []), 'L2 α=16 · synthetic · 14:05');
  });

  it('numbers a name that is taken, so three runs of the same minute read apart', () => {
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) taken.push(defaultRunName(DEFAULT_CONFIG, at, taken));
    assert.deepEqual(taken, ['L2 α=16 · synthetic · 14:05', 'L2 α=16 · synthetic · 14:05 (2)', 'L2 α=16 · synthetic · 14:05 (3)']);
    assert.equal(uniqueName('x', ['y']), 'x');
  });

  it('numbers reruns of a run', () => {
    assert.equal(rerunName('baseline', []), 'baseline (rerun)');
    assert.equal(rerunName('baseline (rerun)', ['baseline (rerun)']), 'baseline (rerun 2)');
    assert.equal(rerunName('baseline', ['baseline (rerun)', 'baseline (rerun 2)']), 'baseline (rerun 3)');
  });
});
