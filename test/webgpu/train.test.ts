// Training on WebGPU end to end: the loop in this process (loss falls, metrics
// finite, tensors and GPU buffer bytes flat across epochs), the command line
// (`node dist/cli.js train --device webgpu --epochs 2`), and checkpoints that
// cross backends: written on WebGPU and resumed on wasm, and the reverse, with the
// same weights.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { RunConfig } from '../../src/shared/config';
import type { EpochEvent, EventBody, StartedEvent, TrainerEvent } from '../../src/shared/events';
import { WEBGPU } from '../../src/trainer/backend/webgpu';
import { buildNet } from '../../src/trainer/net/model';
import { loadCheckpoint } from '../../src/trainer/train/checkpoint';
import { readWeights, writeWeights, type TensorData } from '../../src/trainer/train/state';
import { train } from '../../src/trainer/train/run';
import * as tf from '../../src/trainer/tf';
import { tinyConfig } from '../fixtures/trainer';
import { TOLERANCE, relativeError, tinyConfigFile, useWebGpu, values } from '../fixtures/webgpu';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
/** One thread on the CPU side, so the wasm runs stay light on a loaded machine. */
const CPU = { device: 'cpu', workers: 1 } as const;

interface Memory {
  numTensors: number;
  numBytesInGPU?: number;
}

async function trainIn(outDir: string, config: RunConfig, resume?: string) {
  const events: EventBody[] = [];
  const memory: Memory[] = [];
  const status = await train({
    config,
    outDir,
    shouldStop: () => false,
    resume: resume ? { checkpointDir: resume } : undefined,
    emit: (e) => {
      events.push(e);
      if (e.type === 'epoch') memory.push(tf.memory() as Memory);
    },
  });
  return { status, events, memory, epochs: events.filter((e): e is EpochEvent => e.type === 'epoch'), started: events.find((e) => e.type === 'started') as StartedEvent };
}

function assertFiniteMetrics(e: EpochEvent): void {
  const numbers = [e.trainLoss, e.trainAccuracy, e.featureNorm.mean, e.verification.accuracy, e.verification.auc, e.verification.eer, e.imagesPerSec];
  numbers.forEach((v) => assert.ok(Number.isFinite(v), `epoch ${e.epoch}: ${numbers}`));
}

/** The weights the checkpoint holds, read into a fresh net on the active backend and back out. */
async function weightsThrough(dir: string, config: RunConfig, classes: number): Promise<{ file: TensorData[]; net: TensorData[]; embeddings: Float32Array }> {
  const file = (await loadCheckpoint(dir)).weights;
  const net = buildNet(config, classes);
  writeWeights(net.train, file);
  const read = await readWeights(net.train);
  const xs = tf.tensor4d(values(4 * config.imageSize * config.imageSize * config.channels, 3), [4, config.imageSize, config.imageSize, config.channels]);
  const emb = net.embedder.predict(xs) as tf.Tensor;
  const embeddings = Float32Array.from(await emb.data());
  tf.dispose([xs, emb]);
  net.train.dispose();
  return { file, net: read, embeddings };
}

function assertSameWeights(a: TensorData[], b: TensorData[]): void {
  assert.deepEqual(a.map((w) => w.name), b.map((w) => w.name));
  a.forEach((w, i) => assert.deepEqual(Array.from(b[i].values), Array.from(w.values), `weight ${w.name}`));
}

