// `node dist/cli.js export` (src/cli/export.ts): where it may write and what it says when a folder
// has no records to export.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { exportMain } from '../../src/cli/export';
import { exportRecords } from '../../src/core/records';
import { RunStore } from '../../src/core/run-store';
import { trainInFolder } from '../../src/trainer/session';
import { tinyConfig } from '../fixtures/trainer';

/** Runs `export` with these arguments; returns its exit code and what it printed. */
async function exportCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(s) > 0) as typeof process.stderr.write;
  try {
    return { code: await exportMain(args), out: out.join(''), err: err.join('') };
  } finally {
    [process.stdout.write, process.stderr.write] = [stdout, stderr];
  }
}

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
});
