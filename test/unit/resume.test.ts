// Resuming a run from its last complete checkpoint: the resumed run ends where the
// uninterrupted one does, interrupted checkpoint writes are never resumed from, and
// failures to write one are reported with the folder named.

import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from '../../src/shared/config';
import type { CheckpointEvent, EpochEvent, EventBody, FinishedEvent, ResumedEvent, StepEvent } from '../../src/shared/events';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointMetaInput } from '../../src/trainer/train/checkpoint';
import { TrainerError, describeError } from '../../src/trainer/errors';
import { buildNet } from '../../src/trainer/net/model';
import { makeOptimizer } from '../../src/trainer/train/optimizer';
import { Rng } from '../../src/trainer/data/rng';
import { LocalStep } from '../../src/trainer/train/step';
import { readWeights, writeWeights, type TensorData } from '../../src/trainer/train/state';
import { train, type TrainOptions, type TrainPhase } from '../../src/trainer/train/run';
import { checkResume } from '../../src/core/resume';
import { RunStore } from '../../src/core/run-store';
import type { RunRecord } from '../../src/shared/run';
import { listedTrainImages } from '../../src/trainer/data/folder-dataset';
import { writeFaceFolder } from '../../src/trainer/data/write-face-folder';
import { trainInFolder } from '../../src/trainer/session';
import { tinyConfig } from '../fixtures/trainer';

const CLASSES = 8;
/** 8 identities x 12 images in batches of 16. */
const STEPS_PER_EPOCH = 6;

interface Outcome {
  status: string;
  events: EventBody[];
  phases: TrainPhase[];
}

async function run(outDir: string, config: RunConfig, extra: Partial<TrainOptions> & { stopWhen?: (e: EventBody) => boolean } = {}): Promise<Outcome> {
  const events: EventBody[] = [];
  const phases: TrainPhase[] = [];
  let stop = false;
  const status = await train({
    config,
    outDir,
    stepInterval: 0,
    shouldStop: () => stop,
    onPhase: (p) => phases.push(p),
    emit: (e) => {
      events.push(e);
      if (extra.stopWhen?.(e)) stop = true;
    },
    ...extra,
  });
  return { status, events, phases };
}

function ofType<T extends EventBody['type']>(events: EventBody[], type: T): Extract<EventBody, { type: T }>[] {
  return events.filter((e): e is Extract<EventBody, { type: T }> => e.type === type);
}

async function weightsOf(dir: string): Promise<TensorData[]> {
  return (await loadCheckpoint(dir)).weights;
}

/** Largest difference between two weight sets, relative to the largest weight. */
function relativeDiff(a: TensorData[], b: TensorData[]): number {
  assert.deepEqual(a.map((w) => w.name), b.map((w) => w.name));
  let diff = 0;
  let scale = 0;
  a.forEach((w, k) => w.values.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(v - b[k].values[i]));
    scale = Math.max(scale, Math.abs(v));
  }));
  return diff / scale;
}

function tmpNames(runDir: string): string[] {
  const root = path.join(runDir, 'checkpoints');
  return existsSync(root) ? readdirSync(root).filter((n) => n.endsWith('.tmp')) : [];
}

