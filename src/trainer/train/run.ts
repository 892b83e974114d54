// The training run: backend -> dataset -> net and optimizer (fresh, or restored
// from a checkpoint to resume a run) -> epochs (their steps: epoch.ts; one step,
// here or data-parallel: step.ts), each epoch ending with LFW-protocol
// verification (../verify/embed.ts), its records (../verify/records.ts) and a
// checkpoint. Reports everything as protocol events through `emit`. Training
// failures become events and a `failed` status; what the caller's own `emit` or
// `onPhase` throw (say, its run folder cannot be written) propagates instead,
// after cleanup.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { alphaLowerBound, hasScaleS, scaleLowerBound, type RunConfig } from '../../shared/config';
import type { BackendInfo, ErrorCode, EventBody, FinishStatus, RunSummary } from '../../shared/events';
import type { TrainerPhase } from '../../shared/run';
import { addEpochToSummary } from '../../shared/summary';
import { initBackend } from '../backend/select';
import { EpochBatches } from '../data/batches';
import type { Dataset } from '../data/dataset';
import { formatPairs } from '../data/lfw-pairs';
import { syntheticFacts } from '../data/image-facts';
import { loadDataset } from '../data/load';
import { checkProtocol } from '../data/overlap';
import { EtaEstimator } from '../../shared/eta';
import { describeError, type TrainerLog } from '../errors';
import { buildNet, countParameters, type Net } from '../net/model';
import { classify, verifyEmbedded } from '../verify/embed';
import { RunRecords } from '../verify/records';
import { saveCheckpoint, type CheckpointMeta, type EpochProgress } from './checkpoint';
import { EpochTrainer, emptyProgress, epochStats } from './epoch';
import { makeOptimizer, type NetOptimizer } from './optimizer';
import { restoreCheckpoint, type Position } from './resume';
import { LocalStep, ParallelStep, defaultWorkerScript, workerCount, type StepRunner } from './step';

export type TrainPhase = TrainerPhase;

export interface TrainOptions {
  config: RunConfig;
  outDir: string;
  emit: (event: EventBody) => void;
  /** Polled after every step and after every epoch's checkpoint; true asks for a graceful stop. */
  shouldStop: () => boolean;
  /** Minimum milliseconds between step events (the last step of an epoch is always sent). */
  stepInterval?: number;
  /** The data-parallel worker script (dist/train-worker.js by default). */
  workerScript?: string;
  /**
   * Continue from a checkpoint folder (latestCheckpoint finds the newest). `config` must be the
   * checkpoint's except for epochs (may grow), device and workers. `count` is which resume this
   * is (1 = the first); by default one more than the checkpoint had seen.
   */
  resume?: { checkpointDir: string; count?: number };
  /** Told every change of phase (the caller's heartbeat). */
  onPhase?: (phase: TrainPhase) => void;
}

const DEFAULT_STEP_INTERVAL_MS = 200;
/** Target probability of the paper's alpha lower bound (and of CosFace's bound on s). */
const ALPHA_BOUND_P = 0.9;

export function train(opts: TrainOptions): Promise<FinishStatus> {
  return new TrainingRun(opts).run();
}

function stepsPerEpoch(data: Dataset, config: RunConfig): number {
  return Math.ceil(data.train.count / config.batchSize);
}

/** The lower bound on the head's scale at p = 0.9: s_low for the normalized-classifier heads, else alpha_low. */
function scaleBound(config: RunConfig, classes: number): number {
  return hasScaleS(config.loss) ? scaleLowerBound(classes, ALPHA_BOUND_P) : alphaLowerBound(classes, ALPHA_BOUND_P);
}

function emptySummary(): RunSummary {
  return { epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null };
}

