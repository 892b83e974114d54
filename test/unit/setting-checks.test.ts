import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { datasetPathProblem, scaleBoundFor, settingProblem, type CheckContext } from '../../src/core/setting-checks';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { settingSpec, settingTooltip, tooltipDescription } from '../../src/core/settings';

describe('setting checks', () => {
  const paths: Record<string, 'file' | 'folder'> = { '/data/faces': 'folder', '/data/pairs.txt': 'file' };
  const ctx = (over: Partial<CheckContext> = {}): CheckContext => ({ loss: 'l2-softmax', classes: 300, pathKind: (p) => paths[p], ...over });
  const spec = (key: string) => settingSpec(key)!;

  it('marks a dataset folder that does not exist, or is a file', () => {
    assert.deepEqual(settingProblem(spec('datasetFolder'), '/nope', ctx()), { severity: 'error', message: '/nope does not exist' });
    assert.deepEqual(settingProblem(spec('datasetFolder'), '/data/pairs.txt', ctx()), { severity: 'error', message: '/data/pairs.txt is a file, not a folder' });
    assert.equal(settingProblem(spec('datasetFolder'), '/data/faces', ctx()), undefined);
    assert.equal(settingProblem(spec('datasetFolder'), '', ctx()), undefined);
    assert.deepEqual(settingProblem(spec('pairsFile'), '/data/faces', ctx()), { severity: 'error', message: '/data/faces is a folder, not a file' });
  });

  it('finds the first dataset path of a run config that cannot be read, relative to a base folder', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'l2sm-paths-'));
    try {
      mkdirSync(path.join(base, 'faces'));
      writeFileSync(path.join(base, 'pairs.txt'), '1 1\n');
      const config = (dataset: Partial<typeof DEFAULT_CONFIG.dataset>) => ({ ...DEFAULT_CONFIG, dataset: { ...DEFAULT_CONFIG.dataset, ...dataset } });
      assert.equal(datasetPathProblem(config({ path: 'faces', pairsFile: 'pairs.txt' }), base), undefined);
      assert.equal(datasetPathProblem(DEFAULT_CONFIG, base), undefined, 'the synthetic faces have no path');
      const bad = datasetPathProblem(config({ path: 'faces', pairsFile: 'faces' }), base);
      assert.deepEqual([bad?.spec.key, bad?.problem.message], ['pairsFile', 'faces is a folder, not a file']);
      assert.equal(datasetPathProblem(config({ pairsImages: 'gone' }), base)?.spec.key, 'pairsImagesFolder');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('marks a value its rule refuses', () => {
    assert.equal(settingProblem(spec('learningRate'), -1, ctx())?.severity, 'error');
    assert.match(settingProblem(spec('maxConcurrentRuns'), 'two', ctx())?.message ?? '', /finite number/);
  });

  it('warns about a scale below its bound for the dataset, for the head that uses it', () => {
    const low = scaleBoundFor('l2-softmax', 300)!.low;
    assert.ok(Math.abs(low - Math.log((0.9 * 298) / 0.1)) < 1e-12);
    const warning = settingProblem(spec('alpha'), 4, ctx());
    assert.equal(warning?.severity, 'warning');
    assert.match(warning?.message ?? '', /alpha = 4 is below alpha_low = 7\.89 for 300 classes/);
    assert.equal(settingProblem(spec('alpha'), 16, ctx()), undefined);
    assert.equal(settingProblem(spec('alpha'), 4, ctx({ loss: 'softmax' })), undefined);
    assert.equal(settingProblem(spec('alpha'), 4, ctx({ classes: undefined })), undefined);
    assert.match(settingProblem(spec('scale'), 2, ctx({ loss: 'cosface' }))?.message ?? '', /s = 2 is below s_low/);
  });

  it('keeps <identity>/<image> visible in the tooltip instead of dropping it as HTML', () => {
    assert.equal(tooltipDescription('root (`root/<identity>/<image>`), `x`'), 'root (root/&lt;identity&gt;/&lt;image&gt;), `x`');
    assert.match(settingTooltip(spec('datasetFolder'), ''), /root\/&lt;identity&gt;\/&lt;image&gt;/);
  });
});
