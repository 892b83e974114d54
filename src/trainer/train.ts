// The training loop: backend -> dataset -> net -> epochs of steps, each epoch
// ending with LFW-protocol verification and a checkpoint. Reports everything
// as protocol events through `emit`; never throws (failures become events).

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from './tf';
import { alphaLowerBound, type RunConfig } from '../shared/config';
import type { ErrorCode, EventBody, FinishStatus, NormStats, RunSummary, Verification } from '../shared/events';
import { initBackend } from './backend';
import { saveCheckpoint } from './checkpoint';
import type { Dataset, ImageSource } from './data';
import { loadDataset } from './dataset';
import { TrainerError, describeError } from './errors';
import { verify } from './metrics';
import { buildNet, countParameters, crossEntropy, type Net } from './model';
import { makeOptimizer } from './optimizer';
import { LocalStep, ParallelStep, defaultWorkerScript, workerCount, type StepRunner } from './step';
import { formatPairs } from './pairs';
import { Rng, hashSeed } from './rng';

export interface TrainOptions {
  config: RunConfig;
  outDir: string;
  emit: (event: EventBody) => void;
  /** Polled after every step; true asks for a graceful stop. */
  shouldStop: () => boolean;
  /** Minimum milliseconds between step events (the last step of an epoch is always sent). */
  stepInterval?: number;
  /** The data-parallel worker script (dist/train-worker.js by default). */
  workerScript?: string;
}