describe('resuming a run from its checkpoint', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'l2sm-resume-'));
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  // One thread and SGD: the same steps in the same order give the same floats.
  const config = tinyConfig({ optimizer: 'sgd', momentum: 0.9, learningRate: 0.01, workers: 1, alphaTrainable: true, epochs: 4 });
  let straight: { dir: string; outcome: Outcome };

  before(async () => {
    const dir = newDir();
    straight = { dir, outcome: await run(dir, config) };
    assert.equal(straight.outcome.status, 'completed');
  });

  it('continues after a stop at an epoch end and ends with the weights of the uninterrupted run', async () => {
    const dir = newDir();
    const first = await run(dir, config, { stopWhen: (e) => e.type === 'checkpoint' && e.epoch === 2 });
    assert.equal(first.status, 'stopped');
    const found = await latestCheckpoint(dir);
    assert.ok(found);
    assert.equal(path.basename(found.dir), 'epoch-002');
    assert.deepEqual([found.meta.epoch, found.meta.step, found.meta.partial, found.meta.dataOrder], [2, 2 * STEPS_PER_EPOCH, false, 'per-epoch-v1']);

    const second = await run(dir, config, { resume: { checkpointDir: found.dir } });
    assert.equal(second.status, 'completed');
    const types = second.events.map((e) => e.type);
    assert.equal(types.indexOf('resumed'), types.indexOf('started') + 1, 'resumed right after started');
    const resumed = ofType(second.events, 'resumed')[0] as ResumedEvent;
    assert.deepEqual([resumed.fromEpoch, resumed.fromStep, resumed.epochs, resumed.resume], [2, 2 * STEPS_PER_EPOCH, 4, 1]);
    assert.deepEqual(ofType(second.events, 'epoch').map((e) => e.epoch), [3, 4]);
    assert.equal((ofType(second.events, 'step')[0] as StepEvent).step, 2 * STEPS_PER_EPOCH + 1, 'global steps continue');
    assert.deepEqual(second.phases.slice(0, 4), ['loading', 'training', 'verifying', 'checkpointing']);

    const diff = relativeDiff(await weightsOf(path.join(dir, 'checkpoints', 'epoch-004')), await weightsOf(path.join(straight.dir, 'checkpoints', 'epoch-004')));
    assert.ok(diff < 1e-5, `final weights differ by ${diff}`);
    const want = ofType(straight.outcome.events, 'epoch').slice(2) as EpochEvent[];
    ofType(second.events, 'epoch').forEach((e, i) => {
      assert.ok(Math.abs(e.trainLoss - want[i].trainLoss) < 1e-5, `epoch ${e.epoch} loss ${e.trainLoss} vs ${want[i].trainLoss}`);
      assert.ok(Math.abs(e.verification.accuracy - want[i].verification.accuracy) < 1e-9);
      assert.ok(Math.abs((e.alpha as number) - (want[i].alpha as number)) < 1e-5, 'learned alpha');
    });
    const done = second.events[second.events.length - 1] as FinishedEvent;
    const wantDone = straight.outcome.events[straight.outcome.events.length - 1] as FinishedEvent;
    assert.equal(done.summary.epochs, 4);
    assert.equal(done.summary.steps, 4 * STEPS_PER_EPOCH);
    assert.equal(done.summary.bestAccuracy, wantDone.summary.bestAccuracy);
    assert.equal(done.summary.bestEpoch, wantDone.summary.bestEpoch);
  });

  it('a NormFace run with a learned s and a cosine schedule resumes as if uninterrupted (s and its own optimizer state included)', async () => {
    const normface = tinyConfig({ loss: 'normface', scale: 8, scaleTrainable: true, lrSchedule: 'cosine', optimizer: 'sgd', momentum: 0.9, learningRate: 0.01, workers: 1, epochs: 3 });
    const whole = newDir();
    assert.equal((await run(whole, normface)).status, 'completed');
    const dir = newDir();
    assert.equal((await run(dir, normface, { stopWhen: (e) => e.type === 'checkpoint' && e.epoch === 1 })).status, 'stopped');
    const found = await latestCheckpoint(dir);
    assert.ok(found);
    assert.equal((await loadCheckpoint(found.dir)).optimizer.state.scale.length, 2, 'iterations and the momentum of s');
    assert.equal((await run(dir, normface, { resume: { checkpointDir: found.dir } })).status, 'completed');
    const [a, b] = [await weightsOf(path.join(dir, 'checkpoints', 'epoch-003')), await weightsOf(path.join(whole, 'checkpoints', 'epoch-003'))];
    assert.ok(a.some((w) => w.name === 'classifier/scale'));
    const diff = relativeDiff(a, b);
    assert.ok(diff < 1e-5, `final weights differ by ${diff}`);
  });

  it('continues a stop mid-epoch from its partial checkpoint, with the same batches and the whole epoch reported', async () => {
    const dir = newDir();
    const stopStep = STEPS_PER_EPOCH + 2;
    // shouldStop is polled before a step's event, so a flag set at one step's event stops after the next.
    const first = await run(dir, config, { stopWhen: (e) => e.type === 'step' && e.step === stopStep - 1 });
    assert.equal(first.status, 'stopped');
    const checkpoint = ofType(first.events, 'checkpoint').pop() as CheckpointEvent;
    assert.deepEqual([checkpoint.epoch, checkpoint.step, checkpoint.partial], [2, stopStep, true]);
    const found = await latestCheckpoint(dir);
    assert.ok(found);
    assert.equal(path.basename(found.dir), `epoch-002-step-${String(stopStep).padStart(6, '0')}`);
    assert.deepEqual([found.meta.epochStep, found.meta.partial], [2, true]);

    const second = await run(dir, config, { resume: { checkpointDir: found.dir, count: 3 } });
    assert.equal(second.status, 'completed');
    assert.equal((ofType(second.events, 'resumed')[0] as ResumedEvent).resume, 3);
    assert.deepEqual(ofType(second.events, 'epoch').map((e) => e.epoch), [2, 3, 4]);
    const firstStep = ofType(second.events, 'step')[0] as StepEvent;
    assert.deepEqual([firstStep.epoch, firstStep.epochStep, firstStep.step], [2, 3, stopStep + 1]);
    const epoch2 = ofType(second.events, 'epoch')[0] as EpochEvent;
    const want2 = ofType(straight.outcome.events, 'epoch')[1] as EpochEvent;
    assert.ok(Math.abs(epoch2.trainLoss - want2.trainLoss) < 1e-5, `epoch 2 loss over all its steps: ${epoch2.trainLoss} vs ${want2.trainLoss}`);
    const diff = relativeDiff(await weightsOf(path.join(dir, 'checkpoints', 'epoch-004')), await weightsOf(path.join(straight.dir, 'checkpoints', 'epoch-004')));
    assert.ok(diff < 1e-5, `final weights differ by ${diff}`);
    assert.equal(path.basename((await latestCheckpoint(dir))!.dir), 'epoch-004');
  });

  it('refuses a checkpoint with other settings, and one that already holds every epoch', async () => {
    const checkpointDir = path.join(straight.dir, 'checkpoints', 'epoch-002');
    const other = await run(newDir(), { ...config, width: 8 }, { resume: { checkpointDir } });
    assert.equal(other.status, 'failed');
    const failed = other.events[other.events.length - 1] as FinishedEvent;
    assert.equal(failed.code, 'resume');
    assert.match(failed.reason ?? '', /width: was 4, now 8/);
    const done = await run(newDir(), config, { resume: { checkpointDir: path.join(straight.dir, 'checkpoints', 'epoch-004') } });
    assert.equal((done.events[done.events.length - 1] as FinishedEvent).code, 'resume');
    assert.match((done.events[done.events.length - 1] as FinishedEvent).reason ?? '', /raise the epoch count/);
  });

  it('data-parallel: replicas start from the restored weights and optimizer state, and an extended run goes on', async () => {
    const parallel = { ...config, workers: 2, epochs: 2 };
    const whole = newDir();
    assert.equal((await run(whole, parallel)).status, 'completed');
    const dir = newDir();
    assert.equal((await run(dir, { ...parallel, epochs: 1 })).status, 'completed');
    const found = await latestCheckpoint(dir);
    const second = await run(dir, parallel, { resume: { checkpointDir: found!.dir } });
    assert.equal(second.status, 'completed');
    assert.equal(ofType(second.events, 'started')[0].workers, 2);
    const epochs = ofType(second.events, 'epoch');
    assert.deepEqual(epochs.map((e) => [e.epoch, e.epochs]), [[2, 2]]);
    assert.ok(Number.isFinite(epochs[0].trainLoss));
    // Replicas that started fresh would send gradients of other weights: the run would part from the straight one.
    const diff = relativeDiff(await weightsOf(path.join(dir, 'checkpoints', 'epoch-002')), await weightsOf(path.join(whole, 'checkpoints', 'epoch-002')));
    assert.ok(diff < 1e-4, `final weights differ by ${diff}`);
  });
});

