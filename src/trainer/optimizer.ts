import type { RunConfig } from '../shared/config';
import * as tf from './tf';

export function makeOptimizer(config: RunConfig): tf.Optimizer {
  return config.optimizer === 'sgd' ? tf.train.momentum(config.learningRate, config.momentum) : tf.train.adam(config.learningRate);
}
