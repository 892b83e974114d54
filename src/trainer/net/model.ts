// The network: conv backbone -> embedding f(x) -> classification head (one file
// per head in heads/: softmax, L2-softmax, NormFace, CosFace, ArcFace).
// Verification uses the embedding alone, normalized (cosine similarity).

import type { LossKind, RunConfig } from '../../shared/config';
import * as tf from '../tf';
import { ArcFaceHead } from './heads/arcface';
import { CosFaceHead } from './heads/cosface';
import type { Head } from './heads/head';
import { L2SoftmaxHead } from './heads/l2-softmax';
import { NormFaceHead } from './heads/normface';
import { SoftmaxHead } from './heads/softmax';

export interface Net {
  /** Image -> [embedding before normalization, head output (logits, or cosines for the normalized heads)]. */
  train: tf.LayersModel;
  /** Image -> embedding before normalization (verification normalizes it: cosine). */
  embedder: tf.LayersModel;
  head: Head;
}

const HEADS: Record<LossKind, (config: RunConfig) => Head> = {
  softmax: () => new SoftmaxHead(),
  'l2-softmax': (config) => new L2SoftmaxHead(config),
  normface: (config) => new NormFaceHead(config),
  cosface: (config) => new CosFaceHead(config),
  arcface: (config) => new ArcFaceHead(config),
};

/** Conv blocks of width, 2x and 4x channels, each halving the resolution. */
const BLOCK_WIDTHS = [1, 2, 4];

export function buildNet(config: RunConfig, classes: number): Net {
  const { imageSize, channels, width, embeddingSize, seed } = config;
  let salt = 0;
  const input = tf.input({ shape: [imageSize, imageSize, channels], name: 'image' });
  let h: tf.SymbolicTensor = input;
  BLOCK_WIDTHS.forEach((mult, i) => {
    h = tf.layers
      .conv2d({ filters: width * mult, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: seed * 1000 + ++salt }), name: `conv${i + 1}` })
      .apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i + 1}` }).apply(h) as tf.SymbolicTensor;
  });
  h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  const embedding = tf.layers
    .dense({ units: embeddingSize, kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + ++salt }), name: 'embedding' })
    .apply(h) as tf.SymbolicTensor;
  const head = HEADS[config.loss](config);
  const output = head.attach(embedding, classes, seed);
  return {
    train: tf.model({ inputs: input, outputs: [embedding, output], name: 'l2_softmax_net' }),
    embedder: tf.model({ inputs: input, outputs: embedding, name: 'embedder' }),
    head,
  };
}

export function countParameters(model: tf.LayersModel): number {
  return model.weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
