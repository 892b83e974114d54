// Reads a run's records (src/shared/records.ts, written by the trainer) into
// what the dashboard draws (src/shared/insight.ts: histograms, point samples,
// the failure gallery at an operating point) and exports them as CSV and .npy
// for a notebook. No vscode: the extension maps image files to webview URIs
// through `imageSrc`, the CLI calls the exports directly.

import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { FAR_TARGETS, type Verification } from '../shared/events';
import { denseFolds } from '../shared/folds';
import { mismatchedNeeded, tarMeasurable } from '../shared/format';
import {
  GALLERY_SIZE,
  MAX_POINTS,
  NORM_BINS,
  SCORE_BINS,
  type EpochInsight,
  type Failure,
  type FailureGallery,
  type FailureImage,
  type FeatureSpace,
  type Histogram,
  type NormQuality,
  type OperatingPoint,
  type ScoreDistributions,
} from '../shared/insight';
import { degradationNames, pearson, spearman, thirdsOf } from '../shared/quality';
import { M, MAX_RECORDED_IMAGES, RECORDS_DIR, RECORDS_EMBEDDINGS, RECORDS_SET, T, decodeRecords, metaList, recordsEpochFile, tensor, thumbnailFile, type Records } from '../shared/records';
import { ACTIVE_STATUSES, RUN_FILES, type RunRecord } from '../shared/run';
import { pathExists } from './atomic-file';
import { csvCell } from './export';
import { effectiveStatus } from './liveness';
import { isHeartbeat, isRunRecord } from './run-follower';

const EPOCH_FILE = /^epoch-(\d{3,})\.safetensors$/;

export async function readRecords(file: string): Promise<Records> {
  return decodeRecords(await fs.readFile(file));
}

/** Epochs of the run that have a records file, ascending. */
export async function recordedEpochs(runDir: string): Promise<number[]> {
  const names = await fs.readdir(path.join(runDir, RECORDS_DIR)).catch(() => [] as string[]);
  return names
    .map((n) => EPOCH_FILE.exec(n))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The set and one epoch of a run's records, checked against each other. */
export interface RunRecordsView {
  set: Records;
  epoch: Records;
  number: number;
  images: number;
  pairs: number;
  verification: Verification | undefined;
}

/** The set file read last, kept while the file is unchanged: a dashboard's every request (epoch, operating point) reads the same one. */
let lastSet: { file: string; mtimeMs: number; size: number; records: Records } | undefined;

async function readSet(runDir: string): Promise<Records> {
  const file = path.join(runDir, RECORDS_SET);
  const { mtimeMs, size } = await fs.stat(file);
  if (lastSet?.file === file && lastSet.mtimeMs === mtimeMs && lastSet.size === size) return lastSet.records;
  const records = await readRecords(file);
  lastSet = { file, mtimeMs, size, records };
  return records;
}

export async function loadEpochRecords(runDir: string, epoch: number): Promise<RunRecordsView> {
  const set = await readSet(runDir);
  const records = await readRecords(path.join(runDir, recordsEpochFile(epoch)));
  const images = need(set, T.imageIdentity, 'I32').length;
  const pairs = need(set, T.pairA, 'I32').length;
  if (need(records, T.imageNorm, 'F32').length !== images || need(records, T.pairScore, 'F32').length !== pairs) {
    throw new Error(`${recordsEpochFile(epoch)} does not match ${RECORDS_SET} (a different verification set)`);
  }
  return { set, epoch: records, number: epoch, images, pairs, verification: parseVerification(records.metadata.get(M.verification)) };
}

function need<D extends 'F32' | 'I32' | 'U8'>(records: Records, name: string, dtype: D) {
  const t = tensor(records, name, dtype);
  if (!t) throw new Error(`the records have no ${name}`);
  return t;
}

function parseVerification(text: string | undefined): Verification | undefined {
  try {
    const v = JSON.parse(text ?? '') as Verification;
    return typeof v === 'object' && v !== null && Array.isArray(v.tarAtFar) ? v : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- summaries

/** Evenly spaced indices: all of 0..n-1 when n <= max. */
export function spaced(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.floor((i * n) / max));
}

function range(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  return lo <= hi ? [lo, hi === lo ? lo + 1 : hi] : [0, 1];
}

/** A histogram of the values `keep` admits, on `bins` equal bins over [lo, hi]. */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number, keep: (i: number) => boolean = () => true): Histogram {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    if (!keep(i)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((values[i] - lo) / width)))]++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, k) => lo + k * width), counts };
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

