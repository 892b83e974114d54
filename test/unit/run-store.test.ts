import { strict as assert } from 'node:assert';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { PROTOCOL_VERSION, type TrainerEvent } from '../../src/shared/events';
import { RunStore } from '../../src/core/run-store';

const log = (message: string): TrainerEvent => ({ v: PROTOCOL_VERSION, time: 1, type: 'log', level: 'info', message });

describe('run store', () => {
  let root: string;
  let store: RunStore;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-store-'));
    store = new RunStore(path.join(root, 'runs'));
  });
  afterEach(async () => {
    await store.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('creates a run folder with run.json and config.json, lists newest first', async () => {
    const a = await store.create(DEFAULT_CONFIG, 'first', new Date('2026-01-01T00:00:00Z'));
    const b = await store.create(DEFAULT_CONFIG, 'second', new Date('2026-01-02T00:00:00Z'));
    assert.equal(a.status, 'queued');
    assert.ok(existsSync(path.join(store.dir(a.id), 'config.json')));
    assert.deepEqual((await store.list()).map((r) => r.name), ['second', 'first']);
    assert.equal((await store.get(b.id))?.name, 'second');
  });

  it('appends events and reads them back, skipping a truncated last line', async () => {
    const r = await store.create(DEFAULT_CONFIG, 'x');
    store.appendEvent(r.id, log('one'));
    store.appendEvent(r.id, log('two'));
    await store.closeEvents(r.id);
    appendFileSync(store.file(r.id, 'events.jsonl'), '{"v":1,"time":1,"type":"log","lev');
    const events = await store.readEvents(r.id);
    assert.deepEqual(events.map((e) => e.type === 'log' && e.message), ['one', 'two']);
  });

  it('reads events incrementally from an offset, leaving a half-written line for the next read', async () => {
    const r = await store.create(DEFAULT_CONFIG, 'x');
    const file = store.file(r.id, 'events.jsonl');
    appendFileSync(file, JSON.stringify(log('one')) + '\n');
    const first = await store.readEventsFrom(r.id, 0);
    assert.deepEqual(first.events.map((e) => e.type === 'log' && e.message), ['one']);
    const half = JSON.stringify(log('two'));
    appendFileSync(file, half.slice(0, 10));
    const second = await store.readEventsFrom(r.id, first.end);
    assert.deepEqual([second.events.length, second.end], [0, first.end]);
    appendFileSync(file, half.slice(10) + '\n' + JSON.stringify(log('three')) + '\n');
    const third = await store.readEventsFrom(r.id, second.end);
    assert.deepEqual(third.events.map((e) => e.type === 'log' && e.message), ['two', 'three']);
  });

  it('skips run folders whose run.json is corrupt or missing', async () => {
    const good = await store.create(DEFAULT_CONFIG, 'good');
    mkdirSync(path.join(store.root, 'broken-run'));
    writeFileSync(path.join(store.root, 'broken-run', 'run.json'), '{ not json');
    mkdirSync(path.join(store.root, 'empty-run'));
    assert.deepEqual((await store.list()).map((r) => r.id), [good.id]);
  });

  it('marks runs left running by a closed window as interrupted, but not live or owned ones', async () => {
    const dead = await store.create(DEFAULT_CONFIG, 'dead');
    await store.save({ ...dead, status: 'running', pid: 2 ** 22 + 12345 });
    const live = await store.create(DEFAULT_CONFIG, 'live');
    await store.save({ ...live, status: 'running', pid: process.pid });
    const owned = await store.create(DEFAULT_CONFIG, 'owned');
    await store.save({ ...owned, status: 'running' });
    const done = await store.create(DEFAULT_CONFIG, 'done');
    await store.save({ ...done, status: 'completed' });
    const changed = await store.markInterrupted(new Set([owned.id]));
    assert.deepEqual(changed.map((r) => r.name), ['dead']);
    const after = await store.get(dead.id);
    assert.equal(after?.status, 'interrupted');
    assert.match(after?.reason ?? '', /window .* closed/);
    assert.equal((await store.get(live.id))?.status, 'running');
    assert.equal((await store.get(owned.id))?.status, 'running');
    assert.equal((await store.get(done.id))?.status, 'completed');
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

  it('renames and deletes runs; refuses to delete a live one', async () => {
    const r = await store.create(DEFAULT_CONFIG, 'old');
    assert.equal((await store.rename(r.id, 'new')).name, 'new');
    await store.save({ ...(await store.get(r.id))!, status: 'running', pid: process.pid });
    await assert.rejects(store.delete(r.id), /still running/);
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
