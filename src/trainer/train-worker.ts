// A data-parallel training worker (see train/step.ts): a replica of the net on its own
// WebAssembly backend, started from the main thread's weights and optimizer
// state, that returns the gradient of each shard it is sent and applies each
// averaged gradient it is sent.

import { parentPort, workerData } from 'node:worker_threads';
import type { RunConfig } from '../shared/config';
import type { BackendName } from '../shared/events';
import { initBackend } from './backend/select';
import { renderRange, type Split } from './data/synthetic';
import { buildNet, type Net } from './net/model';
import { makeOptimizer, type NetOptimizer } from './train/optimizer';
import { consoleToStderr } from './quiet';
import { applyFlat, shardGradients, type ReplicaState } from './train/step';
import { writeWeights } from './train/state';

consoleToStderr();

const { config, classes, backend, stepsPerEpoch, mode } = workerData as { config: RunConfig; classes: number; backend: BackendName; stepsPerEpoch: number; mode?: 'render' };

if (mode === 'render') {
  parentPort?.on('message', (m: { id: string; split: Split; from: number; to: number; perIdentity: number }) => {
    try {
      const pixels = renderRange(config, m.split, m.from, m.to, m.perIdentity);
      parentPort?.postMessage({ id: m.id, pixels }, [pixels.buffer as ArrayBuffer]);
    } catch (err) {
      parentPort?.postMessage({ id: m.id, error: (err as Error).message });
    }
  });
}

let net: Net | undefined;
let optimizer: NetOptimizer | undefined;

if (mode !== 'render') parentPort?.on('message', async (m: { type: 'init'; state: ReplicaState } | { type: 'apply'; grads: Float32Array } | { type: 'step'; pixels: Float32Array; labels: Int32Array }) => {
  try {
    if (m.type === 'init') {
      process.env.L2SOFTMAX_BACKENDS = backend;
      await initBackend(backend === 'cpu' ? 'cpu' : 'auto', { info: () => undefined, warn: () => undefined });
      net = buildNet(config, classes);
      optimizer = makeOptimizer(config, net, stepsPerEpoch);
      writeWeights(net.train, m.state.weights);
      await optimizer.writeState(m.state.optimizer);
      parentPort?.postMessage({ type: 'ready' });
      return;
    }
    if (!net || !optimizer) throw new Error(`${m.type} before init`);
    if (m.type === 'apply') {
      applyFlat(net, optimizer, m.grads);
      return;
    }
    if (!m.labels.length) {
      parentPort?.postMessage({ type: 'grads', flat: new Float32Array(0), stats: [0, 0, 0, Infinity, -Infinity], n: 0 });
      return;
    }
    const { flat, stats } = await shardGradients(net, m.pixels, m.labels, config);
    parentPort?.postMessage({ type: 'grads', flat, stats, n: m.labels.length }, [flat.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort?.postMessage({ type: 'error', message: (err as Error).message });
  }
});
