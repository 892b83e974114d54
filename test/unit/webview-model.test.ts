import { strict as assert } from 'node:assert';
import { DEFAULT_CONFIG, type RunConfig } from '../../src/shared/config';
import { emptySeries, type RunSnapshot } from '../../src/shared/dashboard';
import { FAR_TARGETS, type EvaluationEvent, type Verification } from '../../src/shared/events';
import { Ema, configDiff, distinctColors, formatDuration, paperLatex, paperMarkdown, paperRows, smooth } from '../../webview/model';

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

describe('the comparison table in the form papers use', () => {
  const verification = (accuracy: number): Verification => ({
    pairs: 600,
    accuracy,
    accuracyStd: 0.0123,
    threshold: 0.3,
    auc: 0.98765,
    eer: 0.0456,
    tarAtFar: FAR_TARGETS.map((far) => ({ far, tar: far === 1e-3 ? 0.5 : far === 1e-2 ? 0.75 : 0.9, threshold: 0.5 })),
    roc: [],
  });
  const run = (name: string, config: Partial<RunConfig>, accuracies: number[], evaluations: Partial<EvaluationEvent>[] = []): RunSnapshot => ({
    id: name,
    name,
    status: 'completed',
    config: { ...DEFAULT_CONFIG, ...config },
    createdAt: '',
    steps: emptySeries(),
    warnings: [],
    epochs: accuracies.map((a, i) => ({ v: 1, time: 0, type: 'epoch', epoch: i + 1, epochs: accuracies.length, trainLoss: 1, trainAccuracy: 0.5, alpha: null, featureNorm: { mean: 1, min: 1, max: 1 }, verification: verification(a), seconds: 1, imagesPerSec: 1 })),
    evaluations: evaluations.map((e) => ({ v: 1, time: 0, type: 'evaluation', checkpoint: { name: 'epoch-002', epoch: 2, step: 10 }, pairsSource: '/data/lfw/pairs.txt', flip: false, verification: verification(0.95), images: 100, seconds: 1, ...e })),
  });
  const runs = [
    run('arc', { loss: 'arcface', scale: 16 }, [0.9, 0.93]),
    run('l2', { loss: 'l2-softmax', alpha: 16, alphaTrainable: true }, [0.91, 0.92], [{ flip: true }]),
    run('soft', { loss: 'softmax' }, [0.88, 0.8]),
    run('cos', { loss: 'cosface', scale: 16 }, [0.94]),
  ];

  it('groups runs by head (baseline first), reports the final epoch and every evaluation', () => {
    const rows = paperRows(runs);
    assert.deepEqual(rows.map((r) => [r.head, r.hyperparameters, r.run, r.source, r.accuracy]), [
      ['Softmax', '', 'soft', 'epoch 2', 0.8],
      ['L2-softmax', 'α=16↗', 'l2', 'epoch 2', 0.92],
      ['L2-softmax', 'α=16↗', 'l2', 'eval: pairs.txt (flip)', 0.95],
      ['CosFace', 's=16, m=0.35', 'cos', 'epoch 1', 0.94],
      ['ArcFace', 's=16, m=0.5', 'arc', 'epoch 2', 0.93],
    ]);
  });

  it('copies as Markdown and as LaTeX (booktabs, escaped, a rule between heads)', () => {
    const rows = paperRows(runs.slice(1, 3));
    assert.equal(
      paperMarkdown(rows),
      [
        '| Head | Hyperparameters | Run | Source | 10-fold accuracy (%) | TAR@FAR=1e-3 (%) | TAR@FAR=1e-2 (%) | AUC | EER (%) |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        '| Softmax | – | soft | epoch 2 | 80.00 ± 1.23 | 50.00 | 75.00 | 0.9877 | 4.56 |',
        '| L2-softmax | α=16↗ | l2 | epoch 2 | 92.00 ± 1.23 | 50.00 | 75.00 | 0.9877 | 4.56 |',
        '| L2-softmax | α=16↗ | l2 | eval: pairs.txt (flip) | 95.00 ± 1.23 | 50.00 | 75.00 | 0.9877 | 4.56 |',
        '',
      ].join('\n'),
    );
    const latex = paperLatex(rows).split('\n');
    assert.equal(latex[0], '\\begin{tabular}{llllrrrrr}');
    assert.equal(latex[2], 'Head & Hyperparameters & Run & Source & 10-fold accuracy (\\%) & TAR@FAR=1e-3 (\\%) & TAR@FAR=1e-2 (\\%) & AUC & EER (\\%) \\\\');
    assert.equal(latex[4], 'Softmax & – & soft & epoch 2 & $80.00 \\pm 1.23$ & 50.00 & 75.00 & 0.9877 & 4.56 \\\\');
    assert.equal(latex[5], '\\midrule');
    assert.equal(latex[6], 'L2-softmax & $\\alpha$=16 (learned) & l2 & epoch 2 & $92.00 \\pm 1.23$ & 50.00 & 75.00 & 0.9877 & 4.56 \\\\');
    assert.deepEqual(latex.slice(-3), ['\\bottomrule', '\\end{tabular}', '']);
  });
});