export async function train(opts: TrainOptions): Promise<FinishStatus> {
  const { config, outDir, emit } = opts;
  const started = Date.now();
  const summary: RunSummary = {
    epochs: 0,
    steps: 0,
    seconds: 0,
    imagesPerSec: 0,
    finalLoss: null,
    alpha: null,
    bestEpoch: null,
    bestAccuracy: null,
    final: null,
  };
  const finish = (status: FinishStatus, extra: { reason?: string; code?: ErrorCode } = {}) => {
    summary.seconds = (Date.now() - started) / 1000;
    emit({ type: 'finished', status, summary, ...extra });
    return status;
  };
  let net: Net | undefined;
  let optimizer: tf.Optimizer | undefined;
  let data: Dataset | undefined;
  let runner: StepRunner | undefined;
  try {
    const backend = await initBackend(config.device, {
      info: (message) => emit({ type: 'log', level: 'info', message }),
      warn: (code, message) => emit({ type: 'warning', code, message }),
    });
    emit({ type: 'log', level: 'info', message: `Backend: ${backend.description}` });
    const threads = workerCount(config.workers, backend.name);
    const workerScript = opts.workerScript ?? defaultWorkerScript();
    data = await loadDataset(config, (message) => emit({ type: 'log', level: 'info', message }), threads, workerScript);
    await fs.mkdir(outDir, { recursive: true });
    if (data.pairsFile) await fs.writeFile(path.join(outDir, 'verification-pairs.txt'), formatPairs(data.pairsFile));
    const classes = data.train.classNames.length;
    net = buildNet(config, classes);
    optimizer = makeOptimizer(config);
    runner = threads > 1 ? await ParallelStep.create(net, optimizer, config, classes, backend.name, threads, workerScript) : new LocalStep(net, optimizer, config);
    if (threads > 1) emit({ type: 'log', level: 'info', message: `Training data-parallel on ${threads} threads` });
    const stepsPerEpoch = Math.ceil(data.train.count / config.batchSize);
    emit({
      type: 'started',
      backend,
      dataset: data.stats,
      alphaLow: alphaLowerBound(classes, 0.9),
      config,
      stepsPerEpoch,
      parameters: countParameters(net.train),
      workers: runner.workers,
      pid: process.pid,
    });
    if (config.loss === 'l2-softmax' && config.alpha < alphaLowerBound(classes, 0.9)) {
      emit({
        type: 'warning',
        code: 'alpha-below-bound',
        message: `alpha = ${config.alpha} is below the lower bound ${alphaLowerBound(classes, 0.9).toFixed(2)} for ${classes} classes (p = 0.9): training may underfit.`,
      });
    }
    const rng = new Rng(hashSeed(config.seed, 7));
    const interval = opts.stepInterval ?? (Number(process.env.L2SOFTMAX_STEP_INTERVAL_MS) || 200);
    let lastEvent = 0;
    let windowImages = 0;
    let windowStart = Date.now();
    let trainedImages = 0;
    let trainTime = 0;
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      const epochStart = Date.now();
      const order = rng.shuffle(Array.from({ length: data.train.count }, (_, i) => i));
      let lossSum = 0;
      let accSum = 0;
      let seen = 0;
      const norms: NormStats = { mean: 0, min: Infinity, max: -Infinity };
      let stopped = false;
      const train = data.train;
      // The next batch is read (from the decode cache) while the current step computes.
      const load = (s: number) => {
        const idx = order.slice(s * config.batchSize, (s + 1) * config.batchSize);
        return train.batch(idx).then((pixels) => {
          flipHalf(pixels, idx.length, config.imageSize, config.channels, rng);
          return { pixels, labels: Int32Array.from(idx, (i) => train.labels[i]) };
        });
      };
      let next = load(0);
      for (let s = 0; s < stepsPerEpoch; s++) {
        const batch = await next;
        if (s + 1 < stepsPerEpoch) next = load(s + 1);
        const n = batch.labels.length;
        const t0 = Date.now();
        const stats = await runner.step(batch.pixels, batch.labels);
        trainTime += Date.now() - t0;
        summary.steps++;
        if (!Number.isFinite(stats.loss)) {
          throw new TrainerError(
            'non-finite-loss',
            `The loss became ${stats.loss} at epoch ${epoch}, step ${s + 1}. Lower the learning rate${config.loss === 'l2-softmax' ? ' or alpha' : ''} and start again.`,
          );
        }
        lossSum += stats.loss * n;
        accSum += stats.accuracy * n;
        norms.mean += stats.norm.mean * n;
        norms.min = Math.min(norms.min, stats.norm.min);
        norms.max = Math.max(norms.max, stats.norm.max);
        seen += n;
        trainedImages += n;
        windowImages += n;
        const now = Date.now();
        stopped = opts.shouldStop();
        if (now - lastEvent >= interval || s === stepsPerEpoch - 1 || stopped) {
          emit({
            type: 'step',
            epoch,
            step: summary.steps,
            epochStep: s + 1,
            loss: stats.loss,
            accuracy: stats.accuracy,
            alpha: net.l2 ? net.l2.currentAlpha() : null,
            featureNorm: stats.norm,
            imagesPerSec: windowImages / Math.max((now - windowStart) / 1000, 1e-3),
          });
          lastEvent = now;
          windowImages = 0;
          windowStart = now;
        }
        summary.finalLoss = stats.loss;
        if (stopped) break;
      }
      summary.alpha = net.l2 ? net.l2.currentAlpha() : null;
      summary.imagesPerSec = trainedImages / Math.max(trainTime / 1000, 1e-3);
      if (stopped) {
        await checkpoint(net, optimizer, config, outDir, epoch, emit, { partial: true, step: summary.steps });
        return finish('stopped', { reason: `stopped by request during epoch ${epoch}` });
      }
      const verification = await runVerification(net, data, config.batchSize);
      const validation = data.validation ? await classify(net, data.validation.images, data.validation.labels, config.batchSize) : null;
      summary.epochs = epoch;
      summary.final = verification;
      if (summary.bestAccuracy === null || verification.accuracy > summary.bestAccuracy) {
        summary.bestAccuracy = verification.accuracy;
        summary.bestEpoch = epoch;
      }
      emit({
        type: 'epoch',
        epoch,
        epochs: config.epochs,
        trainLoss: lossSum / seen,
        trainAccuracy: accSum / seen,
        alpha: summary.alpha,
        featureNorm: { ...norms, mean: norms.mean / seen },
        validation,
        verification,
        seconds: (Date.now() - epochStart) / 1000,
        imagesPerSec: seen / Math.max((Date.now() - epochStart) / 1000, 1e-3),
      });
      await checkpoint(net, optimizer, config, outDir, epoch, emit, { partial: false, step: summary.steps, accuracy: verification.accuracy });
      if (opts.shouldStop() && epoch < config.epochs) return finish('stopped', { reason: `stopped by request after epoch ${epoch}` });
    }
    return finish('completed');
  } catch (err) {
    const { code, message } = describeError(err);
    emit({ type: 'error', code, message });
    if (code === 'internal' && err instanceof Error && err.stack) emit({ type: 'log', level: 'debug', message: err.stack });
    return finish('failed', { reason: message, code });
  } finally {
    await runner?.dispose().catch(() => undefined);
    net?.train.dispose();
    optimizer?.dispose();
    await data?.close?.().catch(() => undefined);
  }
}

