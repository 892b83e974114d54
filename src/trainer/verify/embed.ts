// Runs a net over image sources without training: classification accuracy on
// held-out images of the training identities, and LFW-protocol verification
// (embed every image once, score pairs by cosine similarity). With test-time
// flip, as LFW papers report it, an image's descriptor is the sum of the
// embeddings of the image and its mirror image, normalized.

import type { Verification } from '../../shared/events';
import type { ImageSource, PairIndex } from '../data/dataset';
import type { Net } from '../net/model';
import * as tf from '../tf';
import { verify } from './metrics';

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
export async function classify(net: Net, images: ImageSource, labels: Int32Array, batchSize: number): Promise<{ accuracy: number; loss: number; images: number }> {
  let correct = 0;
  let lossSum = 0;
  await inBatches(
    net,
    images,
    batchSize,
    (xs, idx) => {
      const ys = tf.tensor1d(Int32Array.from(idx, (i) => labels[i]), 'int32');
      const [, output] = net.train.predict(xs) as tf.Tensor2D[];
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(net.head.logits(output), -1), ys), 'float32'));
      return tf.stack([hits, tf.mul(net.head.loss(output, ys), idx.length)]);
    },
    ([h, l]) => {
      correct += h;
      lossSum += l;
    },
  );
  return { accuracy: correct / images.count, loss: lossSum / images.count, images: images.count };
}

/** Keeps the norm away from zero for an all-zero embedding. */
const EPS = 1e-12;
/** Width axis of NHWC image batches: reversing it mirrors the images left to right. */
const WIDTH_AXIS = 2;

/** Verification images and the pairs over them (a Dataset is one). */
export interface VerificationSet {
  verify: ImageSource;
  pairs: PairIndex;
}

/** Embeddings of a set of images: f(x) before normalization, `dim` values per image. */
export interface Embeddings {
  values: Float32Array;
  dim: number;
  count: number;
}

/** f(x) of every image before normalization; with `flip`, f(x) + f(mirror x), the descriptor LFW papers use. */
export async function embedImages(net: Net, images: ImageSource, batchSize: number, flip = false): Promise<Embeddings> {
  const out: Embeddings = { values: new Float32Array(0), dim: 0, count: images.count };
  await inBatches(
    net,
    images,
    batchSize,
    (xs) => {
      const emb = net.embedder.predict(xs) as tf.Tensor2D;
      return flip ? tf.add(emb, net.embedder.predict(tf.reverse(xs, WIDTH_AXIS)) as tf.Tensor2D) : emb;
    },
    (values, t, start) => {
      if (!out.dim) {
        out.dim = t.shape[1] as number;
        out.values = new Float32Array(images.count * out.dim);
      }
      out.values.set(values, start * out.dim);
    },
  );
  return out;
}

/** The Euclidean norm of each embedding. */
export function norms(e: Embeddings): Float32Array {
  const out = new Float32Array(e.count);
  for (let i = 0; i < e.count; i++) {
    let sum = 0;
    for (let d = 0, o = i * e.dim; d < e.dim; d++) sum += e.values[o + d] * e.values[o + d];
    out[i] = Math.sqrt(sum);
  }
  return out;
}

/** Cosine similarity of each pair: the dot product of the two embeddings over the product of their norms. */
export function cosineScores(e: Embeddings, pairs: PairIndex): Float64Array {
  const length = norms(e);
  const scores = new Float64Array(pairs.a.length);
  const { values, dim } = e;
  for (let k = 0; k < scores.length; k++) {
    const oa = pairs.a[k] * dim;
    const ob = pairs.b[k] * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += values[oa + d] * values[ob + d];
    scores[k] = dot / ((length[pairs.a[k]] + EPS) * (length[pairs.b[k]] + EPS));
  }
  return scores;
}

/** A verification and what it was computed from (the records keep them). */
export interface VerificationRun {
  verification: Verification;
  embeddings: Embeddings;
  scores: Float64Array;
}

/** Embeds every verification image once, then scores the pairs by cosine similarity. */
export async function verifyEmbedded(net: Net, data: VerificationSet, batchSize: number, flip = false): Promise<VerificationRun> {
  const embeddings = await embedImages(net, data.verify, batchSize, flip);
  const scores = cosineScores(embeddings, data.pairs);
  return { verification: verify({ scores, same: data.pairs.same }, data.pairs.fold), embeddings, scores };
}

/** The verification numbers alone. */
export async function runVerification(net: Net, data: VerificationSet, batchSize: number, flip = false): Promise<Verification> {
  return (await verifyEmbedded(net, data, batchSize, flip)).verification;
}
