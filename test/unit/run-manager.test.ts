import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { RunFollower } from '../../src/core/run-follower';
import { RunManager } from '../../src/core/run-manager';
import { RunMonitor } from '../../src/core/run-monitor';
import { TRAINER_NODE_FLAGS } from '../../src/core/runtime';
import { RunStore, isAlive, type RunRecord } from '../../src/core/run-store';
import type { TrainerEvent } from '../../src/shared/events';
import { tinyConfig } from '../fixtures/trainer';

const ROOT = path.resolve(__dirname, '../..');
const FAKES = path.join(ROOT, 'test/fixtures/trainers');
const TRAINER = path.join(ROOT, 'dist/trainer.js');
const node = { execPath: process.execPath, execArgv: TRAINER_NODE_FLAGS, env: {}, description: 'test node' };

async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, ms = 60000, what = 'condition'): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function events(store: RunStore, id: string): Promise<{ events: TrainerEvent[]; skipped: number }> {
  const follower = new RunFollower(store.dir(id));
  const update = await follower.poll();
  follower.dispose();
  return { events: update.events, skipped: update.skipped };
}

describe('run manager', () => {
  let root: string;
  let store: RunStore;
  let monitor: RunMonitor;
  let manager: RunManager;
  const others: { dispose(): void }[] = [];
  let lines: string[];

  async function make(script: string, opts: Partial<ConstructorParameters<typeof RunManager>[0]> = {}) {
    monitor = new RunMonitor(store, { activePollMs: 100, sweepMs: 300 });
    await monitor.ready();
    manager = new RunManager({ store, monitor, trainerScript: script, runtime: () => node, maxConcurrent: () => 1, stopGraceMs: 1500, queuePollMs: 100, ...opts });
    manager.onDidLog((l) => lines.push(l.line));
    return manager;
  }

  /** Waits until the run has ended as every viewer sees it, and its trainer (if ours) has exited. */
  async function ended(id: string, ms = 120000): Promise<RunRecord> {
    const r = await waitFor(async () => {
      const v = await store.view(id);
      return v && v.status !== 'running' && v.status !== 'queued' ? v : undefined;
    }, ms, `run ${id} to end`);
    await manager.exited(id);
    return (await store.view(id)) ?? r;
  }

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-mgr-'));
    store = new RunStore(root);
    lines = [];
  });
  afterEach(async () => {
    for (const r of await store.list()) if (r.status === 'running') await manager.stop(r.id).catch(() => undefined);
    manager?.dispose();
    monitor?.dispose();
    others.splice(0).forEach((d) => d.dispose());
    rmSync(root, { recursive: true, force: true });
  });

  describe('with the real trainer', () => {
    it('runs a tiny synthetic training to completion; the trainer writes every event and the record', async () => {
      await make(TRAINER);
      const run = await manager.start(tinyConfig({ epochs: 2 }), 'tiny');
      assert.equal(run.status, 'running');
      const done = await ended(run.id);
      assert.equal(done.status, 'completed', done.reason);
      assert.equal(done.summary?.epochs, 2);
      assert.ok((done.summary?.bestAccuracy ?? 0) > 0.5);
      assert.equal(done.backend?.name, 'wasm');
      assert.equal(done.launcher, 'local');
      assert.equal(done.checkpoint?.epoch, 2);
      assert.ok(done.fingerprint?.hash);
      const { events: all, skipped } = await events(store, run.id);
      assert.equal(skipped, 0);
      assert.deepEqual(all.map((e) => e.type).filter((t) => t === 'started' || t === 'epoch' || t === 'finished'), ['started', 'epoch', 'epoch', 'finished']);
      assert.ok(existsSync(path.join(store.dir(run.id), 'checkpoints', 'epoch-002', 'model.json')));
      const log = readFileSync(store.file(run.id, 'trainer.log'), 'utf8');
      assert.match(log, /starting the trainer with test node/);
      assert.match(log, /info: Backend: /);
      assert.deepEqual(readdirTmp(store.dir(run.id)), []);
    });

    it('stops a long run within seconds through control.json and SIGTERM, with a checkpoint and status stopped', async () => {
      await make(TRAINER, { stopGraceMs: 20000 });
      const run = await manager.start(tinyConfig({ epochs: 500 }), 'long');
      await waitFor(() => monitor.get(run.id)?.progress?.step || undefined, 60000, 'a training step');
      const t0 = Date.now();
      await manager.stop(run.id);
      const stopMs = Date.now() - t0;
      const done = await ended(run.id);
      assert.equal(done.status, 'stopped');
      assert.ok(stopMs < 10000, `stop took ${stopMs} ms`);
      const { events: all } = await events(store, run.id);
      assert.ok(all.some((e) => e.type === 'checkpoint'));
      assert.equal(all[all.length - 1].type, 'finished');
    });

    it('a stop request in control.json alone (a window on another machine) stops the trainer', async () => {
      await make(TRAINER);
      const run = await manager.start(tinyConfig({ epochs: 500 }), 'remote-stop');
      await waitFor(() => monitor.get(run.id)?.progress?.step || undefined, 60000, 'a training step');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(store.file(run.id, 'control.json'), JSON.stringify({ stop: true, requestedAt: new Date().toISOString(), by: 'test' }));
      const done = await ended(run.id, 20000);
      assert.equal(done.status, 'stopped');
    });

    it('the trainer outlives the host that started it (SIGKILL), and the run completes', async function () {
      if (process.platform === 'win32') this.skip();
      // Only the host process launches: this one just watches.
      monitor = new RunMonitor(store, { activePollMs: 100, sweepMs: 300 });
      await monitor.ready();
      const host = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/fixtures/host.ts'), root, TRAINER, JSON.stringify(tinyConfig({ epochs: 3 }))], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      host.stdout.on('data', (d) => (out += d));
      const id = await waitFor(() => (out.includes(' running') ? out.split(' ')[0] : undefined), 30000, 'the host to start a run');
      await waitFor(() => monitor.get(id)?.progress?.step || undefined, 60000, 'a training step');
      host.kill('SIGKILL');
      await new Promise((r) => host.on('exit', r));
      assert.equal((await store.view(id))?.status, 'running', 'a dead host does not make a live run interrupted');
      const done = await waitFor(async () => {
        const v = await store.view(id);
        return v?.status !== 'running' ? v : undefined;
      }, 120000, 'the orphaned run to end');
      assert.equal(done.status, 'completed', done.reason);
      assert.equal(done.summary?.epochs, 3);
    });

    it('resumes a stopped run from its checkpoint, extends its epochs, and marks the seam', async () => {
      await make(TRAINER);
      const run = await manager.start(tinyConfig({ epochs: 2 }), 'resumable');
      assert.equal((await ended(run.id)).status, 'completed');
      const resumed = await manager.resume(run.id, 3);
      assert.ok(resumed.status === 'running' || resumed.status === 'queued', JSON.stringify({ ...resumed, config: undefined, summary: undefined, dataset: undefined, backend: undefined }));
      const done = await ended(run.id);
      assert.equal(done.status, 'completed', done.reason);
      assert.equal(done.resumes, 1, JSON.stringify({ ...done, config: undefined, summary: undefined, dataset: undefined, backend: undefined }));
      assert.equal(done.summary?.epochs, 3);
      const { events: all } = await events(store, run.id);
      const types = all.map((e) => (e.type === 'epoch' ? `epoch${e.epoch}` : e.type)).filter((t) => /epoch\d|resumed|finished/.test(t));
      assert.deepEqual(types, ['epoch1', 'epoch2', 'finished', 'resumed', 'epoch3', 'finished']);
    });

    it('fails a run with an invalid config with the trainer\'s reason', async () => {
      await make(TRAINER);
      const run = await manager.start({ ...tinyConfig(), alpha: -1 } as never, 'bad');
      const done = await ended(run.id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason ?? '', /alpha: must be greater than 0/);
    });
  });

  describe('with misbehaving trainers', () => {
    it('a crash marks the run failed with the exit code and the last error in its log', async () => {
      await make(path.join(FAKES, 'crash.js'));
      const done = await ended((await manager.start(tinyConfig(), 'crash')).id);
      assert.equal(done.status, 'failed');
      assert.equal(done.code, 'exit');
      assert.match(done.reason ?? '', /exited with code 1 without reporting a result/);
      assert.match(done.reason ?? '', /Last error: Error: simulated trainer crash/);
    });

    it('a silent exit is a failure, not a success', async () => {
      await make(path.join(FAKES, 'silent.js'));
      const done = await ended((await manager.start(tinyConfig(), 'silent')).id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason ?? '', /exited with code 0 without reporting a result/);
    });

    it('malformed lines in events.jsonl are skipped and counted; valid events still count', async () => {
      await make(path.join(FAKES, 'garbage.js'));
      const run = await manager.start(tinyConfig(), 'garbage');
      const done = await ended(run.id);
      assert.equal(done.status, 'completed');
      const { events: all, skipped } = await events(store, run.id);
      assert.deepEqual(all.map((e) => e.type), ['log', 'finished']);
      assert.equal(skipped, 4);
    });

    it('a trainer that ignores stop requests is killed after the grace period and the run marked stopped', async () => {
      await make(path.join(FAKES, 'hang.js'));
      const run = await manager.start(tinyConfig(), 'hang');
      await waitFor(() => monitor.get(run.id)?.owner, 10000, 'the fake trainer to own its run');
      const t0 = Date.now();
      await manager.stop(run.id);
      assert.ok(Date.now() - t0 < 8000);
      const done = await ended(run.id);
      assert.equal(done.status, 'stopped');
      assert.match(done.reason ?? '', /killed/);
    });

    it('stop kills the whole process tree', async function () {
      if (process.platform === 'win32') this.skip();
      await make(path.join(FAKES, 'tree.js'));
      const run = await manager.start(tinyConfig(), 'tree');
      const line = await waitFor(async () => {
        const found = (await events(store, run.id)).events.find((e) => e.type === 'log' && e.message.startsWith('grandchild '));
        return found?.type === 'log' ? found.message : undefined;
      }, 10000, 'grandchild pid');
      const grandchild = Number(line.split(' ')[1]);
      assert.ok(isAlive(grandchild));
      await manager.stop(run.id);
      await waitFor(() => !isAlive(grandchild) || undefined, 5000, 'grandchild to die');
    });

    it('a missing node executable fails the run with what to fix', async () => {
      await make(path.join(FAKES, 'quick.js'), { runtime: () => ({ execPath: path.join(root, 'no-such-node'), execArgv: [], env: {}, description: 'missing' }) });
      const done = await ended((await manager.start(tinyConfig(), 'nonode')).id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason ?? '', /Cannot start the trainer: .*ENOENT.*l2softmax\.nodePath/);
    });
  });

  describe('the queue', () => {
    it('queues runs beyond the concurrency limit and starts them in order', async () => {
      await make(path.join(FAKES, 'quick.js'));
      const a = await manager.start(tinyConfig(), 'a');
      const b = await manager.start(tinyConfig(), 'b');
      assert.equal(a.status, 'running');
      assert.equal(b.status, 'queued');
      const doneB = await ended(b.id);
      assert.equal(doneB.status, 'completed');
      const doneA = (await store.get(a.id)) as RunRecord;
      assert.equal(doneA.status, 'completed');
      assert.ok((doneA.endedAt ?? '') <= (doneB.startedAt ?? ''));
    });

    it('stopping a queued run never starts it', async () => {
      await make(path.join(FAKES, 'quick.js'));
      await manager.start(tinyConfig(), 'a');
      const b = await manager.start(tinyConfig(), 'b');
      await manager.stop(b.id);
      const done = (await store.get(b.id)) as RunRecord;
      assert.equal(done.status, 'stopped');
      assert.equal(done.startedAt, undefined);
    });

    it('is persisted in the run folders: a window that opens later starts what an earlier one queued', async () => {
      await store.create(tinyConfig(), 'queued-earlier');
      await make(path.join(FAKES, 'quick.js'));
      const [run] = await store.list();
      const done = await ended(run.id);
      assert.equal(done.status, 'completed');
    });

    it('only the window holding the queue lock starts runs; another process holding it keeps this one from starting any', async () => {
      const holder = spawn(process.execPath, ['-e', `require(${JSON.stringify(require.resolve('proper-lockfile'))}).lock(${JSON.stringify(root)}, { lockfilePath: ${JSON.stringify(path.join(root, '.queue.lock'))}, stale: 2000, realpath: false }).then(() => process.stdout.write('locked\\n')); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => holder.stdout.on('data', () => r()));
      await make(path.join(FAKES, 'quick.js'), { lockStaleMs: 2000 });
      const run = await manager.start(tinyConfig(), 'waits');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await store.get(run.id))?.status, 'queued', 'started while another process held the queue');
      assert.equal(manager.holdsQueue, false);
      holder.kill('SIGKILL');
      // The holder died without releasing: its lock goes stale and this window takes the queue over.
      const done = await ended(run.id, 20000);
      assert.equal(done.status, 'completed');
      assert.equal(manager.holdsQueue, true);
      assert.equal(await lockfile.check(root, { lockfilePath: path.join(root, '.queue.lock'), realpath: false, stale: 2000 }), true);
    });

    it('a second window neither marks the first one\'s live or queued runs interrupted nor starts them', async () => {
      await make(path.join(FAKES, 'hang.js'), { maxConcurrent: () => 1 });
      const a = await manager.start(tinyConfig(), 'a');
      const b = await manager.start(tinyConfig(), 'b');
      await waitFor(() => monitor.get(a.id)?.owner, 10000, 'a to run');
      const monitor2 = new RunMonitor(store);
      await monitor2.ready();
      const second = new RunManager({ store, monitor: monitor2, trainerScript: path.join(FAKES, 'quick.js'), runtime: () => node, maxConcurrent: () => 5, stopGraceMs: 1500 });
      others.push(second, monitor2);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(monitor2.get(a.id)?.status, 'running');
      assert.equal(monitor2.get(b.id)?.status, 'queued');
      assert.equal(second.holdsQueue, false);
      await second.stop(a.id);
      assert.equal((await ended(a.id, 15000)).status, 'stopped');
    });

    it('deletes an ended run, refuses live or queued ones', async () => {
      await make(path.join(FAKES, 'hang.js'));
      const a = await manager.start(tinyConfig(), 'a');
      const b = await manager.start(tinyConfig(), 'b');
      await assert.rejects(manager.delete(a.id), /still running/);
      await assert.rejects(manager.delete(b.id), /queued/);
      await manager.stop(b.id);
      await manager.delete(b.id);
      assert.ok(!existsSync(store.dir(b.id)));
    });
  });
});

function readdirTmp(dir: string): string[] {
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.endsWith('.tmp')) out.push(path.join(d, e.name));
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}
