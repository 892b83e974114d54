import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunManager } from '../../src/core/run-manager';
import { TRAINER_NODE_FLAGS } from '../../src/core/runtime';
import { RunStore, isAlive, type RunRecord } from '../../src/core/run-store';
import type { TrainerEvent } from '../../src/shared/events';
import { tinyConfig } from './train.test';

const ROOT = path.resolve(__dirname, '../..');
const FAKES = path.join(ROOT, 'test/fixtures/trainers');
const node = { execPath: process.execPath, execArgv: TRAINER_NODE_FLAGS, env: {}, description: 'test node' };

function waitFor<T>(check: () => T | undefined, ms = 60000, what = 'condition'): Promise<T> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = check();
      if (v !== undefined && v !== false) return resolve(v);
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('run manager', () => {
  let root: string;
  let store: RunStore;
  let manager: RunManager;
  let lines: string[];

  function make(script: string, opts: Partial<ConstructorParameters<typeof RunManager>[0]> = {}) {
    manager = new RunManager({
      store,
      trainerScript: script,
      runtime: () => node,
      maxConcurrent: () => 1,
      stopGraceMs: 500,
      killGraceMs: 500,
      ...opts,
    });
    manager.onDidLog((l) => lines.push(l.line));
    return manager;
  }

  async function finished(id: string): Promise<RunRecord> {
    await waitFor(() => !manager.ids().has(id) || undefined, 120000, `run ${id} to end`);
    return (await store.get(id)) as RunRecord;
  }

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-mgr-'));
    store = new RunStore(root);
    lines = [];
  });
  afterEach(async () => {
    await manager?.stopAll();
    manager?.dispose();
    await store.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  describe('with the real trainer', () => {
    const trainer = path.join(ROOT, 'dist/trainer.js');
    it('runs a tiny synthetic training to completion and records every event', async () => {
      make(trainer);
      const seen: TrainerEvent[] = [];
      manager.onDidEvent((e) => seen.push(e.event));
      const run = await manager.start(tinyConfig({ epochs: 2 }), 'tiny');
      assert.equal(run.status, 'running');
      const done = await finished(run.id);
      assert.equal(done.status, 'completed', done.reason);
      assert.equal(done.summary?.epochs, 2);
      assert.ok((done.summary?.bestAccuracy ?? 0) > 0.5);
      assert.equal(done.backend?.name, 'wasm');
      assert.equal(done.pid, undefined);
      const events = await store.readEvents(run.id);
      assert.equal(events[0].type === 'log' || events[0].type === 'started', true);
      assert.deepEqual(events.map((e) => e.type).filter((t) => t === 'started' || t === 'epoch' || t === 'finished'), ['started', 'epoch', 'epoch', 'finished']);
      assert.deepEqual(seen.map((e) => e.type), events.map((e) => e.type));
      assert.ok(existsSync(path.join(store.dir(run.id), 'checkpoints', 'epoch-002', 'model.json')));
      assert.match(readFileSync(store.file(run.id, 'trainer.log'), 'utf8'), /starting the trainer with test node/);
    });

    it('stops a long run within seconds, with a checkpoint and status stopped', async () => {
      make(trainer, { stopGraceMs: 20000 });
      const run = await manager.start(tinyConfig({ epochs: 500 }), 'long');
      await waitFor(() => manager.get(run.id)?.progress?.step || undefined, 60000, 'a training step');
      const t0 = Date.now();
      await manager.stop(run.id);
      const stopMs = Date.now() - t0;
      const done = (await store.get(run.id)) as RunRecord;
      assert.equal(done.status, 'stopped');
      assert.ok(stopMs < 10000, `stop took ${stopMs} ms`);
      const events = await store.readEvents(run.id);
      assert.ok(events.some((e) => e.type === 'checkpoint'));
      assert.equal(events[events.length - 1].type, 'finished');
    });

    it('fails a run with an invalid config file with the trainer\'s reason', async () => {
      make(trainer);
      const run = await manager.start({ ...tinyConfig(), alpha: -1 } as never, 'bad');
      const done = await finished(run.id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason ?? '', /alpha: must be greater than 0/);
    });
  });

  describe('with misbehaving trainers', () => {
    it('a crash marks the run failed with the exit code and the last stderr lines', async () => {
      make(path.join(FAKES, 'crash.js'));
      const run = await manager.start(tinyConfig(), 'crash');
      const done = await finished(run.id);
      assert.equal(done.status, 'failed');
      assert.equal(done.code, 'exit');
      assert.match(done.reason ?? '', /exited with code 1 without reporting a result/);
      assert.match(done.reason ?? '', /Last error: Error: simulated trainer crash/);
    });

    it('a silent exit is a failure, not a success', async () => {
      make(path.join(FAKES, 'silent.js'));
      const done = await finished((await manager.start(tinyConfig(), 'silent')).id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason ?? '', /exited with code 0 without reporting a result/);
    });

    it('garbage messages are logged and ignored; valid events still count', async () => {
      make(path.join(FAKES, 'garbage.js'));
      const run = await manager.start(tinyConfig(), 'garbage');
      const done = await finished(run.id);
      assert.equal(done.status, 'completed');
      assert.equal(lines.filter((l) => l.startsWith('ignored a malformed message')).length, 3);
      const events = await store.readEvents(run.id);
      assert.deepEqual(events.map((e) => e.type), ['log', 'finished']);
    });

    it('a hung trainer is killed (SIGTERM, then SIGKILL) and the run marked stopped', async () => {
      make(path.join(FAKES, 'hang.js'));
      const run = await manager.start(tinyConfig(), 'hang');
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      await manager.stop(run.id);
      assert.ok(Date.now() - t0 < 5000);
      const done = (await store.get(run.id)) as RunRecord;
      assert.equal(done.status, 'stopped');
      assert.match(done.reason ?? '', /killed by SIGKILL/);
    });

    it('stop kills the whole process tree', async function () {
      if (process.platform === 'win32') this.skip();
      make(path.join(FAKES, 'tree.js'));
      const run = await manager.start(tinyConfig(), 'tree');
      const line = await waitFor(() => lines.find((l) => l.startsWith('grandchild ')), 10000, 'grandchild pid');
      const grandchild = Number(line.split(' ')[1]);
      assert.ok(isAlive(grandchild));
      await manager.stop(run.id);
      await waitFor(() => !isAlive(grandchild) || undefined, 5000, 'grandchild to die');
    });

    it('a missing node executable fails the run with what to fix', async () => {
      make(path.join(FAKES, 'quick.js'), { runtime: () => ({ execPath: path.join(root, 'no-such-node'), execArgv: [], env: {}, description: 'missing' }) });
      const done = await finished((await manager.start(tinyConfig(), 'nonode')).id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason ?? '', /Cannot start the trainer: .*ENOENT.*l2softmax\.nodePath/);
    });

    it('queues runs beyond the concurrency limit and starts them in order', async () => {
      make(path.join(FAKES, 'quick.js'));
      const a = await manager.start(tinyConfig(), 'a');
      const b = await manager.start(tinyConfig(), 'b');
      assert.equal(a.status, 'running');
      assert.equal(b.status, 'queued');
      assert.equal(manager.runningCount(), 1);
      const doneB = await finished(b.id);
      assert.equal(doneB.status, 'completed');
      assert.equal((await store.get(a.id))?.status, 'completed');
      assert.ok(((await store.get(a.id))?.endedAt ?? '') <= (doneB.startedAt ?? ''));
    });

    it('stopping a queued run never starts it', async () => {
      make(path.join(FAKES, 'quick.js'));
      await manager.start(tinyConfig(), 'a');
      const b = await manager.start(tinyConfig(), 'b');
      await manager.stop(b.id);
      const done = (await store.get(b.id)) as RunRecord;
      assert.equal(done.status, 'stopped');
      assert.equal(done.startedAt, undefined);
    });

    it('deletes a run that has just finished only once its trainer has exited and its record is saved', async () => {
      make(path.join(FAKES, 'quick.js'));
      const a = await manager.start(tinyConfig(), 'a');
      const b = await manager.start(tinyConfig(), 'b');
      await assert.rejects(manager.delete(a.id), /still running/);
      await assert.rejects(manager.delete(b.id), /queued/);
      // quick.js reports completion 100 ms before it exits: delete in that window.
      await waitFor(() => manager.get(a.id)?.status === 'completed' || undefined, 10000, 'the finished event');
      assert.ok(manager.ids().has(a.id), 'the trainer had already exited: the test no longer covers the window');
      await manager.delete(a.id);
      assert.ok(!manager.ids().has(a.id), 'deleted while its trainer was still exiting');
      assert.ok(!existsSync(store.dir(a.id)));
      await finished(b.id);
      assert.ok(!existsSync(store.dir(a.id)), 'a late save brought the deleted run back');
      assert.equal(await store.get(a.id), undefined);
    });
  });
});

