import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '../../src/trainer/tf';
import type { RunConfig } from '../../src/shared/config';
import type { EpochEvent, EventBody, FinishedEvent, StartedEvent } from '../../src/shared/events';
import { loadCheckpointModel } from '../../src/trainer/train/checkpoint';
import { parsePairs } from '../../src/trainer/data/lfw-pairs';
import { train } from '../../src/trainer/train/run';
import { tinyConfig } from '../fixtures/trainer';

/** Kept for the specs that still import it from here; new ones import ../fixtures/trainer. */
export { tinyConfig };

describe('training loop (tiny synthetic set)', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(path.join(tmpdir(), 'l2sm-train-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  async function run(config: RunConfig, shouldStop = () => false) {
    const events: EventBody[] = [];
    const tensors: number[] = [];
    const status = await train({
      config,
      outDir: out,
      shouldStop,
      emit: (e) => {
        events.push(e);
        if (e.type === 'epoch') tensors.push(tf.memory().numTensors);
      },
    });
    return { status, events, tensors };
  }

  it('lowers the loss, beats chance on verification, keeps the tensor count flat and checkpoints every epoch', async () => {
    const { status, events, tensors } = await run(tinyConfig());
    assert.equal(status, 'completed');
    const started = events.find((e) => e.type === 'started') as StartedEvent;
    assert.equal(started.backend.name, 'wasm');
    assert.equal(started.backend.gpu, false);
    assert.equal(started.dataset.identities, 8);
    assert.equal(started.dataset.pairs, 200);
    assert.ok(Math.abs(started.alphaLow - Math.log((0.9 * 6) / 0.1)) < 1e-9);
    const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
    assert.equal(epochs.length, 4);
    assert.ok(epochs[3].trainLoss < epochs[0].trainLoss * 0.8, `loss ${epochs[0].trainLoss} -> ${epochs[3].trainLoss}`);
    // Chance is 0.5; over 200 pairs one standard error is 0.035.
    assert.ok(epochs[3].verification.accuracy > 0.58, `10-fold accuracy ${epochs[3].verification.accuracy}`);
    assert.ok(epochs[3].verification.auc > 0.65, `AUC ${epochs[3].verification.auc}`);
    assert.deepEqual(new Set(tensors).size, 1, `tensor counts per epoch: ${tensors}`);
    const steps = events.filter((e) => e.type === 'step');
    assert.ok(steps.length >= 4);
    for (let e = 1; e <= 4; e++) assert.ok(existsSync(path.join(out, 'checkpoints', `epoch-00${e}`, 'weights.bin')));
    const finished = events[events.length - 1] as FinishedEvent;
    assert.equal(finished.type, 'finished');
    assert.equal(finished.summary.epochs, 4);
    assert.equal(finished.summary.alpha, 16);
    const pairs = parsePairs(readFileSync(path.join(out, 'verification-pairs.txt'), 'utf8'));
    assert.equal(pairs.folds, 10);
    assert.equal(pairs.perFold, 10);
  });

  it('a checkpoint reloads (custom layer included) and reproduces the embeddings; alpha learns when trainable', async () => {
    const config = tinyConfig({ epochs: 1, alphaTrainable: true, alpha: 4 });
    const { events } = await run(config);
    const epoch = events.find((e) => e.type === 'epoch') as EpochEvent;
    assert.ok(epoch.alpha !== null && epoch.alpha !== 4, `alpha stayed ${epoch.alpha}`);
    const model = await loadCheckpointModel(path.join(out, 'checkpoints', 'epoch-001'));
    const layer = model.getLayer('l2_constrain');
    assert.equal(layer.getClassName(), 'L2Constrain');
    const alpha = layer.getWeights()[0].dataSync()[0];
    assert.ok(Math.abs(alpha - (epoch.alpha as number)) < 1e-5);
    const optimizer = JSON.parse(readFileSync(path.join(out, 'checkpoints', 'epoch-001', 'optimizer.json'), 'utf8'));
    assert.equal(optimizer.className, 'Adam');
    assert.ok(optimizer.weights.length > 1);
    model.dispose();
  });

  it('plain softmax trains the same net without the constraint layer', async () => {
    const { status, events } = await run(tinyConfig({ epochs: 1, loss: 'softmax' }));
    assert.equal(status, 'completed');
    const epoch = events.find((e) => e.type === 'epoch') as EpochEvent;
    assert.equal(epoch.alpha, null);
  });

  it('stops gracefully on request: finishes the step, checkpoints, reports stopped', async () => {
    let steps = 0;
    const { status, events } = await run(tinyConfig({ epochs: 50 }), () => ++steps >= 3);
    assert.equal(status, 'stopped');
    const finished = events[events.length - 1] as FinishedEvent;
    assert.equal(finished.status, 'stopped');
    assert.equal(finished.summary.steps, 3);
    assert.ok(events.some((e) => e.type === 'checkpoint'));
    assert.ok(existsSync(path.join(out, 'checkpoints', 'epoch-001-step-000003', 'model.json')), 'the partial checkpoint');
  });

  it('ends as failed with reason non-finite-loss when the loss diverges', async () => {
    const { status, events } = await run(tinyConfig({ epochs: 2, loss: 'softmax', learningRate: 10, optimizer: 'sgd', momentum: 0.99 }));
    assert.equal(status, 'failed');
    const finished = events[events.length - 1] as FinishedEvent;
    assert.equal(finished.code, 'non-finite-loss');
    assert.match(finished.reason ?? '', /The loss became (NaN|Infinity|-Infinity) at epoch \d+, step \d+\. Lower the learning rate/);
  });

  it('fails with a clear error when the GPU is required but unavailable', async () => {
    const { status, events } = await run(tinyConfig({ device: 'gpu' }));
    assert.equal(status, 'failed');
    const error = events.find((e) => e.type === 'error');
    assert.ok(error && error.type === 'error' && error.code === 'gpu-unavailable');
    assert.match(error.message, /CUDA 11\.2 and cuDNN 8\.1/);
  });
});
