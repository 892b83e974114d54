import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunFollower } from '../../src/core/run-follower';
import { RunStore } from '../../src/core/run-store';
import { RunFolderError, RunWriter } from '../../src/core/run-writer';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { PROTOCOL_VERSION, type TrainerEvent, type Verification } from '../../src/shared/events';
import type { RunRecord } from '../../src/shared/run';

const ROOT = path.resolve(__dirname, '../..');
const TRAINER = path.join(ROOT, 'dist/trainer.js');
const summary = { epochs: 1, steps: 3, seconds: 1, imagesPerSec: 10, finalLoss: 1, alpha: 16, bestEpoch: null, bestAccuracy: null, final: null };
const log = (message: string): TrainerEvent => ({ v: PROTOCOL_VERSION, time: Date.now(), type: 'log', level: 'info', message });
const step = (n: number): TrainerEvent => ({
  v: PROTOCOL_VERSION,
  time: Date.now(),
  type: 'step',
  epoch: 1,
  step: n,
  epochStep: n,
  loss: 2,
  accuracy: 0.5,
  alpha: 16,
  featureNorm: { mean: 1, min: 1, max: 1 },
  imagesPerSec: 100,
});

function tmpFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((n) => n.endsWith('.tmp'));
}

describe('run writer', () => {
  let root: string;
  let store: RunStore;
  let writer: RunWriter | undefined;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-writer-'));
    store = new RunStore(root);
  });
  afterEach(() => {
    writer?.close();
    writer = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  it('takes a queued run over, appends events a follower reads back, and keeps run.json current', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'w');
    writer = RunWriter.open(store.dir(run.id), { launcher: 'local' });
    const record = (await store.get(run.id)) as RunRecord;
    assert.equal(record.status, 'running');
    assert.equal(record.owner?.pid, process.pid);
    assert.equal(record.format, 2);
    const beat = JSON.parse(readFileSync(store.file(run.id, 'heartbeat.json'), 'utf8'));
    assert.equal(beat.pid, process.pid);
    assert.equal(beat.phase, 'loading');
    writer.emit(log('hello'));
    writer.emit(step(1));
    writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'checkpoint', epoch: 1, path: path.join(store.dir(run.id), 'checkpoints', 'epoch-001'), step: 3, partial: false });
    writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'finished', status: 'completed', summary });
    const follower = new RunFollower(store.dir(run.id));
    const update = await follower.poll();
    follower.dispose();
    assert.deepEqual(update.events.map((e) => e.type), ['log', 'step', 'checkpoint', 'finished']);
    const done = (await store.get(run.id)) as RunRecord;
    assert.equal(done.status, 'completed');
    assert.ok(done.endedAt);
    assert.deepEqual(done.checkpoint, { epoch: 1, step: 3, name: 'epoch-001', partial: false });
    assert.match(readFileSync(store.file(run.id, 'trainer.log'), 'utf8'), /info: hello/);
    assert.deepEqual(tmpFiles(root), []);
  });

  it('removes the temp files a killed writer left between a write and its rename when it takes the folder over', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'leftovers');
    writeFileSync(path.join(store.dir(run.id), 'run.json.99999.k2x9qa.tmp'), '{"half":');
    writer = RunWriter.open(store.dir(run.id), { launcher: 'local' });
    assert.equal(existsSync(path.join(store.dir(run.id), 'run.json.99999.k2x9qa.tmp')), false);
    assert.equal(existsSync(store.file(run.id, 'run.json')), true);
  });

  it('keeps beating while the training thread is blocked (a long synchronous render or scoring)', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'busy');
    writer = RunWriter.open(store.dir(run.id), { launcher: 'local', heartbeatMs: 100 });
    await new Promise((r) => setTimeout(r, 200)); // the heartbeat thread starts
    const t0 = Date.now();
    while (Date.now() - t0 < 800) {
      // blocked, as the trainer's main thread is while it renders its share of the synthetic faces
    }
    const beat = JSON.parse(readFileSync(store.file(run.id, 'heartbeat.json'), 'utf8'));
    assert.ok(beat.time > t0 + 300, `last beat ${beat.time - t0} ms into an 800 ms block`);
    writer.setPhase('training');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(JSON.parse(readFileSync(store.file(run.id, 'heartbeat.json'), 'utf8')).phase, 'training');
    const summary = { epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null };
    writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'finished', status: 'completed', summary });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(JSON.parse(readFileSync(store.file(run.id, 'heartbeat.json'), 'utf8')).phase, 'finished', 'the last beat still says what it did before finishing');
  });

  it('reads stop and rename requests from control.json, and drops requests older than its launch', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'old name');
    writeFileSync(store.file(run.id, 'control.json'), JSON.stringify({ stop: true, requestedAt: new Date(Date.now() - 60000).toISOString() }));
    await store.save({ ...run, launchedAt: new Date().toISOString() });
    let now = Date.now();
    writer = RunWriter.open(store.dir(run.id), { launcher: 'local', now: () => now });
    assert.equal(writer.stopRequested(), false, 'a stop meant for an earlier trainer stopped this one');
    assert.equal(existsSync(store.file(run.id, 'control.json')), false);
    writeFileSync(store.file(run.id, 'control.json'), JSON.stringify({ name: 'new name', requestedAt: new Date().toISOString() }));
    now += 1000;
    assert.equal(writer.stopRequested(), false);
    assert.equal((await store.get(run.id))?.name, 'new name');
    writeFileSync(store.file(run.id, 'control.json'), JSON.stringify({ stop: true, name: 'new name', requestedAt: new Date().toISOString() }));
    now += 1000;
    assert.equal(writer.stopRequested(), true);
  });

  it('ends a line a killed trainer left half-written before appending', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'w');
    appendFileSync(store.file(run.id, 'events.jsonl'), JSON.stringify(log('before')) + '\n' + '{"v":1,"time":1,"ty');
    writer = RunWriter.open(store.dir(run.id), { launcher: 'local', resume: true });
    writer.emit(log('after'));
    const follower = new RunFollower(store.dir(run.id));
    const update = await follower.poll();
    follower.dispose();
    assert.deepEqual(update.events.map((e) => e.type === 'log' && e.message), ['before', 'after']);
    assert.equal(update.skipped, 1);
    // The record counts the resume once it trains; the session knows it at once.
    assert.equal(writer.resumes, 1);
  });

  it('a full disk (writes fail with ENOSPC) is a RunFolderError naming the file, and leaves no temp file', async function () {
    if (process.platform !== 'linux') this.skip();
    const run = await store.create(DEFAULT_CONFIG, 'full');
    // /dev/full answers every write with ENOSPC, the way a full filesystem does.
    symlinkSync('/dev/full', store.file(run.id, 'events.jsonl'));
    writer = RunWriter.open(store.dir(run.id), { launcher: 'local' });
    assert.throws(() => writer!.emit(log('x')), (err: unknown) => err instanceof RunFolderError && /events\.jsonl: the disk is full .*ENOSPC/.test(err.message));
    assert.deepEqual(tmpFiles(root), []);
  });

  it('a resume that ends before it trains keeps the run\'s result, epoch count, fingerprint and trainer; one that trains takes the new ones', async () => {
    const created = await store.create({ ...DEFAULT_CONFIG, epochs: 1 }, 'done');
    const final = { pairs: 100, accuracy: 0.95 } as unknown as Verification;
    const result = { ...summary, final, bestEpoch: 1, bestAccuracy: 0.95, reported: { epoch: 1, rule: 'final' as const, validationAccuracy: null, verification: final } };
    const progress = { epoch: 1, epochs: 1, step: 3, stepsPerEpoch: 3, loss: 1, imagesPerSec: 10 };
    const then = { files: 100, bytes: 1000, hash: 'then' };
    const done: RunRecord = { ...created, status: 'completed', summary: result, progress, fingerprint: then, trainerVersion: '0.0.1', checkpoint: { epoch: 1, step: 3, name: 'epoch-001', partial: false } };
    await store.save(done);
    const dir = store.dir(created.id);
    writer = RunWriter.open(dir, { launcher: 'cli', resume: true, epochs: 2 });
    assert.deepEqual([writer.config.epochs, writer.resumes], [2, 1], 'the session trains to the new count');
    writer.setFingerprint({ files: 101, bytes: 1010, hash: 'now' });
    const taken = (await store.get(created.id)) as RunRecord;
    assert.deepEqual([taken.status, taken.config.epochs, taken.fingerprint?.hash, taken.trainerVersion, taken.resumes], ['running', 1, 'then', '0.0.1', undefined]);
    writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'started', config: { ...DEFAULT_CONFIG, epochs: 2 }, stepsPerEpoch: 4, alphaLow: 1, dataset: {}, backend: {} } as unknown as TrainerEvent);
    writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'error', code: 'resume', message: 'the training set has 101 images now and had 100 then' });
    const empty = { epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null };
    const written = writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'finished', status: 'failed', code: 'resume', reason: 'the training set has 101 images now', summary: empty });
    writer.close();
    writer = undefined;
    const failed = (await store.get(created.id)) as RunRecord;
    assert.deepEqual([failed.status, failed.code, failed.reason], ['failed', 'resume', 'the training set has 101 images now']);
    assert.deepEqual(failed.summary, result, 'the 95% result is kept');
    assert.deepEqual([failed.progress, failed.checkpoint, failed.dataset, failed.backend], [progress, done.checkpoint, undefined, undefined]);
    assert.deepEqual([failed.config.epochs, failed.fingerprint, failed.trainerVersion, failed.resumes], [1, then, '0.0.1', undefined]);
    const lines = readFileSync(store.file(created.id, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => e.type), ['started', 'error', 'finished']);
    assert.deepEqual([lines[2].summary, (written as { summary: unknown }).summary], [result, result], 'the finished event reports the run as it was');

    writer = RunWriter.open(dir, { launcher: 'cli', resume: true, epochs: 2 });
    writer.setFingerprint({ files: 101, bytes: 1010, hash: 'now' });
    writer.emit(step(4));
    const trained = (await store.get(created.id)) as RunRecord;
    assert.deepEqual([trained.config.epochs, trained.fingerprint?.hash, trained.trainerVersion !== '0.0.1', trained.resumes], [2, 'now', true, 1]);
  });

  it('refuses a folder without a run record', () => {
    mkdirSync(path.join(root, 'empty'));
    assert.throws(() => RunWriter.open(path.join(root, 'empty'), { launcher: 'cli' }), /Cannot read the run record/);
  });
});

