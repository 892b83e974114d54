// How a net's weights move: Adam (fused on the WebAssembly backend) or SGD with
// momentum, in two groups. The weights group has the learning rate and weight
// decay; a learned scale (alpha or s) has its own optimizer of the same kind and
// its own learning rate, so it can move more than a unit per thousand steps, and
// never decays. Both follow the learning-rate schedule, by the weights group's
// iteration count, so a resumed run and every data-parallel replica (all restored
// or started from the same state) use the same rate at the same step.

import { LR_SCHEDULES, type LrSchedule, type RunConfig } from '../../shared/config';
import { ADAM, simdKernelsEnabled, type AdamAttrs } from '../backend/wasm-kernels';
import type { Net } from '../net/model';
import * as tf from '../tf';
import { readOptimizerSlots, writeOptimizerSlots, type TensorData } from './state';

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

/** The optimizer state of both groups, for checkpoints and replicas (scale is empty without a learned scale). */
export interface OptimizerState {
  weights: TensorData[];
  scale: TensorData[];
}

/** Weight decay applies to these variables only (conv and dense kernels): never to biases, alpha or s. */
const DECAYED_SUFFIX = '/kernel';

/** Learning-rate factor at `step` (0-based, steps done so far) of a run of `epochs` x `stepsPerEpoch` steps. */
export function scheduleFactor(config: Pick<RunConfig, 'lrSchedule' | 'lrStepEpochs' | 'lrStepFactor' | 'epochs'>, step: number, stepsPerEpoch: number): number {
  const schedules: Record<LrSchedule, () => number> = {
    constant: () => 1,
    step: () => config.lrStepFactor ** Math.floor(Math.floor(step / stepsPerEpoch) / config.lrStepEpochs),
    cosine: () => {
      const total = config.epochs * stepsPerEpoch;
      return 0.5 * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
    },
  };
  if (!LR_SCHEDULES.includes(config.lrSchedule)) throw new Error(`unknown learning-rate schedule ${config.lrSchedule}`);
  return schedules[config.lrSchedule]();
}

function optimizerOfKind(config: RunConfig, learningRate: number): tf.Optimizer {
  return config.optimizer === 'sgd' ? tf.train.momentum(learningRate, config.momentum) : new Adam(learningRate, 0.9, 0.999);
}

/** Sets the step size of one of the optimizers optimizerOfKind builds (Momentum keeps it as a kept scalar). */
function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  if (optimizer instanceof tf.SGDOptimizer) optimizer.setLearningRate(learningRate);
  else (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}

/** The two optimizer groups of a net, with weight decay and the schedule. */
export class NetOptimizer {
  readonly weights: tf.Optimizer;
  /** The learned alpha's or s's own optimizer; undefined when the scale is fixed (or there is none). */
  readonly scale?: tf.Optimizer;
  /** Original names (layer/weight) of the variables weight decay applies to. */
  readonly decayed: readonly string[];
  private readonly decayedNames: ReadonlySet<string>;
  private readonly scaleName?: string;
  private factor = 1;

  constructor(
    net: Net,
    private readonly config: RunConfig,
    readonly stepsPerEpoch: number,
  ) {
    this.weights = optimizerOfKind(config, config.learningRate);
    const scale = net.head.scaleVariable();
    if (scale) {
      this.scale = optimizerOfKind(config, config.scaleLearningRate);
      this.scaleName = scale.name;
    }
    const kernels = config.weightDecay > 0 ? net.train.trainableWeights.filter((w) => w.originalName.endsWith(DECAYED_SUFFIX)) : [];
    this.decayed = kernels.map((w) => w.originalName);
    this.decayedNames = new Set(kernels.map((w) => w.name));
  }

  getClassName(): string {
    return this.weights.getClassName();
  }

  /** One update from the gradient of the loss (in trainable-variable order: the optimizers keep their slots by position). */
  applyGradients(grads: tf.NamedTensorMap): void {
    this.followSchedule();
    tf.tidy(() => {
      const weights: tf.NamedTensorMap = {};
      const scale: tf.NamedTensorMap = {};
      for (const [name, g] of Object.entries(grads)) {
        if (name === this.scaleName) scale[name] = g;
        else weights[name] = this.decayedNames.has(name) ? tf.add(g, tf.mul(tf.engine().registeredVariables[name], this.config.weightDecay)) : g;
      }
      this.weights.applyGradients(weights);
      if (this.scale && Object.keys(scale).length) this.scale.applyGradients(scale);
    });
  }

  /** Both groups' learning rates at the step about to be taken. */
  learningRates(): { weights: number; scale: number } {
    const f = scheduleFactor(this.config, this.weights.iterations, this.stepsPerEpoch);
    return { weights: this.config.learningRate * f, scale: this.config.scaleLearningRate * f };
  }

  private followSchedule(): void {
    const f = scheduleFactor(this.config, this.weights.iterations, this.stepsPerEpoch);
    if (f === this.factor) return;
    this.factor = f;
    setLearningRate(this.weights, this.config.learningRate * f);
    if (this.scale) setLearningRate(this.scale, this.config.scaleLearningRate * f);
  }

  async readState(): Promise<OptimizerState> {
    return { weights: await readOptimizerSlots(this.weights), scale: this.scale ? await readOptimizerSlots(this.scale) : [] };
  }

  /** Loads readState's output into optimizers that have not stepped yet. */
  async writeState(state: OptimizerState): Promise<void> {
    await writeOptimizerSlots(this.weights, state.weights);
    if (this.scale && state.scale.length) await writeOptimizerSlots(this.scale, state.scale);
  }

  dispose(): void {
    this.weights.dispose();
    this.scale?.dispose();
  }
}

export function makeOptimizer(config: RunConfig, net: Net, stepsPerEpoch: number): NetOptimizer {
  return new NetOptimizer(net, config, stepsPerEpoch);
}
