// The records a run keeps of its verification (docs/run-format.md, "Records"):
// per image its identity, quality and feature norm, per pair its score, label
// and fold, the 2-D picture of the feature space, and the last epoch's
// embeddings. Files are safetensors (an 8-byte header length, a JSON header
// naming each tensor's dtype, shape and byte range, then the bytes), which
// numpy, PyTorch and the `safetensors` package read as they are. Pure: the
// trainer writes them, the host reads them, nothing here touches a disk.

export const RECORDS_DIR = 'records';
/** The verification set and the training sample: written when a trainer starts. */
export const RECORDS_SET = `${RECORDS_DIR}/set.safetensors`;
/** The latest epoch's embeddings f(x), before normalization: replaced every epoch. */
export const RECORDS_EMBEDDINGS = `${RECORDS_DIR}/embeddings.safetensors`;
/** Thumbnails of images that have no file (the synthetic faces), one PNG per verification image. */
export const THUMBNAILS_DIR = `${RECORDS_DIR}/thumbs`;
/** What `format` in every records file's metadata says. */
export const RECORDS_FORMAT = 'l2softmax-records/1';

export function recordsEpochFile(epoch: number): string {
  return `${RECORDS_DIR}/epoch-${String(epoch).padStart(3, '0')}.safetensors`;
}

export function thumbnailFile(image: number): string {
  return `${THUMBNAILS_DIR}/${image}.png`;
}

/** Pairs recorded at most: beyond, an evenly spaced sample (its indices in `pair_index`); 8 MB of scores per epoch. */
export const MAX_RECORDED_PAIRS = 2_000_000;
/** Verification images recorded at most; a larger set is not recorded (the epoch says so). */
export const MAX_RECORDED_IMAGES = 1_000_000;
/** The embeddings file stays under this; a larger one is not written (the epoch says so). */
export const MAX_EMBEDDING_BYTES = 256 * 1024 * 1024;
/** Training images whose norms every epoch records: a fixed, seeded sample. */
export const TRAIN_SAMPLE = 1_000;
/** Synthetic verification faces drawn as thumbnails at most. */
export const MAX_THUMBNAILS = 20_000;

/** Tensor names of the records files. */
export const T = {
  imageIdentity: 'image_identity',
  imageQuality: 'image_quality',
  imageDegradations: 'image_degradations',
  imageSharpness: 'image_sharpness',
  imageContrast: 'image_contrast',
  pairA: 'pair_a',
  pairB: 'pair_b',
  pairSame: 'pair_same',
  pairFold: 'pair_fold',
  pairIndex: 'pair_index',
  trainImage: 'train_image',
  trainIdentity: 'train_identity',
  trainQuality: 'train_quality',
  trainDegradations: 'train_degradations',
  imageNorm: 'image_norm',
  imageXy: 'image_xy',
  pairScore: 'pair_score',
  trainNorm: 'train_norm',
  embedding: 'embedding',
} as const;

/** Metadata keys (values are strings; lists are JSON). */
export const M = {
  format: 'format',
  identities: 'identities',
  names: 'names',
  files: 'files',
  trainIdentities: 'train_identities',
  trainNames: 'train_names',
  quality: 'quality',
  pairsTotal: 'pairs_total',
  /** The fold labels of all pairs, ascending (JSON): fold thresholds are numbered by them (src/shared/folds.ts). */
  foldLabels: 'fold_labels',
  epoch: 'epoch',
  projection: 'projection',
  projectionShare: 'projection_share',
  projectionOrigin: 'projection_origin',
  /** The epoch's verification numbers (the epoch event's `verification`, without its ROC): its thresholds judge the pairs. */
  verification: 'verification',
} as const;

/** How a records file's 2-D picture was made: f(x) on its top two principal axes (the origin's place recorded), or f(x) itself when it has two dimensions. */
export type Projection = 'pca' | 'features';

/** Where a run's image qualities come from: the synthetic faces' recorded degradations, or measured proxies. */
export type QualitySource = 'synthetic' | 'proxy';

