// What the Settings view can say about the configured dataset without decoding
// anything: identities, images, images per identity (for alpha_low and the
// tooltip), plus what the latest run on it measured (image sizes, pairs).

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { alphaLowerBound, heldOutIdentities, scaleLowerBound, type RunConfig } from '../shared/config';
import { minMedianMax } from '../shared/format';
import { isImageFile } from '../shared/images';
import type { DatasetStats } from '../shared/events';
import { markdown } from './markdown';
import type { RunStore } from './run-store';

export interface DatasetSummary {
  /** Training identities (classes) that have enough images. */
  classes: number;
  images: number;
  perIdentity: { min: number; median: number; max: number };
  skipped: number;
  source: string;
  error?: string;
}

/**
 * Counts identity folders and their images. Without a pairs file the trainer
 * holds 10% of the identities out for verification, so it trains on fewer
 * classes than counted here; the tooltip says so.
 */
export async function summarizeDataset(config: RunConfig): Promise<DatasetSummary> {
  const root = config.dataset.path;
  if (!root) {
    const s = config.dataset.synthetic;
    return { classes: s.identities, images: s.identities * s.imagesPerIdentity, perIdentity: { min: s.imagesPerIdentity, median: s.imagesPerIdentity, max: s.imagesPerIdentity }, skipped: 0, source: 'built-in synthetic faces' };
  }
  const empty = { classes: 0, images: 0, perIdentity: { min: 0, median: 0, max: 0 }, skipped: 0, source: root };
  let entries;
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch (err) {
    return { ...empty, error: `cannot read ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const counts: number[] = [];
  let skipped = 0;
  for (const e of entries) {
    if (e.name.startsWith('.') || !(e.isDirectory() || e.isSymbolicLink())) continue;
    try {
      const n = (await fs.readdir(path.join(root, e.name))).filter(isImageFile).length;
      if (n >= config.dataset.minImagesPerIdentity) counts.push(n);
      else if (n > 0) skipped++;
    } catch {
      // not a folder, or unreadable: the trainer reports it by name
    }
  }
  return summaryFromCounts(counts, skipped, root, config.dataset.minImagesPerIdentity);
}

/** The summary of a folder from its per-identity image counts (those with enough images) and the number skipped. */
export function summaryFromCounts(counts: number[], skipped: number, root: string, minImages: number): DatasetSummary {
  let images = 0;
  for (const n of counts) images += n;
  return {
    classes: counts.length,
    images,
    perIdentity: minMedianMax(counts),
    skipped,
    source: path.basename(root) || root,
    error: counts.length ? undefined : `no identity folder with at least ${minImages} image(s) in ${root}`,
  };
}

/** The dataset statistics of the newest run that used this dataset folder. */
export async function lastRunStats(store: RunStore, datasetPath: string): Promise<DatasetStats | undefined> {
  for (const r of await store.list()) {
    if (r.dataset && r.config.dataset.path === datasetPath) return r.dataset;
  }
  return undefined;
}

/**
 * The Settings view's dataset paragraph (markdown): counts, alpha_low for the
 * classes a run would train, and what the latest run on the folder measured.
 * Folder names and run.json contents are anyone's to commit: all escaped.
 */
export function datasetTooltip(s: DatasetSummary, config: RunConfig, last?: DatasetStats): string {
  if (s.error) return markdown`⚠ ${s.error}`;
  const heldOut = !!config.dataset.path && !config.dataset.pairsFile;
  const classes = heldOut && s.classes >= 4 ? s.classes - heldOutIdentities(s.classes) : s.classes;
  const skipped = s.skipped ? markdown`; ${s.skipped} identities skipped (fewer than ${config.dataset.minImagesPerIdentity} images)` : '';
  const parts = [
    markdown`**Dataset** ${s.source}: ${s.classes.toLocaleString()} identities, ${s.images.toLocaleString()} images, ` +
      markdown`${s.perIdentity.min}–${s.perIdentity.max} per identity (median ${s.perIdentity.median})` +
      `${skipped}.`,
  ];
  if (heldOut) parts.push(markdown`Without a pairs file ${s.classes - classes} identities are held out for verification, leaving ${classes} classes.`);
  parts.push(markdown`alpha_low = log(0.9 (C − 2) / 0.1) = **${alphaLowerBound(classes, 0.9).toFixed(2)}** for C = ${classes} classes.`);
  parts.push(markdown`s_low = (C − 1)/C · log(0.9 (C − 1) / 0.1) = **${scaleLowerBound(classes, 0.9).toFixed(2)}** (NormFace, CosFace, ArcFace; about twice that suits a margin).`);
  if (last) parts.push(lastRunLine(last));
  return parts.join('\n\n');
}

function lastRunLine(last: DatasetStats): string {
  const listed = Array.isArray(last.imageSizes) ? last.imageSizes : [];
  const sizes = listed.map((z) => `${z.width}×${z.height} (${z.count})`).join(', ');
  const more = (last.distinctImageSizes ?? 0) > listed.length ? ', …' : '';
  const sizesPart = sizes ? markdown`; image sizes ${sizes}${more}` : '';
  return markdown`Last run on it: ${Number(last.pairs).toLocaleString()} verification pairs (${last.pairsSource ?? 'held-out identities'})` + `${sizesPart}.`;
}
