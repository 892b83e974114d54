// RunFollower (src/core/run-follower.ts) tails a run folder written by another
// process; liveness (src/core/liveness.ts) tells a running trainer from a gone one.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fsSync from 'node:fs';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { effectiveStatus, liveness, pidMayBeAlive } from '../../src/core/liveness';
import { RunStore } from '../../src/core/run-store';
import { RunFollower, type FollowerUpdate } from '../../src/core/run-follower';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import type { LogEvent, StepEvent, TrainerEvent } from '../../src/shared/events';
import { HEARTBEAT_STALE_MS, type Heartbeat, type RunRecord } from '../../src/shared/run';

function step(i: number): StepEvent {
  return { v: 1, time: 1_700_000_000_000 + i, type: 'step', epoch: 1, step: i, epochStep: i, loss: 2 / i, accuracy: 0.5, alpha: 16, featureNorm: { mean: 1, min: 0.5, max: 2 }, imagesPerSec: 900 };
}
const log = (message: string): LogEvent => ({ v: 1, time: 1, type: 'log', level: 'info', message });
const line = (e: TrainerEvent) => JSON.stringify(e) + '\n';
const steps = (events: TrainerEvent[]) => events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.step);

const record = (over: Partial<RunRecord> = {}): RunRecord => ({ format: 2, id: 'r1', name: 'run', status: 'running', config: DEFAULT_CONFIG, createdAt: '2026-11-30T10:00:00.000Z', ...over });