export type DType = 'F32' | 'I32' | 'U8';
type Data<D extends DType> = D extends 'F32' ? Float32Array : D extends 'I32' ? Int32Array : Uint8Array;

export interface Tensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: Data<D>;
}

const BYTES: Record<DType, number> = { F32: 4, I32: 4, U8: 1 };
/** Headers above this are refused (a hostile file): the set file of a million images stays well under it. */
const MAX_HEADER_BYTES = 256 * 1024 * 1024;
const ALIGN = 8;

export function f32(data: Float32Array, shape = [data.length]): Tensor<'F32'> {
  return { dtype: 'F32', shape, data };
}
export function i32(data: Int32Array, shape = [data.length]): Tensor<'I32'> {
  return { dtype: 'I32', shape, data };
}
export function u8(data: Uint8Array, shape = [data.length]): Tensor<'U8'> {
  return { dtype: 'U8', shape, data };
}

/**
 * A safetensors file. Four-byte tensors come first and the header is padded
 * with spaces to 8 bytes, so every tensor starts aligned for its type.
 */
export function encodeRecords(tensors: Record<string, Tensor>, metadata: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => BYTES[tensors[b].dtype] - BYTES[tensors[a].dtype]);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${name}: shape ${t.shape.join('x')} does not match its ${t.data.length} values`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  json += ' '.repeat((ALIGN - ((8 + headerBytes.length) % ALIGN)) % ALIGN);
  headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

export interface Records {
  tensors: Map<string, Tensor>;
  metadata: Map<string, string>;
}

export class RecordsFormatError extends Error {}

function fail(message: string): never {
  throw new RecordsFormatError(message);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Reads a safetensors file, checking every offset and shape (records files come from run folders anyone can share). */
export function decodeRecords(bytes: Uint8Array): Records {
  if (bytes.length < 8) fail('too short for a safetensors header');
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (length > MAX_HEADER_BYTES || 8 + length > bytes.length) fail(`a header of ${length} bytes does not fit`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  } catch {
    fail('the header is not JSON');
  }
  if (!isObject(header)) fail('the header is not an object');
  const start = 8 + length;
  const tensors = new Map<string, Tensor>();
  const metadata = new Map<string, string>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (isObject(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') metadata.set(k, v);
      continue;
    }
    tensors.set(name, readTensor(name, value, bytes, start));
  }
  return { tensors, metadata };
}

function readTensor(name: string, value: unknown, bytes: Uint8Array, start: number): Tensor {
  if (!isObject(value)) fail(`tensor ${name} is not described`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype !== 'F32' && dtype !== 'I32' && dtype !== 'U8') fail(`tensor ${name} has dtype ${String(dtype)}; records use F32, I32 and U8`);
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) fail(`tensor ${name} has no valid shape`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) fail(`tensor ${name} has no valid offsets`);
  const [begin, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (end < begin || end - begin !== count * BYTES[dtype] || start + end > bytes.length) fail(`tensor ${name}: bytes ${begin}..${end} do not hold a ${(shape as number[]).join('x')} ${dtype} tensor in the file`);
  // Copied: the values must be aligned for their type, and must not keep the whole file alive.
  const raw = new Uint8Array(bytes.subarray(start + begin, start + end));
  const data = dtype === 'F32' ? new Float32Array(raw.buffer) : dtype === 'I32' ? new Int32Array(raw.buffer) : raw;
  return { dtype, shape: shape as number[], data } as Tensor;
}

/** A tensor of the records by name, checked for its dtype; undefined when absent. */
export function tensor<D extends DType>(records: Records, name: string, dtype: D): Data<D> | undefined {
  const t = records.tensors.get(name);
  if (!t) return undefined;
  if (t.dtype !== dtype) fail(`tensor ${name} is ${t.dtype}, expected ${dtype}`);
  return t.data as Data<D>;
}

/** A JSON list from the metadata; [] when absent or not a list of strings. */
export function metaList(records: Records, key: string): string[] {
  try {
    const v: unknown = JSON.parse(records.metadata.get(key) ?? '[]');
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : [];
  } catch {
    return [];
  }
}
