// What a classification head is to the rest of the trainer: layers after the
// embedding that give the training model its second output, the loss on that
// output, the logits to predict from (no margin), and the scale it learns or
// keeps (alpha, s). One file per head beside this one; buildNet (../model.ts)
// picks one by the run's `loss`.

import * as tf from '../../tf';

export interface Head {
  /** Adds the head's layers after the embedding; returns the training model's second output. */
  attach(embedding: tf.SymbolicTensor, classes: number, seed: number): tf.SymbolicTensor;
  /** Mean training loss of a batch: softmax cross-entropy of the logits with the head's margin. */
  loss(output: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
  /** Logits without a margin: their argmax is the predicted class. */
  logits(output: tf.Tensor2D): tf.Tensor2D;
  /** The feature scale now (alpha, or s); null for plain softmax. Read asynchronously (WebGPU has no synchronous reads). */
  scale(): Promise<number | null>;
  /** The scale's variable when it is learned: it gets its own learning rate and no weight decay. */
  scaleVariable(): tf.LayerVariable | undefined;
}

/** Name of the classifier layer in every head (its weights are `classifier/kernel`, and `classifier/bias` or `classifier/scale`). */
export const CLASSIFIER = 'classifier';

/** Mean softmax cross-entropy of integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(labels, logits.shape[1])), -1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** Glorot-uniform initializer of the classifier, seeded per net (salt keeps it apart from the backbone's). */
export function classifierInit(seed: number, salt: number): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform({ seed: seed * 1000 + salt });
}