describe('RunFollower', () => {
  let dir: string;
  let events: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'follower-'));
    events = path.join(dir, 'events.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeAtomic = (name: string, value: unknown) => {
    const tmp = path.join(dir, `${name}.tmp`);
    writeFileSync(tmp, typeof value === 'string' ? value : JSON.stringify(value));
    renameSync(tmp, path.join(dir, name));
  };

  it('reads what a writer appends, each event once, record and heartbeat when they change', async () => {
    const f = new RunFollower(dir);
    let u = await f.poll();
    assert.deepEqual(u, { events: [], reset: false, skipped: 0, offset: 0 });
    writeAtomic('run.json', record());
    writeAtomic('heartbeat.json', { time: 5, host: 'h', pid: 1 } satisfies Heartbeat);
    appendFileSync(events, line(step(1)) + line(step(2)));
    u = await f.poll();
    assert.deepEqual(steps(u.events), [1, 2]);
    assert.equal(u.record?.status, 'running');
    assert.equal(u.heartbeat?.time, 5);
    assert.equal(u.offset, fsSync.statSync(events).size);
    u = await f.poll();
    assert.deepEqual(u, { events: [], reset: false, skipped: 0, offset: fsSync.statSync(events).size });
    appendFileSync(events, line(step(3)));
    writeAtomic('run.json', record({ status: 'completed' }));
    u = await f.poll();
    assert.deepEqual(steps(u.events), [3]);
    assert.equal(u.record?.status, 'completed');
    assert.equal(u.heartbeat, undefined);
    assert.equal(f.record?.status, 'completed');
    assert.equal(f.heartbeat?.time, 5);
  });

  it('costs one stat per file when nothing changed', async () => {
    writeAtomic('run.json', record());
    writeAtomic('heartbeat.json', { time: 5, host: 'h', pid: 1 });
    appendFileSync(events, line(step(1)) + '{"v":1,"type":"step"');
    const f = new RunFollower(dir);
    await f.poll();
    const calls: string[] = [];
    const p = fsSync.promises as unknown as Record<string, (...args: unknown[]) => unknown>;
    const saved = { stat: p.stat, open: p.open, readFile: p.readFile };
    for (const name of Object.keys(saved) as (keyof typeof saved)[]) {
      p[name] = (...args: unknown[]) => {
        calls.push(name);
        return saved[name].apply(fsSync.promises, args);
      };
    }
    try {
      for (let i = 0; i < 5; i++) await f.poll();
    } finally {
      Object.assign(p, saved);
    }
    assert.deepEqual(calls, Array(15).fill('stat'));
  });

  it('keeps a partial last line for the next poll, across chunk borders and inside multi-byte characters', async () => {
    const f = new RunFollower(dir, { chunkBytes: 64 });
    const text = line(log('Größe ✓ 顔認証 ' + 'x'.repeat(300)));
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(Buffer.from('✓')) + 1;
    appendFileSync(events, line(step(1)));
    appendFileSync(events, bytes.subarray(0, cut));
    let u = await f.poll();
    assert.deepEqual(steps(u.events), [1]);
    const offset = u.offset;
    assert.equal(offset, Buffer.byteLength(line(step(1))));
    u = await f.poll();
    assert.deepEqual(u.events, []);
    appendFileSync(events, bytes.subarray(cut, bytes.length - 1));
    u = await f.poll();
    assert.deepEqual(u.events, [], 'no newline yet: not complete even though it parses');
    assert.equal(u.offset, offset);
    appendFileSync(events, '\n');
    u = await f.poll();
    assert.equal(u.events.length, 1);
    assert.equal((u.events[0] as LogEvent).message, JSON.parse(text).message);
    assert.equal(u.skipped, 0);
  });

  it('reads the same events with any chunk size, handing each chunk to the sink', async () => {
    const all: TrainerEvent[] = [];
    for (let i = 1; i <= 500; i++) all.push(i % 50 ? step(i) : log('ü'.repeat(i)));
    writeFileSync(events, all.map(line).join(''));
    const whole = await new RunFollower(dir).poll();
    assert.deepEqual(whole.events, all);
    for (const chunkBytes of [64, 1000, 4096]) {
      const got: TrainerEvent[] = [];
      let calls = 0;
      const u = await new RunFollower(dir, { chunkBytes }).poll((evs, reset) => {
        assert.equal(reset, false);
        calls++;
        got.push(...evs);
      });
      assert.deepEqual(got, all, `chunk ${chunkBytes}`);
      assert.deepEqual(u.events, []);
      assert.ok(calls > 1, `chunk ${chunkBytes}: ${calls} sink calls`);
    }
  });

  it('starts over, saying reset, when the file is truncated, rewritten in place, replaced or deleted', async () => {
    const f = new RunFollower(dir);
    writeFileSync(events, [1, 2, 3].map((i) => line(step(i))).join(''));
    assert.deepEqual(steps((await f.poll()).events), [1, 2, 3]);

    truncateSync(events, 0);
    appendFileSync(events, line(step(7)));
    let u = await f.poll();
    assert.equal(u.reset, true, 'truncated below the offset');
    assert.deepEqual(steps(u.events), [7]);

    writeFileSync(events, [10, 11, 12, 13].map((i) => line(step(i))).join(''));
    u = await f.poll();
    assert.equal(u.reset, true, 'rewritten in place, longer than before');
    assert.deepEqual(steps(u.events), [10, 11, 12, 13]);

    const tmp = path.join(dir, 'events.new');
    writeFileSync(tmp, [10, 11, 12, 13, 14].map((i) => line(step(i))).join(''));
    renameSync(tmp, events);
    let resets = 0;
    const got: number[] = [];
    u = await f.poll((evs, reset) => {
      if (reset) resets++;
      got.push(...steps(evs));
    });
    assert.equal(u.reset, true, 'renamed over: another inode, same first line');
    assert.equal(resets, 1);
    assert.deepEqual(got, [10, 11, 12, 13, 14]);

    rmSync(events);
    u = await f.poll();
    assert.equal(u.reset, true, 'deleted');
    assert.equal(u.offset, 0);
    appendFileSync(events, line(step(20)));
    u = await f.poll();
    assert.equal(u.reset, false);
    assert.deepEqual(steps(u.events), [20]);
  });

  it('skips and counts hostile lines, never throws, never touches Object.prototype', async () => {
    const good = step(1);
    const hostile = [
      '{"v":1,"type":"step","time":1}',
      JSON.stringify({ ...good, loss: '0.1' }),
      JSON.stringify({ ...good, featureNorm: [1, 2, 3] }),
      JSON.stringify({ ...good, featureNorm: null }),
      JSON.stringify({ ...good, step: 1e300 }),
      JSON.stringify(good).replace('"loss":2', '"loss":1e999'),
      JSON.stringify([good]),
      JSON.stringify({ ...good, type: 'constructor' }),
      JSON.stringify({ ...good, type: '__proto__' }),
      '{"v":1,"type":"log","time":1,"level":"info","message":"x"',
      '\u0000\u0001\u0002 binary \uffff',
      'null',
      '12',
      '"step"',
    ];
    const polluting = [
      JSON.stringify(good).replace('{', '{"__proto__":{"polluted":true},'),
      JSON.stringify(good).replace('"featureNorm":{', '"featureNorm":{"__proto__":{"polluted":true},'),
      JSON.stringify(log('x')).replace('{', '{"constructor":{"prototype":{"polluted":true}},'),
    ];
    writeFileSync(events, [...hostile, '', '   ', '\r', ...polluting, JSON.stringify(step(2)) + '\r'].join('\n') + '\n');
    const u = await new RunFollower(dir).poll();
    assert.equal(u.skipped, hostile.length);
    assert.deepEqual(
      u.events.map((e) => e.type),
      ['step', 'step', 'log', 'step'],
    );
    for (const e of u.events) {
      assert.equal(Object.prototype.hasOwnProperty.call(e, '__proto__'), false);
      Object.assign({}, e, (e as StepEvent).featureNorm ?? {});
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('skips an over-long line without buffering it, and reads on after it', async () => {
    const f = new RunFollower(dir, { chunkBytes: 256, maxLineBytes: 1024 });
    appendFileSync(events, line(step(1)) + 'y'.repeat(3000));
    let u = await f.poll();
    assert.deepEqual(steps(u.events), [1]);
    assert.equal(u.skipped, 1);
    assert.equal(u.offset, fsSync.statSync(events).size, 'the long line is consumed, not kept');
    appendFileSync(events, 'y'.repeat(3000));
    u = await f.poll();
    assert.equal(u.skipped, 1, 'still the same line');
    appendFileSync(events, 'tail of the long line\n' + line(step(2)));
    u = await f.poll();
    assert.deepEqual(steps(u.events), [2]);
    assert.equal(u.skipped, 1);
  });

  it('reads past NUL padding that a crash left behind', async () => {
    writeFileSync(events, line(step(1)) + '{"v":1,"type":"st' + '\0'.repeat(100) + line(step(2)) + '\0'.repeat(40) + '\n' + line(step(3)));
    const u = await new RunFollower(dir).poll();
    assert.deepEqual(steps(u.events), [1, 2, 3]);
    assert.equal(u.skipped, 2);
  });

  it('gets through a 1 GiB sparse events file in bounded memory', async function () {
    this.timeout(120_000);
    writeFileSync(events, [1, 2, 3, 4, 5].map((i) => line(step(i))).join(''));
    truncateSync(events, 1024 ** 3);
    const f = new RunFollower(dir);
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t0 = performance.now();
    const got: number[] = [];
    const u = await f.poll((evs) => {
      got.push(...steps(evs));
    });
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    const seconds = (performance.now() - t0) / 1000;
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.equal(u.skipped, 1, 'the NUL run is one garbage line');
    assert.equal(u.offset, 1024 ** 3);
    assert.ok(peak - rss0 < 200 * 1024 ** 2, `RSS grew by ${((peak - rss0) / 1024 ** 2).toFixed(0)} MB`);
    console.log(`      1 GiB sparse: ${seconds.toFixed(1)} s, RSS +${((peak - rss0) / 1024 ** 2).toFixed(0)} MB`);
    assert.ok(seconds < 60, `${seconds.toFixed(1)} s`);
    appendFileSync(events, line(step(6)));
    const next = await f.poll();
    assert.deepEqual(steps(next.events), [6], 'a writer appending after the NULs is read again');
    assert.equal(next.skipped, 1);
  });

  it('reads the newline-less last line of a finished run, not of a running one', async () => {
    writeAtomic('run.json', record());
    appendFileSync(events, line(step(1)) + JSON.stringify(step(2)));
    const f = new RunFollower(dir);
    assert.deepEqual(steps((await f.poll()).events), [1]);
    writeAtomic('run.json', record({ status: 'interrupted' }));
    const u = await f.poll();
    assert.deepEqual(steps(u.events), [2]);
    assert.equal(u.offset, fsSync.statSync(events).size);
    appendFileSync(events, '{"v":1,"type":"st');
    assert.equal((await f.poll()).skipped, 1, 'a cut-off last line of a finished run is garbage');
    appendFileSync(events, '\n' + line(step(3)));
    const resumed = await f.poll();
    assert.deepEqual(steps(resumed.events), [3]);
  });

  it('re-reads run.json and heartbeat.json when they change, keeping the last valid content', async () => {
    const f = new RunFollower(dir);
    writeAtomic('run.json', record());
    assert.equal((await f.poll()).record?.name, 'run');
    assert.equal((await f.poll()).record, undefined, 'unchanged');
    writeAtomic('run.json', '{"id": "r1", "name": ');
    assert.equal((await f.poll()).record, undefined, 'half-written');
    assert.equal(f.record?.name, 'run');
    writeAtomic('run.json', { ...record(), status: 'exploded' });
    assert.equal((await f.poll()).record, undefined, 'invalid status');
    writeAtomic('run.json', JSON.stringify(record({ name: 'renamed' })).replace('{', '{"__proto__":{"polluted":1},'));
    const r = (await f.poll()).record;
    assert.equal(r?.name, 'renamed');
    assert.equal(Object.prototype.hasOwnProperty.call(r, '__proto__'), false);
    writeFileSync(path.join(dir, 'run.json'), JSON.stringify(record({ name: 'in place' })));
    assert.equal((await f.poll()).record?.name, 'in place', 'rewritten in place');

    writeAtomic('heartbeat.json', { time: 1, host: 'h', pid: 2, phase: 'training' });
    assert.equal((await f.poll()).heartbeat?.time, 1);
    writeAtomic('heartbeat.json', { time: 2, host: 'h', pid: '2' });
    assert.equal((await f.poll()).heartbeat, undefined, 'pid not a number');
    writeAtomic('heartbeat.json', { time: 3, host: 'h', pid: 2 });
    assert.equal((await f.poll()).heartbeat?.time, 3);
    assert.equal(f.heartbeat?.time, 3);
  });

  it('watches: never two polls at once, errors reported and polling goes on, nothing after dispose', async () => {
    const f = new RunFollower(dir);
    const updates: FollowerUpdate[] = [];
    const errors: unknown[] = [];
    let inside = 0;
    let overlap = false;
    const w = f.watch(
      10,
      async (u) => {
        overlap ||= inside++ > 0;
        updates.push(u);
        await new Promise((r) => setTimeout(r, 30));
        inside--;
        if (u.events.some((e) => e.type === 'log' && e.message === 'throw')) throw new Error('consumer failed');
      },
      (err) => errors.push(err),
    );
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(cond());
    };
    appendFileSync(events, line(step(1)));
    await until(() => updates.length === 1);
    await Promise.all([f.poll(), f.poll()]);
    appendFileSync(events, line(log('throw')));
    await until(() => errors.length === 1);
    rmSync(events);
    fsSync.mkdirSync(events);
    await until(() => errors.length >= 2);
    rmSync(events, { recursive: true });
    appendFileSync(events, line(step(2)));
    await until(() => updates.some((u) => steps(u.events).includes(2)));
    w.dispose();
    const count = updates.length;
    appendFileSync(events, line(step(3)));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(updates.length, count);
    assert.equal(overlap, false);
    assert.match(String(errors[0]), /consumer failed/);
    f.dispose();
  });
});

