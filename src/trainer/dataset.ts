// Chooses the dataset a run trains on: the built-in synthetic faces, or an image folder.

import type { RunConfig } from '../shared/config';
import { syntheticDataset, type Dataset } from './data';
import type { TrainerLog } from './errors';
import { folderDataset } from './folder-dataset';
import { RenderPool } from './render-pool';

/**
 * Where loading reports. A bare function gets info lines only, so warnings
 * (e.g. undecodable images skipped) reach it as "Warning: ..." lines; pass a
 * TrainerLog to turn them into `warning` events.
 */
export type DatasetLog = TrainerLog | ((message: string) => void);

function asTrainerLog(log: DatasetLog): TrainerLog {
  if (typeof log !== 'function') return log;
  return { info: log, warn: (_code, message) => log(`Warning: ${message}`) };
}

/** `threads` > 1 renders the synthetic faces on that many threads (worker script: the training worker). */
export async function loadDataset(config: RunConfig, log: DatasetLog, threads = 1, workerScript?: string): Promise<Dataset> {
  const report = asTrainerLog(log);
  if (config.dataset.path) return folderDataset(config, report);
  const t0 = Date.now();
  const pool = threads > 1 && workerScript ? RenderPool.create(config, threads, workerScript) : undefined;
  try {
    const data = await syntheticDataset(config, pool?.render, pool?.size ?? 1);
    const s = data.stats;
    report.info(`Rendered ${(s.images + (s.validationImages ?? 0) + s.verifyImages).toLocaleString('en-US')} synthetic faces in ${((Date.now() - t0) / 1000).toFixed(1)} s${pool ? ` on ${pool.size} threads` : ''}`);
    return data;
  } finally {
    await pool?.dispose();
  }
}
