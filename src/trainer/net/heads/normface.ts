// NormFace (Wang, Xiang, Cheng and Yuille 2017): normalized features and
// normalized class weights, logits z_j = s cos(theta_j), no bias and no margin.
// s fixed or learned (the paper learns it; `scaleTrainable`).

import type { RunConfig } from '../../../shared/config';
import { CosineHead } from './cosine-head';

export class NormFaceHead extends CosineHead {
  protected readonly margin = undefined;

  constructor(config: Pick<RunConfig, 'scale' | 'scaleTrainable'>) {
    super(config);
  }
}
