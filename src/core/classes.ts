// How many training identities (classes) a config will have, cheaply, for
// alpha_low in tooltips and "Suggest Alpha" (the trainer computes the exact count).

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../shared/config';

export interface ClassCount {
  classes: number;
  /** Where the number comes from, for the tooltip. */
  source: string;
  error?: string;
}

/** Identity folders with at least `min` files, without decoding anything. */
export async function countClasses(config: RunConfig): Promise<ClassCount> {
  const root = config.dataset.path;
  if (!root) return { classes: config.dataset.synthetic.identities, source: 'built-in synthetic faces' };
  let entries;
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch (err) {
    return { classes: 0, source: root, error: `cannot read ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  let classes = 0;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    try {
      const files = await fs.readdir(path.join(root, e.name));
      if (files.length >= config.dataset.minImagesPerIdentity) classes++;
    } catch {
      // unreadable identity folder: the trainer reports it
    }
  }
  return { classes, source: path.basename(root) || root };
}
