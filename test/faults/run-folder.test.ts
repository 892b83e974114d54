// Faults in a run folder while its trainer writes it: the trainer killed
// mid-epoch, a stop that lands while a checkpoint is being written, a disk that
// fills up. Each ends with nothing finished lost (the events and checkpoints
// written before the fault read back whole) and a reason that names the cause.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { latestCheckpoint } from '../../src/core/checkpoints';
import { effectiveStatus } from '../../src/core/liveness';
import { RunFollower } from '../../src/core/run-follower';
import { RunStore } from '../../src/core/run-store';
import type { TrainerEvent } from '../../src/shared/events';
import type { RunRecord } from '../../src/shared/run';
import { tinyConfig } from '../fixtures/trainer';

const TRAINER = path.resolve(__dirname, '../../dist/trainer.js');

async function until<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function events(dir: string): Promise<{ events: TrainerEvent[]; skipped: number }> {
  const follower = new RunFollower(dir);
  const update = await follower.poll();
  follower.dispose();
  return { events: update.events, skipped: update.skipped };
}

function tmpLeftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((n) => n.endsWith('.tmp'));
}

describe('faults in a run folder', function () {
  this.timeout(240000);
  let root: string;
  let store: RunStore;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-fault-run-'));
    store = new RunStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Starts the real trainer on a new run, detached as the extension starts it. */
  async function launch(config: ReturnType<typeof tinyConfig>) {
    const run = await store.create(config, 'fault');
    const child = spawn(process.execPath, [TRAINER, '--run', store.dir(run.id)], { stdio: 'ignore', detached: true });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { run, child, exited, dir: store.dir(run.id) };
  }

  it('trainer SIGKILLed mid-epoch: shown interrupted with why; every event and checkpoint before the kill reads back, and it resumes', async () => {
    const { run, child, exited, dir } = await launch(tinyConfig({ epochs: 50, workers: 1 }));
    const before = await until('a step after the first checkpoint', 120000, async () => {
      const r = await store.get(run.id);
      return r?.checkpoint && (r.progress?.step ?? 0) > r.checkpoint.step ? r : undefined;
    });
    process.kill(child.pid as number, 'SIGKILL');
    await exited;
    const shown = (await store.view(run.id)) as RunRecord;
    assert.equal(shown.status, 'interrupted');
    assert.match(shown.reason ?? '', /exited without finishing; last heartbeat .* \(pid \d+\)/);
    const read = await events(dir);
    assert.equal(read.skipped, 0, 'a line was torn');
    assert.ok(read.events.filter((e) => e.type === 'epoch').length >= before.checkpoint!.epoch);
    const newest = await latestCheckpoint(dir);
    assert.ok(newest && newest.meta.epoch >= before.checkpoint!.epoch, 'the checkpoint written before the kill is gone');
    // A kill between a write and its rename may leave that write's temp file (run.json read back whole above); the next trainer removes it.
    assert.ok(tmpLeftovers(dir).filter((n) => !n.startsWith('checkpoints')).every((n) => n.includes(`.${child.pid}.`)));
    // What was interrupted continues from that checkpoint.
    const resumed = spawnSync(process.execPath, [TRAINER, '--run', dir, '--resume', '--epochs', String(newest!.meta.epoch + 1)], { encoding: 'utf8', timeout: 120000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal((await store.get(run.id))?.status, 'completed');
    assert.deepEqual(tmpLeftovers(dir).filter((n) => !n.startsWith('checkpoints')), []);
  });

  it('a stop that lands while a checkpoint is being written: the checkpoint completes and the run says stopped', async () => {
    const { run, exited, dir } = await launch(tinyConfig({ epochs: 50, workers: 1 }));
    // Ask to stop the moment the trainer says it is checkpointing.
    await until('the trainer to checkpoint', 120000, async () => (await store.heartbeat(run.id))?.phase === 'checkpointing' || undefined);
    writeFileSync(path.join(dir, 'control.json'), JSON.stringify({ stop: true, requestedAt: new Date().toISOString(), by: 'fault test' }));
    assert.equal(await exited, 3);
    const done = (await store.get(run.id)) as RunRecord;
    assert.equal(done.status, 'stopped');
    const newest = await latestCheckpoint(dir);
    assert.ok(newest, 'no complete checkpoint after the stop');
    assert.deepEqual(done.checkpoint?.name, path.basename(newest.dir));
    assert.deepEqual(tmpLeftovers(dir), []);
    const last = (await events(dir)).events.at(-1);
    assert.equal(last?.type, 'finished');
  });

  it('the disk fills up (a 96 kB tmpfs): the run fails with code disk naming the folder; nothing half-written is left', async function () {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) this.skip();
    const mount = path.join(root, 'small');
    mkdirSync(mount);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mount]).status !== 0) this.skip();
    try {
      const small = new RunStore(mount);
      const run = await small.create(tinyConfig({ epochs: 2, workers: 1 }), 'full');
      const r = spawnSync(process.execPath, [TRAINER, '--run', small.dir(run.id)], { encoding: 'utf8', timeout: 120000 });
      assert.ok(r.status === 1 || r.status === 4, `exit ${r.status}`);
      const record = (await small.get(run.id)) as RunRecord;
      const said = record.status === 'running' ? r.stderr : (record.reason ?? '');
      assert.ok(record.status === 'running' || (record.status === 'failed' && record.code === 'disk'), JSON.stringify(record));
      assert.match(said, new RegExp(`${small.dir(run.id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(ENOSPC|disk is full|no space)`, 's'));
      assert.deepEqual(tmpLeftovers(mount), []);
      // A record that could not be replaced still reads as the trainer left it, and viewers see the trainer gone.
      if (record.status === 'running') assert.equal(effectiveStatus(record, await small.heartbeat(run.id), Date.now(), hostname()).status, 'interrupted');
    } finally {
      spawnSync('umount', ['-l', mount]);
    }
  });
});
