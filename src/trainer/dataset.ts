// Chooses the dataset a run trains on: the built-in synthetic faces, or an image folder.

import type { RunConfig } from '../shared/config';
import { syntheticDataset, type Dataset } from './data';
import { folderDataset } from './folder-dataset';

export async function loadDataset(config: RunConfig, log: (message: string) => void): Promise<Dataset> {
  if (config.dataset.path) return folderDataset(config, log);
  const t0 = Date.now();
  const data = syntheticDataset(config);
  const s = data.stats;
  log(`Rendered ${(s.images + (s.validationImages ?? 0) + s.verifyImages).toLocaleString('en-US')} synthetic faces in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return data;
}
