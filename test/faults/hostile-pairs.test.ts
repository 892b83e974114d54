// Fault: a committed pairs file (or dataset link) that reaches outside the
// folders the user chose: "../..", absolute paths, names with a path, links
// leading out. The run stops before reading any image, naming the lines and
// paths; the images it was allowed to use are untouched. `eval` of a saved run
// on such a pairs file is refused the same way.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../../src/core/run-store';
import { resolveConfig, type RunConfig } from '../../src/shared/config';
import type { EventBody, FinishedEvent } from '../../src/shared/events';
import { loadPairsFile } from '../../src/trainer/data/pairs-file';
import { trainInFolder } from '../../src/trainer/session';
import { train } from '../../src/trainer/train/run';
import { evaluateCheckpoint } from '../../src/trainer/verify/evaluate';
import { writeFolder } from './helpers';

function config(dataset: Record<string, unknown>): RunConfig {
  const r = resolveConfig({ imageSize: 16, width: 4, embeddingSize: 8, epochs: 1, dataset });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function failure(cfg: RunConfig, out: string): Promise<FinishedEvent> {
  const events: EventBody[] = [];
  assert.equal(await train({ config: cfg, outDir: out, emit: (e) => events.push(e), shouldStop: () => false }), 'failed');
  return events[events.length - 1] as FinishedEvent;
}

describe('fault: pairs and links reaching outside their folders', function () {
  let work: string;
  let faces: string;
  let lfw: string;
  let secret: string;
  let cache: string;

  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'l2sm-fault-pairs-'));
    cache = path.join(work, 'cache');
    process.env.L2SOFTMAX_CACHE_DIR = cache;
    faces = path.join(work, 'faces');
    writeFolder(faces, 6, 3);
    lfw = path.join(work, 'lfw');
    writeFolder(lfw, 4, 3);
    secret = path.join(work, 'private', 'secret.png');
    writeFolder(path.dirname(secret), 1, 1);
    writeFileSync(secret, 'someone else\'s file');
  });
  after(() => {
    delete process.env.L2SOFTMAX_CACHE_DIR;
    rmSync(work, { recursive: true, force: true });
  });

  it('a CSV naming ../.. and absolute paths: the run fails before decoding, naming each line', async () => {
    const pairs = path.join(lfw, 'pairs.csv');
    writeFileSync(pairs, [`id_000/img_1.png,../../${path.relative(path.dirname(lfw), secret)},1`, `id_000/img_1.png,id_001/img_1.png,0`, `${secret},id_002/img_2.png,0`].join('\n'));
    const finished = await failure(config({ path: faces, pairsFile: pairs, pairsImages: lfw }), mkdtempSync(path.join(work, 'run-')));
    assert.equal(finished.code, 'dataset');
    assert.match(finished.reason ?? '', /pairs\.csv: 2 image reference\(s\) lead outside the pairs images folder .*lfw: line 1: \.\.\/\.\.\/.*secret\.png; line 3: .*secret\.png\. .*l2softmax\.allowPairsOutsideFolder/);
    assert.ok(!existsSync(cache), 'nothing was decoded, not even the training images');
  });

  it('an LFW pairs.txt whose identity names are paths', async () => {
    const pairs = path.join(lfw, 'pairs.txt');
    writeFileSync(pairs, '1\t1\n../private\t1\t1\nid_000\t1\tid_001\t1\n');
    const finished = await failure(config({ path: faces, pairsFile: pairs, pairsImages: lfw }), mkdtempSync(path.join(work, 'run-')));
    assert.match(finished.reason ?? '', /line 2: \.\.\/private \(not a folder name\)/);
  });

  it('a link in the dataset or the pairs folder leading out', async function () {
    if (process.platform === 'win32') this.skip();
    symlinkSync(secret, path.join(lfw, 'id_003', 'img_4.png'));
    const pairs = path.join(lfw, 'linked.csv');
    writeFileSync(pairs, 'id_003/img_4.png,id_003/img_1.png,1\nid_000/img_1.png,id_001/img_1.png,0\n');
    const finished = await failure(config({ path: faces, pairsFile: pairs, pairsImages: lfw }), mkdtempSync(path.join(work, 'run-')));
    assert.match(finished.reason ?? '', /line 1: id_003\/img_4\.png \(a link to .*secret\.png\)/);
    symlinkSync(path.dirname(secret), path.join(faces, 'zz_private'));
    const linked = await failure(config({ path: faces }), mkdtempSync(path.join(work, 'run-')));
    assert.match(linked.reason ?? '', /zz_private is a symbolic link to .*private, outside the dataset folder .*faces/);
    rmSync(path.join(faces, 'zz_private'));
  });

  it('eval of a saved run on a pairs file naming an image outside its folder: refused, naming the line', async () => {
    const store = new RunStore(path.join(work, 'runs'));
    const dir = store.dir((await store.create(config({ path: faces }), 'eval', { launcher: 'cli' })).id);
    assert.equal(await trainInFolder({ dir, launcher: 'cli', shouldStop: () => false }), 0);
    const pairs = path.join(lfw, 'eval.csv');
    writeFileSync(pairs, `id_000/img_1.png,${secret},1\nid_000/img_1.png,id_001/img_1.png,0\n`);
    const evaluation = evaluateCheckpoint({ runDir: dir, pairsFile: pairs, imagesFolder: lfw, flip: false, log: () => undefined });
    await assert.rejects(evaluation, /eval\.csv: 1 image reference\(s\) lead outside the pairs images folder .*line 1: .*secret\.png/);
  });

  it('allowed on purpose (allowPairsOutsideFolder): the same pairs resolve', async () => {
    const pairs = path.join(lfw, 'outside-ok.csv');
    writeFileSync(pairs, `../faces/id_000/img_1.png,../faces/id_000/img_2.png,1\nid_000/img_1.png,id_001/img_1.png,0\n`);
    await assert.rejects(loadPairsFile(pairs, lfw, faces), /lead outside/);
    const resolved = await loadPairsFile(pairs, lfw, faces, { allowOutside: true });
    assert.equal(resolved.files[0], path.join(faces, 'id_000', 'img_1.png'));
  });
});
