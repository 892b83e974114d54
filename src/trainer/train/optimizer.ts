import type { RunConfig } from '../../shared/config';
import * as tf from '../tf';
import { ADAM, simdKernelsEnabled, type AdamAttrs } from '../backend/wasm-kernels';

// tfjs's Adam state (private in its typings; same names at run time).
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/**
 * tfjs's Adam, but on the WebAssembly backend with our kernels each variable
 * takes one fused kernel instead of about fifteen. Same state, same weights for
 * checkpoints (getWeights/setWeights are tfjs's), same class name.
 */
export class Adam extends tf.AdamOptimizer {
  override applyGradients(grads: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (Array.isArray(grads) || !simdKernelsEnabled() || tf.getBackend() !== 'wasm') {
      super.applyGradients(grads);
      return;
    }
    const s = this as unknown as AdamState;
    const names = Object.keys(grads);
    tf.tidy(() => {
      const acc1 = s.accBeta1.dataSync()[0];
      const acc2 = s.accBeta2.dataSync()[0];
      const attrs: AdamAttrs = { beta1: s.beta1, beta2: s.beta2, epsilon: s.epsilon, learningRate: s.learningRate, acc1, acc2 };
      names.forEach((name, i) => {
        const w = tf.engine().registeredVariables[name];
        const slot = (suffix: string) => ({ originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(w).variable(false)) });
        s.accumulatedFirstMoment[i] ??= slot('m');
        s.accumulatedSecondMoment[i] ??= slot('v');
        const g = grads[name];
        if (g == null) return;
        const m = s.accumulatedFirstMoment[i].variable;
        const v = s.accumulatedSecondMoment[i].variable;
        const [w2, m2, v2] = tf.engine().runKernel(ADAM, { w, m, v, g }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        w.assign(w2);
      });
      s.accBeta1.assign(tf.mul(s.accBeta1, s.beta1));
      s.accBeta2.assign(tf.mul(s.accBeta2, s.beta2));
    });
    this.incrementIterations();
  }
}

export function makeOptimizer(config: RunConfig): tf.Optimizer {
  return config.optimizer === 'sgd' ? tf.train.momentum(config.learningRate, config.momentum) : new Adam(config.learningRate, 0.9, 0.999);
}
