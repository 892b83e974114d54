import { strict as assert } from 'node:assert';
import { DEFAULT_CONFIG, alphaLowerBound, checkField, describeConfig, headParameters, resolveConfig, scaleLowerBound, upgradeConfig } from '../../src/shared/config';

function errorsOf(input: unknown): string[] {
  const r = resolveConfig(input);
  return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
}

describe('run config', () => {
  it('defaults are valid and an empty object resolves to them', () => {
    const r = resolveConfig({});
    assert.ok(r.ok);
    assert.deepEqual(r.ok && r.config, DEFAULT_CONFIG);
  });

  it('merges nested partial objects over the defaults', () => {
    const r = resolveConfig({ alpha: 32, dataset: { synthetic: { identities: 10 } } });
    assert.ok(r.ok);
    if (r.ok) {
      assert.equal(r.config.alpha, 32);
      assert.equal(r.config.dataset.synthetic.identities, 10);
      assert.equal(r.config.dataset.synthetic.imagesPerIdentity, DEFAULT_CONFIG.dataset.synthetic.imagesPerIdentity);
    }
  });

  const bad: [Record<string, unknown>, string][] = [
    [{ loss: 'sphereface' }, 'loss: must be one of "softmax", "l2-softmax", "normface", "cosface", "arcface", got "sphereface"'],
    [{ scale: 0 }, 'scale: must be greater than 0, got 0'],
    [{ arcfaceMargin: 2 }, 'arcfaceMargin: must be at most 1.5, got 2'],
    [{ weightDecay: -1e-4 }, 'weightDecay: must be at least 0, got -0.0001'],
    [{ lrSchedule: 'linear' }, 'lrSchedule: must be one of "constant", "step", "cosine", got "linear"'],
    [{ lrStepFactor: 0 }, 'lrStepFactor: must be greater than 0, got 0'],
    [{ alpha: 0 }, 'alpha: must be greater than 0, got 0'],
    [{ alpha: -3 }, 'alpha: must be greater than 0, got -3'],
    [{ alpha: 'big' }, 'alpha: must be a finite number, got "big"'],
    [{ alphaTrainable: 'yes' }, 'alphaTrainable: must be true or false, got "yes"'],
    [{ embeddingSize: 1.5 }, 'embeddingSize: must be a whole number, got 1.5'],
    [{ width: 0 }, 'width: must be at least 1, got 0'],
    [{ imageSize: 4 }, 'imageSize: must be at least 8, got 4'],
    [{ channels: 2 }, 'channels: must be one of 1, 3, got 2'],
    [{ epochs: 0 }, 'epochs: must be at least 1, got 0'],
    [{ batchSize: 2.5 }, 'batchSize: must be a whole number, got 2.5'],
    [{ learningRate: 0 }, 'learningRate: must be greater than 0, got 0'],
    [{ optimizer: 'rmsprop' }, 'optimizer: must be one of "adam", "sgd", got "rmsprop"'],
    [{ momentum: 1 }, 'momentum: must be at most 0.9999, got 1'],
    [{ seed: -1 }, 'seed: must be at least 0, got -1'],
    [{ device: 'tpu' }, 'device: must be one of "auto", "gpu", "webgpu", "cpu", got "tpu"'],
    [{ dataset: { path: 3 } }, 'dataset.path: must be a text value, got 3'],
    [{ dataset: { pairsFile: null } }, 'dataset.pairsFile: must be a text value, got null'],
    [{ dataset: { minImagesPerIdentity: 0 } }, 'dataset.minImagesPerIdentity: must be at least 1, got 0'],
    [{ dataset: { synthetic: { identities: 1 } } }, 'dataset.synthetic.identities: must be at least 2, got 1'],
    [{ dataset: { synthetic: { hardShare: 1.5 } } }, 'dataset.synthetic.hardShare: must be at most 1, got 1.5'],
    [{ dataset: 'faces' }, 'dataset: must be an object, got "faces"'],
    [{ alhpa: 16 }, 'alhpa: unknown setting'],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.deepEqual(errorsOf(input), [message]));
  }

  it('reports every bad field at once', () => {
    assert.equal(errorsOf({ alpha: 0, epochs: -1, loss: 'x' }).length, 3);
  });

  it('rejects a non-object config', () => {
    assert.deepEqual(errorsOf([1, 2]), ['(config): must be a JSON object']);
  });

  it('checkField validates a single setting', () => {
    assert.equal(checkField('alpha', 16), undefined);
    assert.match(checkField('alpha', Infinity) ?? '', /finite/);
  });

  it("alpha_low follows the paper: log(p (C - 2) / (1 - p))", () => {
    assert.ok(Math.abs(alphaLowerBound(10000, 0.9) - Math.log((0.9 * 9998) / 0.1)) < 1e-12);
    assert.ok(Math.abs(alphaLowerBound(10, 0.9) - Math.log(72)) < 1e-12); // 0.9 * 8 / 0.1 = 72
    assert.equal(alphaLowerBound(2), 0);
  });

  it('describes a run briefly', () => {
    assert.equal(describeConfig(DEFAULT_CONFIG), 'L2 α=16 · synthetic');
    assert.equal(describeConfig({ ...DEFAULT_CONFIG, loss: 'softmax', dataset: { ...DEFAULT_CONFIG.dataset, path: '/data/casia/' } }), 'Softmax · casia');
    assert.equal(describeConfig({ ...DEFAULT_CONFIG, loss: 'cosface' }), 'CosFace s=64 m=0.35 · synthetic');
  });

  it('writes each head\'s hyperparameters as papers do', () => {
    const heads = (['softmax', 'l2-softmax', 'normface', 'cosface', 'arcface'] as const).map((loss) => headParameters({ ...DEFAULT_CONFIG, loss, scaleTrainable: loss === 'normface' }));
    assert.deepEqual(heads, ['', 'α=16', 's=64↗', 's=64, m=0.35', 's=64, m=0.5']);
  });

  it('s_low follows CosFace eq. 6: (C - 1)/C log((C - 1) p / (1 - p))', () => {
    assert.ok(Math.abs(scaleLowerBound(300, 0.9) - (299 / 300) * Math.log((299 * 0.9) / 0.1)) < 1e-12);
    assert.ok(Math.abs(scaleLowerBound(10, 0.9) - 0.9 * Math.log(81)) < 1e-12); // 9 * 0.9 / 0.1 = 81
    assert.equal(scaleLowerBound(1), 0);
  });

  it('a config saved before weight decay and the scale learning rate existed resumes as it trained', () => {
    const { weightDecay, scaleLearningRate, ...old } = { ...DEFAULT_CONFIG, learningRate: 0.003 };
    assert.ok(weightDecay > 0 && scaleLearningRate > 0);
    const upgraded = upgradeConfig(old);
    assert.equal(upgraded.weightDecay, 0);
    assert.equal(upgraded.scaleLearningRate, 0.003);
    assert.deepEqual(upgradeConfig(DEFAULT_CONFIG), DEFAULT_CONFIG);
  });
});
