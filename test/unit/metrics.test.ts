import { strict as assert } from 'node:assert';
import { accuracyAt, auc, bestThreshold, descendingOrder, downsampleRoc, eer, kFoldAccuracy, rocCurve, tarAtFarOnRoc, verify } from '../../src/trainer/verify/metrics';
import { Rng } from '../../src/trainer/data/rng';
import { mismatchedNeeded, tarAtFar, tarText } from '../../src/shared/format';
import type { Verification } from '../../src/shared/events';
import * as reference from '../fixtures/metrics-reference';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('verification metrics', () => {
  describe('perfectly separable pairs', () => {
    const pairs = { scores: [0.9, 0.3, 0.8, 0.1], same: [true, false, true, false] };
    const roc = rocCurve(pairs);
    it('AUC 1, EER 0, TAR 1 at every FAR', () => {
      close(auc(roc), 1);
      close(eer(roc), 0);
      for (const far of [1e-4, 1e-3, 1e-2, 1e-1]) close(tarAtFarOnRoc(roc, far).tar, 1);
    });
    it('best threshold lies halfway between the classes with accuracy 1', () => {
      const best = bestThreshold(pairs);
      close(best.threshold, 0.55);
      close(best.accuracy, 1);
    });
  });

  describe('ties between a matched and a mismatched pair', () => {
    // Sorted: 0.7 (P), 0.5 (P and N tied), 0.2 (N).
    const pairs = { scores: [0.5, 0.7, 0.5, 0.2], same: [true, true, false, false] };
    const roc = rocCurve(pairs);
    it('never splits a tie: ROC points (0,0) (0,.5) (.5,1) (1,1)', () => {
      assert.deepEqual(Array.from(roc.far), [0, 0, 0.5, 1]);
      assert.deepEqual(Array.from(roc.tar), [0, 0.5, 1, 1]);
    });
    it('AUC counts the tie half (Mann-Whitney 3.5/4)', () => close(auc(roc), 0.875));
    it('EER interpolates to 0.25', () => close(eer(roc), 0.25));
    it('TAR@FAR=0.1 is 0.5 at threshold 0.7', () => {
      const r = tarAtFarOnRoc(roc, 0.1);
      close(r.tar, 0.5);
      close(r.threshold, 0.7);
    });
    it('best threshold takes the strictest of equal accuracies', () => {
      const best = bestThreshold(pairs);
      close(best.accuracy, 0.75);
      close(best.threshold, 0.6);
    });
  });

  it('k-fold: each fold is scored with the threshold from the others (hand-checked)', () => {
    // Fold 0 separates at 0.5; fold 1 is reversed, so its best choice is "accept nothing".
    const pairs = { scores: [0.9, 0.1, 0.4, 0.6], same: [true, false, true, false] };
    const r = kFoldAccuracy(pairs, [0, 0, 1, 1]);
    assert.deepEqual(r.accuracies, [0.5, 0]);
    close(r.thresholds[0], 1.6);
    close(r.thresholds[1], 0.5);
    close(r.mean, 0.25);
    close(r.std, 0.25);
  });

  it('TAR@FAR keeps FAR <= target: with 1000 mismatched pairs, 1e-3 allows exactly one false accept', () => {
    const scores: number[] = [];
    const same: boolean[] = [];
    for (let i = 0; i < 1000; i++) {
      scores.push(i / 1000);
      same.push(false);
    }
    for (let i = 0; i < 10; i++) {
      scores.push(0.9975 - i * 0.001);
      same.push(true);
    }
    // Matched scores 0.9975, 0.9965, ..., 0.9885; mismatched 0.000 .. 0.999.
    // FAR <= 1e-3: at most one false accept, so the threshold stays above 0.998 and no matched pair passes
    // (the best matched score, 0.9975, would let 0.998 and 0.999 through: FAR 2e-3).
    const roc = rocCurve({ scores, same });
    close(tarAtFarOnRoc(roc, 1e-3).tar, 0);
    // FAR <= 1e-2: ten false accepts (0.990 .. 0.999) allow the threshold 0.9895, which keeps 9 of 10 matched pairs.
    close(tarAtFarOnRoc(roc, 1e-2).tar, 0.9);
    close(tarAtFarOnRoc(roc, 1e-2).threshold, 0.9895);
    close(tarAtFarOnRoc(roc, 1e-4).tar, 0);
  });

  it('rejects mismatched lengths, non-finite scores and one-class input', () => {
    assert.throws(() => rocCurve({ scores: [1, 2], same: [true] }), /differ in length/);
    assert.throws(() => rocCurve({ scores: [NaN, 1], same: [true, false] }), /not a finite number/);
    assert.throws(() => rocCurve({ scores: [1, 2], same: [true, true] }), /at least one matched and one mismatched/);
  });

  describe('a random case with ties, checked by brute force', () => {
    const rng = new Rng(11);
    const n = 400;
    const same = Array.from({ length: n }, () => rng.next() < 0.5);
    const scores = same.map((s) => Math.round((rng.normal() + (s ? 1 : 0)) * 20) / 20);
    const folds = Array.from({ length: n }, (_, i) => i % 10);
    const thresholds = [...new Set(scores)].sort((a, b) => a - b);
    const pos = scores.filter((_, i) => same[i]);
    const neg = scores.filter((_, i) => !same[i]);
    const rate = (list: number[], t: number) => list.filter((s) => s >= t).length / list.length;

    it('AUC equals the Mann-Whitney statistic', () => {
      let u = 0;
      for (const p of pos) for (const q of neg) u += p > q ? 1 : p === q ? 0.5 : 0;
      close(auc(rocCurve({ scores, same })), u / (pos.length * neg.length), 1e-12);
    });

    it('TAR@FAR equals the best TAR over every threshold with FAR <= target', () => {
      const roc = rocCurve({ scores, same });
      for (const far of [1e-3, 1e-2, 0.05, 0.1, 0.3]) {
        let best = 0;
        for (const t of thresholds) if (rate(neg, t) <= far) best = Math.max(best, rate(pos, t));
        close(tarAtFarOnRoc(roc, far).tar, best);
      }
    });

    it('best accuracy equals the best over every threshold', () => {
      let best = neg.length / n;
      for (const t of thresholds) best = Math.max(best, accuracyAt({ scores, same }, t));
      close(bestThreshold({ scores, same }).accuracy, best);
    });

    it('10-fold accuracy equals a brute-force threshold search per fold', () => {
      const r = kFoldAccuracy({ scores, same }, folds);
      for (let f = 0; f < 10; f++) {
        const keep = (i: number) => folds[i] !== f;
        let bestAcc = -1;
        for (const t of [Infinity, ...thresholds.slice().reverse()]) {
          const acc = accuracyAt({ scores, same }, t, keep);
          if (acc > bestAcc + 1e-12) bestAcc = acc;
        }
        // The chosen threshold is as good as the best on the nine training folds.
        close(accuracyAt({ scores, same }, r.thresholds[f], keep), bestAcc, 1e-12);
      }
    });

    it('EER is where FAR and FRR meet', () => {
      const roc = rocCurve({ scores, same });
      const e = eer(roc);
      let i = 0;
      while (roc.far[i] - (1 - roc.tar[i]) < 0) i++;
      assert.ok(e >= roc.far[i - 1] - 1e-12 && e <= roc.far[i] + 1e-12);
      assert.ok(e > 0 && e < 0.5);
    });

    it('verify() bundles them, with a downsampled ROC ascending in FAR', () => {
      const v = verify({ scores, same }, folds);
      assert.equal(v.pairs, n);
      assert.deepEqual(v.tarAtFar.map((t) => t.far), [1e-4, 1e-3, 1e-2, 1e-1]);
      for (let k = 1; k < v.roc.length; k++) {
        assert.ok(v.roc[k].far > v.roc[k - 1].far);
        assert.ok(v.roc[k].tar >= v.roc[k - 1].tar);
      }
      close(v.roc[v.roc.length - 1].far, 1);
      close(v.roc[v.roc.length - 1].tar, 1);
      assert.deepEqual(downsampleRoc(rocCurve({ scores, same }), 1).length, 6);
    });
  });

  describe('at scale: one sort for the ROC and every fold', () => {
    /** `n` pairs: scores rounded to `step` (0: all distinct), fold labels spread over 0..9 or given. */
    function pairsOf(n: number, seed: number, step: number, foldOf: (i: number, rng: Rng) => number) {
      const rng = new Rng(seed);
      const same = new Uint8Array(n);
      const scores = new Float64Array(n);
      const folds = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        same[i] = rng.next() < 0.4 ? 1 : 0;
        const s = rng.normal() * 0.25 + (same[i] ? 0.45 : 0);
        scores[i] = step ? Math.round(s / step) * step : s;
        folds[i] = foldOf(i, rng);
      }
      return { scores, same, folds };
    }

    it('sorts exactly like a comparison sort: negative zero, ties, values float32 cannot tell apart', () => {
      const scores = [0.5, -0, 0, 1 + 2 ** -40, 1, -1e-300, 1e-300, 0.5, 1 + 2 ** -41, -0.25, 1e300, 2e300, -2e300, -1e300];
      const expected = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
      assert.deepEqual(Array.from(descendingOrder(scores)), expected);
    });

    for (const { name, n, step, fold } of [
      { name: '1M pairs, distinct scores, folds 0..9', n: 1_000_000, step: 0, fold: (_: number, rng: Rng) => rng.int(10) },
      { name: '200k pairs, scores with ties (rounded to 1e-4), sparse fold labels', n: 200_000, step: 1e-4, fold: (_: number, rng: Rng) => 7 + 3 * rng.int(10) },
    ]) {
      it(`${name}: every number equals the slower reference`, () => {
        const { scores, same, folds } = pairsOf(n, 17, step, fold);
        const fast = verify({ scores, same }, folds);
        const slow = reference.verify({ scores, same }, folds);
        const { mismatched, foldThresholds, ...rest } = fast;
        assert.deepEqual(rest, slow);
        assert.equal(mismatched, same.length - same.reduce((a, b) => a + b, 0));
        assert.deepEqual(foldThresholds, reference.kFoldAccuracy({ scores, same }, folds).thresholds);
      });
    }

    it('k-fold thresholds match the reference where one fold holds a run of scores alone', () => {
      // Fold 3 owns the top scores and a block in the middle: its training sweep skips them.
      const { scores, same } = pairsOf(20_000, 5, 1e-3, () => 0);
      const folds = Int32Array.from(descendingOrder(scores), () => 0);
      const order = descendingOrder(scores);
      order.forEach((i, k) => (folds[i] = k < 500 || (k > 9000 && k < 9500) ? 3 : k % 10));
      const fast = kFoldAccuracy({ scores, same }, folds);
      assert.deepEqual(fast, reference.kFoldAccuracy({ scores, same }, folds));
    });
  });

  describe('TAR at a FAR the pairs cannot measure', () => {
    const v = (mismatched: number | undefined): Verification => ({
      pairs: 2000,
      mismatched,
      accuracy: 0.9,
      accuracyStd: 0.01,
      threshold: 0.3,
      auc: 0.95,
      eer: 0.1,
      tarAtFar: [1e-4, 1e-3, 1e-2, 1e-1].map((far) => ({ far, tar: 0.5, threshold: 0.6 })),
      roc: [],
    });

    it('is n/a below one false accept in the mismatched pairs (1/N), a number from 1/N on', () => {
      assert.equal(mismatchedNeeded(1e-4), 10_000);
      assert.equal(mismatchedNeeded(1e-3), 1000);
      assert.equal(tarText(v(1000), 1e-4), 'n/a (needs 10,000 mismatched pairs)');
      assert.equal(tarAtFar(v(1000), 1e-4), undefined);
      assert.equal(tarText(v(1000), 1e-3), '50.0%');
      assert.equal(tarText(v(999), 1e-3, 2), 'n/a (needs 1,000 mismatched pairs)');
      assert.equal(tarText(v(10_000), 1e-4), '50.0%');
    });

    it('keeps showing runs written before the count was recorded', () => assert.equal(tarText(v(undefined), 1e-4), '50.0%'));

    it('verify() records the mismatched count it is judged by', () => {
      const scores = Array.from({ length: 1100 }, (_, i) => i / 1100);
      const same = scores.map((_, i) => i >= 1000);
      const r = verify({ scores, same }, scores.map((_, i) => i % 10));
      assert.equal(r.mismatched, 1000);
      assert.match(tarText(r, 1e-4), /^n\/a/);
      assert.equal(tarText(r, 1e-3), '100.0%');
    });
  });
});
