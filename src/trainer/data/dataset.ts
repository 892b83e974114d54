// Datasets as the training loop sees them: a labelled training image source, a
// verification image source and scored pairs over it (LFW protocol, 10 folds).

import type { DatasetStats } from '../../shared/events';
import type { DatasetFacts } from './image-facts';
import type { PairsFile } from './lfw-pairs';

export interface ImageSource {
  readonly count: number;
  /** Pixels of the given images, HWC, scaled to [-1, 1], concatenated. */
  batch(indices: ArrayLike<number>): Promise<Float32Array>;
}

export interface TrainSet extends ImageSource {
  labels: Int32Array;
  classNames: string[];
}

export interface PairIndex {
  a: Int32Array;
  b: Int32Array;
  same: Uint8Array;
  fold: Int32Array;
}

export interface Dataset {
  train: TrainSet;
  /** Held-out images of the training identities: classification accuracy on unseen images. */
  validation?: { images: ImageSource; labels: Int32Array };
  verify: ImageSource;
  pairs: PairIndex;
  /** The verification pairs in LFW form (written next to the run for reference), when they have that form. */
  pairsFile?: PairsFile;
  stats: DatasetStats;
  /** Identity, name, file, quality and content hash of each image of `train`, `validation` and `verify`. */
  facts?: DatasetFacts;
  close?(): Promise<void>;
}

/** Images held in memory as [0, 1] floats. */
export class MemoryImages implements ImageSource {
  constructor(
    private readonly pixels: Float32Array,
    private readonly imageLength: number,
  ) {}

  get count(): number {
    return this.pixels.length / this.imageLength;
  }

  async batch(indices: ArrayLike<number>): Promise<Float32Array> {
    const n = this.imageLength;
    const out = new Float32Array(indices.length * n);
    for (let k = 0; k < indices.length; k++) {
      const src = indices[k] * n;
      for (let i = 0; i < n; i++) out[k * n + i] = this.pixels[src + i] * 2 - 1;
    }
    return out;
  }
}

export class MemoryTrainSet extends MemoryImages implements TrainSet {
  constructor(
    pixels: Float32Array,
    imageLength: number,
    readonly labels: Int32Array,
    readonly classNames: string[],
  ) {
    super(pixels, imageLength);
  }
}

/** Some of another source's images, renumbered 0..n-1 (so several sets can share one decode cache). */
export function imageView(source: ImageSource, indices: ArrayLike<number>): ImageSource {
  const at = Int32Array.from(indices);
  return { count: at.length, batch: (wanted) => source.batch(Array.from(wanted, (i) => at[i])) };
}
