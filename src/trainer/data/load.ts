// Chooses the dataset a run trains on: the built-in synthetic faces, or an image folder.

import type { RunConfig } from '../../shared/config';
import { renderSyntheticPixels, syntheticFromPixels } from './synthetic';
import type { Dataset } from './dataset';
import type { TrainerLog } from '../errors';
import { defaultCacheRoot } from './decode-cache';
import { folderDataset } from './folder-dataset';
import { RenderPool } from './render-pool';
import { cachedSyntheticPixels } from './synthetic-cache';

/**
 * `threads` > 1 renders the synthetic faces on that many threads (worker script:
 * the training worker); rendered faces are kept on disk for the next run.
 * `log` hears progress, what the loading is busy with, and warnings such as
 * undecodable images skipped or cache trouble.
 */
export async function loadDataset(config: RunConfig, log: TrainerLog, threads = 1, workerScript?: string): Promise<Dataset> {
  if (config.dataset.path) return folderDataset(config, log);
  const t0 = Date.now();
  const render = async () => {
    const pool = threads > 1 && workerScript ? RenderPool.create(config, threads, workerScript) : undefined;
    try {
      return await renderSyntheticPixels(config, pool?.render, pool?.size ?? 1);
    } finally {
      await pool?.dispose();
    }
  };
  const { pixels, hit } = await cachedSyntheticPixels(config, defaultCacheRoot(), log, render, () => log.phase?.('rendering'));
  const data = syntheticFromPixels(config, pixels);
  const s = data.stats;
  const faces = (s.images + (s.validationImages ?? 0) + s.verifyImages).toLocaleString('en-US');
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  log.info(hit ? `Read ${faces} synthetic faces from the cache in ${seconds} s` : `Rendered ${faces} synthetic faces in ${seconds} s${threads > 1 && workerScript ? ` on ${threads} threads` : ''} (kept on disk for the next run)`);
  return data;
}
