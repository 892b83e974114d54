// `node dist/cli.js export` (src/cli/export.ts): where it may write and what it says when a folder
// has no records to export.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { exportMain } from '../../src/cli/export';
import { exportRecords } from '../../src/core/records';
import { RunStore } from '../../src/core/run-store';
import type { RunRecord } from '../../src/shared/run';
import { trainInFolder } from '../../src/trainer/session';
import { runCli } from '../fixtures/cli';
import { tinyConfig } from '../fixtures/trainer';

const exportCli = (args: string[]) => runCli(exportMain, args);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('exporting a run\'s records (export)', () => {
  let root: string;
  let store: RunStore;
  let dir: string;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-export-'));
    store = new RunStore(path.join(root, 'runs'));
    dir = store.dir((await store.create(tinyConfig({ epochs: 1, workers: 1 }), 'export test', { launcher: 'cli' })).id);
    assert.equal(await trainInFolder({ dir, launcher: 'cli', shouldStop: () => false }), 0);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('refuses an --out that is the run folder or inside it, however it is written, and writes nothing there', async () => {
    const before = filesUnder(dir);
    symlinkSync(dir, path.join(root, 'link'));
    const relative = path.relative(process.cwd(), path.join(dir, 'records', '..', 'mine'));
    for (const [out, place] of [
      [dir, 'the run folder'],
      [path.join(dir, 'csv'), 'inside the run folder'],
      [relative, 'inside the run folder'],
      [path.join(root, 'link'), 'the run folder'],
      [path.join(root, 'link', 'new', 'csv'), 'inside the run folder'],
    ]) {
      const r = await exportCli(['--run', dir, '--out', out]);
      assert.equal(r.code, 2, `${out}: ${r.err}`);
      assert.ok(r.err.includes(`--out ${out} is ${place} ${dir}, which only its trainer writes`), r.err);
    }
    await assert.rejects(exportRecords(dir, path.join(root, 'link', 'x'), 'csv'), /is inside the run folder .* only its trainer writes/);
    assert.deepEqual(filesUnder(dir), before);
    const fine = await exportCli(['--run', dir, '--out', path.join(root, 'csv')]);
    assert.equal(fine.code, 0, fine.err);
    assert.ok(existsSync(path.join(root, 'csv', 'pairs.csv')));
  });

  it('says why a folder has no records: not a run, a run that ended or is still before its first verification, an old run', async () => {
    const none = await exportCli(['--run', path.join(root, 'nothing-here')]);
    assert.deepEqual([none.code, none.err.trim()], [1, `error: ${path.join(root, 'nothing-here')} is not a run folder (it has no readable run.json)`]);
    const summary = (epochs: number) => ({ epochs, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null });
    const said = async (name: string, over: Partial<RunRecord>) => {
      const run = await store.create(tinyConfig(), name);
      await store.save({ ...run, ...over });
      const r = await exportCli(['--run', store.dir(run.id), '--out', path.join(root, `${name}-csv`)]);
      assert.equal(r.code, 1, r.err);
      assert.ok(!existsSync(path.join(root, `${name}-csv`)));
      return r.err;
    };
    assert.match(await said('failed', { status: 'failed', summary: summary(0) }), /run "failed" ended \(failed\) before its first verification, so it recorded nothing/);
    assert.match(await said('stopped', { status: 'stopped' }), /run "stopped" ended \(stopped\) before its first verification/);
    const live = await said('live', { status: 'running', launchedAt: new Date().toISOString(), owner: { host: hostname(), pid: process.pid } });
    assert.match(live, /run "live" has not finished its first verification yet/);
    const old = await said('old', { status: 'completed', summary: summary(3), trainerVersion: '0.0.9' });
    assert.match(old, /run "old" has no records: it was trained \(trainer 0\.0\.9\) before runs kept them/);
    assert.doesNotMatch(live + (await said('failed-2', { status: 'failed' })), /before runs kept them|from before records existed/);
  });
});
