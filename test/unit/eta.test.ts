import { strict as assert } from 'node:assert';
import { EtaEstimator } from '../../src/shared/eta';

describe('ETA estimator', () => {
  it('rides out a slow step instead of jumping with it', () => {
    const eta = new EtaEstimator({ batchSize: 64, verifyImages: 0 });
    let t = 0;
    for (let step = 1; step <= 600; step++) eta.step((t += 100), step);
    const steady = eta.seconds(1000, 0)!;
    assert.ok(Math.abs(steady - 100) < 1, `steady ${steady}`);
    eta.step((t += 2000), 601); // one 2 s hiccup (garbage collection, another process)
    const after = eta.seconds(999, 0)!;
    assert.ok(after < steady * 1.1, `one slow step moved the estimate from ${steady} to ${after}`);
  });

  it('does not count a verification pause as training time, and adds the measured verification per epoch left', () => {
    const eta = new EtaEstimator({ batchSize: 64, verifyImages: 6400 });
    let t = 0;
    for (let step = 1; step <= 50; step++) eta.step((t += 100), step);
    const guessed = eta.seconds(100, 1)! - eta.seconds(100, 0)!;
    assert.ok(guessed > 0, 'a verification is estimated before one is timed');
    eta.pause();
    t += 8000;
    eta.verified(8);
    eta.step((t += 100), 51);
    eta.step((t += 100), 52);
    assert.ok(Math.abs(eta.seconds(100, 0)! - 10) < 0.5, 'the pause changed the step time');
    assert.ok(Math.abs(eta.seconds(100, 2)! - 26) < 0.5);
  });

  it('knows nothing before two steps', () => {
    const eta = new EtaEstimator({ batchSize: 64, verifyImages: 0 });
    assert.equal(eta.seconds(10, 1), undefined);
    eta.step(1000, 1);
    assert.equal(eta.seconds(10, 1), undefined);
  });
});
