// A net's weights and its optimizer's state as plain arrays, and back into a
// net and a fresh optimizer: checkpoints write them to disk and read them back,
// and data-parallel replicas start from them.

import * as tf from '../tf';

export type StateDtype = 'float32' | 'int32';

export interface TensorData {
  name: string;
  shape: number[];
  dtype: StateDtype;
  values: Float32Array | Int32Array;
}

async function toData(name: string, tensor: tf.Tensor): Promise<TensorData> {
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') throw new Error(`${name} has dtype ${tensor.dtype}; only float32 and int32 are stored`);
  return { name, shape: tensor.shape.slice(), dtype: tensor.dtype, values: (await tensor.data()) as Float32Array | Int32Array };
}

/** Every weight of the model, named by its original (layer/weight) name, in model order. */
export async function readWeights(model: tf.LayersModel): Promise<TensorData[]> {
  return Promise.all(model.weights.map((w) => toData(w.originalName, w.read())));
}

/** Sets every weight of the model by name; throws when one is missing, extra or of another shape. */
export function writeWeights(model: tf.LayersModel, weights: TensorData[]): void {
  const named: tf.NamedTensorMap = {};
  for (const w of weights) named[w.name] = tf.tensor(w.values, w.shape, w.dtype);
  try {
    model.loadWeights(named, true);
  } finally {
    tf.dispose(Object.values(named));
  }
}

/** One tfjs optimizer's state in its getWeights order: the iteration count, then its slot variables. */
export async function readOptimizerSlots(optimizer: tf.Optimizer): Promise<TensorData[]> {
  const state: TensorData[] = [];
  for (const { name, tensor } of await optimizer.getWeights()) {
    state.push(await toData(name, tensor));
    // getWeights() hands out the optimizer's own variables plus fresh scalars (the iteration count).
    if (!(tensor instanceof tf.Variable)) tensor.dispose();
  }
  return state;
}

/** Loads state from readOptimizerSlots into an optimizer that has not stepped yet (its old slots would leak). */
export async function writeOptimizerSlots(optimizer: tf.Optimizer, state: TensorData[]): Promise<void> {
  const named = state.map((s) => ({ name: s.name, tensor: tf.tensor(s.values, s.shape, s.dtype) }));
  try {
    await optimizer.setWeights(named);
  } finally {
    tf.dispose(named.map((n) => n.tensor));
  }
}

/** Slot variables per trainable variable of the optimizers makeOptimizer builds (Adam: m and v; momentum: one). */
export function slotsPerVariable(className: string): number | undefined {
  return ({ Adam: 2, Momentum: 1 } as Record<string, number>)[className];
}
