// Run configuration: the single source of truth for what a training run does.
// Imports nothing, so the trainer, the host and the webview can all share it.

/**
 * The classification head after the embedding (formulas in README.md, code in
 * src/trainer/net/heads/): plain softmax, L2-softmax (alpha x/|x|, then a
 * linear classifier), and the normalized-classifier heads that followed it,
 * which score cos(theta_j) between the normalized feature and normalized class
 * weights: NormFace (s cos), CosFace (s (cos - m) for the true class), ArcFace
 * (s cos(theta + m) for the true class).
 */
export type LossKind = 'softmax' | 'l2-softmax' | 'normface' | 'cosface' | 'arcface';
export type OptimizerKind = 'adam' | 'sgd';
/** auto: the fastest backend that works; gpu: a GPU backend or fail; webgpu: WebGPU on any adapter, software ones included; cpu: never a GPU. */
export type DeviceKind = 'auto' | 'gpu' | 'webgpu' | 'cpu';
/** Learning rate over the run: constant, step decay (x lrStepFactor every lrStepEpochs epochs), or cosine to 0. */
export type LrSchedule = 'constant' | 'step' | 'cosine';
/**
 * The epoch a run reports as its result: the final one, or the one with the best
 * validation accuracy (held-out images of the training identities). Never the
 * best on the verification pairs: that would choose on the test set.
 */
export type ReportEpoch = 'final' | 'best-validation';

/** In the order comparison tables list them: the baseline, the paper, then its successors. */
export const LOSSES: readonly LossKind[] = ['softmax', 'l2-softmax', 'normface', 'cosface', 'arcface'];
export const OPTIMIZERS: readonly OptimizerKind[] = ['adam', 'sgd'];
export const DEVICES: readonly DeviceKind[] = ['auto', 'gpu', 'webgpu', 'cpu'];
export const LR_SCHEDULES: readonly LrSchedule[] = ['constant', 'step', 'cosine'];
export const REPORT_EPOCHS: readonly ReportEpoch[] = ['final', 'best-validation'];

export const HEAD_NAMES: Readonly<Record<LossKind, string>> = {
  softmax: 'Softmax',
  'l2-softmax': 'L2-softmax',
  normface: 'NormFace',
  cosface: 'CosFace',
  arcface: 'ArcFace',
};

/** Heads whose logits are s cos(theta): normalized features and normalized class weights. */
export function hasScaleS(loss: LossKind): boolean {
  return loss === 'normface' || loss === 'cosface' || loss === 'arcface';
}

/** Parameters of the built-in synthetic face set (used when `dataset.path` is empty). */
export interface SyntheticConfig {
  /** Training identities (classes). */
  identities: number;
  imagesPerIdentity: number;
  /** Held-out identities used only for verification pairs (open set, as on LFW). */
  verifyIdentities: number;
  verifyImagesPerIdentity: number;
  /** Share of deliberately low-quality images (blur, low contrast, occlusion, heavy noise). */
  hardShare: number;
  /** Matched pairs per fold (as many mismatched); 10 folds. */
  pairsPerFold: number;
}

export interface DatasetConfig {
  /** ImageFolder root (`root/<identity>/<image>`); empty = built-in synthetic faces. */
  path: string;
  /** LFW pairs.txt or CSV `path1,path2,same`; empty = pairs generated from held-out identities. */
  pairsFile: string;
  /** Folder the pairs file's images live in; empty = the folder holding the pairs file. */
  pairsImages: string;
  /** Training identities with fewer images are skipped. */
  minImagesPerIdentity: number;
  /** Fail the run on an undecodable image instead of skipping it (and reporting it). */
  strictData: boolean;
  /** Let a pairs file name images outside its images folder (absolute paths, `..`, links leading out). */
  allowPairsOutsideFolder: boolean;
  /** Fail the run when training and verification share identities or images, instead of warning. */
  strictProtocol: boolean;
  synthetic: SyntheticConfig;
}

