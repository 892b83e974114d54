// The trainer's records of every verification (docs/run-format.md, "Records";
// the file format in src/shared/records.ts): once per session the set (each
// verification image's identity and quality, each pair's images, label and
// fold, a fixed sample of training images) and the synthetic faces' thumbnails;
// every epoch the feature norms, the pair scores, the 2-D picture of the
// feature space, the training sample's norms, and the latest embeddings. Files
// are replaced atomically and written before the epoch event that names them,
// so a reader that sees the event finds them whole.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PRIVATE_FILE_MODE, makePrivateDir, writeFileAtomic } from '../../core/atomic-file';
import type { RunConfig } from '../../shared/config';
import type { BucketResult, Correlation, EpochRecords, Verification } from '../../shared/events';
import { denseFolds, foldLabels } from '../../shared/folds';
import { PAIR_BUCKETS, pairBucket, pearson, spearman, thirdsOf } from '../../shared/quality';
import {
  M,
  MAX_EMBEDDING_BYTES,
  MAX_RECORDED_IMAGES,
  MAX_RECORDED_PAIRS,
  MAX_THUMBNAILS,
  RECORDS_DIR,
  RECORDS_EMBEDDINGS,
  RECORDS_FORMAT,
  RECORDS_SET,
  T,
  THUMBNAILS_DIR,
  TRAIN_SAMPLE,
  encodeRecords,
  f32,
  i32,
  recordsEpochFile,
  thumbnailFile,
  u8,
  type QualitySource,
  type Tensor,
} from '../../shared/records';
import { imageView, type Dataset, type ImageSource, type PairIndex } from '../data/dataset';
import { pickFacts, type ImageFacts } from '../data/image-facts';
import { encodePng } from '../data/png';
import { TrainerError, isDiskError } from '../errors';
import { Rng, hashSeed } from '../data/rng';
import type { Net } from '../net/model';
import { embedImages, norms, type Embeddings } from './embed';
import { project2d } from './projection';

/** Salt of the training sample's seed, so the sample does not follow the data order. */
const SAMPLE_SALT = 77;
/** Thumbnails are read and encoded this many at a time. */
const THUMB_BATCH = 256;