describe('training on WebGPU', () => {
  let out: string;
  before(async () => {
    await useWebGpu();
  });
  beforeEach(() => (out = mkdtempSync(path.join(tmpdir(), 'l2sm-webgpu-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));
  after(async () => {
    await tf.setBackend('wasm');
  });

  it('trains 3 epochs: the loss falls, metrics are finite, tensors and GPU buffer bytes stay flat', async () => {
    const { status, started, epochs, memory } = await trainIn(out, tinyConfig({ device: 'webgpu', epochs: 3 }));
    assert.equal(status, 'completed');
    assert.equal(started.backend.name, WEBGPU);
    assert.ok(started.backend.adapter && started.backend.adapter.description, 'the adapter is named');
    assert.equal(started.workers, 1, 'no worker threads on WebGPU');
    assert.equal(epochs.length, 3);
    epochs.forEach(assertFiniteMetrics);
    assert.ok(epochs[2].trainLoss < epochs[0].trainLoss, `loss ${epochs.map((e) => e.trainLoss)}`);
    assert.deepEqual(new Set(memory.map((m) => m.numTensors)).size, 1, `tensors per epoch: ${memory.map((m) => m.numTensors)}`);
    assert.ok(memory.every((m) => typeof m.numBytesInGPU === 'number'), 'tfjs reports GPU bytes');
    assert.deepEqual(new Set(memory.map((m) => m.numBytesInGPU)).size, 1, `GPU bytes in use per epoch: ${memory.map((m) => m.numBytesInGPU)}`);
  });

  it('node dist/cli.js train --device webgpu --epochs 2 trains, its header naming the adapter', async () => {
    const config = tinyConfigFile(out);
    const dir = path.join(out, 'cli-run');
    const { stdout } = await run(process.execPath, [CLI, 'train', '--config', config, '--device', 'webgpu', '--epochs', '2', '--out', dir], { cwd: out, maxBuffer: 1 << 24 });
    assert.match(stdout, /^Backend {3}WebGPU \(Dawn\) on .+\((hardware|software: runs on the CPU)\)$/m);
    const events = readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainerEvent);
    const started = events.find((e) => e.type === 'started');
    assert.ok(started?.type === 'started' && started.backend.name === WEBGPU && started.backend.adapter);
    const epochs = events.filter((e): e is EpochEvent & TrainerEvent => e.type === 'epoch');
    assert.equal(epochs.length, 2);
    epochs.forEach(assertFiniteMetrics);
    assert.ok(epochs[1].trainLoss < epochs[0].trainLoss, `loss ${epochs.map((e) => e.trainLoss)}`);
    const finished = events[events.length - 1];
    assert.ok(finished.type === 'finished' && finished.status === 'completed');
  });

  it('a checkpoint written on WebGPU resumes on wasm with the same weights', async () => {
    const config = tinyConfig({ device: 'webgpu', epochs: 1 });
    assert.equal((await trainIn(out, config)).status, 'completed');
    const dir = path.join(out, 'checkpoints', 'epoch-001');
    const onGpu = await weightsThrough(dir, config, 8);
    assertSameWeights(onGpu.file, onGpu.net);
    await tf.setBackend('wasm');
    const onWasm = await weightsThrough(dir, config, 8);
    assertSameWeights(onWasm.file, onWasm.net);
    assert.ok(relativeError(onGpu.embeddings, onWasm.embeddings) <= TOLERANCE, 'the same net on both backends');
    const resumed = await trainIn(out, tinyConfig({ ...CPU, epochs: 2 }), dir);
    assert.equal(resumed.status, 'completed');
    assert.equal(resumed.started.backend.name, 'wasm');
    assert.deepEqual(resumed.epochs.map((e) => e.epoch), [2]);
  });

  it('a checkpoint written on wasm resumes on WebGPU with the same weights', async () => {
    const config = tinyConfig({ ...CPU, epochs: 1 });
    assert.equal((await trainIn(out, config)).status, 'completed');
    const dir = path.join(out, 'checkpoints', 'epoch-001');
    const onWasm = await weightsThrough(dir, config, 8);
    await useWebGpu();
    const onGpu = await weightsThrough(dir, config, 8);
    assertSameWeights(onGpu.file, onGpu.net);
    assertSameWeights(onWasm.net, onGpu.net);
    assert.ok(relativeError(onGpu.embeddings, onWasm.embeddings) <= TOLERANCE, 'the same net on both backends');
    const resumed = await trainIn(out, tinyConfig({ device: 'webgpu', epochs: 2 }), dir);
    assert.equal(resumed.status, 'completed');
    assert.equal(resumed.started.backend.name, WEBGPU);
    assert.deepEqual(resumed.epochs.map((e) => e.epoch), [2]);
    assertFiniteMetrics(resumed.epochs[0]);
  });
});
