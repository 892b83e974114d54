// The protocol check: verification must be on identities and images the model
// never trained on. Train on LFW and verify on LFW's pairs, or let one photo sit
// in two identity folders, and the numbers measure memory. Identities are
// compared by name; images by content, the SHA-1 of their files (folder
// datasets) or of their decoded pixels (the synthetic faces, which have no
// files). A run reports what it found in its `started` event and warns; with
// strict protocol an overlap ends the run instead.

import { createHash } from 'node:crypto';
import type { RunConfig } from '../../shared/config';
import { PROTOCOL_OVERLAP_WARNING, type ProtocolOverlap } from '../../shared/events';
import { TrainerError, type TrainerLog } from '../errors';
import type { Dataset, ImageSource } from './dataset';
import type { ImageFacts } from './image-facts';

/** Examples of each kind a report names. */
const EXAMPLES = 3;
/** Images hashed per batch read when pixels are compared. */
const HASH_BATCH = 256;

/** Identity names on both sides. */
export function sharedIdentities(training: ImageFacts[], verify: ImageFacts): string[] {
  const trained = new Set(training.flatMap(presentIdentities));
  return presentIdentities(verify).filter((name) => trained.has(name));
}

/** The names of the identities `f`'s images belong to (a part of a dataset keeps the whole dataset's list). */
function presentIdentities(f: ImageFacts): string[] {
  return [...new Set(f.identity)].map((i) => f.identities[i]);
}

/** Verification images whose hash is also a training image's: "<verification name> = <training name>". */
export function sharedImages(training: { names: string[]; hashes: string[] }[], verify: { names: string[]; hashes: string[] }): string[] {
  const trained = new Map<string, string>();
  for (const side of training) side.hashes.forEach((h, i) => h && !trained.has(h) && trained.set(h, side.names[i]));
  const out: string[] = [];
  verify.hashes.forEach((h, i) => {
    const other = h ? trained.get(h) : undefined;
    if (other !== undefined) out.push(`${verify.names[i]} = ${other}`);
  });
  return out;
}

/** SHA-1 of each image's decoded pixels. */
async function pixelHashes(images: ImageSource): Promise<string[]> {
  const out: string[] = [];
  for (let start = 0; start < images.count; start += HASH_BATCH) {
    const idx = Array.from({ length: Math.min(HASH_BATCH, images.count - start) }, (_, i) => start + i);
    const pixels = await images.batch(idx);
    const len = pixels.length / idx.length;
    for (let k = 0; k < idx.length; k++) out.push(createHash('sha1').update(new Uint8Array(pixels.buffer, pixels.byteOffset + k * len * 4, len * 4)).digest('hex'));
  }
  return out;
}

/** What training (with validation) and verification share; undefined for a dataset without facts. */
export async function findOverlap(data: Dataset): Promise<ProtocolOverlap | undefined> {
  const facts = data.facts;
  if (!facts) return undefined;
  const training = facts.validation ? [facts.train, facts.validation] : [facts.train];
  const byFile = training.every((f) => f.sha1) && !!facts.verify.sha1;
  const hashesOf = async (f: ImageFacts, images: ImageSource | undefined) => (byFile ? (f.sha1 as string[]) : images ? pixelHashes(images) : []);
  const trainSides = [{ names: facts.train.names, hashes: await hashesOf(facts.train, data.train) }];
  if (facts.validation) trainSides.push({ names: facts.validation.names, hashes: await hashesOf(facts.validation, data.validation?.images) });
  const identities = sharedIdentities(training, facts.verify);
  const images = sharedImages(trainSides, { names: facts.verify.names, hashes: await hashesOf(facts.verify, data.verify) });
  return {
    identities: identities.length,
    images: images.length,
    by: byFile ? 'file' : 'pixels',
    examples: [...identities.slice(0, EXAMPLES).map((n) => `identity ${n}`), ...images.slice(0, EXAMPLES)],
  };
}

/** The overlap in words; undefined when there is none. */
export function describeOverlap(o: ProtocolOverlap): string | undefined {
  if (!o.identities && !o.images) return undefined;
  const parts = [o.identities ? `${o.identities} identit${o.identities === 1 ? 'y' : 'ies'} by name` : '', o.images ? `${o.images} image(s) by ${o.by === 'file' ? 'file content' : 'pixels'}` : ''].filter(Boolean);
  return (
    `Training and verification share ${parts.join(' and ')} (${o.examples.join('; ')}): the verification numbers measure faces the model trained on. ` +
    'Verify on identities kept out of training (another pairs file, or no pairs file to hold identities out), or remove the shared images.'
  );
}

/** Finds the overlap, records it in the dataset's stats (the `started` event carries them), and warns or, with strict protocol, ends the run. */
export async function checkProtocol(data: Dataset, config: RunConfig, log: TrainerLog): Promise<void> {
  data.stats.overlap = await findOverlap(data);
  enforceProtocol(data.stats.overlap, config, log);
}

/** Warns about an overlap, or, with strict protocol, ends the run with it. */
export function enforceProtocol(overlap: ProtocolOverlap | undefined, config: RunConfig, log: TrainerLog): void {
  const message = overlap && describeOverlap(overlap);
  if (!message) return;
  if (config.dataset.strictProtocol) throw new TrainerError('protocol', `${message} (strict protocol is on: the run stops.)`);
  log.warn(PROTOCOL_OVERLAP_WARNING, `${message} Turn on strict protocol (--strict-protocol) to make this an error.`);
}
