// What NormFace, CosFace and ArcFace share: a classifier without bias whose
// class weights W_j are normalized like the feature, so it outputs
// cos(theta_j) = x^ . W^_j (x^ = x / ||x||, W^_j = W_j / ||W_j||), and logits
// s * cos(theta_j) with the head's margin applied to the true class:
//   z_j = s * (cos_j + [j = y] (phi(cos_y) - cos_y))
// s is fixed or learned (one scalar, a weight of the classifier layer).
//
// The cosine's backward pass is written out (tf.customGrad), as in NormFace
// (Wang et al. 2017, eq. 4): with G = dL/dcos,
//   dL/dx   = (g - x^ (x^ . g)) / ||x||,       g   = G W^T   (row of the batch)
//   dL/dW_j = (h - W^_j (W^_j . h)) / ||W_j||,  h   = x^T G   (column j)
// so the gradient is orthogonal to the vector it moves, as for the L2 layer.

import type { RunConfig } from '../../../shared/config';
import * as tf from '../../tf';
import { CLASSIFIER, classifierInit, crossEntropy, type Head } from './head';
import { CLASSIFIER_SALT } from './softmax';

/** Keeps norms away from zero for an all-zero feature or class weight. */
const EPS = 1e-12;

const cosineGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  const xNorm = tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), EPS));
  const wNorm = tf.sqrt(tf.add(tf.sum(tf.square(w), 0, true), EPS));
  const xUnit = tf.div(x, xNorm);
  const wUnit = tf.div(w, wNorm);
  save([xUnit, wUnit, xNorm, wNorm]);
  return {
    value: tf.matMul(xUnit, wUnit),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xu, wu, xn, wn] = saved as tf.Tensor2D[];
      const g = tf.matMul(dy as tf.Tensor2D, wu, false, true);
      const h = tf.matMul(xu, dy as tf.Tensor2D, true, false);
      const dx = tf.div(tf.sub(g, tf.mul(xu, tf.sum(tf.mul(xu, g), 1, true))), xn);
      const dw = tf.div(tf.sub(h, tf.mul(wu, tf.sum(tf.mul(wu, h), 0, true))), wn);
      return [dx, dw];
    },
  };
});

/** cos(theta) between each row of x [N, d] and each column of w [d, C]: [N, C], with the gradients above. */
export function normalizedCosine(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return cosineGrad(x, w) as tf.Tensor2D;
}

export interface CosineClassifierArgs {
  units: number;
  /** Initial (or fixed) s. */
  scale: number;
  scaleTrainable: boolean;
  seed: number;
  name?: string;
}

/** Outputs cos(theta_j) for every class; holds W [d, C] and, when learned, s. */
export class CosineClassifier extends tf.layers.Layer {
  static readonly className = 'CosineClassifier';
  private readonly args: CosineClassifierArgs;
  private kernel?: tf.LayerVariable;
  private learnedScale?: tf.LayerVariable;
  private fixedScale?: tf.Tensor;

  constructor(args: CosineClassifierArgs) {
    super({ name: args.name });
    if (!(args.scale > 0) || !Number.isFinite(args.scale)) throw new Error(`s must be a positive finite number, got ${args.scale}`);
    this.args = args;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const dim = shape[shape.length - 1] as number;
    this.kernel = this.addWeight('kernel', [dim, this.args.units], 'float32', classifierInit(this.args.seed, CLASSIFIER_SALT), undefined, true);
    if (this.args.scaleTrainable) {
      this.learnedScale = this.addWeight('scale', [], 'float32', tf.initializers.constant({ value: this.args.scale }), undefined, true);
    } else {
      this.fixedScale = tf.keep(tf.scalar(this.args.scale));
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => normalizedCosine((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D, (this.kernel as tf.LayerVariable).read() as tf.Tensor2D));
  }

  /** s as a tensor (the variable's value when learned, so gradients reach it). */
  scaleTensor(): tf.Scalar {
    return (this.learnedScale ? this.learnedScale.read() : this.fixedScale) as tf.Scalar;
  }

  scaleVariable(): tf.LayerVariable | undefined {
    return this.learnedScale;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.args.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { units, scale, scaleTrainable, seed } = this.args;
    return { ...super.getConfig(), units, scale, scaleTrainable, seed };
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0 && this.fixedScale) {
      this.fixedScale.dispose();
      this.fixedScale = undefined;
    }
    return result;
  }
}

tf.serialization.registerClass(CosineClassifier);

/** A margin on the true class's cosine: phi(cos_y), elementwise (applied to every entry, kept for the true class only). */
export type Margin = (cos: tf.Tensor2D) => tf.Tensor2D;

/** The margin logits z = s (cos + onehot(y) (phi(cos) - cos)); `margin` undefined means phi(c) = c (NormFace). */
export function marginLogits(cos: tf.Tensor2D, labels: tf.Tensor1D, s: tf.Scalar, margin?: Margin): tf.Tensor2D {
  return tf.tidy(() => {
    if (!margin) return tf.mul(cos, s);
    const target = tf.cast(tf.oneHot(labels, cos.shape[1]), 'float32');
    return tf.mul(tf.add(cos, tf.mul(target, tf.sub(margin(cos), cos))), s);
  });
}

/** A head on the cosine classifier; subclasses give the margin. */
export abstract class CosineHead implements Head {
  private classifier?: CosineClassifier;

  constructor(private readonly config: Pick<RunConfig, 'scale' | 'scaleTrainable'>) {}

  /** phi(cos) for the true class; undefined for none. */
  protected abstract readonly margin: Margin | undefined;

  attach(embedding: tf.SymbolicTensor, classes: number, seed: number): tf.SymbolicTensor {
    const { scale, scaleTrainable } = this.config;
    this.classifier = new CosineClassifier({ units: classes, scale, scaleTrainable, seed, name: CLASSIFIER });
    return this.classifier.apply(embedding) as tf.SymbolicTensor;
  }

  private get layer(): CosineClassifier {
    if (!this.classifier) throw new Error('the head is not attached to a net yet');
    return this.classifier;
  }

  loss(output: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => crossEntropy(marginLogits(output, labels, this.layer.scaleTensor(), this.margin), labels));
  }

  logits(output: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.mul(output, this.layer.scaleTensor()));
  }

  async scale(): Promise<number> {
    return ((await this.layer.scaleTensor().data()) as Float32Array)[0];
  }

  scaleVariable(): tf.LayerVariable | undefined {
    return this.layer.scaleVariable();
  }
}
