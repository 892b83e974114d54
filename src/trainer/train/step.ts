// One training step, on this thread or data-parallel over worker threads.
//
// Data parallel: the batch is split into shards; this thread and each worker
// (its own WebAssembly backend, its own replica of the net built from the same
// seed) compute the gradient of the mean loss on their shard; the gradients are
// averaged, weighted by shard size (= the gradient of the full batch), and every
// replica applies the same average with the same optimizer, so the replicas stay
// identical. The average goes to the workers as soon as it is known, so they
// update their replicas while this thread updates its own. Replicas start from
// this thread's weights and optimizer state (fresh, or restored by a resume).

import { cpus } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RunConfig } from '../../shared/config';
import type { BackendName, NormStats } from '../../shared/events';
import { TrainerError } from '../errors';
import type { Net } from '../net/model';
import * as tf from '../tf';
import type { NetOptimizer, OptimizerState } from './optimizer';
import { readWeights, type TensorData } from './state';

/** What a replica loads after building its net and optimizer, to start identical to this thread's. */
export interface ReplicaState {
  weights: TensorData[];
  optimizer: OptimizerState;
}

export interface StepStats {
  loss: number;
  accuracy: number;
  norm: NormStats;
}

export interface StepRunner {
  readonly workers: number;
  step(pixels: Float32Array, labels: Int32Array): Promise<StepStats>;
  dispose(): Promise<void>;
}

/** Sums over a shard: [loss * n, correct, norm sum, norm min, norm max]. */
export type ShardStats = [number, number, number, number, number];

export function trainableVariables(net: Net): tf.Variable[] {
  return net.train.trainableWeights.map((w) => w.read() as tf.Variable);
}

function gradients(net: Net, pixels: Float32Array, labels: Int32Array, config: RunConfig): { grads: tf.NamedTensorMap; stats: tf.Tensor } {
  const n = labels.length;
  return tf.tidy(() => {
    const xs = tf.tensor4d(pixels, [n, config.imageSize, config.imageSize, config.channels]);
    const ys = tf.tensor1d(labels, 'int32');
    let stats: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const [emb, output] = net.train.apply(xs, { training: true }) as [tf.Tensor2D, tf.Tensor2D];
      const loss = net.head.loss(output, ys);
      const logits = net.head.logits(output);
      const norm = tf.sqrt(tf.sum(tf.square(emb), -1));
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), ys), 'float32'));
      stats = tf.keep(tf.stack([tf.mul(loss, n), correct, tf.sum(norm), tf.min(norm), tf.max(norm)]));
      return loss;
    }, trainableVariables(net));
    value.dispose();
    return { grads, stats: stats as tf.Tensor };
  });
}

/** Gradient of the mean loss on one shard, flattened in trainable-variable order. */
export async function shardGradients(net: Net, pixels: Float32Array, labels: Int32Array, config: RunConfig): Promise<{ flat: Float32Array; stats: ShardStats }> {
  const { grads, stats } = gradients(net, pixels, labels, config);
  const vars = trainableVariables(net);
  const flat = new Float32Array(vars.reduce((s, v) => s + v.size, 0));
  let offset = 0;
  for (const v of vars) {
    const g = grads[v.name];
    flat.set((await g.data()) as Float32Array, offset);
    offset += v.size;
  }
  const s = Array.from(await stats.data()) as ShardStats;
  tf.dispose([stats, ...Object.values(grads)]);
  return { flat, stats: s };
}

/** Applies a flattened gradient (trainable-variable order) with the optimizer. */
export function applyFlat(net: Net, optimizer: NetOptimizer, flat: Float32Array): void {
  const vars = trainableVariables(net);
  tf.tidy(() => {
    const named: tf.NamedTensorMap = {};
    let offset = 0;
    for (const v of vars) {
      named[v.name] = tf.tensor(flat.subarray(offset, offset + v.size), v.shape, 'float32');
      offset += v.size;
    }
    optimizer.applyGradients(named);
  });
}

/** sum of weight * values, one pass per term. */
export function weightedSum(terms: { weight: number; values: Float32Array }[]): Float32Array {
  const out = new Float32Array(terms[0].values.length);
  const [first, ...rest] = terms;
  const w0 = first.weight;
  const v0 = first.values;
  for (let i = 0; i < out.length; i++) out[i] = w0 * v0[i];
  for (const { weight, values } of rest) {
    for (let i = 0; i < out.length; i++) out[i] += weight * values[i];
  }
  return out;
}

function combine(parts: { stats: ShardStats; n: number }[]): StepStats {
  const n = parts.reduce((s, p) => s + p.n, 0);
  const used = parts.filter((p) => p.n > 0);
  return {
    loss: used.reduce((s, p) => s + p.stats[0], 0) / n,
    accuracy: used.reduce((s, p) => s + p.stats[1], 0) / n,
    norm: {
      mean: used.reduce((s, p) => s + p.stats[2], 0) / n,
      min: Math.min(...used.map((p) => p.stats[3])),
      max: Math.max(...used.map((p) => p.stats[4])),
    },
  };
}

