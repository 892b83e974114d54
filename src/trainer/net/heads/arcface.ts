// ArcFace (Deng, Guo, Xue and Zafeiriou 2019): the NormFace logits with an
// additive angular margin on the true class, z_y = s cos(theta_y + m).
//   phi(c)  = cos(acos(c) + m) = c cos m - sqrt(1 - c^2) sin m
//   phi'(c) = cos m + c sin m / sqrt(1 - c^2)
// Where theta + m passes pi, cos(theta + m) would rise again with theta, so
// (as InsightFace) past the threshold c <= cos(pi - m) the margin continues
// linearly: phi(c) = c - m sin m, phi'(c) = 1. With the easy margin the margin
// applies only where c > 0, and phi(c) = c elsewhere. The gradient is written out
// (tf.customGrad), with sqrt(1 - c^2) in phi' kept away from 0, so it stays finite at c = 1.

import type { RunConfig } from '../../../shared/config';
import * as tf from '../../tf';
import { CosineHead, type Margin } from './cosine-head';

/** Floor of 1 - c^2 under the square root of phi': it stays finite where c rounds to 1. */
const MIN_SIN_SQUARED = 1e-6;

/** phi(c) and phi'(c) as above: the angular margin with the threshold (or easy-margin) handling. */
export function angularMargin(m: number, easy: boolean): Margin {
  const cosM = Math.cos(m);
  const sinM = Math.sin(m);
  const threshold = easy ? 0 : Math.cos(Math.PI - m);
  const grad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [c, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const sinSquared = tf.sub(1, tf.square(c));
    const inside = tf.greater(c, threshold);
    const outside = easy ? c : tf.sub(c, m * sinM);
    save([c, tf.sqrt(tf.maximum(sinSquared, MIN_SIN_SQUARED)), inside]);
    return {
      value: tf.where(inside, tf.sub(tf.mul(c, cosM), tf.mul(tf.sqrt(tf.relu(sinSquared)), sinM)), outside),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, s, keep] = saved;
        const slope = tf.where(keep, tf.add(cosM, tf.div(tf.mul(x, sinM), s)), tf.onesLike(x));
        return [tf.mul(dy, slope)];
      },
    };
  });
  return (cos) => grad(cos) as tf.Tensor2D;
}

export class ArcFaceHead extends CosineHead {
  protected readonly margin: Margin;

  constructor(config: Pick<RunConfig, 'scale' | 'scaleTrainable' | 'arcfaceMargin' | 'arcfaceEasyMargin'>) {
    super(config);
    this.margin = angularMargin(config.arcfaceMargin, config.arcfaceEasyMargin);
  }
}