export function normQuality(norm: Float32Array, quality: Float32Array): NormQuality {
  const third = thirdsOf(quality);
  const [lo, hi] = range(norm);
  return {
    thirds: [0, 1, 2].map((t) => histogram(norm, lo, hi, NORM_BINS, (i) => third[i] === t)),
    points: spaced(norm.length, MAX_POINTS).map((i) => ({ quality: quality[i], norm: norm[i] })),
    pearson: finite(pearson(norm, quality)),
    spearman: finite(spearman(norm, quality)),
    count: norm.length,
  };
}

/** Cosine scores lie in [-1, 1]; the histograms share that range so epochs and runs compare. */
const SCORE_RANGE: [number, number] = [-1, 1];

function scoreDistributions(view: RunRecordsView): ScoreDistributions {
  const score = need(view.epoch, T.pairScore, 'F32');
  const same = need(view.set, T.pairSame, 'U8');
  const v = view.verification;
  return {
    matched: histogram(score, ...SCORE_RANGE, SCORE_BINS, (i) => same[i] === 1),
    mismatched: histogram(score, ...SCORE_RANGE, SCORE_BINS, (i) => same[i] === 0),
    foldThresholds: v?.foldThresholds ?? [],
    tarThresholds: v ? v.tarAtFar.filter((t) => t.threshold !== null && tarMeasurable(v, t.far)).map((t) => ({ far: t.far, threshold: t.threshold as number })) : [],
    recordedPairs: view.pairs,
    pairs: Number(view.set.metadata.get(M.pairsTotal)) || view.pairs,
  };
}

function parsePair(text: string | undefined, fallback: [number, number]): [number, number] {
  try {
    const v: unknown = JSON.parse(text ?? '');
    return Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number') ? (v as [number, number]) : fallback;
  } catch {
    return fallback;
  }
}

function featureSpace(view: RunRecordsView): FeatureSpace {
  const xy = need(view.epoch, T.imageXy, 'F32');
  const identity = need(view.set, T.imageIdentity, 'I32');
  const quality = need(view.set, T.imageQuality, 'F32');
  const kind = view.epoch.metadata.get(M.projection) === 'features' ? 'features' : 'pca';
  return {
    kind,
    share: kind === 'pca' ? parsePair(view.epoch.metadata.get(M.projectionShare), [NaN, NaN]) : null,
    origin: parsePair(view.epoch.metadata.get(M.projectionOrigin), [0, 0]),
    points: spaced(view.images, MAX_POINTS).map((i) => ({ x: xy[2 * i], y: xy[2 * i + 1], identity: identity[i], quality: quality[i] })),
    identities: metaList(view.set, M.identities).length,
    count: view.images,
  };
}

// ---------------------------------------------------------------- failures

/**
 * Each recorded pair's fold number, as the trainer numbered the fold thresholds:
 * by the labels of all pairs, which a sample of them may lack. Records from
 * before `fold_labels` fall back on the recorded pairs' own labels (all of
 * them when every pair was recorded).
 */
function recordedFolds(view: RunRecordsView): Uint16Array {
  const fold = need(view.set, T.pairFold, 'I32');
  let labels: unknown;
  try {
    labels = JSON.parse(view.set.metadata.get(M.foldLabels) ?? 'null');
  } catch {
    labels = null;
  }
  return Array.isArray(labels) && labels.every((l) => typeof l === 'number') ? denseFolds(fold, labels) : denseFolds(fold);
}

/** The threshold each pair is judged at; a note instead when the operating point cannot be measured. */
function thresholdsAt(view: RunRecordsView, operating: OperatingPoint): { at: (k: number) => number } | { note: string } {
  const v = view.verification;
  if (!v) return { note: 'these records carry no thresholds' };
  if (operating.kind === 'tenfold') {
    const folds = recordedFolds(view);
    const t = v.foldThresholds ?? [];
    return { at: (k) => t[folds[k]] ?? v.threshold };
  }
  if (!tarMeasurable(v, operating.far)) return { note: `FAR ${operating.far.toExponential()} is n/a (needs ${mismatchedNeeded(operating.far).toLocaleString('en-US')} mismatched pairs)` };
  const entry = v.tarAtFar.find((t) => Math.abs(t.far - operating.far) < operating.far * 1e-6);
  if (!entry) return { note: `no threshold for FAR ${operating.far.toExponential()} (targets: ${FAR_TARGETS.join(', ')})` };
  const threshold = entry.threshold ?? Infinity;
  return { at: () => threshold };
}

