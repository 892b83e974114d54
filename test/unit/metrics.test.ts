import { strict as assert } from 'node:assert';
import { accuracyAt, auc, bestThreshold, downsampleRoc, eer, kFoldAccuracy, rocCurve, tarAtFarOnRoc, verify } from '../../src/trainer/verify/metrics';
import { Rng } from '../../src/trainer/data/rng';

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
});
