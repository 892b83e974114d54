// CosFace / AM-softmax (Wang et al. 2018; Wang, Cheng, Liu and Liu 2018): the
// NormFace logits with an additive cosine margin on the true class,
//   z_y = s (cos(theta_y) - m),   z_j = s cos(theta_j) for j != y.
// phi(c) = c - m has dphi/dc = 1, so dL/dcos_j = s (p_j - [j = y]) / N.

import type { RunConfig } from '../../../shared/config';
import * as tf from '../../tf';
import { CosineHead, type Margin } from './cosine-head';

/** phi(c) = c - m. */
export function cosineMargin(m: number): Margin {
  return (cos) => tf.sub(cos, m);
}

export class CosFaceHead extends CosineHead {
  protected readonly margin: Margin;

  constructor(config: Pick<RunConfig, 'scale' | 'scaleTrainable' | 'cosfaceMargin'>) {
    super(config);
    this.margin = cosineMargin(config.cosfaceMargin);
  }
}