export interface RunConfig {
  loss: LossKind;
  /** Scale of the L2-normalized feature (the paper's alpha). */
  alpha: number;
  alphaTrainable: boolean;
  /** Scale s of the normalized-classifier heads (NormFace, CosFace, ArcFace). */
  scale: number;
  /** Learn s (NormFace's learnable scale), starting from `scale`. */
  scaleTrainable: boolean;
  /** CosFace's additive cosine margin m: s (cos(theta_y) - m). */
  cosfaceMargin: number;
  /** ArcFace's additive angular margin m (radians): s cos(theta_y + m). */
  arcfaceMargin: number;
  /** ArcFace: no margin where cos(theta_y) <= 0 (instead of the linear extension past theta + m = pi). */
  arcfaceEasyMargin: boolean;
  embeddingSize: number;
  /** Channels of the first conv block; later blocks use 2x and 4x. */
  width: number;
  imageSize: number;
  channels: 1 | 3;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Learning rate of a learned alpha or s (its own optimizer of the same kind; no weight decay). */
  scaleLearningRate: number;
  lrSchedule: LrSchedule;
  /** Step decay: epochs between decays. */
  lrStepEpochs: number;
  /** Step decay: factor applied at each decay. */
  lrStepFactor: number;
  /** L2 penalty on conv and dense kernels (wd/2 |w|^2): never on biases, alpha or s. */
  weightDecay: number;
  optimizer: OptimizerKind;
  /** Momentum for SGD (ignored by Adam). */
  momentum: number;
  seed: number;
  device: DeviceKind;
  /** Data-parallel threads for the WebAssembly/cpu backends; 0 = one per CPU core. */
  workers: number;
  /** Which epoch the run reports as its result. */
  reportEpoch: ReportEpoch;
  dataset: DatasetConfig;
}

export const DEFAULT_CONFIG: RunConfig = {
  loss: 'l2-softmax',
  alpha: 16,
  alphaTrainable: false,
  scale: 64,
  scaleTrainable: false,
  cosfaceMargin: 0.35,
  arcfaceMargin: 0.5,
  arcfaceEasyMargin: false,
  embeddingSize: 64,
  width: 16,
  imageSize: 32,
  channels: 3,
  epochs: 10,
  batchSize: 64,
  learningRate: 0.001,
  scaleLearningRate: 0.05,
  lrSchedule: 'constant',
  lrStepEpochs: 4,
  lrStepFactor: 0.1,
  weightDecay: 5e-4,
  optimizer: 'adam',
  momentum: 0.9,
  seed: 42,
  device: 'auto',
  workers: 0,
  reportEpoch: 'final',
  dataset: {
    path: '',
    pairsFile: '',
    pairsImages: '',
    minImagesPerIdentity: 2,
    strictData: false,
    allowPairsOutsideFolder: false,
    strictProtocol: false,
    synthetic: {
      identities: 300,
      imagesPerIdentity: 16,
      verifyIdentities: 100,
      verifyImagesPerIdentity: 10,
      hardShare: 0.2,
      pairsPerFold: 100,
    },
  },
};

export interface FieldError {
  /** Dotted path of the field, e.g. `dataset.synthetic.identities`. */
  field: string;
  message: string;
}

export type ConfigResult = { ok: true; config: RunConfig } | { ok: false; errors: FieldError[] };

/** What values a field (or a host-only setting) takes: the one home of every limit. */
export type Rule =
  | { kind: 'number'; min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }
  | { kind: 'enum'; values: readonly (string | number)[] }
  | { kind: 'boolean' }
  | { kind: 'string' };

/** Largest ArcFace margin accepted: theta + m must stay an angle a cosine can tell apart. */
const MAX_ANGULAR_MARGIN = 1.5;