/** Steps on this thread only. */
export class LocalStep implements StepRunner {
  readonly workers = 1;
  constructor(
    private readonly net: Net,
    private readonly optimizer: NetOptimizer,
    private readonly config: RunConfig,
  ) {}

  async step(pixels: Float32Array, labels: Int32Array): Promise<StepStats> {
    const { grads, stats } = gradients(this.net, pixels, labels, this.config);
    this.optimizer.applyGradients(grads);
    const s = Array.from(await stats.data()) as ShardStats;
    tf.dispose([stats, ...Object.values(grads)]);
    return combine([{ stats: s, n: labels.length }]);
  }

  async dispose(): Promise<void> {}
}

type WorkerReply = { type: 'ready' } | { type: 'grads'; flat: Float32Array; stats: ShardStats; n: number } | { type: 'error'; message: string };

class Replica {
  private waiting?: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };
  private failure?: Error;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'error') this.fail(new TrainerError('internal', `A training worker failed: ${m.message}`));
      else {
        const w = this.waiting;
        this.waiting = undefined;
        w?.resolve(m);
      }
    });
    worker.on('error', (err) => this.fail(new TrainerError('internal', `A training worker crashed: ${err.message}`)));
    worker.on('exit', (code) => this.fail(new TrainerError('internal', `A training worker exited unexpectedly (code ${code}).`)));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }

  /** A message that gets no reply (a failure surfaces at the next request). */
  send(message: unknown, transfer: ArrayBuffer[] = []): void {
    if (!this.failure) this.worker.postMessage(message, transfer);
  }

  request(message: unknown, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** Steps split over this thread and `workers - 1` worker threads. */
export class ParallelStep implements StepRunner {
  private constructor(
    private readonly net: Net,
    private readonly optimizer: NetOptimizer,
    private readonly config: RunConfig,
    private readonly replicas: Replica[],
  ) {}

  get workers(): number {
    return this.replicas.length + 1;
  }

  /** Starts `workers - 1` replicas of `net` and `optimizer` as they are now. */
  static async create(net: Net, optimizer: NetOptimizer, config: RunConfig, classes: number, backend: BackendName, workers: number, script: string): Promise<ParallelStep> {
    const state: ReplicaState = { weights: await readWeights(net.train), optimizer: await optimizer.readState() };
    const { stepsPerEpoch } = optimizer;
    const replicas: Replica[] = [];
    try {
      for (let i = 1; i < workers; i++) {
        const worker = new Worker(script, { workerData: { config, classes, backend, stepsPerEpoch }, stdout: false, stderr: false });
        replicas.push(new Replica(worker));
      }
      const replies = await Promise.all(replicas.map((r) => r.request({ type: 'init', state })));
      if (replies.some((r) => r.type !== 'ready')) throw new TrainerError('internal', 'A training worker did not start.');
    } catch (err) {
      await Promise.all(replicas.map((r) => r.terminate()));
      throw err;
    }
    return new ParallelStep(net, optimizer, config, replicas);
  }

  async step(pixels: Float32Array, labels: Int32Array): Promise<StepStats> {
    const n = labels.length;
    const k = this.replicas.length + 1;
    const per = Math.ceil(n / k);
    const len = this.config.imageSize * this.config.imageSize * this.config.channels;
    const shard = (i: number) => [Math.min(i * per, n), Math.min((i + 1) * per, n)];
    // Workers first, so they compute while this thread does its own shard.
    const replies = this.replicas.map((r, i) => {
      const [a, b] = shard(i + 1);
      const px = pixels.slice(a * len, b * len);
      const lb = labels.slice(a, b);
      return r.request({ type: 'step', pixels: px, labels: lb }, [px.buffer, lb.buffer]);
    });
    const [a, b] = shard(0);
    const own = await shardGradients(this.net, pixels.subarray(a * len, b * len), labels.subarray(a, b), this.config);
    const parts: { flat: Float32Array; stats: ShardStats; n: number }[] = [{ ...own, n: b - a }];
    for (const r of await Promise.all(replies)) {
      if (r.type !== 'grads') throw new TrainerError('internal', 'A training worker sent an unexpected reply.');
      parts.push(r);
    }
    const avg = weightedSum(parts.filter((p) => p.n > 0).map((p) => ({ weight: p.n / n, values: p.flat })));
    for (const r of this.replicas) {
      const copy = avg.slice();
      r.send({ type: 'apply', grads: copy }, [copy.buffer]);
    }
    applyFlat(this.net, this.optimizer, avg);
    return combine(parts);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.terminate()));
  }
}

/** Worker threads to use: the setting, or one per core (0 = auto); only the WebAssembly and cpu backends are single-threaded (a GPU backend runs one process per GPU). */
export function workerCount(setting: number, backend: BackendName): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  return Math.max(1, Math.min(setting > 0 ? setting : cpus().length, 16));
}

export function defaultWorkerScript(): string {
  return process.env.L2SOFTMAX_WORKER_SCRIPT || path.join(__dirname, 'train-worker.js');
}
