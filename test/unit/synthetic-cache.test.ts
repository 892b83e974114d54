import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG, type RunConfig } from '../../src/shared/config';
import { renderSyntheticPixels } from '../../src/trainer/data/synthetic';
import { cachedSyntheticPixels, syntheticCacheDir } from '../../src/trainer/data/synthetic-cache';

describe('synthetic face cache', () => {
  const config: RunConfig = { ...DEFAULT_CONFIG, imageSize: 8, dataset: { ...DEFAULT_CONFIG.dataset, synthetic: { ...DEFAULT_CONFIG.dataset.synthetic, identities: 4, imagesPerIdentity: 3, verifyIdentities: 3, verifyImagesPerIdentity: 2 } } };
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (code: string) => void warnings.push(code) };
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'l2sm-synth-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('renders once, then gives back the same pixels bit for bit', async () => {
    let renders = 0;
    const render = () => (renders++, renderSyntheticPixels(config));
    const first = await cachedSyntheticPixels(config, root, log, render);
    const second = await cachedSyntheticPixels(config, root, log, render);
    assert.equal(renders, 1);
    assert.deepEqual([first.hit, second.hit], [false, true]);
    assert.deepEqual(Array.from(second.pixels.train), Array.from(first.pixels.train));
    assert.deepEqual(Array.from(second.pixels.verify), Array.from(first.pixels.verify));
  });

  it('keys on every parameter of the faces: another seed renders again', async () => {
    let renders = 0;
    const render = (c: RunConfig) => () => (renders++, renderSyntheticPixels(c));
    await cachedSyntheticPixels(config, root, log, render(config));
    await cachedSyntheticPixels({ ...config, seed: 7 }, root, log, render({ ...config, seed: 7 }));
    assert.equal(renders, 2);
    assert.notEqual(syntheticCacheDir(root, config), syntheticCacheDir(root, { ...config, seed: 7 }));
  });

  it('renders again when the cached pixels are damaged', async () => {
    let renders = 0;
    const render = () => (renders++, renderSyntheticPixels(config));
    await cachedSyntheticPixels(config, root, log, render);
    const dir = syntheticCacheDir(root, config);
    writeFileSync(path.join(dir, 'faces.bin'), Buffer.alloc(64));
    const again = await cachedSyntheticPixels(config, root, log, render);
    assert.equal(again.hit, false);
    assert.equal(renders, 2);
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')));
  });
});
