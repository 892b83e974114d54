import { strict as assert } from 'node:assert';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { Ema, configDiff, distinctColors, formatDuration, smooth } from '../../webview/model';

describe('dashboard data helpers', () => {
  it('EMA smoothing is debiased: a constant series stays constant from the first point', () => {
    assert.deepEqual(smooth([1, 2, 3], [5, 5, 5], 0.9).map((p) => Number(p.y.toFixed(10))), [5, 5, 5]);
    const ema = new Ema(0.5);
    assert.equal(ema.next(2), 2);
    assert.ok(Math.abs(ema.next(4) - (0.25 * 2 + 0.5 * 4) / 0.75) < 1e-12);
    assert.deepEqual(smooth([1, 2], [1, 3], 0).map((p) => p.y), [1, 3]);
  });

  it('lists only the settings that differ between runs', () => {
    const diff = configDiff([DEFAULT_CONFIG, { ...DEFAULT_CONFIG, loss: 'softmax', alpha: 32 }, DEFAULT_CONFIG]);
    assert.deepEqual(diff, [
      { field: 'loss', values: ['l2-softmax', 'softmax', 'l2-softmax'] },
      { field: 'alpha', values: ['16', '32', '16'] },
    ]);
    assert.deepEqual(configDiff([DEFAULT_CONFIG, DEFAULT_CONFIG]), []);
  });

  it('gives any number of runs distinct colours', () => {
    const colors = distinctColors(40, ['#111111', '#222222']);
    assert.equal(new Set(colors).size, 40);
    assert.deepEqual(colors.slice(0, 2), ['#111111', '#222222']);
  });

  it('formats durations', () => {
    assert.equal(formatDuration(75), '1:15');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(undefined), '–');
  });
});
