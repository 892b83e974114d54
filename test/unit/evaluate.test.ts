import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { evalMain } from '../../src/cli/eval';
import { RunStore } from '../../src/core/run-store';
import type { RunConfig } from '../../src/shared/config';
import { snapshotFromEvents } from '../../src/shared/dashboard';
import { parseEventLine, type EpochEvent, type EvaluationEvent, type TrainerEvent } from '../../src/shared/events';
import { RUN_FILES } from '../../src/shared/run';
import { writeFaceFolder, writePairsTxt } from '../../src/trainer/data/write-face-folder';
import { trainInFolder } from '../../src/trainer/session';
import { OWN_PAIRS } from '../../src/trainer/verify/evaluate';
import { runCli } from '../fixtures/cli';
import { tinyConfig } from '../fixtures/trainer';

/** Trains `config` to the end in a new run folder under `root`, as the CLI does. */
async function trainedRun(root: string, config: RunConfig): Promise<string> {
  const store = new RunStore(root);
  const dir = store.dir((await store.create(config, 'eval test', { launcher: 'cli' })).id);
  assert.equal(await trainInFolder({ dir, launcher: 'cli', shouldStop: () => false }), 0);
  return dir;
}

function events(dir: string): TrainerEvent[] {
  return readFileSync(path.join(dir, RUN_FILES.events), 'utf8').split('\n').map((l) => parseEventLine(l)).filter((e): e is TrainerEvent => !!e);
}

const evalCli = (args: string[]) => runCli(evalMain, args);

describe('evaluating a saved run (eval)', () => {
  let root: string;
  before(() => (root = mkdtempSync(path.join(tmpdir(), 'l2sm-eval-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("on the run's own pairs reproduces its last epoch's verification exactly, and the run keeps it as an evaluation", async () => {
    const dir = await trainedRun(path.join(root, 'synthetic'), tinyConfig({ loss: 'cosface', scale: 8, cosfaceMargin: 0.2, epochs: 2, workers: 1 }));
    const { code, out } = await evalCli(['--run', dir, '--json']);
    assert.equal(code, 0);
    const printed = JSON.parse(out) as EvaluationEvent;
    const all = events(dir);
    const last = all.filter((e): e is EpochEvent => e.type === 'epoch').pop() as EpochEvent;
    const stored = all[all.length - 1] as EvaluationEvent;
    assert.equal(stored.type, 'evaluation');
    assert.deepEqual(stored, printed);
    assert.deepEqual([stored.checkpoint.name, stored.checkpoint.epoch, stored.pairsSource, stored.flip], ['epoch-002', 2, OWN_PAIRS, false]);
    assert.deepEqual(stored.verification, last.verification);
    const snap = snapshotFromEvents({ id: 'x', name: 'x', status: 'completed', config: tinyConfig(), createdAt: '' }, all);
    assert.deepEqual(snap.evaluations, [stored]);
  });

  it('on a pairs file: the same pairs the run verified on give the same numbers; --flip adds mirrored images', async () => {
    const faces = path.join(root, 'faces');
    const lfw = path.join(root, 'lfw');
    await writeFaceFolder(faces, { identities: 8, images: 8, size: 16, seed: 3 });
    const held = await writeFaceFolder(lfw, { identities: 8, images: 4, size: 16, seed: 4, name: (i) => `Held_${i + 1}` });
    const pairs = await writePairsTxt(lfw, held, 6, 1);
    const dir = await trainedRun(path.join(root, 'folder'), tinyConfig({ epochs: 1, workers: 1, dataset: { path: faces, pairsFile: pairs } }));
    const last = events(dir).filter((e): e is EpochEvent => e.type === 'epoch').pop() as EpochEvent;
    const plain = await evalCli(['--run', dir, '--pairs', pairs, '--json']);
    assert.equal(plain.code, 0, plain.err);
    const evaluation = JSON.parse(plain.out) as EvaluationEvent;
    assert.deepEqual([evaluation.pairsSource, evaluation.imagesFolder, evaluation.images], [pairs, lfw, 32]);
    assert.deepEqual(evaluation.verification, last.verification);
    const flipped = await evalCli(['--run', dir, '--pairs', pairs, '--images', lfw, '--flip']);
    assert.equal(flipped.code, 0, flipped.err);
    assert.match(flipped.out, /on .*pairs\.txt, with flip: 120 pairs over 32 images/);
    const stored = events(dir).filter((e): e is EvaluationEvent => e.type === 'evaluation');
    assert.deepEqual(stored.map((e) => e.flip), [false, true]);
  });

  it('takes pairs naming images outside their folder with --allow-pairs-outside-folder, the flag its refusal names', async () => {
    const dir = await trainedRun(path.join(root, 'outside'), tinyConfig({ epochs: 1, workers: 1 }));
    const faces = path.join(root, 'outside-faces');
    const held = await writeFaceFolder(faces, { identities: 4, images: 4, size: 16, seed: 5, name: (i) => `Far_${i + 1}` });
    const files = held.map((id) => readdirSync(path.join(faces, id.name)).sort().map((f) => path.join(faces, id.name, f)));
    const rows: string[] = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) rows.push(`${files[i][j]},${files[i][j + 1]},1`, `${files[i][j]},${files[(i + 1) % 4][j]},0`);
    mkdirSync(path.join(root, 'elsewhere'));
    const pairs = path.join(root, 'elsewhere', 'pairs.csv');
    writeFileSync(pairs, rows.join('\n') + '\n');
    const refused = await evalCli(['--run', dir, '--pairs', pairs]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /lead outside the pairs images folder.*--allow-pairs-outside-folder/);
    const allowed = await evalCli(['--run', dir, '--pairs', pairs, '--allow-pairs-outside-folder', '--json']);
    assert.equal(allowed.code, 0, allowed.err);
    assert.equal((JSON.parse(allowed.out) as EvaluationEvent).verification.pairs, 24);
    assert.equal((await evalCli(['--run', dir, '--allow-pairs-outside-folder'])).code, 2, 'it applies to --pairs');
  });

  it('refuses a run a trainer owns, a folder that is not a run, and bad arguments', async () => {
    const store = new RunStore(path.join(root, 'busy'));
    const run = await store.create(tinyConfig(), 'busy', { launcher: 'cli' });
    writeFileSync(path.join(store.dir(run.id), RUN_FILES.heartbeat), JSON.stringify({ time: Date.now(), host: hostname(), pid: process.pid }));
    const busy = await evalCli(['--run', store.dir(run.id)]);
    assert.deepEqual([busy.code, /is running: evaluate it once its trainer has ended/.test(busy.err)], [1, true]);
    const none = await evalCli(['--run', root]);
    assert.deepEqual([none.code, /is not a run folder/.test(none.err)], [1, true]);
    assert.equal((await evalCli([])).code, 2);
    assert.equal((await evalCli(['--run', root, '--images', root])).code, 2);
  });
});