describe('resuming a run folder whose training set changed', () => {
  let root: string;
  before(() => (root = mkdtempSync(path.join(tmpdir(), 'l2sm-resume-folder-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('fails before it trains and leaves the run as it was: its result, epoch count and fingerprint', async () => {
    const faces = path.join(root, 'faces');
    const identities = await writeFaceFolder(faces, { identities: 6, images: 6, size: 16, seed: 3 });
    const store = new RunStore(path.join(root, 'runs'));
    const created = await store.create(tinyConfig({ epochs: 1, workers: 1, dataset: { path: faces } }), 'folder', { launcher: 'cli' });
    const dir = store.dir(created.id);
    assert.equal(await trainInFolder({ dir, launcher: 'cli', shouldStop: () => false }), 0);
    const done = (await store.get(created.id)) as RunRecord;
    assert.equal(done.summary?.epochs, 1);
    assert.equal(await listedTrainImages(done.config), done.dataset?.images, 'the listing counts the training set the trainer loaded');
    // One more image per identity: the training set grows, and the checkpoint's batch order no longer fits it.
    const extra = identities.map((id) => path.join(faces, id.name, 'extra.png'));
    identities.forEach((id, i) => fs.copyFileSync(path.join(faces, id.name, readdirSync(path.join(faces, id.name))[0]), extra[i]));
    assert.equal(await trainInFolder({ dir, launcher: 'cli', resume: true, epochs: 2, shouldStop: () => false }), 1);
    const failed = (await store.get(created.id)) as RunRecord;
    assert.deepEqual([failed.status, failed.code], ['failed', 'resume']);
    assert.match(failed.reason ?? '', /the training set has \d+ images now and had \d+ then/);
    assert.deepEqual(failed.summary, done.summary, 'the run keeps its result');
    assert.deepEqual([failed.config.epochs, failed.fingerprint, failed.progress, failed.resumes], [1, done.fingerprint, done.progress, done.resumes]);
    extra.forEach((f) => unlinkSync(f));
    const check = await checkResume(dir, failed, failed.status, 2);
    assert.deepEqual([check.refusal, check.changes], [undefined, []], 'with the dataset back as it was, it resumes without --force');
  });
});

describe('checkpoints on disk', () => {
  const config = tinyConfig({ alphaTrainable: true });
  let runDir: string;
  beforeEach(() => (runDir = mkdtempSync(path.join(tmpdir(), 'l2sm-ckpt-'))));
  afterEach(() => rmSync(runDir, { recursive: true, force: true }));

  function meta(epoch: number, partial = false): CheckpointMetaInput {
    return {
      epoch,
      step: epoch * STEPS_PER_EPOCH,
      epochStep: STEPS_PER_EPOCH,
      partial,
      epochs: 4,
      alpha: 16,
      seed: config.seed,
      trainImages: CLASSES * 12,
      summary: { epochs: epoch, steps: epoch * STEPS_PER_EPOCH, seconds: 1, imagesPerSec: 1, finalLoss: 1, alpha: 16, bestEpoch: 1, bestAccuracy: 0.5, final: null },
      resumes: 0,
    };
  }

  /** A net and an Adam optimizer that has taken `steps` steps on random batches. */
  async function trained(steps: number) {
    const net = buildNet(config, CLASSES);
    const optimizer = makeOptimizer(config, net, STEPS_PER_EPOCH);
    const runner = new LocalStep(net, optimizer, config);
    const rng = new Rng(5);
    const len = config.imageSize * config.imageSize * config.channels;
    const batch = () => ({ pixels: Float32Array.from({ length: 8 * len }, () => rng.normal() * 0.5), labels: Int32Array.from({ length: 8 }, () => rng.int(CLASSES)) });
    for (let s = 0; s < steps; s++) {
      const b = batch();
      await runner.step(b.pixels, b.labels);
    }
    return { net, optimizer, runner, batch, dispose: () => (net.train.dispose(), optimizer.dispose()) };
  }

  it('round-trips the Adam state: moments and iteration count as saved, and the next step the same', async () => {
    const a = await trained(3);
    const dir = await saveCheckpoint(runDir, a.net.train, a.optimizer, config, meta(1));
    const loaded = await loadCheckpoint(dir);
    assert.equal(loaded.optimizer.className, 'Adam');
    const saved = await a.optimizer.readState();
    const learned = a.optimizer.scale ? 1 : 0;
    assert.equal(saved.weights.length, 1 + 2 * (a.net.train.trainableWeights.length - learned));
    assert.equal(saved.scale.length, learned ? 3 : 0);
    assert.deepEqual(loaded.optimizer.state, saved);

    const net = buildNet(config, CLASSES);
    const b = { net, optimizer: makeOptimizer(config, net, STEPS_PER_EPOCH) };
    writeWeights(b.net.train, loaded.weights);
    await b.optimizer.writeState(loaded.optimizer.state);
    assert.deepEqual(await b.optimizer.readState(), saved);
    assert.deepEqual(await readWeights(b.net.train), await readWeights(a.net.train));
    const next = a.batch();
    await a.runner.step(next.pixels.slice(), next.labels.slice());
    await new LocalStep(b.net, b.optimizer, config).step(next.pixels.slice(), next.labels.slice());
    const diff = relativeDiff(await readWeights(b.net.train), await readWeights(a.net.train));
    assert.ok(diff < 1e-6, `weights after the next step differ by ${diff}`);
    a.dispose();
    b.net.train.dispose();
    b.optimizer.dispose();
  });

  it('never picks a checkpoint whose write was interrupted, at any stage; the next write clears the leftovers', async () => {
    const a = await trained(1);
    const good = await saveCheckpoint(runDir, a.net.train, a.optimizer, config, meta(1));
    const root = path.dirname(good);
    const json = JSON.parse(readFileSync(path.join(good, 'checkpoint.json'), 'utf8'));
    const fake = (name: string, epoch: number, keep: string[], metaText?: string) => {
      const dir = path.join(root, name);
      mkdirSync(dir);
      for (const f of keep) cpSync(path.join(good, f), path.join(dir, f));
      if (metaText !== undefined) writeFileSync(path.join(dir, 'checkpoint.json'), metaText);
      else if (keep.includes('checkpoint.json')) writeFileSync(path.join(dir, 'checkpoint.json'), JSON.stringify({ ...json, epoch, step: epoch * STEPS_PER_EPOCH }));
    };
    const contents = ['model.json', 'weights.bin', 'optimizer.json', 'optimizer.bin', 'config.json'];
    fake('epoch-002', 2, ['model.json']);
    fake('epoch-003', 3, ['model.json', 'weights.bin']);
    fake('epoch-004', 4, ['model.json', 'weights.bin', 'optimizer.json', 'optimizer.bin']);
    fake('epoch-005', 5, contents);
    fake('epoch-006', 6, contents, JSON.stringify({ ...json, epoch: 6 }).slice(0, 40));
    fake('epoch-007', 7, ['model.json', 'optimizer.json', 'optimizer.bin', 'config.json', 'checkpoint.json']);
    fake('epoch-008.tmp', 8, [...contents, 'checkpoint.json']);
    fake('epoch-009-step-000060.tmp', 9, [...contents, 'checkpoint.json']);
    fake('epoch-010.old.tmp', 10, [...contents, 'checkpoint.json']);
    const found = await latestCheckpoint(runDir);
    assert.equal(found?.dir, good);
    await assert.rejects(loadCheckpoint(path.join(root, 'epoch-005')), (err: TrainerError) => err.code === 'resume' && /not a complete checkpoint/.test(err.message));

    // Writing epoch 2 replaces the broken folder of that name and removes every *.tmp.
    const second = await saveCheckpoint(runDir, a.net.train, a.optimizer, config, meta(2));
    assert.equal((await latestCheckpoint(runDir))?.dir, second);
    assert.deepEqual(tmpNames(runDir), []);
    assert.ok(existsSync(path.join(second, 'checkpoint.json')));
    a.dispose();
  });

  it('a checkpoint that cannot be written is a "checkpoint" error naming the folder, with no *.tmp left', async () => {
    const a = await trained(0);
    writeFileSync(path.join(runDir, 'checkpoints'), 'not a folder');
    await assert.rejects(saveCheckpoint(runDir, a.net.train, a.optimizer, config, meta(1)), (err: TrainerError) => {
      assert.equal(err.code, 'checkpoint');
      assert.match(err.message, /Could not write the checkpoint to .*checkpoints[/\\]epoch-001: /);
      return true;
    });
    unlinkSync(path.join(runDir, 'checkpoints'));
    a.dispose();
  });

  it('a full disk is a "disk" error naming the folder; the run fails with it and leaves no *.tmp', async () => {
    const fsp = fs.promises as { open: typeof fs.promises.open };
    const open = fsp.open;
    fsp.open = (async (file: fs.PathLike, ...rest: unknown[]) => {
      if (String(file).endsWith('optimizer.bin')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return (open as (...args: unknown[]) => Promise<fs.promises.FileHandle>)(file, ...rest);
    }) as typeof fs.promises.open;
    try {
      const outcome = await run(runDir, tinyConfig({ epochs: 1, workers: 1 }));
      assert.equal(outcome.status, 'failed');
      const done = outcome.events[outcome.events.length - 1] as FinishedEvent;
      assert.equal(done.code, 'disk');
      assert.match(done.reason ?? '', /Could not write the checkpoint to .*epoch-001: ENOSPC.*Free disk space/);
    } finally {
      fsp.open = open;
    }
    assert.deepEqual(tmpNames(runDir), []);
    assert.equal(await latestCheckpoint(runDir), undefined);
  });

  it('lets an error thrown by emit (an unwritable run folder) propagate, without emitting more', async () => {
    const events: EventBody[] = [];
    const failure = Object.assign(new Error('run folder gone'), { code: 'disk' });
    await assert.rejects(
      train({
        config: tinyConfig({ epochs: 2, workers: 1 }),
        outDir: runDir,
        shouldStop: () => false,
        emit: (e) => {
          events.push(e);
          if (e.type === 'epoch') throw failure;
        },
      }),
      (err) => err === failure,
    );
    assert.equal(events[events.length - 1].type, 'epoch');
  });

  it('describes disk errors as code "disk", message kept', () => {
    assert.deepEqual(describeError(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' })), { code: 'disk', message: 'ENOSPC: no space left' });
    assert.deepEqual(describeError(Object.assign(new Error('EDQUOT: quota'), { code: 'EDQUOT' })).code, 'disk');
    assert.deepEqual(describeError(Object.assign(new Error('read-only'), { code: 'EROFS' })).code, 'disk');
    assert.deepEqual(describeError(Object.assign(new Error('cannot write run.json'), { code: 'disk' })), { code: 'disk', message: 'cannot write run.json' });
    assert.equal(describeError(Object.assign(new Error('denied'), { code: 'EACCES' })).code, 'internal');
  });
});
