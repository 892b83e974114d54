// Plain softmax, the baseline: a fully connected classifier with bias on the
// raw embedding, logits z = W^T f(x) + b.

import * as tf from '../../tf';
import { CLASSIFIER, classifierInit, crossEntropy, type Head } from './head';

/** Salt of the classifier's initializer (the backbone uses 1..4). */
export const CLASSIFIER_SALT = 5;

export class SoftmaxHead implements Head {
  attach(embedding: tf.SymbolicTensor, classes: number, seed: number): tf.SymbolicTensor {
    return linearClassifier(classes, seed).apply(embedding) as tf.SymbolicTensor;
  }

  loss(output: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return crossEntropy(output, labels);
  }

  logits(output: tf.Tensor2D): tf.Tensor2D {
    return output;
  }

  async scale(): Promise<number | null> {
    return null;
  }

  scaleVariable(): undefined {
    return undefined;
  }
}

/** The linear classifier with bias of softmax and L2-softmax. */
export function linearClassifier(classes: number, seed: number): tf.layers.Layer {
  return tf.layers.dense({ units: classes, useBias: true, kernelInitializer: classifierInit(seed, CLASSIFIER_SALT), name: CLASSIFIER });
}
