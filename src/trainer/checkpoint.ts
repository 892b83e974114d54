// Checkpoints: model (tfjs layers format: model.json + weights.bin), optimizer
// state (optimizer.json + optimizer.bin) and the run config, one folder per epoch.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from './tf';
import type { RunConfig } from '../shared/config';

function joinBuffers(data: ArrayBuffer | ArrayBuffer[] | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((b) => Buffer.from(b)));
}

/** Writes via a temporary folder and a rename, so a crash never leaves half a checkpoint. */
export async function saveCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  config: RunConfig,
  meta: Record<string, unknown>,
): Promise<void> {
  const tmp = `${dir}.tmp`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const json = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await fs.writeFile(path.join(tmp, 'model.json'), JSON.stringify(json));
      await fs.writeFile(path.join(tmp, 'weights.bin'), joinBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const named = await optimizer.getWeights();
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const buffers: Buffer[] = [];
  for (const { name, tensor } of named) {
    const values = (await tensor.data()) as Float32Array;
    specs.push({ name, shape: tensor.shape, dtype: tensor.dtype });
    buffers.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    // getWeights() hands out the optimizer's own variables plus fresh scalars (the iteration count).
    if (!(tensor instanceof tf.Variable)) tensor.dispose();
  }
  await fs.writeFile(path.join(tmp, 'optimizer.json'), JSON.stringify({ className: optimizer.getClassName(), config: optimizer.getConfig(), weights: specs }));
  await fs.writeFile(path.join(tmp, 'optimizer.bin'), Buffer.concat(buffers));
  await fs.writeFile(path.join(tmp, 'config.json'), JSON.stringify(config, null, 2));
  await fs.writeFile(path.join(tmp, 'checkpoint.json'), JSON.stringify({ ...meta, savedAt: new Date().toISOString() }, null, 2));
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(tmp, dir);
}

/** Loads a checkpoint's model (custom layers must be registered, i.e. l2-layer imported). */
export async function loadCheckpointModel(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
  const weights = await fs.readFile(path.join(dir, 'weights.bin'));
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: buffer }));
}
