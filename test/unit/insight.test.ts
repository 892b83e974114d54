import { strict as assert } from 'node:assert';
import { histogram, spaced } from '../../src/core/records';
import { parseWebviewMessage } from '../../src/shared/dashboard';
import { pairBucket, pearson, spearman, thirdsOf } from '../../src/shared/quality';
import { FAR_TARGETS } from '../../src/shared/events';
import { OPERATING_POINTS, bucketRows, correlationText, histogramPoints, operatingKey, topOf, verticalLine } from '../../webview/embedding-model';

describe('inside the embedding: messages, summaries and chart helpers', () => {
  it('accepts only well-formed insight and export requests from the page', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'insight', runId: 'r1', seq: 0, operating: { kind: 'tenfold' } }), { type: 'insight', runId: 'r1', seq: 0, operating: { kind: 'tenfold' } });
    assert.deepEqual(parseWebviewMessage({ type: 'insight', runId: 'r1', seq: 7, epoch: 3, operating: { kind: 'far', far: 1e-3 } }), { type: 'insight', runId: 'r1', seq: 7, epoch: 3, operating: { kind: 'far', far: 1e-3 } });
    assert.deepEqual(parseWebviewMessage({ type: 'exportRecords', runId: 'r1', format: 'npy' }), { type: 'exportRecords', runId: 'r1', format: 'npy' });
    assert.deepEqual(parseWebviewMessage({ type: 'exportRecords', runId: 'r1', epoch: 2, format: 'csv' }), { type: 'exportRecords', runId: 'r1', epoch: 2, format: 'csv' });
    for (const bad of [
      { type: 'insight', runId: '../x', seq: 1, operating: { kind: 'tenfold' } },
      { type: 'insight', runId: 'r1', seq: 1, operating: { kind: 'far', far: 2 } },
      { type: 'insight', runId: 'r1', seq: 1, operating: { kind: 'best' } },
      { type: 'insight', runId: 'r1', seq: 1, epoch: 1.5, operating: { kind: 'tenfold' } },
      { type: 'insight', runId: 'r1', seq: 1 },
      { type: 'insight', runId: 'r1', operating: { kind: 'tenfold' } },
      { type: 'insight', runId: 'r1', seq: -1, operating: { kind: 'tenfold' } },
      { type: 'insight', runId: 'r1', seq: '1', operating: { kind: 'tenfold' } },
      { type: 'exportRecords', runId: 'r1', format: 'xlsx' },
      { type: 'exportRecords', runId: 'r1', epoch: 0, format: 'csv' },
      { type: 'exportRecords', runId: 'r1', epoch: '2', format: 'csv' },
    ]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });

  it('thirds by rank, pair buckets by the thirds of both images', () => {
    assert.deepEqual(Array.from(thirdsOf([0.9, 0.1, 0.5, 0.2, 0.8, 0.4])), [2, 0, 1, 0, 2, 1]);
    // Half the images at the cap: the thirds stay a third each, ties ranked by index.
    assert.deepEqual(Array.from(thirdsOf([1, 0.2, 1, 0.5, 1, 0.3])), [1, 0, 2, 1, 2, 0]);
    assert.deepEqual(Array.from(thirdsOf([1, 1, 1, 1, 1, 1, 1])), [0, 0, 0, 1, 1, 2, 2]);
    assert.equal(pairBucket(2, 2), 0);
    assert.equal(pairBucket(0, 1), 1);
    assert.equal(pairBucket(2, 0), 1);
    assert.equal(pairBucket(0, 0), 2);
    assert.equal(pairBucket(1, 2), undefined);
  });

  it('correlations: Pearson on values, Spearman on ranks (ties share a rank)', () => {
    const x = [1, 2, 3, 4, 5];
    assert.ok(Math.abs(pearson(x, [2, 4, 6, 8, 10]) - 1) < 1e-12);
    assert.ok(Math.abs(spearman(x, [1, 4, 9, 16, 100]) - 1) < 1e-12);
    assert.ok(pearson(x, [1, 4, 9, 16, 100]) < 1);
    assert.ok(Number.isNaN(pearson(x, [3, 3, 3, 3, 3])));
    assert.equal(correlationText({ pearson: 0.4123, spearman: null }), 'r = 0.41, ρ = –');
  });

  it('histograms count every admitted value once (the top edge in the last bin) and draw as a stepped line of shares', () => {
    const h = histogram([0, 0.1, 0.5, 0.99, 1], 0, 1, 4, (i) => i !== 1);
    assert.deepEqual(h.counts, [1, 0, 1, 2]);
    assert.deepEqual(h.edges, [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(histogramPoints(h), [
      { x: 0, y: 0.25 },
      { x: 0.25, y: 0 },
      { x: 0.5, y: 0.25 },
      { x: 0.75, y: 0.5 },
      { x: 1, y: 0.5 },
    ]);
    assert.deepEqual(verticalLine(0.3, topOf(histogramPoints(h))), [
      { x: 0.3, y: 0 },
      { x: 0.3, y: 0.5 },
    ]);
  });

  it('samples points evenly, keeps small sets whole', () => {
    assert.deepEqual(spaced(3, 10), [0, 1, 2]);
    assert.deepEqual(spaced(10, 4), [0, 2, 5, 7]);
  });

  it('prints bucket rows and names operating points', () => {
    assert.deepEqual(bucketRows([{ bucket: 'both low', pairs: 20, matched: 8, accuracy: 0.55, tar: 0.25, far: null }]), [['both low', '20 (8 matched)', '55.0%', '25.0%', '–']]);
    assert.equal(operatingKey({ kind: 'far', far: 1e-3 }), 'far:0.001');
    assert.equal(operatingKey({ kind: 'tenfold' }), 'tenfold');
    assert.deepEqual(OPERATING_POINTS.map((o) => (o.value.kind === 'far' ? o.value.far : o.value.kind)), ['tenfold', ...[...FAR_TARGETS].reverse()]);
  });
});
