// Chooses the dataset a run trains on.

import type { RunConfig } from '../shared/config';
import { syntheticDataset, type Dataset } from './data';
import { TrainerError } from './errors';

export async function loadDataset(config: RunConfig, log: (message: string) => void): Promise<Dataset> {
  if (!config.dataset.path) {
    const t0 = Date.now();
    const s = config.dataset.synthetic;
    const data = syntheticDataset(config);
    log(`Rendered ${s.identities * s.imagesPerIdentity + s.verifyIdentities * s.verifyImagesPerIdentity} synthetic faces in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return data;
  }
  throw new TrainerError('dataset', `Image folders are not supported by this build yet: ${config.dataset.path}. Clear the dataset folder to train on the built-in synthetic faces.`);
}