export type ImageSrc = (image: number, file: string | undefined) => string | undefined;

/** What the records say of every verification image; the set's lists (JSON in its metadata) parsed once. */
function imageColumns(view: RunRecordsView) {
  return {
    names: metaList(view.set, M.names),
    identities: metaList(view.set, M.identities),
    files: metaList(view.set, M.files),
    identity: need(view.set, T.imageIdentity, 'I32'),
    quality: need(view.set, T.imageQuality, 'F32'),
    degradations: tensor(view.set, T.imageDegradations, 'U8'),
    norm: need(view.epoch, T.imageNorm, 'F32'),
  };
}

/** Describes gallery images. */
function imageDescriber(view: RunRecordsView, src: ImageSrc): (i: number) => FailureImage {
  const { names, identities, files, identity, quality, degradations, norm } = imageColumns(view);
  return (i) => ({
    index: i,
    name: names[i] ?? String(i),
    identity: identities[identity[i]] ?? String(identity[i]),
    norm: norm[i],
    quality: quality[i],
    ...(degradations ? { degradations: degradationNames(degradations[i]) } : {}),
    src: src(i, files[i]),
  });
}

/** False accepts and false rejects at the operating point, each sorted by how far on the wrong side it scored. */
export function failureGallery(view: RunRecordsView, operating: OperatingPoint, src: ImageSrc): FailureGallery {
  const judged = thresholdsAt(view, operating);
  if ('note' in judged) return { operating, falseAccepts: [], falseRejects: [], counts: { falseAccepts: 0, falseRejects: 0 }, note: judged.note };
  const score = need(view.epoch, T.pairScore, 'F32');
  const same = need(view.set, T.pairSame, 'U8');
  const fold = need(view.set, T.pairFold, 'I32');
  const a = need(view.set, T.pairA, 'I32');
  const b = need(view.set, T.pairB, 'I32');
  const index = tensor(view.set, T.pairIndex, 'I32');
  const accepts: { k: number; margin: number }[] = [];
  const rejects: { k: number; margin: number }[] = [];
  for (let k = 0; k < score.length; k++) {
    const t = judged.at(k);
    const accepted = score[k] >= t;
    if (accepted && !same[k]) accepts.push({ k, margin: score[k] - t });
    else if (!accepted && same[k]) rejects.push({ k, margin: Number.isFinite(t) ? t - score[k] : Infinity });
  }
  const image = imageDescriber(view, src);
  const describe = (kind: Failure['kind']) => ({ k, margin }: { k: number; margin: number }): Failure => ({
    pair: index ? index[k] : k,
    kind,
    score: score[k],
    threshold: judged.at(k),
    margin,
    fold: fold[k],
    a: image(a[k]),
    b: image(b[k]),
  });
  const worst = (list: { k: number; margin: number }[]) => list.sort((x, y) => y.margin - x.margin).slice(0, GALLERY_SIZE);
  return {
    operating,
    falseAccepts: worst(accepts).map(describe('false accept')),
    falseRejects: worst(rejects).map(describe('false reject')),
    counts: { falseAccepts: accepts.length, falseRejects: rejects.length },
  };
}

// ---------------------------------------------------------------- the view

/** Where an image can be shown from: its file (folder datasets), or its thumbnail in the run folder (synthetic faces). */
export function imageFile(runDir: string, image: number, file: string | undefined): string {
  return file ?? path.join(runDir, thumbnailFile(image));
}