const RULES: Record<string, Rule> = {
  loss: { kind: 'enum', values: LOSSES },
  alpha: { kind: 'number', min: 0, exclusiveMin: true, max: 1e4 },
  alphaTrainable: { kind: 'boolean' },
  scale: { kind: 'number', min: 0, exclusiveMin: true, max: 1e4 },
  scaleTrainable: { kind: 'boolean' },
  cosfaceMargin: { kind: 'number', min: 0, max: 1 },
  arcfaceMargin: { kind: 'number', min: 0, max: MAX_ANGULAR_MARGIN },
  arcfaceEasyMargin: { kind: 'boolean' },
  embeddingSize: { kind: 'number', integer: true, min: 2, max: 4096 },
  width: { kind: 'number', integer: true, min: 1, max: 512 },
  imageSize: { kind: 'number', integer: true, min: 8, max: 512 },
  channels: { kind: 'enum', values: [1, 3] },
  epochs: { kind: 'number', integer: true, min: 1, max: 10000 },
  batchSize: { kind: 'number', integer: true, min: 1, max: 4096 },
  learningRate: { kind: 'number', min: 0, exclusiveMin: true, max: 10 },
  scaleLearningRate: { kind: 'number', min: 0, exclusiveMin: true, max: 10 },
  lrSchedule: { kind: 'enum', values: LR_SCHEDULES },
  lrStepEpochs: { kind: 'number', integer: true, min: 1, max: 10000 },
  lrStepFactor: { kind: 'number', min: 0, exclusiveMin: true, max: 1 },
  weightDecay: { kind: 'number', min: 0, max: 1 },
  optimizer: { kind: 'enum', values: OPTIMIZERS },
  momentum: { kind: 'number', min: 0, max: 0.9999 },
  seed: { kind: 'number', integer: true, min: 0, max: 2 ** 31 - 1 },
  device: { kind: 'enum', values: DEVICES },
  workers: { kind: 'number', integer: true, min: 0, max: 16 },
  reportEpoch: { kind: 'enum', values: REPORT_EPOCHS },
  'dataset.path': { kind: 'string' },
  'dataset.pairsFile': { kind: 'string' },
  'dataset.pairsImages': { kind: 'string' },
  'dataset.minImagesPerIdentity': { kind: 'number', integer: true, min: 1, max: 100000 },
  'dataset.strictData': { kind: 'boolean' },
  'dataset.allowPairsOutsideFolder': { kind: 'boolean' },
  'dataset.strictProtocol': { kind: 'boolean' },
  'dataset.synthetic.identities': { kind: 'number', integer: true, min: 2, max: 100000 },
  'dataset.synthetic.imagesPerIdentity': { kind: 'number', integer: true, min: 2, max: 10000 },
  'dataset.synthetic.verifyIdentities': { kind: 'number', integer: true, min: 2, max: 100000 },
  'dataset.synthetic.verifyImagesPerIdentity': { kind: 'number', integer: true, min: 2, max: 10000 },
  'dataset.synthetic.hardShare': { kind: 'number', min: 0, max: 1 },
  'dataset.synthetic.pairsPerFold': { kind: 'number', integer: true, min: 1, max: 100000 },
};

/** The rule of a run-config field; undefined for a name that is not one. */
export function fieldRule(field: string): Rule | undefined {
  return RULES[field];
}

/** Checks one field's value; returns the reason it is bad, or undefined. */
export function checkField(field: string, value: unknown): string | undefined {
  const rule = RULES[field];
  return rule ? checkValue(rule, value) : 'unknown setting';
}

/** Checks a value against a rule; returns the reason it is bad, or undefined. */
export function checkValue(rule: Rule, value: unknown): string | undefined {
  switch (rule.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${show(value)}`;
    case 'string':
      return typeof value === 'string' ? undefined : `must be a text value, got ${show(value)}`;
    case 'enum':
      return rule.values.includes(value as string | number)
        ? undefined
        : `must be one of ${rule.values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(value)}`;
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a finite number, got ${show(value)}`;
      if (rule.integer && !Number.isInteger(value)) return `must be a whole number, got ${value}`;
      if (rule.min !== undefined) {
        if (rule.exclusiveMin ? value <= rule.min : value < rule.min) {
          return `must be ${rule.exclusiveMin ? 'greater than' : 'at least'} ${rule.min}, got ${value}`;
        }
      }
      if (rule.max !== undefined && value > rule.max) return `must be at most ${rule.max}, got ${value}`;
      return undefined;
    }
  }
}

export const CONFIG_FIELDS: readonly string[] = Object.keys(RULES);

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : String(value);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merges a partial configuration over the defaults and validates every field.
 * Each error names the field and why it is bad; unknown fields are errors too,
 * so a typo never silently falls back to a default.
 */
export function resolveConfig(input: unknown, base: RunConfig = DEFAULT_CONFIG): ConfigResult {
  const errors: FieldError[] = [];
  if (input !== undefined && !isObject(input)) {
    return { ok: false, errors: [{ field: '(config)', message: 'must be a JSON object' }] };
  }
  const merged = structuredCloneConfig(base) as unknown as Record<string, unknown>;
  const walk = (src: Record<string, unknown>, dst: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(src)) {
      const field = prefix + key;
      const nested = dst[key];
      if (isObject(nested)) {
        if (!isObject(value)) errors.push({ field, message: `must be an object, got ${show(value)}` });
        else walk(value, nested, field + '.');
        continue;
      }
      if (!(field in RULES)) {
        errors.push({ field, message: 'unknown setting' });
        continue;
      }
      dst[key] = value;
    }
  };
  if (input) walk(input, merged, '');
  const config = merged as unknown as RunConfig;
  for (const field of CONFIG_FIELDS) {
    if (errors.some((e) => e.field === field)) continue;
    const reason = checkField(field, getField(config, field));
    if (reason) errors.push({ field, message: reason });
  }
  return errors.length ? { ok: false, errors } : { ok: true, config };
}

