// The network: conv backbone -> embedding f(x) -> [L2-normalize, scale by alpha]
// -> fully connected classifier (with bias) -> softmax cross-entropy.
// Plain softmax is the same network without the L2 constraint.

import * as tf from '../tf';
import type { RunConfig } from '../../shared/config';
import { L2Constrain } from './heads/l2-softmax';

export interface Net {
  /** Image -> [embedding before normalization, class logits]. */
  train: tf.LayersModel;
  /** Image -> embedding before normalization (verification normalizes it: cosine). */
  embedder: tf.LayersModel;
  l2?: L2Constrain;
}

export function buildNet(config: RunConfig, classes: number): Net {
  const { imageSize, channels, width, embeddingSize, seed } = config;
  let salt = 0;
  const init = () => tf.initializers.heNormal({ seed: seed * 1000 + ++salt });
  const input = tf.input({ shape: [imageSize, imageSize, channels], name: 'image' });
  let h: tf.SymbolicTensor = input;
  // Three conv blocks of width, 2x and 4x channels, each halving the resolution.
  [1, 2, 4].forEach((mult, i) => {
    h = tf.layers
      .conv2d({ filters: width * mult, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: `conv${i + 1}` })
      .apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i + 1}` }).apply(h) as tf.SymbolicTensor;
  });
  h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  const embedding = tf.layers
    .dense({ units: embeddingSize, kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + ++salt }), name: 'embedding' })
    .apply(h) as tf.SymbolicTensor;
  let features = embedding;
  let l2: L2Constrain | undefined;
  if (config.loss === 'l2-softmax') {
    l2 = new L2Constrain({ alpha: config.alpha, alphaTrainable: config.alphaTrainable, name: 'l2_constrain' });
    features = l2.apply(embedding) as tf.SymbolicTensor;
  }
  const logits = tf.layers
    .dense({ units: classes, useBias: true, kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + ++salt }), name: 'classifier' })
    .apply(features) as tf.SymbolicTensor;
  return {
    train: tf.model({ inputs: input, outputs: [embedding, logits], name: 'l2_softmax_net' }),
    embedder: tf.model({ inputs: input, outputs: embedding, name: 'embedder' }),
    l2,
  };
}

export function countParameters(model: tf.LayersModel): number {
  return model.weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/** Mean softmax cross-entropy of integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(labels, logits.shape[1])), -1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}
