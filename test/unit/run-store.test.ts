import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { RunStore } from '../../src/core/run-store';

describe('run store', () => {
  let root: string;
  let store: RunStore;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-store-'));
    store = new RunStore(path.join(root, 'runs'));
  });
  afterEach(async () => {
    rmSync(root, { recursive: true, force: true });
  });

  it('creates a run folder with run.json and config.json, lists newest first', async () => {
    const a = await store.create(DEFAULT_CONFIG, 'first', { now: new Date('2026-01-01T00:00:00Z') });
    const b = await store.create(DEFAULT_CONFIG, 'second', { now: new Date('2026-01-02T00:00:00Z') });
    assert.equal(a.status, 'queued');
    assert.ok(existsSync(path.join(store.dir(a.id), 'config.json')));
    assert.deepEqual((await store.list()).map((r) => r.name), ['second', 'first']);
    assert.equal((await store.get(b.id))?.name, 'second');
  });

  it('skips run folders whose run.json is corrupt or missing', async () => {
    const good = await store.create(DEFAULT_CONFIG, 'good');
    mkdirSync(path.join(store.root, 'broken-run'));
    writeFileSync(path.join(store.root, 'broken-run', 'run.json'), '{ not json');
    mkdirSync(path.join(store.root, 'empty-run'));
    assert.deepEqual((await store.list()).map((r) => r.id), [good.id]);
  });

  it('never lets a run id address a path outside the runs folder', async () => {
    writeFileSync(path.join(root, 'secret.txt'), 'keep me');
    for (const id of ['..', '../secret.txt', '/etc/passwd', 'a/../../x', '..\\x', '', '.', 'a/b', 'x\u0000y', '.hidden']) {
      assert.throws(() => store.dir(id), /invalid run id/, id);
      await assert.rejects(store.delete(id), /invalid run id/);
    }
    assert.equal(readFileSync(path.join(root, 'secret.txt'), 'utf8'), 'keep me');
    assert.equal(await store.get('../secret'), undefined);
  });

  it('shows a running run whose trainer stopped beating as interrupted, without writing anything', async () => {
    const r = await store.create(DEFAULT_CONFIG, 'beating');
    const launchedAt = new Date(Date.now() - 60000).toISOString();
    await store.save({ ...r, status: 'running', launchedAt, owner: { host: 'elsewhere', pid: 1 } });
    writeFileSync(store.file(r.id, 'heartbeat.json'), JSON.stringify({ time: Date.now() - 1000, host: 'elsewhere', pid: 1 }));
    assert.equal((await store.view(r.id))?.status, 'running');
    writeFileSync(store.file(r.id, 'heartbeat.json'), JSON.stringify({ time: Date.now() - 45000, host: 'elsewhere', pid: 1 }));
    const stale = await store.view(r.id);
    assert.equal(stale?.status, 'interrupted');
    assert.match(stale?.reason ?? '', /stopped responding; last heartbeat .* from host elsewhere \(pid 1\)/);
    assert.equal((await store.get(r.id))?.status, 'running', 'a viewer never rewrites the record');
  });

  it('lists 3,000 runs with a bounded number of files open at once', async () => {
    for (let i = 0; i < 3000; i++) {
      const dir = path.join(store.root, `run-${i}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ id: `run-${i}`, name: `r${i}`, status: 'completed', config: DEFAULT_CONFIG, createdAt: new Date(i * 1000).toISOString() }));
    }
    // With few file handles (ulimit -n 128), reading every run.json at once loses runs (EMFILE).
    const { execFileSync } = await import('node:child_process');
    const script = `require('./src/core/run-store').RunStore.prototype.list.call(new (require('./src/core/run-store').RunStore)(${JSON.stringify(store.root)})).then((l) => console.log(l.length, l[0].id))`;
    const out = execFileSync('bash', ['-c', `ulimit -n 128 && exec "${process.execPath}" --require tsx/cjs -e "$0"`, script], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
    assert.equal(out.trim(), '3000 run-2999');
  });

  it('deletes runs; refuses to delete a live one', async () => {
    const r = await store.create(DEFAULT_CONFIG, 'old');
    await store.save({ ...(await store.get(r.id))!, status: 'running', launchedAt: new Date().toISOString() });
    await assert.rejects(store.delete(r.id), /is running/);
    await store.save({ ...(await store.get(r.id))!, status: 'completed' });
    await store.delete(r.id);
    assert.equal(existsSync(store.dir(r.id)), false);
  });

  it('lists nothing when the runs folder does not exist yet', async () => {
    assert.deepEqual(await new RunStore(path.join(root, 'nowhere')).list(), []);
    assert.deepEqual(await new RunStore(path.join(root, 'nowhere')).ids(), []);
  });

  it('lists the names that can be run ids without reading the runs', async () => {
    const a = await store.create(DEFAULT_CONFIG, 'a');
    const b = await store.create(DEFAULT_CONFIG, 'b');
    mkdirSync(path.join(store.root, '.hidden'));
    assert.deepEqual((await store.ids()).sort(), [a.id, b.id].sort());
  });
});