/** One call of train(): the resources it holds and the counters it keeps. */
class TrainingRun {
  private readonly config: RunConfig;
  private readonly summary = emptySummary();
  private readonly startedAt = Date.now();
  private readonly stepInterval: number;
  /** Seconds the run had trained before this session (resumed runs carry them on). */
  private priorSeconds = 0;
  private resumes = 0;
  private net?: Net;
  private optimizer?: NetOptimizer;
  private data?: Dataset;
  private runner?: StepRunner;
  private phase?: TrainPhase;
  /** Set when the caller's emit or onPhase threw: that error ends the run without calling them again. */
  private callerFailed = false;
  private epochs?: EpochTrainer;
  private records?: RunRecords;
  private eta?: EtaEstimator;

  constructor(private readonly opts: TrainOptions) {
    this.config = opts.config;
    this.stepInterval = opts.stepInterval ?? (Number(process.env.L2SOFTMAX_STEP_INTERVAL_MS) || DEFAULT_STEP_INTERVAL_MS);
  }

  async run(): Promise<FinishStatus> {
    try {
      const from = await this.setUp();
      return await this.trainFrom(from);
    } catch (err) {
      if (this.callerFailed) throw err;
      return this.fail(err);
    } finally {
      await this.cleanUp();
    }
  }

  // ---- the caller's callbacks

  private emit(event: EventBody): void {
    this.toCaller(() => this.opts.emit(event));
  }

  private setPhase(phase: TrainPhase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    this.toCaller(() => this.opts.onPhase?.(phase));
  }