describe('trainer process without an IPC channel', () => {
  it('writes only protocol events to stdout, one JSON object per line, and exits 0 on completion', async () => {
    const { spawn } = await import('node:child_process');
    const { writeFileSync, mkdtempSync: mk } = await import('node:fs');
    const dir = mk(path.join(tmpdir(), 'l2sm-stdout-'));
    const cfg = path.join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ ...tinyConfig({ epochs: 1 }), workers: 1 }));
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/trainer.js'), '--config', cfg, '--out', path.join(dir, 'run')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, err);
    const lines = out.trim().split('\n');
    const types = lines.map((l) => {
      const e = JSON.parse(l);
      assert.equal(e.v, 1);
      return e.type as string;
    });
    assert.ok(types.includes('started') && types.includes('epoch'));
    assert.equal(types[types.length - 1], 'finished');
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects a bad config with exit code 2 and a failed event naming the field', async () => {
    const { spawnSync } = await import('node:child_process');
    const { writeFileSync, mkdtempSync: mk } = await import('node:fs');
    const dir = mk(path.join(tmpdir(), 'l2sm-badcfg-'));
    const cfg = path.join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ epochs: 0 }));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/trainer.js'), '--config', cfg, '--out', dir], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(last.type, 'finished');
    assert.equal(last.status, 'failed');
    assert.match(last.reason, /epochs: must be at least 1, got 0/);
    rmSync(dir, { recursive: true, force: true });
  });
});
