import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fingerprintDataset } from '../../src/core/fingerprint';
import { gitStateFromCli, isDirty, porcelainPaths } from '../../src/core/provenance';
import { DEFAULT_CONFIG, type RunConfig } from '../../src/shared/config';
import { provenanceFacts } from '../../src/shared/run';

const folderConfig = (root: string, pairs = ''): RunConfig => ({ ...DEFAULT_CONFIG, dataset: { ...DEFAULT_CONFIG.dataset, path: root, pairsFile: pairs } });

describe('provenance', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'l2sm-prov-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function faces(root: string): void {
    for (const id of ['Bob', 'Alice']) {
      mkdirSync(path.join(root, id), { recursive: true });
      for (const n of [1, 2]) {
        const file = path.join(root, id, `${id}_000${n}.png`);
        writeFileSync(file, `${id}${n}`);
        utimesSync(file, 1_700_000_000, 1_700_000_000);
      }
    }
  }

  it('fingerprints a dataset stably: the same files give the same hash, a changed file another', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    faces(a);
    faces(b);
    writeFileSync(path.join(dir, 'pairs.txt'), '1 1\nAlice 1 2\n');
    const fa = await fingerprintDataset(folderConfig(a, path.join(dir, 'pairs.txt')));
    const again = await fingerprintDataset(folderConfig(a, path.join(dir, 'pairs.txt')));
    assert.deepEqual(again, fa);
    assert.equal(fa.files, 4);
    assert.equal(fa.bytes, 4 * 4 + 4 * 2 - 4);
    assert.equal((await fingerprintDataset(folderConfig(b))).hash, fa.hash, 'the listing hash depends on the folder\'s place');
    writeFileSync(path.join(a, 'Bob', 'Bob_0001.png'), 'changed');
    utimesSync(path.join(a, 'Bob', 'Bob_0001.png'), 1_700_000_000, 1_700_000_000);
    assert.notEqual((await fingerprintDataset(folderConfig(a))).hash, fa.hash);
    const synthetic = await fingerprintDataset(DEFAULT_CONFIG);
    assert.deepEqual(await fingerprintDataset(DEFAULT_CONFIG), synthetic);
    assert.notEqual((await fingerprintDataset({ ...DEFAULT_CONFIG, dataset: { ...DEFAULT_CONFIG.dataset, synthetic: { ...DEFAULT_CONFIG.dataset.synthetic, identities: 301 } } })).hash, synthetic.hash);
  });

  it('reads the commit and whether the code is dirty, not counting the runs folder', async () => {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    assert.equal(await gitStateFromCli(dir), undefined, 'no repository, no git state');
    git('init', '-q', '-b', 'main');
    writeFileSync(path.join(dir, 'train.py'), 'x');
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    const head = git('rev-parse', 'HEAD').trim();
    const runs = path.join(dir, '.l2softmax', 'runs');
    mkdirSync(path.join(runs, 'r1'), { recursive: true });
    writeFileSync(path.join(runs, 'r1', 'run.json'), '{}');
    assert.deepEqual(await gitStateFromCli(dir, [runs]), { commit: head, dirty: false, branch: 'main' });
    writeFileSync(path.join(dir, 'train.py'), 'y');
    assert.equal((await gitStateFromCli(dir, [runs]))?.dirty, true);
    git('checkout', '-q', 'train.py');
    // A git whose status fails (as a timeout in a huge untracked tree does): the code cannot be called clean.
    const bin = path.join(dir, '.fake-bin');
    mkdirSync(bin);
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\n[ "$1" = status ] && exit 128\nexec ${real} "$@"\n`, { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${bin}${path.delimiter}${saved}`;
    try {
      assert.deepEqual(await gitStateFromCli(dir, [runs, bin]), { commit: head, dirty: true, branch: 'main' });
    } finally {
      process.env.PATH = saved;
    }
    assert.equal((await gitStateFromCli(dir, [runs, bin]))?.dirty, false);
  });

  it('parses git status, renames included, and ignores changes under the runs folder', () => {
    assert.deepEqual(porcelainPaths(' M a.ts\0R  new.ts\0old.ts\0?? dir/x\0'), ['a.ts', 'new.ts', 'dir/x']);
    assert.equal(isDirty(['.l2softmax/runs/r1/run.json'], '/repo', ['/repo/.l2softmax/runs']), false);
    assert.equal(isDirty(['src/a.ts', '.l2softmax/runs/r1/run.json'], '/repo', ['/repo/.l2softmax/runs']), true);
  });

  it('lists what Compare Runs shows of a run\'s provenance', () => {
    const facts = provenanceFacts({
      provenance: { git: { commit: '0123456789abcdef0123', dirty: true, branch: 'main' }, createdBy: 'L2-Softmax Lab 0.1.0 (extension)', node: 'v20.20.2' },
      trainerVersion: '0.1.0',
      fingerprint: { files: 1200, bytes: 5e6, hash: 'abcd', pairs: 'ef01' },
    });
    assert.deepEqual(facts, [
      ['git commit', '0123456789ab (dirty) on main'],
      ['dataset', '1,200 files, 5.0 MB, listing abcd'],
      ['pairs file', 'ef01'],
      ['created by', 'L2-Softmax Lab 0.1.0 (extension)'],
      ['trainer', '0.1.0'],
      ['Node.js', 'v20.20.2'],
    ]);
  });
});
