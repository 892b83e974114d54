// Chooses the dataset a run trains on: the built-in synthetic faces, or an image folder.

import type { RunConfig } from '../../shared/config';
import { syntheticDataset } from './synthetic';
import type { Dataset } from './dataset';
import type { TrainerLog } from '../errors';
import { folderDataset } from './folder-dataset';
import { RenderPool } from './render-pool';

/**
 * `threads` > 1 renders the synthetic faces on that many threads (worker script:
 * the training worker). `log` hears progress, and warnings such as undecodable
 * images skipped or decode-cache trouble.
 */
export async function loadDataset(config: RunConfig, log: TrainerLog, threads = 1, workerScript?: string): Promise<Dataset> {
  if (config.dataset.path) return folderDataset(config, log);
  const t0 = Date.now();
  const pool = threads > 1 && workerScript ? RenderPool.create(config, threads, workerScript) : undefined;
  try {
    const data = await syntheticDataset(config, pool?.render, pool?.size ?? 1);
    const s = data.stats;
    log.info(`Rendered ${(s.images + (s.validationImages ?? 0) + s.verifyImages).toLocaleString('en-US')} synthetic faces in ${((Date.now() - t0) / 1000).toFixed(1)} s${pool ? ` on ${pool.size} threads` : ''}`);
    return data;
  } finally {
    await pool?.dispose();
  }
}