/** Indices of `count` evenly spaced pairs out of `total` (all of them when count >= total). */
export function pairSample(total: number, count: number): Int32Array {
  if (count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  return Int32Array.from({ length: count }, (_, i) => Math.floor((i * total) / count));
}

/** A fixed sample of training images: the same every epoch and every resume. */
export function trainingSample(count: number, seed: number): Int32Array {
  const all = Array.from({ length: count }, (_, i) => i);
  return Int32Array.from(new Rng(hashSeed(seed, SAMPLE_SALT)).shuffle(all).slice(0, TRAIN_SAMPLE)).sort();
}

function correlation(x: ArrayLike<number>, y: ArrayLike<number>): Correlation {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return { pearson: finite(pearson(x, y)), spearman: finite(spearman(x, y)) };
}

/** Verification per pair bucket (by the quality thirds of the two images), each pair at its fold's threshold. */
export function bucketResults(quality: Float32Array, pairs: PairIndex, scores: ArrayLike<number>, v: Verification): BucketResult[] {
  const third = thirdsOf(quality);
  const folds = denseFolds(pairs.fold);
  const thresholds = v.foldThresholds ?? [];
  const n = PAIR_BUCKETS.map(() => ({ pairs: 0, matched: 0, correct: 0, acceptedMatched: 0, acceptedMismatched: 0 }));
  for (let k = 0; k < pairs.a.length; k++) {
    const b = pairBucket(third[pairs.a[k]], third[pairs.b[k]]);
    if (b === undefined) continue;
    const accepted = scores[k] >= (thresholds[folds[k]] ?? v.threshold);
    const same = pairs.same[k] === 1;
    const c = n[b];
    c.pairs++;
    if (same) c.matched++;
    if (accepted === same) c.correct++;
    if (accepted && same) c.acceptedMatched++;
    if (accepted && !same) c.acceptedMismatched++;
  }
  const rate = (x: number, of: number) => (of ? x / of : null);
  return PAIR_BUCKETS.map((bucket, b) => ({
    bucket,
    pairs: n[b].pairs,
    matched: n[b].matched,
    accuracy: rate(n[b].correct, n[b].pairs),
    tar: rate(n[b].acceptedMatched, n[b].matched),
    far: rate(n[b].acceptedMismatched, n[b].pairs - n[b].matched),
  }));
}

/** The verification images' identities and qualities. */
function imageTensors(facts: ImageFacts): Record<string, Tensor> {
  const out: Record<string, Tensor> = { [T.imageIdentity]: i32(facts.identity), [T.imageQuality]: f32(facts.quality) };
  if (facts.degradations) out[T.imageDegradations] = u8(facts.degradations);
  if (facts.sharpness && facts.contrast) {
    out[T.imageSharpness] = f32(facts.sharpness);
    out[T.imageContrast] = f32(facts.contrast);
  }
  return out;
}

/** The training sample's identities and qualities (`facts` picked at the sample). */
function sampleTensors(facts: ImageFacts, sample: Int32Array): Record<string, Tensor> {
  const out: Record<string, Tensor> = { [T.trainImage]: i32(sample), [T.trainIdentity]: i32(facts.identity), [T.trainQuality]: f32(facts.quality) };
  if (facts.degradations) out[T.trainDegradations] = u8(facts.degradations);
  return out;
}

export class RunRecords {
  private readonly pairAt: Int32Array;
  private readonly sample: Int32Array;
  private readonly sampleImages: ImageSource;
  private readonly sampleFacts?: ImageFacts;
  private readonly quality: Float32Array;
  private readonly enabled: boolean;
  private readonly note: string[] = [];
  private thumbnails?: string;

  constructor(
    private readonly dir: string,
    private readonly data: Dataset,
    private readonly config: Pick<RunConfig, 'seed' | 'imageSize' | 'channels'>,
  ) {
    const facts = data.facts;
    this.enabled = !!facts && data.verify.count <= MAX_RECORDED_IMAGES;
    if (facts && !this.enabled) this.note.push(`${data.verify.count.toLocaleString('en-US')} verification images are more than the ${MAX_RECORDED_IMAGES.toLocaleString('en-US')} recorded`);
    this.pairAt = pairSample(data.pairs.a.length, MAX_RECORDED_PAIRS);
    if (this.pairAt.length < data.pairs.a.length) this.note.push(`scores of ${this.pairAt.length.toLocaleString('en-US')} evenly spaced pairs of ${data.pairs.a.length.toLocaleString('en-US')} are recorded`);
    this.sample = trainingSample(data.train.count, config.seed);
    this.sampleImages = imageView(data.train, this.sample);
    this.sampleFacts = facts && pickFacts(facts.train, this.sample);
    this.quality = facts?.verify.quality ?? new Float32Array(data.verify.count);
  }

  /** Whether the dataset has the facts records need (every built-in and folder dataset does). */
  get active(): boolean {
    return this.enabled;
  }

  /** The set file and the thumbnails, once per trainer session (a resume writes the same set again). */
  async start(): Promise<void> {
    if (!this.enabled) return;
    await this.writing(async () => {
      await makePrivateDir(path.join(this.dir, RECORDS_DIR));
      await writeFileAtomic(path.join(this.dir, RECORDS_SET), this.setFile(), PRIVATE_FILE_MODE);
      if (!this.data.facts?.verify.files) this.thumbnails = await this.drawThumbnails();
    });
  }

  /** Runs a write; a full or read-only disk becomes a 'disk' error that names the records folder. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isDiskError(err)) throw err;
      throw new TrainerError('disk', `Could not write the verification records to ${path.join(this.dir, RECORDS_DIR)}: ${(err as Error).message}. Free disk space, then resume the run.`);
    }
  }

  private setFile(): Uint8Array {
    const facts = this.data.facts as NonNullable<Dataset['facts']>;
    const { pairs } = this.data;
    const pick = <A extends Int32Array | Uint8Array>(xs: A, make: (n: number) => A): A => {
      const out = make(this.pairAt.length);
      this.pairAt.forEach((k, i) => (out[i] = xs[k]));
      return out;
    };
    const tensors: Record<string, Tensor> = {
      ...imageTensors(facts.verify),
      ...sampleTensors(this.sampleFacts as ImageFacts, this.sample),
      [T.pairA]: i32(pick(pairs.a, (n) => new Int32Array(n))),
      [T.pairB]: i32(pick(pairs.b, (n) => new Int32Array(n))),
      [T.pairSame]: u8(pick(pairs.same, (n) => new Uint8Array(n))),
      [T.pairFold]: i32(pick(pairs.fold, (n) => new Int32Array(n))),
      [T.pairIndex]: i32(this.pairAt),
    };
    const quality: QualitySource = facts.verify.degradations ? 'synthetic' : 'proxy';
    const metadata: Record<string, string> = {
      [M.format]: RECORDS_FORMAT,
      [M.identities]: JSON.stringify(facts.verify.identities),
      [M.names]: JSON.stringify(facts.verify.names),
      [M.trainIdentities]: JSON.stringify(facts.train.identities),
      [M.trainNames]: JSON.stringify((this.sampleFacts as ImageFacts).names),
      [M.quality]: quality,
      [M.pairsTotal]: String(pairs.a.length),
      // Of all pairs: a sample may lack a fold, and the fold thresholds are numbered by all.
      [M.foldLabels]: JSON.stringify(foldLabels(pairs.fold)),
    };
    if (facts.verify.files) metadata[M.files] = JSON.stringify(facts.verify.files);
    return encodeRecords(tensors, metadata);
  }

  /** PNG thumbnails of images without files (the synthetic faces), drawn once: a resume keeps the folder it finds. */
  private async drawThumbnails(): Promise<string | undefined> {
    const images = this.data.verify;
    if (images.count > MAX_THUMBNAILS) {
      this.note.push(`no thumbnails: ${images.count.toLocaleString('en-US')} images are more than ${MAX_THUMBNAILS.toLocaleString('en-US')}`);
      return undefined;
    }
    const target = path.join(this.dir, THUMBNAILS_DIR);
    if (await fs.stat(target).then(() => true, () => false)) return THUMBNAILS_DIR;
    // Drawn into a folder of its own, then renamed into place: readers see all of them or none.
    const tmp = `${target}.${process.pid}.tmp`;
    await fs.rm(tmp, { recursive: true, force: true });
    try {
      await makePrivateDir(tmp);
      const { imageSize: side, channels } = this.config;
      for (let start = 0; start < images.count; start += THUMB_BATCH) {
        const idx = Array.from({ length: Math.min(THUMB_BATCH, images.count - start) }, (_, i) => start + i);
        const pixels = await images.batch(idx);
        const len = side * side * channels;
        for (let k = 0; k < idx.length; k++) {
          const unit = Float32Array.from(pixels.subarray(k * len, (k + 1) * len), (v) => (v + 1) / 2);
          await fs.writeFile(path.join(tmp, path.basename(thumbnailFile(idx[k]))), encodePng(unit, side, side, channels), { mode: PRIVATE_FILE_MODE });
        }
      }
      await fs.rename(tmp, target);
    } catch (err) {
      // A full disk must not leave half a folder of thumbnails behind.
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return THUMBNAILS_DIR;
  }

  /** Records one epoch's verification (its embeddings and scores), then says what the epoch event carries. */
  async epoch(epoch: number, net: Net, batchSize: number, embeddings: Embeddings, scores: Float64Array, verification: Verification): Promise<EpochRecords | undefined> {
    if (!this.enabled) return undefined;
    return this.writing(() => this.writeEpoch(epoch, net, batchSize, embeddings, scores, verification));
  }

  private async writeEpoch(epoch: number, net: Net, batchSize: number, embeddings: Embeddings, scores: Float64Array, verification: Verification): Promise<EpochRecords> {
    const imageNorm = norms(embeddings);
    const trainNorm = norms(await embedImages(net, this.sampleImages, batchSize));
    const projection = project2d(embeddings);
    const tensors: Record<string, Tensor> = {
      [T.imageNorm]: f32(imageNorm),
      [T.imageXy]: f32(projection.xy, [embeddings.count, 2]),
      [T.pairScore]: f32(Float32Array.from(this.pairAt, (k) => scores[k])),
      [T.trainNorm]: f32(trainNorm),
    };
    const metadata = { [M.format]: RECORDS_FORMAT, [M.epoch]: String(epoch), [M.projection]: projection.kind, [M.projectionShare]: JSON.stringify(projection.share), [M.projectionOrigin]: JSON.stringify(projection.origin), [M.verification]: JSON.stringify({ ...verification, roc: undefined }) };
    await writeFileAtomic(path.join(this.dir, recordsEpochFile(epoch)), encodeRecords(tensors, metadata), PRIVATE_FILE_MODE);
    const kept = await this.writeEmbeddings(epoch, embeddings);
    return {
      set: RECORDS_SET,
      epoch: recordsEpochFile(epoch),
      embeddings: kept ? RECORDS_EMBEDDINGS : null,
      ...(this.thumbnails ? { thumbnails: this.thumbnails } : {}),
      images: embeddings.count,
      pairs: scores.length,
      recordedPairs: this.pairAt.length,
      trainSample: this.sample.length,
      normQuality: {
        verify: correlation(imageNorm, this.quality),
        train: this.sample.length ? correlation(trainNorm, (this.sampleFacts as ImageFacts).quality) : null,
      },
      buckets: bucketResults(this.quality, this.data.pairs, scores, verification),
      ...(this.note.length ? { note: this.note.join('; ') } : {}),
    };
  }

  /** The latest embeddings, when they fit MAX_EMBEDDING_BYTES. */
  private async writeEmbeddings(epoch: number, e: Embeddings): Promise<boolean> {
    if (e.values.byteLength > MAX_EMBEDDING_BYTES) {
      if (!this.note.some((n) => n.startsWith('no embeddings'))) this.note.push(`no embeddings: ${Math.round(e.values.byteLength / 2 ** 20)} MB is more than the ${MAX_EMBEDDING_BYTES / 2 ** 20} MB kept`);
      return false;
    }
    const file = encodeRecords({ [T.embedding]: f32(e.values, [e.count, e.dim]) }, { [M.format]: RECORDS_FORMAT, [M.epoch]: String(epoch) });
    await writeFileAtomic(path.join(this.dir, RECORDS_EMBEDDINGS), file, PRIVATE_FILE_MODE);
    return true;
  }
}
