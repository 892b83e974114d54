import { strict as assert } from 'node:assert';
import { denseFolds, foldLabels } from '../../src/shared/folds';

describe('verification folds', () => {
  it('numbers folds 0..k-1 in ascending order of their labels, small whole labels or any', () => {
    assert.deepEqual(foldLabels([7, 3, 7, 10]), [3, 7, 10]);
    assert.deepEqual(Array.from(denseFolds([7, 3, 7, 10])), [1, 0, 1, 2]);
    assert.deepEqual(foldLabels([-2, 1e9, 0.5, -2]), [-2, 0.5, 1e9]);
    assert.deepEqual(Array.from(denseFolds([-2, 1e9, 0.5, -2])), [0, 2, 1, 0]);
  });

  it('numbers a sample of pairs by the labels of all pairs, and refuses a label not among them', () => {
    assert.deepEqual(Array.from(denseFolds([3, 10, 10], [3, 5, 7, 10])), [0, 3, 3]);
    assert.deepEqual(Array.from(denseFolds([-1, 8], [-1, 4, 8])), [0, 2]);
    assert.throws(() => denseFolds([3, 6], [3, 5, 7]), /fold 6 is not one of the folds 3, 5, 7/);
    assert.throws(() => denseFolds([11], [3, 5, 7]), /fold 11/);
  });
});
