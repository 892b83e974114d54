// Which files count as images in a dataset folder (what sharp decodes), and
// how a run reports the images it had to leave out.

import type { DatasetStats } from './events';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export function isImageFile(name: string): boolean {
  if (name.startsWith('.')) return false;
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** The code of the `warning` event a run sends when it leaves undecodable images out. */
export const SKIPPED_IMAGES_WARNING = 'skipped-images';

/** Images left out because they cannot be read or decoded (unless strict data is on, which fails the run). */
export interface SkippedImages {
  count: number;
  /** The first few, relative to their dataset or pairs folder. */
  examples: string[];
}

/** Dataset statistics of a folder dataset; `skippedImages` only when some were. */
export type FolderDatasetStats = DatasetStats & { skippedImages?: SkippedImages };