  private toCaller(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.callerFailed = true;
      throw err;
    }
  }

  private log(message: string): void {
    this.emit({ type: 'log', level: 'info', message });
  }

  /** Where the backend and the dataset report: info lines as `log` events, warnings (skipped images, cache trouble) as `warning` events. */
  private readonly report: TrainerLog = {
    info: (message) => this.log(message),
    warn: (code, message) => this.emit({ type: 'warning', code, message }),
    phase: (phase) => this.setPhase(phase),
  };

  // ---- start and end

  /** Backend, dataset, net and optimizer (restored when resuming), step runner; returns where training starts. */
  private async setUp(): Promise<Position> {
    const { config, opts } = this;
    this.setPhase('loading');
    const backend = await initBackend(config.device, this.report);
    this.log(`Backend: ${backend.description}`);
    const threads = workerCount(config.workers, backend.name);
    const workerScript = opts.workerScript ?? defaultWorkerScript();
    const data = await this.loadData(threads, workerScript);
    this.setPhase('loading');
    const classes = data.train.classNames.length;
    const net = (this.net = buildNet(config, classes));
    const optimizer = (this.optimizer = makeOptimizer(config, net, stepsPerEpoch(data, config)));
    this.describeUpdates(optimizer);
    const restored = opts.resume ? await this.restore(opts.resume, data, net, optimizer) : undefined;
    // After the restore: replicas start from this thread's weights and optimizer state.
    this.runner = threads > 1 ? await ParallelStep.create(net, optimizer, config, classes, backend.name, threads, workerScript) : new LocalStep(net, optimizer, config);
    if (threads > 1) this.log(`Training data-parallel on ${threads} threads`);
    this.epochs = new EpochTrainer({
      config,
      net,
      runner: this.runner,
      summary: this.summary,
      emit: (event) => this.emit(event),
      shouldStop: () => opts.shouldStop(),
      stepInterval: this.stepInterval,
      eta: (epoch, step) => this.secondsLeft(epoch, step),
    });
    this.eta = new EtaEstimator({ batchSize: config.batchSize, verifyImages: data.stats.verifyImages + (data.stats.validationImages ?? 0) });
    this.announce(backend, data, net, restored?.meta);
    this.records = new RunRecords(opts.outDir, data, config);
    await this.records.start();
    return restored?.from ?? { epoch: 1, epochStep: 0 };
  }

  private async loadData(threads: number, workerScript: string): Promise<Dataset> {
    const { config, opts } = this;
    const data = (this.data = await loadDataset(config, this.report, threads, workerScript));
    // The synthetic faces' facts come from their seeds, not their pixels (which may come from the cache).
    data.facts ??= config.dataset.path ? undefined : syntheticFacts(config);
    await checkProtocol(data, config, this.report);
    await fs.mkdir(opts.outDir, { recursive: true });
    if (data.pairsFile) await fs.writeFile(path.join(opts.outDir, 'verification-pairs.txt'), formatPairs(data.pairsFile));
    return data;
  }

  /** Loads the checkpoint into the fresh net and optimizer and takes over its counters and summary. */
  private async restore(resume: NonNullable<TrainOptions['resume']>, data: Dataset, net: Net, optimizer: NetOptimizer) {
    const restored = await restoreCheckpoint(resume.checkpointDir, this.config, data.train.count, net, optimizer);
    const { meta } = restored;
    Object.assign(this.summary, meta.summary);
    this.priorSeconds = meta.summary.seconds;
    this.resumes = resume.count ?? (meta.resumes ?? 0) + 1;
    this.log(`Resuming from ${resume.checkpointDir} (epoch ${meta.epoch}, step ${meta.step}${meta.partial ? ', mid-epoch' : ''})`);
    return restored;
  }

  /** Says which variables decay and at what rates the scale learns. */
  private describeUpdates(optimizer: NetOptimizer): void {
    const { config } = this;
    if (optimizer.decayed.length) this.log(`Weight decay ${config.weightDecay} on ${optimizer.decayed.join(', ')} (not on biases, alpha or s)`);
    if (optimizer.scale) this.log(`The scale learns at rate ${config.scaleLearningRate} with its own ${optimizer.getClassName()}`);
    if (config.lrSchedule !== 'constant') this.log(`Learning-rate schedule: ${config.lrSchedule}`);
  }

  /** `started`, then `resumed` when resuming, then the alpha warning when it applies. */
  private announce(backend: BackendInfo, data: Dataset, net: Net, resumedFrom?: CheckpointMeta): void {
    const { config } = this;
    const classes = data.train.classNames.length;
    const alphaLow = scaleBound(config, classes);
    this.emit({
      type: 'started',
      backend,
      dataset: data.stats,
      alphaLow,
      config,
      stepsPerEpoch: stepsPerEpoch(data, config),
      parameters: countParameters(net.train),
      workers: this.runner?.workers,
      pid: process.pid,
    });
    if (resumedFrom) this.emit({ type: 'resumed', fromEpoch: resumedFrom.epoch, fromStep: resumedFrom.step, epochs: config.epochs, resume: this.resumes });
    const scale = hasScaleS(config.loss) ? { name: 's', value: config.scale } : config.loss === 'l2-softmax' ? { name: 'alpha', value: config.alpha } : undefined;
    if (scale && scale.value < alphaLow) {
      this.emit({
        type: 'warning',
        code: scale.name === 's' ? 'scale-below-bound' : 'alpha-below-bound',
        message: `${scale.name} = ${scale.value} is below the lower bound ${alphaLow.toFixed(2)} for ${classes} classes (p = ${ALPHA_BOUND_P}): training may underfit.`,
      });
    }
  }

  /** The run's time left after global step `step` of `epoch`: the remaining steps and this and the later epochs' verifications. */
  private secondsLeft(epoch: number, step: number): number | undefined {
    const eta = this.eta as EtaEstimator;
    eta.step(Date.now(), step);
    const total = stepsPerEpoch(this.data as Dataset, this.config) * this.config.epochs;
    return eta.seconds(total - step, this.config.epochs - epoch + 1);
  }

  private seconds(): number {
    return this.priorSeconds + (Date.now() - this.startedAt) / 1000;
  }

  private finish(status: FinishStatus, extra: { reason?: string; code?: ErrorCode } = {}): FinishStatus {
    this.summary.seconds = this.seconds();
    this.emit({ type: 'finished', status, summary: this.summary, ...extra });
    return status;
  }

  private fail(err: unknown): FinishStatus {
    const { code, message } = describeError(err);
    this.emit({ type: 'error', code, message });
    if (code === 'internal' && err instanceof Error && err.stack) this.emit({ type: 'log', level: 'debug', message: err.stack });
    return this.finish('failed', { reason: message, code });
  }

  private async cleanUp(): Promise<void> {
    await this.runner?.dispose().catch(() => undefined);
    this.net?.train.dispose();
    this.optimizer?.dispose();
    await this.data?.close?.().catch(() => undefined);
  }

  // ---- epochs

  private async trainFrom(from: Position): Promise<FinishStatus> {
    const { epochs } = this.config;
    for (let epoch = from.epoch; epoch <= epochs; epoch++) {
      const resumed = epoch === from.epoch ? from : undefined;
      const done = await this.runEpoch(epoch, resumed?.epochStep ?? 0, resumed?.progress);
      if (!done) return this.finish('stopped', { reason: `stopped by request during epoch ${epoch}` });
      if (this.opts.shouldStop() && epoch < epochs) return this.finish('stopped', { reason: `stopped by request after epoch ${epoch}` });
    }
    return this.finish('completed');
  }

  /** Trains epoch `epoch` from step `first` on; false when a stop interrupted it (a partial checkpoint is written). */
  private async runEpoch(epoch: number, first: number, carried?: EpochProgress): Promise<boolean> {
    this.setPhase('training');
    const sessionStart = Date.now();
    const progress = { ...(carried ?? emptyProgress()) };
    const batches = new EpochBatches((this.data as Dataset).train, this.config, epoch);
    const trainer = this.epochs as EpochTrainer;
    const stoppedAt = await trainer.trainSteps(batches, first, progress);
    progress.seconds += (Date.now() - sessionStart) / 1000;
    this.summary.alpha = await trainer.scale();
    if (trainer.trained) this.summary.imagesPerSec = trainer.imagesPerSec();
    if (stoppedAt !== undefined) {
      await this.checkpoint(epoch, stoppedAt, progress);
      return false;
    }
    await this.endEpoch(epoch, batches.steps, progress);
    return true;
  }

  /** Verification, the epoch event, the epoch's checkpoint. */
  private async endEpoch(epoch: number, steps: number, progress: EpochProgress): Promise<void> {
    this.setPhase('verifying');
    const started = Date.now();
    this.eta?.pause();
    const net = this.net as Net;
    const data = this.data as Dataset;
    const { verification, embeddings, scores } = await verifyEmbedded(net, data, this.config.batchSize);
    const validation = data.validation ? await classify(net, data.validation.images, data.validation.labels, this.config.batchSize) : null;
    const records = await this.records?.epoch(epoch, net, this.config.batchSize, embeddings, scores, verification);
    const { summary } = this;
    addEpochToSummary(summary, { epoch, verification, validation }, this.config.reportEpoch);
    this.emit({ type: 'epoch', epoch, epochs: this.config.epochs, ...epochStats(progress), alpha: summary.alpha, validation, verification, ...(records ? { records } : {}) });
    await this.checkpoint(epoch, steps);
    this.eta?.verified((Date.now() - started) / 1000);
  }

  /** The checkpoint after `epochStep` steps of `epoch`: partial (with the epoch's sums so far) when `progress` is given. */
  private async checkpoint(epoch: number, epochStep: number, progress?: EpochProgress): Promise<void> {
    this.setPhase('checkpointing');
    const partial = progress !== undefined;
    this.summary.seconds = this.seconds();
    const dir = await saveCheckpoint(this.opts.outDir, (this.net as Net).train, this.optimizer as NetOptimizer, this.config, {
      epoch,
      step: this.summary.steps,
      epochStep,
      partial,
      epochs: this.config.epochs,
      alpha: this.summary.alpha,
      seed: this.config.seed,
      trainImages: (this.data as Dataset).train.count,
      summary: { ...this.summary },
      epochProgress: progress,
      resumes: this.resumes,
    });
    this.emit({ type: 'checkpoint', epoch, path: dir, step: this.summary.steps, partial });
  }
}