describe('liveness', () => {
  const now = Date.parse('2026-11-30T10:32:30.000Z');
  const beat = (ago: number, over: Partial<Heartbeat> = {}): Heartbeat => ({ time: now - ago, host: 'node-7', pid: 123, ...over });
  const running = record({ startedAt: '2026-11-30T10:00:00.000Z', owner: { host: 'node-7', pid: 123 } });
  const alive = () => true;
  const dead = () => false;

  it('a fresh heartbeat is live; a stale one is not, with the last beat in the reason', () => {
    assert.deepEqual(liveness(running, beat(1000), now, 'laptop', dead), { live: true, lastBeat: now - 1000 });
    assert.equal(liveness(running, beat(HEARTBEAT_STALE_MS), now, 'laptop', alive).live, true);
    const stale = liveness(running, beat(HEARTBEAT_STALE_MS + 1), now, 'laptop', alive);
    assert.equal(stale.live, false);
    assert.equal(stale.lastBeat, now - HEARTBEAT_STALE_MS - 1);
    assert.match(stale.reason!, /^The trainer stopped responding; last heartbeat \d{4}-\d\d-\d\d \d\d:\d\d:\d\d from host node-7 \(pid 123\)\.$/);
  });

  it('a fresh heartbeat from this host whose pid is gone is not live; another host is not probed', () => {
    const probed: number[] = [];
    const gone = (pid: number) => (probed.push(pid), false);
    const l = liveness(running, beat(1000), now, 'node-7', gone);
    assert.equal(l.live, false);
    assert.match(l.reason!, /exited without finishing; last heartbeat .* from host node-7 \(pid 123\)/);
    assert.deepEqual(probed, [123]);
    assert.equal(liveness(running, beat(1000), now, 'laptop', gone).live, true);
    assert.deepEqual(probed, [123]);
    assert.equal(liveness(running, beat(1000), now, 'node-7', alive).live, true);
  });

  it('before the first heartbeat, a run is live for HEARTBEAT_STALE_MS after it started', () => {
    const started = record({ startedAt: new Date(now - 10_000).toISOString() });
    assert.equal(liveness(started, undefined, now, 'laptop').live, true);
    const l = liveness(started, undefined, now + HEARTBEAT_STALE_MS, 'laptop');
    assert.equal(l.live, false);
    assert.match(l.reason!, /no heartbeat since/);
    const created = record({ createdAt: new Date(now - 5000).toISOString() });
    assert.equal(liveness(created, undefined, now, 'laptop').live, true);
    assert.equal(liveness(created, undefined, now + HEARTBEAT_STALE_MS, 'laptop').live, false);
    const ownedHere = record({ startedAt: new Date(now - 1000).toISOString(), owner: { host: 'laptop', pid: 99 } });
    assert.equal(liveness(ownedHere, undefined, now, 'laptop', dead).live, false);
  });

  it("a resumed run is not judged by the previous trainer's heartbeat", () => {
    const resumed = record({ launchedAt: new Date(now - 2000).toISOString(), owner: { host: 'node-7', pid: 456 } });
    const old = beat(3_600_000, { pid: 123 });
    assert.equal(liveness(resumed, old, now, 'node-7', (pid) => pid === 456).live, true);
    assert.equal(liveness(resumed, old, now + HEARTBEAT_STALE_MS, 'node-7', alive).live, false);
  });

  it('format-1 folders (no heartbeats) are judged by their pid', () => {
    const v1 = record({ format: undefined, pid: 77, startedAt: new Date(now - 3_600_000).toISOString() });
    assert.equal(liveness(v1, undefined, now, 'laptop', alive).live, true);
    assert.equal(liveness(v1, undefined, now, 'laptop', dead).live, false);
  });

  it('effectiveStatus shows a running run whose trainer is gone as interrupted, and leaves the rest alone', () => {
    const shown = effectiveStatus(running, beat(HEARTBEAT_STALE_MS + 5000), now, 'laptop');
    assert.equal(shown.status, 'interrupted');
    assert.equal(shown.code, 'interrupted');
    assert.match(shown.reason!, /stopped responding/);
    assert.equal(running.status, 'running', 'the record itself is not changed');
    assert.equal(effectiveStatus(running, beat(0), now, 'laptop'), running);
    const done = record({ status: 'completed' });
    assert.equal(effectiveStatus(done, undefined, now, 'laptop'), done);
    assert.equal(liveness(done, beat(0), now, 'laptop').live, false);
  });

  it('a trainer killed on this host is gone at once, even while it is a zombie its parent has not collected (Linux)', async function () {
    if (process.platform !== 'linux') this.skip();
    // The child exits a second later, when its parent has been exec'ed into sleep, which never waits for it: a
    // zombie. (A child that exited at once could be reaped by the shell before the exec.)
    const parent = spawn('sh', ['-c', '(sleep 1; exit 0) & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(String(d)))));
      const state = () => fsSync.readFileSync(`/proc/${zombie}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
      for (let i = 0; i < 400 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(state(), 'Z');
      assert.equal(pidMayBeAlive(zombie), false);
      assert.equal(pidMayBeAlive(process.pid), true);
      const root = mkdtempSync(path.join(os.tmpdir(), 'l2sm-zombie-'));
      try {
        const store = new RunStore(root);
        const run = await store.create(DEFAULT_CONFIG, 'killed', { launcher: 'cli' });
        writeFileSync(store.file(run.id, 'heartbeat.json'), JSON.stringify({ time: Date.now(), host: os.hostname(), pid: zombie, phase: 'training' }));
        await store.save({ ...run, owner: { host: os.hostname(), pid: zombie } });
        const shown = await store.view(run.id);
        assert.equal(shown?.status, 'interrupted', 'a resume one second after the kill is not refused as running');
        assert.match(shown?.reason ?? '', /exited without finishing/);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    } finally {
      parent.kill();
    }
  });
});
