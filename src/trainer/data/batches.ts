// The training batch stream. Each epoch's image order is drawn from (seed, epoch)
// and each batch's random flips from (seed, epoch, step in epoch), so the stream
// holds no state beyond the counters: a resumed run reads exactly the batches
// the uninterrupted run would have read, and prefetching a batch early consumes
// nothing another batch depends on.

import type { RunConfig } from '../../shared/config';
import type { TrainSet } from './dataset';
import { Rng, hashSeed } from './rng';

/** Names the scheme above; checkpoints record it, and a resume refuses any other. */
export const DATA_ORDER = 'per-epoch-v1';

/** hashSeed salts, distinct from those of the datasets (1, 2, 11, 12, 31, 99, 50x). */
const EPOCH_ORDER_SALT = 701;
const FLIP_SALT = 702;

export interface Batch {
  pixels: Float32Array;
  labels: Int32Array;
}

/** The order in which epoch `epoch` (1-based) visits the `count` training images. */
export function epochOrder(seed: number, epoch: number, count: number): number[] {
  return new Rng(hashSeed(seed, EPOCH_ORDER_SALT, epoch)).shuffle(Array.from({ length: count }, (_, i) => i));
}

/** The batches of one epoch. */
export class EpochBatches {
  readonly steps: number;
  private readonly order: number[];

  constructor(
    private readonly train: TrainSet,
    private readonly config: RunConfig,
    readonly epoch: number,
  ) {
    this.order = epochOrder(config.seed, epoch, train.count);
    this.steps = Math.ceil(train.count / config.batchSize);
  }

  /** Batch `step` (0-based) of the epoch, with its flips applied. */
  async load(step: number): Promise<Batch> {
    const { batchSize, seed, imageSize, channels } = this.config;
    const idx = this.order.slice(step * batchSize, (step + 1) * batchSize);
    const pixels = await this.train.batch(idx);
    flipHalf(pixels, idx.length, imageSize, channels, new Rng(hashSeed(seed, FLIP_SALT, this.epoch, step)));
    return { pixels, labels: Int32Array.from(idx, (i) => this.train.labels[i]) };
  }
}

/** Mirrors a random half of the batch left-right (faces are roughly symmetric). */
export function flipHalf(pixels: Float32Array, n: number, size: number, channels: number, rng: Rng): void {
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
