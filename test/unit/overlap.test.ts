import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveConfig, type RunConfig } from '../../src/shared/config';
import { PROTOCOL_OVERLAP_WARNING, type EventBody, type FinishedEvent, type StartedEvent } from '../../src/shared/events';
import { protocolText } from '../../src/shared/format';
import { folderDataset } from '../../src/trainer/data/folder-dataset';
import { syntheticFacts } from '../../src/trainer/data/image-facts';
import { loadDataset } from '../../src/trainer/data/load';
import { findOverlap } from '../../src/trainer/data/overlap';
import { writeFaceFolder, writePairsTxt } from '../../src/trainer/data/write-face-folder';
import type { TrainerLog } from '../../src/trainer/errors';
import { train } from '../../src/trainer/train/run';
import { tinyConfig } from '../fixtures/trainer';

const quiet: TrainerLog = { info: () => undefined, warn: () => undefined };

function config(dataset: Record<string, unknown>, overrides: Record<string, unknown> = {}): RunConfig {
  const r = resolveConfig({ imageSize: 16, width: 4, embeddingSize: 16, epochs: 1, batchSize: 16, learningRate: 0.003, dataset, ...overrides });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

describe('protocol: training and verification must not overlap', function () {
  this.timeout(300000);
  let tmp: string;
  let faces: string;
  let clean: string;
  let leaky: string;

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'l2sm-overlap-'));
    process.env.L2SOFTMAX_CACHE_DIR = path.join(tmp, 'cache');
    faces = path.join(tmp, 'faces');
    await writeFaceFolder(faces, { identities: 8, images: 6, size: 20, seed: 3 });
    // Verification identities of their own: no overlap.
    const held = await writeFaceFolder(path.join(tmp, 'held'), { identities: 6, images: 4, size: 20, seed: 9, name: (i) => `Held_${i + 1}` });
    clean = await writePairsTxt(path.join(tmp, 'held'), held, 4, 1);
    // A pairs folder with a training identity under its own name, and a training image copied under another name.
    const lfw = path.join(tmp, 'lfw');
    mkdirSync(path.join(lfw, 'Person_00002'), { recursive: true });
    mkdirSync(path.join(lfw, 'Stranger'), { recursive: true });
    copyFileSync(path.join(faces, 'Person_00002', 'Person_00002_0001.png'), path.join(lfw, 'Person_00002', 'Person_00002_0001.png'));
    copyFileSync(path.join(faces, 'Person_00002', 'Person_00002_0002.png'), path.join(lfw, 'Person_00002', 'Person_00002_0002.png'));
    copyFileSync(path.join(faces, 'Person_00005', 'Person_00005_0003.png'), path.join(lfw, 'Stranger', 'renamed.png'));
    copyFileSync(path.join(tmp, 'held', 'Held_1', 'Held_1_0001.png'), path.join(lfw, 'Stranger', 'own.png'));
    leaky = path.join(lfw, 'pairs.csv');
    writeFileSync(leaky, ['path1,path2,same', 'Person_00002/Person_00002_0001.png,Person_00002/Person_00002_0002.png,1', 'Stranger/renamed.png,Stranger/own.png,1', 'Person_00002/Person_00002_0001.png,Stranger/own.png,0', 'Stranger/renamed.png,Person_00002/Person_00002_0002.png,0'].join('\n'));
  });
  after(() => {
    delete process.env.L2SOFTMAX_CACHE_DIR;
    rmSync(tmp, { recursive: true, force: true });
  });

  it('finds a shared identity by name and a shared image by content under another name', async () => {
    const data = await folderDataset(config({ path: faces, pairsFile: leaky }), quiet);
    try {
      const o = await findOverlap(data);
      assert.equal(o?.by, 'file');
      assert.equal(o?.identities, 1);
      assert.equal(o?.images, 3);
      assert.ok(o?.examples.includes('identity Person_00002'));
      assert.ok(o?.examples.some((e) => e === 'Stranger/renamed.png = Person_00005/Person_00005_0003.png'), JSON.stringify(o?.examples));
      assert.match(protocolText(o) ?? '', /share 1 identities \(by name\) and 3 images \(by file content\)/);
    } finally {
      await data.close?.();
    }
  });

  it('finds nothing where verification keeps to identities and images of its own', async () => {
    const data = await folderDataset(config({ path: faces, pairsFile: clean }), quiet);
    try {
      assert.deepEqual(await findOverlap(data), { identities: 0, images: 0, by: 'file', examples: [] });
    } finally {
      await data.close?.();
    }
  });

  it('finds nothing in a folder without pairs, whose held-out identities are its own', async () => {
    const data = await folderDataset(config({ path: faces }), quiet);
    try {
      assert.deepEqual(await findOverlap(data), { identities: 0, images: 0, by: 'file', examples: [] });
    } finally {
      await data.close?.();
    }
  });

  it('the synthetic faces are disjoint by pixels too', async () => {
    const cfg = tinyConfig();
    const data = await loadDataset(cfg, quiet);
    data.facts = syntheticFacts(cfg);
    assert.deepEqual(await findOverlap(data), { identities: 0, images: 0, by: 'pixels', examples: [] });
  });

  async function run(cfg: RunConfig) {
    const events: EventBody[] = [];
    const out = mkdtempSync(path.join(tmp, 'run-'));
    const status = await train({ config: cfg, outDir: out, emit: (e) => events.push(e), shouldStop: () => false });
    return { status, events, finished: events[events.length - 1] as FinishedEvent, started: events.find((e) => e.type === 'started') as StartedEvent | undefined };
  }

  it('a run warns and says so in its header (the started event); with strict protocol it fails', async () => {
    const warned = await run(config({ path: faces, pairsFile: leaky }));
    assert.equal(warned.status, 'completed', warned.finished.reason);
    assert.ok(warned.events.some((e) => e.type === 'warning' && e.code === PROTOCOL_OVERLAP_WARNING && /share 1 identity by name and 3 image\(s\) by file content/.test(e.message)));
    assert.equal(warned.started?.dataset.overlap?.images, 3);
    const strict = await run(config({ path: faces, pairsFile: leaky, strictProtocol: true }));
    assert.equal(strict.status, 'failed');
    assert.equal(strict.finished.code, 'protocol');
    assert.match(strict.finished.reason ?? '', /strict protocol is on/);
  });
});