describe('trainer process', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'l2sm-proc-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('says how to call it and exits 2 on bad arguments', () => {
    const r = spawnSync(process.execPath, [TRAINER, '--out', root], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: node dist\/trainer\.js --run <run folder>/);
  });

  it('exits 4 with the reason when the run folder has no record', () => {
    const r = spawnSync(process.execPath, [TRAINER, '--run', root], { encoding: 'utf8' });
    assert.equal(r.status, 4);
    assert.match(r.stderr, /Cannot read the run record/);
  });

  it('fails a run with a bad config: exit 2, the field named in the finished event and run.json', async () => {
    const store = new RunStore(root);
    const run = await store.create({ ...DEFAULT_CONFIG, epochs: 0 }, 'bad');
    const r = spawnSync(process.execPath, [TRAINER, '--run', store.dir(run.id)], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    const lines = readFileSync(store.file(run.id, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[lines.length - 1].type, 'finished');
    assert.match(lines[lines.length - 1].reason, /epochs: must be at least 1, got 0/);
    const record = (await store.get(run.id)) as RunRecord;
    assert.equal(record.status, 'failed');
    assert.equal(record.code, 'invalid-config');
  });

  it('on a full filesystem the run fails with code disk and a message naming the folder; nothing half-written is left', async function () {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) this.skip();
    const mount = path.join(root, 'small');
    mkdirSync(mount);
    // Room for the record and the first events, not for a checkpoint.
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mount], { encoding: 'utf8' });
    if (m.status !== 0) this.skip();
    try {
      const store = new RunStore(mount);
      const run = await store.create({ ...DEFAULT_CONFIG, imageSize: 16, width: 4, embeddingSize: 16, epochs: 2, batchSize: 16, workers: 1, dataset: { ...DEFAULT_CONFIG.dataset, synthetic: { ...DEFAULT_CONFIG.dataset.synthetic, identities: 8, imagesPerIdentity: 12, verifyIdentities: 20, verifyImagesPerIdentity: 4, pairsPerFold: 10, hardShare: 0 } } }, 'full');
      const r = spawnSync(process.execPath, [TRAINER, '--run', store.dir(run.id)], { encoding: 'utf8', timeout: 120000 });
      assert.ok(r.status === 4 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
      const names = new RegExp(`${store.dir(run.id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(disk is full|ENOSPC|no space)`, 'is');
      const record = (await store.get(run.id)) as RunRecord;
      // Where run.json could still be replaced it carries the failure; otherwise stderr (trainer.log) does.
      if (record.status === 'running') assert.match(r.stderr, names);
      else {
        assert.equal(record.status, 'failed');
        assert.equal(record.code, 'disk');
        assert.match(record.reason ?? '', names);
      }
      assert.deepEqual(tmpFiles(mount), []);
    } finally {
      spawnSync('umount', ['-l', mount]);
    }
  });
});
