// The verification set of a pairs file: its images decoded into the cache and
// its pairs as indices into them. A folder dataset with a pairs file verifies on
// it every epoch; `eval` verifies a saved run on any pairs file with it.

import * as path from 'node:path';
import type { PairIndex } from './dataset';
import { cacheImages, defaultCacheRoot, type CachedImages } from './decode-cache';
import type { ResolvedPairs } from './pairs-file';

export interface PairsSet {
  verify: CachedImages;
  pairs: PairIndex;
  /** Identities the pairs' images belong to (their folders). */
  identities: number;
}

export async function pairsSet(pairs: ResolvedPairs, imageSize: number, channels: 1 | 3, log: (message: string) => void): Promise<PairsSet> {
  const verify = await cacheImages(pairs.files, { cacheRoot: defaultCacheRoot(), folder: pairs.imagesRoot, imageSize, channels, log });
  return {
    verify,
    pairs: { a: pairs.a, b: pairs.b, same: pairs.same, fold: pairs.fold },
    identities: new Set(pairs.files.map((f) => path.basename(path.dirname(f)))).size,
  };
}