export function getField(config: RunConfig, field: string): unknown {
  let node: unknown = config;
  for (const part of field.split('.')) node = isObject(node) ? node[part] : undefined;
  return node;
}

/** Returns a copy of `config` with one dotted field set (not validated). */
export function setField(config: RunConfig, field: string, value: unknown): RunConfig {
  const copy = structuredCloneConfig(config) as unknown as Record<string, unknown>;
  const parts = field.split('.');
  let node = copy;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
  return copy as unknown as RunConfig;
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

function structuredCloneConfig(config: RunConfig): RunConfig {
  return JSON.parse(JSON.stringify(config)) as RunConfig;
}

/**
 * The paper's lower bound on alpha (Ranjan et al. 2017, eq. 8): with C classes,
 * a normalized feature scaled by alpha can reach a target-class probability p
 * only if alpha >= log(p (C - 2) / (1 - p)).
 */
export function alphaLowerBound(classes: number, p = 0.9): number {
  if (!(classes > 2)) return 0;
  return Math.log((p * (classes - 2)) / (1 - p));
}

/**
 * The lower bound on s of the normalized-classifier heads (CosFace, Wang et al.
 * 2018, eq. 6; NormFace's bound is the same in form): with C classes and
 * normalized weights, a target-class probability p needs
 * s >= (C - 1) / C * log((C - 1) p / (1 - p)). A margin asks for more.
 */
export function scaleLowerBound(classes: number, p = 0.9): number {
  if (!(classes > 1)) return 0;
  return ((classes - 1) / classes) * Math.log(((classes - 1) * p) / (1 - p));
}

/**
 * Fields added after runs were first written, with the value that reproduces how
 * a run written before them trained (a resume continues it that way): no weight
 * decay, and a learned alpha on the weights' learning rate.
 */
const LEGACY_VALUES: { [K in keyof RunConfig]?: (saved: Partial<RunConfig>) => RunConfig[K] } = {
  weightDecay: () => 0,
  scaleLearningRate: (saved) => saved.learningRate ?? DEFAULT_CONFIG.learningRate,
  reportEpoch: () => 'final',
};

/** Dataset fields added later, with the value that keeps an older run as it was. */
const LEGACY_DATASET_VALUES: Partial<DatasetConfig> = { strictProtocol: false };

/** A saved config with the fields it predates filled in as it trained (not validated). */
export function upgradeConfig(saved: Partial<RunConfig>): Partial<RunConfig> {
  const out: Record<string, unknown> = { ...saved };
  for (const [field, legacy] of Object.entries(LEGACY_VALUES)) {
    if (!(field in out)) out[field] = (legacy as (s: Partial<RunConfig>) => unknown)(saved);
  }
  if (isObject(saved.dataset)) out.dataset = { ...LEGACY_DATASET_VALUES, ...saved.dataset };
  return out as Partial<RunConfig>;
}

/**
 * Without a pairs file, a folder dataset holds 10% of its identities (at least 2,
 * leaving at least 2 to train on) out of training to draw verification pairs from.
 */
export function heldOutIdentities(identities: number): number {
  return Math.min(Math.max(2, Math.round(identities * 0.1)), identities - 2);
}

/** Short human label, e.g. "L2 α=16 · synthetic", "CosFace s=64 m=0.35 · lfw". */
export function describeConfig(config: RunConfig): string {
  const name = config.loss === 'l2-softmax' ? 'L2' : HEAD_NAMES[config.loss];
  const params = headParameters(config);
  const data = config.dataset.path ? baseName(config.dataset.path) : 'synthetic';
  return `${params ? `${name} ${params.replace(/, /g, ' ')}` : name} · ${data}`;
}

/** The head's hyperparameters as papers write them, e.g. "s=64, m=0.35"; ↗ marks a learned scale; empty for softmax. */
export function headParameters(config: RunConfig): string {
  const learned = (value: number, trainable: boolean) => `${trimNumber(value)}${trainable ? '↗' : ''}`;
  const s = () => `s=${learned(config.scale, config.scaleTrainable)}`;
  switch (config.loss) {
    case 'softmax':
      return '';
    case 'l2-softmax':
      return `α=${learned(config.alpha, config.alphaTrainable)}`;
    case 'normface':
      return s();
    case 'cosface':
      return `${s()}, m=${trimNumber(config.cosfaceMargin)}`;
    case 'arcface':
      return `${s()}, m=${trimNumber(config.arcfaceMargin)}${config.arcfaceEasyMargin ? ', easy margin' : ''}`;
  }
}

function trimNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(3).replace(/\.?0+$/, '');
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]+/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}