/** One epoch of the records, as the dashboard draws it; the latest recorded epoch when `epoch` is undefined. */
export async function epochInsight(runDir: string, epoch: number | undefined, operating: OperatingPoint, src: ImageSrc): Promise<EpochInsight | undefined> {
  const epochs = await recordedEpochs(runDir);
  const chosen = epoch !== undefined && epochs.includes(epoch) ? epoch : epochs[epochs.length - 1];
  if (chosen === undefined) return undefined;
  const view = await loadEpochRecords(runDir, chosen);
  const trainNorm = tensor(view.epoch, T.trainNorm, 'F32');
  const trainQuality = tensor(view.set, T.trainQuality, 'F32');
  return {
    epoch: chosen,
    epochs,
    quality: view.set.metadata.get(M.quality) === 'synthetic' ? 'synthetic' : 'proxy',
    verify: normQuality(need(view.epoch, T.imageNorm, 'F32'), need(view.set, T.imageQuality, 'F32')),
    train: trainNorm && trainQuality && trainNorm.length === trainQuality.length && trainNorm.length ? normQuality(trainNorm, trainQuality) : null,
    scores: scoreDistributions(view),
    space: featureSpace(view),
    gallery: failureGallery(view, operating, src),
  };
}

// ---------------------------------------------------------------- exports

