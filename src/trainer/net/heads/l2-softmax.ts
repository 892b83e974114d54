// The L2-softmax head of Ranjan, Castillo and Chellappa (2017): the L2-constraint
// layer y = alpha * x / ||x|| (alpha fixed or learned, one scalar), then the
// linear classifier with bias of plain softmax. The layer's backward pass is written out
// (tf.customGrad) rather than left to autodiff of the composed ops, so it is
// exactly the paper's:
//   dL/dx     = (alpha / ||x||) (g - x^ (x^ . g)),   x^ = x / ||x||,  g = dL/dy
//   dL/dalpha = g . x^

import type { RunConfig } from '../../../shared/config';
import * as tf from '../../tf';
import { crossEntropy, type Head } from './head';
import { linearClassifier } from './softmax';

/** Keeps the norm away from zero for an all-zero feature (where the direction is undefined). */
const EPS = 1e-12;

const l2ScaleGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, alpha, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const norm = tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), EPS));
  const unit = tf.div(x, norm);
  save([unit, norm, alpha]);
  return {
    value: tf.mul(unit, alpha),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [u, n, a] = saved;
      const along = tf.sum(tf.mul(dy, u), -1, true);
      const dx = tf.mul(tf.div(a, n), tf.sub(dy, tf.mul(u, along)));
      const dalpha = tf.reshape(tf.sum(tf.mul(dy, u)), a.shape);
      return [dx, dalpha];
    },
  };
});

/** y = alpha * x / ||x|| over the last axis, with the paper's gradients; alpha is a scalar tensor. */
export function l2Scale(x: tf.Tensor, alpha: tf.Tensor): tf.Tensor {
  return l2ScaleGrad(x, alpha);
}

export interface L2ConstrainArgs {
  alpha: number;
  alphaTrainable: boolean;
  name?: string;
}

export class L2Constrain extends tf.layers.Layer {
  static readonly className = 'L2Constrain';
  private readonly alphaInit: number;
  private readonly alphaTrainable: boolean;
  private alpha?: tf.LayerVariable;
  private fixed?: tf.Tensor;

  constructor(args: L2ConstrainArgs) {
    super({ name: args.name });
    if (!(args.alpha > 0) || !Number.isFinite(args.alpha)) throw new Error(`alpha must be a positive finite number, got ${args.alpha}`);
    this.alphaInit = args.alpha;
    this.alphaTrainable = args.alphaTrainable;
  }

  override build(): void {
    if (this.alphaTrainable) {
      this.alpha = this.addWeight('alpha', [], 'float32', tf.initializers.constant({ value: this.alphaInit }), undefined, true);
    } else {
      this.fixed = tf.keep(tf.scalar(this.alphaInit));
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return l2Scale(x, this.alpha ? this.alpha.read() : (this.fixed as tf.Tensor));
    });
  }

  /** The learned alpha; undefined when alpha is fixed. */
  alphaVariable(): tf.LayerVariable | undefined {
    return this.alpha;
  }

  /** Current alpha (the learned value when trainable). */
  async currentAlpha(): Promise<number> {
    if (this.alpha) return ((await this.alpha.read().data()) as Float32Array)[0];
    return this.alphaInit;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alphaInit, alphaTrainable: this.alphaTrainable };
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0 && this.fixed) {
      this.fixed.dispose();
      this.fixed = undefined;
    }
    return result;
  }
}

tf.serialization.registerClass(L2Constrain);

export class L2SoftmaxHead implements Head {
  private readonly layer: L2Constrain;

  constructor(config: Pick<RunConfig, 'alpha' | 'alphaTrainable'>) {
    this.layer = new L2Constrain({ alpha: config.alpha, alphaTrainable: config.alphaTrainable, name: 'l2_constrain' });
  }

  attach(embedding: tf.SymbolicTensor, classes: number, seed: number): tf.SymbolicTensor {
    const features = this.layer.apply(embedding) as tf.SymbolicTensor;
    return linearClassifier(classes, seed).apply(features) as tf.SymbolicTensor;
  }

  loss(output: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return crossEntropy(output, labels);
  }

  logits(output: tf.Tensor2D): tf.Tensor2D {
    return output;
  }

  scale(): Promise<number> {
    return this.layer.currentAlpha();
  }

  scaleVariable(): tf.LayerVariable | undefined {
    return this.layer.alphaVariable();
  }
}
