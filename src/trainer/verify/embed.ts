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

/** The normalized descriptors of a batch: f(x), or f(x) + f(mirror x) with `flip`. */
function describe(net: Net, xs: tf.Tensor4D, flip: boolean): tf.Tensor2D {
  let emb = net.embedder.predict(xs) as tf.Tensor2D;
  if (flip) emb = tf.add(emb, net.embedder.predict(tf.reverse(xs, WIDTH_AXIS)) as tf.Tensor2D);
  return tf.div(emb, tf.add(tf.sqrt(tf.sum(tf.square(emb), -1, true)), EPS));
}

/** Embeds every verification image once, then scores the pairs by cosine similarity. */
export async function runVerification(net: Net, data: VerificationSet, batchSize: number, flip = false): Promise<Verification> {
  let dim = 0;
  let embeddings = new Float32Array(0);
  await inBatches(
    net,
    data.verify,
    batchSize,
    (xs) => describe(net, xs, flip),
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