/** Mirrors a random half of the batch left-right (faces are roughly symmetric). */
function flipHalf(pixels: Float32Array, n: number, size: number, channels: number, rng: Rng): void {
  const len = size * size * channels;
  for (let k = 0; k < n; k++) {
    if (rng.next() < 0.5) continue;
    for (let y = 0; y < size; y++) {
      const row = k * len + y * size * channels;
      for (let x = 0; x < size >> 1; x++) {
        const a = row + x * channels;
        const b = row + (size - 1 - x) * channels;
        for (let c = 0; c < channels; c++) {
          const t = pixels[a + c];
          pixels[a + c] = pixels[b + c];
          pixels[b + c] = t;
        }
      }
    }
  }
}

/**
 * Runs `f` over every image of `images` in inference batches; `f` gets the batch
 * tensor and the image indices and returns a tensor whose values are handed to `take`.
 */
async function inBatches(
  net: Net,
  images: ImageSource,
  batchSize: number,
  f: (xs: tf.Tensor4D, idx: number[]) => tf.Tensor,
  take: (values: Float32Array, out: tf.Tensor, start: number) => void,
): Promise<void> {
  const shape = net.train.inputs[0].shape as number[];
  const size = Math.max(batchSize, 64);
  for (let start = 0; start < images.count; start += size) {
    const idx = Array.from({ length: Math.min(size, images.count - start) }, (_, i) => start + i);
    const pixels = await images.batch(idx);
    const out = tf.tidy(() => f(tf.tensor4d(pixels, [idx.length, shape[1], shape[2], shape[3]]), idx));
    take((await out.data()) as Float32Array, out, start);
    out.dispose();
  }
}

/** Classification accuracy and loss on images the net never trained on. */
async function classify(net: Net, images: ImageSource, labels: Int32Array, batchSize: number): Promise<{ accuracy: number; loss: number; images: number }> {
  let correct = 0;
  let lossSum = 0;
  await inBatches(
    net,
    images,
    batchSize,
    (xs, idx) => {
      const ys = tf.tensor1d(Int32Array.from(idx, (i) => labels[i]), 'int32');
      const [, logits] = net.train.predict(xs) as tf.Tensor2D[];
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), ys), 'float32'));
      return tf.stack([hits, tf.mul(crossEntropy(logits, ys), idx.length)]);
    },
    ([h, l]) => {
      correct += h;
      lossSum += l;
    },
  );
  return { accuracy: correct / images.count, loss: lossSum / images.count, images: images.count };
}

/** Embeds every verification image once, then scores the pairs by cosine similarity. */
export async function runVerification(net: Net, data: Dataset, batchSize: number): Promise<Verification> {
  let dim = 0;
  let embeddings = new Float32Array(0);
  await inBatches(
    net,
    data.verify,
    batchSize,
    (xs) => {
      const emb = net.embedder.predict(xs) as tf.Tensor2D;
      return tf.div(emb, tf.add(tf.sqrt(tf.sum(tf.square(emb), -1, true)), 1e-12));
    },
    (values, out, start) => {
      if (!dim) {
        dim = out.shape[1] as number;
        embeddings = new Float32Array(data.verify.count * dim);
      }
      embeddings.set(values, start * dim);
    },
  );
  const { a, b, same, fold } = data.pairs;
  const scores = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) {
    let dot = 0;
    const oa = a[k] * dim;
    const ob = b[k] * dim;
    for (let d = 0; d < dim; d++) dot += embeddings[oa + d] * embeddings[ob + d];
    scores[k] = dot;
  }
  return verify({ scores, same }, fold);
}

async function checkpoint(
  net: Net,
  optimizer: tf.Optimizer,
  config: RunConfig,
  outDir: string,
  epoch: number,
  emit: TrainOptions['emit'],
  meta: Record<string, unknown>,
): Promise<void> {
  const dir = path.join(outDir, 'checkpoints', `epoch-${String(epoch).padStart(3, '0')}`);
  try {
    await saveCheckpoint(dir, net.train, optimizer, config, { epoch, ...meta });
  } catch (err) {
    throw new TrainerError('checkpoint', `Could not write the checkpoint to ${dir}: ${(err as Error).message}. Check free disk space and permissions.`);
  }
  emit({ type: 'checkpoint', epoch, path: dir });
}