/** A .npy file (format 1.0, little-endian, C order) of a records tensor. */
export function npy(data: Float32Array | Int32Array | Uint8Array, shape: number[]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : '|u1';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export interface ExportResult {
  files: string[];
  epoch: number;
}

function csv(header: string[], rows: unknown[][]): string {
  return [header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

/** images.csv, pairs.csv and train_sample.csv of one epoch: every score, norm and quality in a table. */
function csvFiles(view: RunRecordsView): Record<string, string> {
  const { names, identities, files, identity, quality, degradations, norm } = imageColumns(view);
  const sharpness = tensor(view.set, T.imageSharpness, 'F32');
  const contrast = tensor(view.set, T.imageContrast, 'F32');
  const xy = need(view.epoch, T.imageXy, 'F32');
  const images = Array.from({ length: view.images }, (_, i) => [
    i,
    names[i],
    identities[identity[i]],
    identity[i],
    quality[i],
    degradations ? degradationNames(degradations[i]) : '',
    sharpness?.[i],
    contrast?.[i],
    norm[i],
    xy[2 * i],
    xy[2 * i + 1],
    files[i] ?? '',
  ]);
  const a = need(view.set, T.pairA, 'I32');
  const b = need(view.set, T.pairB, 'I32');
  const same = need(view.set, T.pairSame, 'U8');
  const fold = need(view.set, T.pairFold, 'I32');
  const index = tensor(view.set, T.pairIndex, 'I32');
  const score = need(view.epoch, T.pairScore, 'F32');
  const pairs = Array.from({ length: view.pairs }, (_, k) => [index ? index[k] : k, a[k], b[k], names[a[k]], names[b[k]], same[k], fold[k], score[k]]);
  const trainNames = metaList(view.set, M.trainNames);
  const trainIdentities = metaList(view.set, M.trainIdentities);
  const trainImage = tensor(view.set, T.trainImage, 'I32') ?? new Int32Array(0);
  const trainIdentity = tensor(view.set, T.trainIdentity, 'I32');
  const trainQuality = tensor(view.set, T.trainQuality, 'F32');
  // Norms of another sample (an epoch recorded before a resume by another version) would sit beside the wrong images: left out, as in epochInsight.
  const recordedNorm = tensor(view.epoch, T.trainNorm, 'F32');
  const trainNorm = recordedNorm?.length === trainImage.length ? recordedNorm : undefined;
  const train = Array.from(trainImage, (img, k) => [img, trainNames[k], trainIdentity ? trainIdentities[trainIdentity[k]] : '', trainQuality?.[k], ...(trainNorm ? [trainNorm[k]] : [])]);
  return {
    'images.csv': csv(['image', 'name', 'identity', 'identity_index', 'quality', 'degradations', 'sharpness', 'contrast', 'norm', 'x', 'y', 'file'], images),
    'pairs.csv': csv(['pair', 'a', 'b', 'name_a', 'name_b', 'same', 'fold', 'score'], pairs),
    'train_sample.csv': csv(['train_image', 'name', 'identity', 'quality', ...(trainNorm ? ['norm'] : [])], train),
  };
}

/** Every tensor of the set, the epoch and (when kept) the embeddings as <name>.npy, and the names as JSON. */
async function npyFiles(runDir: string, view: RunRecordsView): Promise<Record<string, Buffer | string>> {
  const out: Record<string, Buffer | string> = {};
  const sources = [view.set, view.epoch];
  const embeddings = await readRecords(path.join(runDir, RECORDS_EMBEDDINGS)).catch(() => undefined);
  // The embeddings file holds the latest epoch only: exported with an older epoch, it would not match.
  if (embeddings && embeddings.metadata.get(M.epoch) === String(view.number)) sources.push(embeddings);
  for (const records of sources) for (const [name, t] of records.tensors) out[`${name}.npy`] = npy(t.data, t.shape);
  out['names.json'] = JSON.stringify({ identities: metaList(view.set, M.identities), images: metaList(view.set, M.names), files: metaList(view.set, M.files), train_identities: metaList(view.set, M.trainIdentities), train_images: metaList(view.set, M.trainNames) }, null, 1);
  return out;
}

/** `p` with the links of its existing part resolved; the part not created yet is appended as given. */
async function realPath(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(await realPath(parent), path.basename(abs));
  }
}

/**
 * Where `dir` lies in the run folder, links and relative paths resolved: "the run folder",
 * "inside the run folder", or undefined outside it. Only its trainer writes there.
 */
export async function placeInRunFolder(runDir: string, dir: string): Promise<string | undefined> {
  const rel = path.relative(await realPath(runDir), await realPath(dir));
  if (rel === '') return 'the run folder';
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? undefined : 'inside the run folder';
}

/** The run in `runDir` as readers see it (a running run whose trainer is gone is interrupted); undefined when it holds no readable run.json. */
async function readRun(runDir: string): Promise<RunRecord | undefined> {
  const read = async (name: string): Promise<unknown> => JSON.parse(await fs.readFile(path.join(runDir, name), 'utf8'));
  const record = await read(RUN_FILES.record).catch(() => undefined);
  if (!isRunRecord(record)) return undefined;
  const beat = await read(RUN_FILES.heartbeat).catch(() => undefined);
  return effectiveStatus(record, isHeartbeat(beat) ? beat : undefined, Date.now(), hostname());
}

/** Why `runDir` has no records, in words: it is no run, its run has not verified an epoch, its records were left out or are missing, or it is older than records. */
export async function whyNoRecords(runDir: string): Promise<string> {
  const record = await readRun(runDir);
  if (!record) return `${runDir} is not a run folder (it has no readable ${RUN_FILES.record})`;
  const run = `run "${record.name}"`;
  if (!record.summary?.epochs) {
    return ACTIVE_STATUSES.has(record.status)
      ? `${run} has not finished its first verification yet; its records appear with it`
      : `${run} ended (${record.status}) before its first verification, so it recorded nothing`;
  }
  const images = record.dataset?.verifyImages ?? 0;
  if (images > MAX_RECORDED_IMAGES) return `${run} verifies on ${images.toLocaleString('en-US')} images, more than the ${MAX_RECORDED_IMAGES.toLocaleString('en-US')} records are kept for`;
  if (await pathExists(path.join(runDir, RECORDS_SET))) return `${run} has lost its records: ${RECORDS_DIR}/ holds no epoch's file`;
  return `${run} has no records: it was trained${record.trainerVersion ? ` (trainer ${record.trainerVersion})` : ''} before runs kept them`;
}

/** Writes one epoch's records (the latest when undefined) into `outDir` as CSV tables or .npy arrays; never into the run folder. */
export async function exportRecords(runDir: string, outDir: string, format: 'csv' | 'npy', epoch?: number): Promise<ExportResult> {
  const epochs = await recordedEpochs(runDir);
  if (!epochs.length) throw new Error(await whyNoRecords(runDir));
  const chosen = epoch ?? epochs[epochs.length - 1];
  if (!epochs.includes(chosen)) throw new Error(`epoch ${epoch} has no records (recorded: ${epochs.join(', ')})`);
  const place = await placeInRunFolder(runDir, outDir);
  if (place) throw new Error(`${outDir} is ${place} ${runDir}, which only its trainer writes: export somewhere else`);
  const view = await loadEpochRecords(runDir, chosen);
  const files = format === 'csv' ? csvFiles(view) : await npyFiles(runDir, view);
  await fs.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    const file = path.join(outDir, name);
    await fs.writeFile(file, data);
    written.push(file);
  }
  return { files: written, epoch: chosen };
}
