// What a run knows of its images besides their pixels: identity, a name a user
// can find the image by, its file, its quality (a synthetic face's recorded
// degradations, or a folder image's measured proxies) and a content hash. The
// records (verify/records.ts), the quality views and the protocol's overlap
// check (overlap.ts) read them.

import type { RunConfig } from '../../shared/config';
import { faceQuality } from './face-renderer';
import type { ImageMeasures } from './decode-cache';
import { proxyScore } from './quality-proxy';
import { SYNTHETIC_VALIDATION_PER_IDENTITY, faceStream, syntheticName, type Split } from './synthetic';

export interface ImageFacts {
  /** Identity of each image: an index into `identities`. */
  identity: Int32Array;
  identities: string[];
  /** Each image's name: its path under its folder, or a synthetic face's "<identity>/<n>". */
  names: string[];
  /** Each image's file (folder datasets). */
  files?: string[];
  /** 0 (worst) to 1 (best): synthetic faces' recorded quality, folder images' proxy score. */
  quality: Float32Array;
  /** Synthetic faces: their degradations, a mask over DEGRADATIONS (src/shared/quality.ts). */
  degradations?: Uint8Array;
  /** Folder images: the measured proxies (quality-proxy.ts). */
  sharpness?: Float32Array;
  contrast?: Float32Array;
  /** SHA-1 of each file's bytes (folder datasets). */
  sha1?: string[];
}

/** The facts of a dataset's image sources, each aligned with its source's indices. */
export interface DatasetFacts {
  train: ImageFacts;
  validation?: ImageFacts;
  verify: ImageFacts;
}

/** Faces j in [first, last) of each of `identities` identities of a synthetic split, as drawn (no rendering). */
function syntheticSplitFacts(config: RunConfig, split: Split, identities: number, first: number, last: number): ImageFacts {
  const { imageSize: size, channels } = config;
  const n = identities * (last - first);
  const facts: ImageFacts = {
    identity: new Int32Array(n),
    identities: Array.from({ length: identities }, (_, i) => syntheticName(split, i)),
    names: new Array<string>(n),
    quality: new Float32Array(n),
    degradations: new Uint8Array(n),
  };
  let k = 0;
  for (let i = 0; i < identities; i++) {
    for (let j = first; j < last; j++, k++) {
      const { rng, hard } = faceStream(config, split, i, j);
      const q = faceQuality(rng, { size, channels, hard });
      facts.identity[k] = i;
      facts.names[k] = `${facts.identities[i]}/${j + 1}`;
      facts.quality[k] = q.score;
      (facts.degradations as Uint8Array)[k] = q.degradations;
    }
  }
  return facts;
}

/** The built-in synthetic set's facts, in the order syntheticDataset lays its images out. */
export function syntheticFacts(config: RunConfig): DatasetFacts {
  const s = config.dataset.synthetic;
  return {
    train: syntheticSplitFacts(config, 'train', s.identities, 0, s.imagesPerIdentity),
    validation: syntheticSplitFacts(config, 'train', s.identities, s.imagesPerIdentity, s.imagesPerIdentity + SYNTHETIC_VALIDATION_PER_IDENTITY),
    verify: syntheticSplitFacts(config, 'verify', s.verifyIdentities, 0, s.verifyImagesPerIdentity),
  };
}

/** An image file as the folder facts take it: where it is, whose it is, what the decode cache measured. */
export interface FolderImage {
  file: string;
  identity: string;
  measures: ImageMeasures | undefined;
}

/** Facts of folder images; names are their paths relative to `root`, with forward slashes. */
export function folderFacts(images: FolderImage[], root: string): ImageFacts {
  const identities: string[] = [];
  const known = new Map<string, number>();
  const n = images.length;
  const facts: ImageFacts = {
    identity: new Int32Array(n),
    identities,
    names: new Array<string>(n),
    files: images.map((im) => im.file),
    quality: new Float32Array(n),
    sharpness: new Float32Array(n),
    contrast: new Float32Array(n),
    sha1: new Array<string>(n),
  };
  images.forEach((im, k) => {
    let id = known.get(im.identity);
    if (id === undefined) known.set(im.identity, (id = identities.push(im.identity) - 1));
    facts.identity[k] = id;
    facts.names[k] = relativeName(root, im.file);
    const m = im.measures ?? { sha1: '', sharpness: 0, contrast: 0 };
    (facts.sharpness as Float32Array)[k] = m.sharpness;
    (facts.contrast as Float32Array)[k] = m.contrast;
    facts.quality[k] = proxyScore(m);
    (facts.sha1 as string[])[k] = m.sha1;
  });
  return facts;
}

function relativeName(root: string, file: string): string {
  const rel = file.startsWith(root) ? file.slice(root.length).replace(/^[\\/]+/, '') : file;
  return rel.replace(/\\/g, '/');
}

/** The facts of images `at` of `facts`, renumbered 0..n-1 (identities kept as they are). */
export function pickFacts(facts: ImageFacts, at: ArrayLike<number>): ImageFacts {
  const idx = Array.from(at);
  const pick = <T>(xs: ArrayLike<T> | undefined): T[] | undefined => (xs ? idx.map((i) => xs[i]) : undefined);
  return {
    identity: Int32Array.from(idx, (i) => facts.identity[i]),
    identities: facts.identities,
    names: pick(facts.names) as string[],
    files: pick(facts.files),
    quality: Float32Array.from(idx, (i) => facts.quality[i]),
    degradations: facts.degradations ? Uint8Array.from(idx, (i) => (facts.degradations as Uint8Array)[i]) : undefined,
    sharpness: facts.sharpness ? Float32Array.from(idx, (i) => (facts.sharpness as Float32Array)[i]) : undefined,
    contrast: facts.contrast ? Float32Array.from(idx, (i) => (facts.contrast as Float32Array)[i]) : undefined,
    sha1: pick(facts.sha1),
  };
}
