// One epoch of training: its batches one step after another (the next batch read
// ahead), the sums the epoch event reports (a partial checkpoint keeps them when
// a stop interrupts the epoch), step events at most every stepInterval, and the
// throughput counters. The run (run.ts) verifies and checkpoints around it.

import { hasScaleS, type RunConfig } from '../../shared/config';
import type { EpochEvent, EventBody, RunSummary } from '../../shared/events';
import type { Batch, EpochBatches } from '../data/batches';
import { TrainerError } from '../errors';
import type { Net } from '../net/model';
import type { EpochProgress } from './checkpoint';
import type { StepRunner, StepStats } from './step';

/** Floor of the seconds a rate divides by, so a first instant step does not divide by zero. */
const MIN_SECONDS = 1e-3;

export function emptyProgress(): EpochProgress {
  return { images: 0, lossSum: 0, accuracySum: 0, normSum: 0, normMin: null, normMax: null, seconds: 0 };
}

/** The epoch event's training numbers from the epoch's sums. */
export function epochStats(progress: EpochProgress): Pick<EpochEvent, 'trainLoss' | 'trainAccuracy' | 'featureNorm' | 'seconds' | 'imagesPerSec'> {
  const seen = progress.images;
  return {
    trainLoss: progress.lossSum / seen,
    trainAccuracy: progress.accuracySum / seen,
    featureNorm: { mean: progress.normSum / seen, min: progress.normMin ?? NaN, max: progress.normMax ?? NaN },
    seconds: progress.seconds,
    imagesPerSec: seen / Math.max(progress.seconds, MIN_SECONDS),
  };
}

function addStep(progress: EpochProgress, stats: StepStats, n: number): void {
  progress.images += n;
  progress.lossSum += stats.loss * n;
  progress.accuracySum += stats.accuracy * n;
  progress.normSum += stats.norm.mean * n;
  progress.normMin = Math.min(progress.normMin ?? Infinity, stats.norm.min);
  progress.normMax = Math.max(progress.normMax ?? -Infinity, stats.norm.max);
}

/** Reads a batch ahead; the loop awaits it, unless it stops first (then its failure is of no interest). */
function prefetch(batches: EpochBatches, step: number): Promise<Batch> {
  const batch = batches.load(step);
  batch.catch(() => undefined);
  return batch;
}

export interface EpochDeps {
  config: RunConfig;
  net: Net;
  runner: StepRunner;
  /** The run's summary: steps and the final loss are counted here. */
  summary: RunSummary;
  emit(event: EventBody): void;
  /** Polled after every step; true asks for a graceful stop. */
  shouldStop(): boolean;
  /** Minimum milliseconds between step events (the last step of an epoch is always sent). */
  stepInterval: number;
  /** Seconds left in the run after global step `step` of epoch `epoch` (the run's smoothed estimate). */
  eta?(epoch: number, step: number): number | undefined;
}

/** Trains epochs step by step for one run; keeps the throughput across epochs. */
export class EpochTrainer {
  private trainedImages = 0;
  private trainMs = 0;
  private readonly window = { images: 0, start: Date.now(), lastEvent: 0 };

  constructor(private readonly deps: EpochDeps) {}

  /** Images per second while stepping, over the whole session. */
  imagesPerSec(): number {
    return this.trainedImages / Math.max(this.trainMs / 1000, MIN_SECONDS);
  }

  get trained(): number {
    return this.trainedImages;
  }

  /** The feature scale now (alpha, s); null for softmax. */
  scale(): Promise<number | null> {
    return this.deps.net.head.scale();
  }

  /** Runs the steps of `batches` from `first` to the end of the epoch, adding them to `progress`; returns the steps done when a stop came before the last. */
  async trainSteps(batches: EpochBatches, first: number, progress: EpochProgress): Promise<number | undefined> {
    let next = prefetch(batches, first);
    for (let s = first; s < batches.steps; s++) {
      const batch = await next;
      if (s + 1 < batches.steps) next = prefetch(batches, s + 1);
      const stats = await this.step(batch, batches.epoch, s);
      addStep(progress, stats, batch.labels.length);
      const last = s === batches.steps - 1;
      const stop = this.deps.shouldStop();
      await this.reportStep(batches.epoch, s + 1, stats, last || stop);
      // A stop during the last step lets the epoch end as usual (verification, full checkpoint).
      if (stop && !last) return s + 1;
    }
    return undefined;
  }

  private async step(batch: Batch, epoch: number, s: number): Promise<StepStats> {
    const t0 = Date.now();
    const stats = await this.deps.runner.step(batch.pixels, batch.labels);
    this.trainMs += Date.now() - t0;
    this.trainedImages += batch.labels.length;
    this.window.images += batch.labels.length;
    this.deps.summary.steps++;
    if (!Number.isFinite(stats.loss)) {
      throw new TrainerError(
        'non-finite-loss',
        `The loss became ${stats.loss} at epoch ${epoch}, step ${s + 1}. Lower the learning rate${this.deps.config.loss === 'l2-softmax' ? ' or alpha' : hasScaleS(this.deps.config.loss) ? ' or s' : ''} and start again.`,
      );
    }
    this.deps.summary.finalLoss = stats.loss;
    return stats;
  }

  /** A step event, at most every stepInterval unless `force`. */
  private async reportStep(epoch: number, epochStep: number, stats: StepStats, force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.window.lastEvent < this.deps.stepInterval) return;
    this.deps.emit({
      type: 'step',
      epoch,
      step: this.deps.summary.steps,
      epochStep,
      loss: stats.loss,
      accuracy: stats.accuracy,
      alpha: await this.scale(),
      featureNorm: stats.norm,
      imagesPerSec: this.window.images / Math.max((now - this.window.start) / 1000, MIN_SECONDS),
      eta: this.deps.eta?.(epoch, this.deps.summary.steps),
    });
    this.window.lastEvent = now;
    this.window.images = 0;
    this.window.start = now;
  }
}
