// The user-facing settings (`l2softmax.*`) and how they map onto a run config.
// The Settings tree, the configuration contribution in package.json (checked by
// a test) and the run snapshot all come from this one table. The values a
// setting takes come from its run-config field's rule (src/shared/config.ts);
// only host-only settings carry a rule of their own.

import { DEFAULT_CONFIG, checkValue, fieldRule, getField, resolveConfig, setField, type ConfigResult, type Rule, type RunConfig } from '../shared/config';
import { escapeMarkdown, markdownCode } from './markdown';

export type SettingKind = 'number' | 'integer' | 'boolean' | 'enum' | 'folder' | 'file' | 'text';

export interface SettingSpec {
  /** Key under `l2softmax.` */
  key: string;
  /** Run-config field it sets; undefined for host-only settings. */
  field?: string;
  kind: SettingKind;
  label: string;
  description: string;
  default: unknown;
  /** What values it takes (from the field's rule for run-config settings). */
  rule: Rule;
  /** The rule's choices, bounds and whether the lower bound is excluded, for forms and package.json. */
  options?: readonly (string | number)[];
  /** What each choice does, in the order of `options` (package.json's enumDescriptions, the Settings view's picker). */
  optionDescriptions?: readonly string[];
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
}

type SpecInput = Omit<SettingSpec, 'rule' | 'options' | 'optionDescriptions' | 'min' | 'max' | 'exclusiveMin'> & { rule?: Rule };

/** What each choice of each choice setting does. */
const OPTION_DESCRIPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  loss: {
    softmax: 'Plain softmax: the baseline, no normalization.',
    'l2-softmax': 'L2-softmax (Ranjan et al. 2017): features normalized and scaled by alpha, then a linear classifier.',
    normface: 'NormFace: s cos θ between normalized features and normalized class weights.',
    cosface: 'CosFace / AM-softmax: s (cos θ − m) for the true class.',
    arcface: 'ArcFace: s cos(θ + m) for the true class.',
  },
  channels: { 1: 'Grayscale.', 3: 'RGB.' },
  lrSchedule: {
    constant: 'The learning rate throughout.',
    step: 'Multiplied by the step factor every step-epochs epochs.',
    cosine: 'From the learning rate down to 0 over the run along a half cosine.',
  },
  optimizer: { adam: 'Adam.', sgd: 'SGD with momentum 0.9.' },
  device: {
    auto: 'A GPU when one works (tfjs-node-gpu with CUDA 11.2, else WebGPU on a hardware adapter), else the CPU.',
    gpu: 'A GPU backend, or fail rather than fall back to the CPU.',
    webgpu: 'WebGPU only, software adapters included (for tests: far slower than the CPU).',
    cpu: 'Never a GPU.',
  },
  reportEpoch: {
    final: 'The last epoch.',
    'best-validation': 'The epoch with the best classification accuracy on held-out images of the training identities.',
  },
};

/** A setting with its rule (the field's, unless it is host-only) and the rule's limits spelled out. */
function setting(input: SpecInput): SettingSpec {
  const rule = input.rule ?? (input.field ? fieldRule(input.field) : undefined);
  if (!rule) throw new Error(`setting ${input.key} has no rule`);
  const spec: SettingSpec = { ...input, rule };
  if (rule.kind === 'enum') {
    spec.options = rule.values;
    const described = OPTION_DESCRIPTIONS[input.key] ?? {};
    spec.optionDescriptions = rule.values.map((v) => described[String(v)] ?? '');
  }
  if (rule.kind === 'number') {
    if (rule.min !== undefined) spec.min = rule.min;
    if (rule.max !== undefined) spec.max = rule.max;
    if (rule.exclusiveMin) spec.exclusiveMin = true;
  }
  return spec;
}

const d = DEFAULT_CONFIG;

export const SETTINGS: readonly SettingSpec[] = ([
  { key: 'loss', field: 'loss', kind: 'enum', label: 'Loss', default: d.loss, description: 'Classification head: softmax (baseline); l2-softmax (features normalized and scaled by alpha, Ranjan et al. 2017); normface (s cos θ, normalized features and class weights); cosface (s (cos θ − m) for the true class); arcface (s cos(θ + m) for the true class).' },
  { key: 'alpha', field: 'alpha', kind: 'number', label: 'Alpha', default: d.alpha, description: 'L2-softmax: norm alpha that every feature is scaled to before the classifier. Must exceed alpha_low = log(p (C − 2) / (1 − p)) for C classes.' },
  { key: 'alphaTrainable', field: 'alphaTrainable', kind: 'boolean', label: 'Alpha trainable', default: d.alphaTrainable, description: 'L2-softmax: learn alpha as one extra parameter, starting from the alpha setting, at the scale learning rate.' },
  { key: 'scale', field: 'scale', kind: 'number', label: 'Scale s', default: d.scale, description: 'NormFace, CosFace, ArcFace: logits are s times a cosine. The papers use 64 for 112 px faces and thousands of classes; with C classes s must exceed s_low = (C − 1)/C · log((C − 1) p / (1 − p)) (CosFace eq. 6), and a margin asks for more: about 2 s_low suits small sets.' },
  { key: 'scaleTrainable', field: 'scaleTrainable', kind: 'boolean', label: 'Scale trainable', default: d.scaleTrainable, description: 'Learn s (NormFace\'s learnable scale), starting from the scale setting, at the scale learning rate.' },
  { key: 'cosfaceMargin', field: 'cosfaceMargin', kind: 'number', label: 'CosFace margin m', default: d.cosfaceMargin, description: 'CosFace additive cosine margin: the true class scores s (cos θ − m). The paper uses 0.35.' },
  { key: 'arcfaceMargin', field: 'arcfaceMargin', kind: 'number', label: 'ArcFace margin m', default: d.arcfaceMargin, description: 'ArcFace additive angular margin in radians: the true class scores s cos(θ + m). The paper uses 0.5. Past θ + m = π the score continues linearly, cos θ − m sin m, so it keeps falling with θ.' },
  { key: 'arcfaceEasyMargin', field: 'arcfaceEasyMargin', kind: 'boolean', label: 'ArcFace easy margin', default: d.arcfaceEasyMargin, description: 'ArcFace: apply the margin only where cos θ > 0 (InsightFace\'s easy_margin) instead of the linear continuation past θ + m = π.' },
  { key: 'datasetFolder', field: 'dataset.path', kind: 'folder', label: 'Dataset folder', default: d.dataset.path, description: 'ImageFolder root (`root/<identity>/<image>`). Empty: the built-in synthetic face set.' },
  { key: 'pairsFile', field: 'dataset.pairsFile', kind: 'file', label: 'Pairs file', default: d.dataset.pairsFile, description: 'LFW pairs.txt (or CSV path1,path2,same) for verification. Empty: pairs drawn from held-out identities.' },
  { key: 'pairsImagesFolder', field: 'dataset.pairsImages', kind: 'folder', label: 'Pairs images folder', default: d.dataset.pairsImages, description: 'Folder holding the images the pairs file names. Empty: the folder of the pairs file.' },
  { key: 'minImagesPerIdentity', field: 'dataset.minImagesPerIdentity', kind: 'integer', label: 'Min images per identity', default: d.dataset.minImagesPerIdentity, description: 'Training identities with fewer images are skipped.' },
  { key: 'strictData', field: 'dataset.strictData', kind: 'boolean', label: 'Strict data', default: d.dataset.strictData, description: 'Fail the run on an image that cannot be decoded. Off: such images are skipped and the run reports how many and which.' },
  { key: 'allowPairsOutsideFolder', field: 'dataset.allowPairsOutsideFolder', kind: 'boolean', label: 'Pairs outside their folder', default: d.dataset.allowPairsOutsideFolder, description: 'Let the pairs file name images outside the pairs images folder (absolute paths, `..`, links leading out). Off: such pairs stop the run.' },
  { key: 'strictProtocol', field: 'dataset.strictProtocol', kind: 'boolean', label: 'Strict protocol', default: d.dataset.strictProtocol, description: 'Fail the run when training and verification share identities (by name) or images (by file content): verification would then measure faces the model trained on. Off: the run warns and its header says what is shared.' },
  { key: 'imageSize', field: 'imageSize', kind: 'integer', label: 'Image size', default: d.imageSize, description: 'Side of the square network input in pixels; images are resized to it.' },
  { key: 'channels', field: 'channels', kind: 'enum', label: 'Channels', default: d.channels, description: '3 for RGB, 1 for grayscale.' },
  { key: 'epochs', field: 'epochs', kind: 'integer', label: 'Epochs', default: d.epochs, description: 'Passes over the training set; verification and a checkpoint follow each.' },
  { key: 'batchSize', field: 'batchSize', kind: 'integer', label: 'Batch size', default: d.batchSize, description: 'Images per training step.' },
  { key: 'learningRate', field: 'learningRate', kind: 'number', label: 'Learning rate', default: d.learningRate, description: 'Step size of the optimizer.' },
  { key: 'scaleLearningRate', field: 'scaleLearningRate', kind: 'number', label: 'Scale learning rate', default: d.scaleLearningRate, description: 'Step size for a learned alpha or s: its own optimizer of the same kind. At the weights\' rate, Adam moves a scale by at most about one unit per thousand steps.' },
  { key: 'lrSchedule', field: 'lrSchedule', kind: 'enum', label: 'Learning-rate schedule', default: d.lrSchedule, description: 'constant; step (multiplied by the step factor every step-epochs epochs); cosine (from the learning rate to 0 over the run: lr (1 + cos(π t / T)) / 2 at step t of T).' },
  { key: 'lrStepEpochs', field: 'lrStepEpochs', kind: 'integer', label: 'Step decay every (epochs)', default: d.lrStepEpochs, description: 'Step schedule: epochs between decays.' },
  { key: 'lrStepFactor', field: 'lrStepFactor', kind: 'number', label: 'Step decay factor', default: d.lrStepFactor, description: 'Step schedule: factor the learning rates are multiplied by at each decay.' },
  { key: 'weightDecay', field: 'weightDecay', kind: 'number', label: 'Weight decay', default: d.weightDecay, description: 'L2 penalty wd/2 |w|² on conv and dense kernels (the gradient gains wd · w); never on biases, alpha or s, so a small fixed alpha cannot be undone by growing classifier weights. The margin papers use 5e-4.' },
  { key: 'optimizer', field: 'optimizer', kind: 'enum', label: 'Optimizer', default: d.optimizer, description: 'Adam, or SGD with momentum.' },
  { key: 'embeddingSize', field: 'embeddingSize', kind: 'integer', label: 'Embedding size', default: d.embeddingSize, description: 'Dimension of the face descriptor f(x).' },
  { key: 'width', field: 'width', kind: 'integer', label: 'Backbone width', default: d.width, description: 'Channels of the first conv block (then 2x and 4x).' },
  { key: 'seed', field: 'seed', kind: 'integer', label: 'Seed', default: d.seed, description: 'Seeds weights, data order and the synthetic faces: equal seeds give comparable runs.' },
  { key: 'device', field: 'device', kind: 'enum', label: 'Device', default: d.device, description: 'auto: a GPU when one works (tfjs-node-gpu with CUDA 11.2, else WebGPU on a hardware adapter), else the CPU. gpu: either GPU backend, or fail rather than fall back. webgpu: WebGPU only, a software adapter (lavapipe, SwiftShader) included: far slower than the CPU, for tests. cpu: never a GPU. `npm run gpu-check` tells what works here.' },
  { key: 'workers', field: 'workers', kind: 'integer', label: 'Training threads', default: d.workers, description: 'Data-parallel threads on the CPU (WebAssembly backend): each trains on part of every batch. 0: one per CPU core. Native TensorFlow backends use their own threads.' },
  { key: 'reportEpoch', field: 'reportEpoch', kind: 'enum', label: 'Reported epoch', default: d.reportEpoch, description: 'The epoch a run reports as its result (Runs view, notifications, CLI, sweeps, Compare Runs). final: the last epoch. best-validation: the epoch with the best classification accuracy on held-out images of the training identities. Never the best epoch on the verification pairs: that would choose on the test set (the dashboard shows it, labelled as such).' },
  { key: 'nodePath', kind: 'file', label: 'Node path', default: '', rule: { kind: 'string' }, description: 'Node.js used to run the trainer. Empty: `node` on PATH, else the editor\'s own runtime.' },
  { key: 'runsFolder', kind: 'folder', label: 'Runs folder', default: '', rule: { kind: 'string' }, description: 'Where runs are stored. Empty: .l2softmax/runs in the workspace (global storage without a folder).' },
  { key: 'maxConcurrentRuns', kind: 'integer', label: 'Max concurrent runs', default: 1, rule: { kind: 'number', integer: true, min: 1, max: 16 }, description: 'Runs beyond this many wait in a queue.' },
  { key: 'openDashboardOnStart', kind: 'boolean', label: 'Open dashboard on start', default: true, rule: { kind: 'boolean' }, description: 'Open the run dashboard when a run starts.' },
  { key: 'notifyOnRunEnd', kind: 'boolean', label: 'Notify when a run ends', default: true, rule: { kind: 'boolean' }, description: 'Show a notification when a run this window saw running completes, fails or is interrupted ("Don\'t Show Again" on it turns this off).' },
] satisfies SpecInput[]).map(setting);

export function settingSpec(key: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.key === key);
}

/** Checks a value for one setting; returns the reason it is bad, or undefined. */
export function checkSetting(spec: SettingSpec, value: unknown): string | undefined {
  return checkValue(spec.rule, value);
}

/** Parses what a user typed into an input box for a numeric setting. */
export function parseNumberInput(spec: SettingSpec, text: string): { value?: number; error?: string } {
  const trimmed = text.trim();
  if (!trimmed) return { error: 'Enter a number.' };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { error: `"${trimmed}" is not a finite number.` };
  const reason = checkSetting(spec, value);
  return reason ? { error: `${spec.label} ${reason}.` } : { value };
}

/** Snapshots settings (read through `get`) into a validated run config. */
export function configFromSettings(get: (key: string) => unknown, base: RunConfig = DEFAULT_CONFIG): ConfigResult {
  let config = base;
  for (const spec of SETTINGS) {
    if (!spec.field) continue;
    const value = get(spec.key);
    if (value !== undefined) config = setField(config, spec.field, value);
  }
  const result = resolveConfig(config);
  if (result.ok) return result;
  // Name the setting, not the internal field.
  return {
    ok: false,
    errors: result.errors.map((e) => {
      const spec = SETTINGS.find((s) => s.field === e.field);
      return spec ? { field: `l2softmax.${spec.key}`, message: e.message } : e;
    }),
  };
}

export function settingFromConfig(config: RunConfig, spec: SettingSpec): unknown {
  return spec.field ? getField(config, spec.field) : undefined;
}

/** A setting's value as the Settings view shows it. */
export function displaySetting(spec: SettingSpec, value: unknown): string {
  if (spec.kind === 'boolean') return value ? 'on' : 'off';
  if (spec.key === 'workers' && value === 0) return 'auto (one per core)';
  if (spec.key === 'datasetFolder' && !value) return 'built-in synthetic faces';
  if ((spec.kind === 'folder' || spec.kind === 'file') && !value) return spec.key === 'nodePath' ? 'node on PATH' : 'not set';
  return String(value);
}

/**
 * A description in a tooltip: code spans stay code, except those with angle
 * brackets (`root/<identity>/<image>`), which a hover drops as HTML even inside
 * code: they become escaped text.
 */
export function tooltipDescription(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') && /[<>]/.test(part) ? escapeMarkdown(part.slice(1, -1)) : part))
    .join('');
}

/** The Settings view's tooltip (markdown). Values come from settings a workspace can commit: escaped. */
export function settingTooltip(spec: SettingSpec, value: unknown): string {
  return (
    `**${escapeMarkdown(spec.label)}** (${markdownCode(`l2softmax.${spec.key}`)})\n\n${tooltipDescription(spec.description)}\n\n` +
    `Current: ${markdownCode(displaySetting(spec, value))}, default ${markdownCode(displaySetting(spec, spec.default))}`
  );
}

/** The settings only the extension host reads (no run-config field), with their types. */
export interface HostSettings {
  nodePath: string;
  runsFolder: string;
  maxConcurrentRuns: number;
  openDashboardOnStart: boolean;
  notifyOnRunEnd: boolean;
}

/** A setting's value when it passes the table's check, else its default and why (unset means the default). */
export function validSetting(spec: SettingSpec, value: unknown): { value: unknown; problem?: string } {
  if (value === undefined) return { value: spec.default };
  const reason = checkSetting(spec, value);
  if (!reason) return { value };
  return { value: spec.default, problem: `l2softmax.${spec.key} ${reason}: using the default, ${JSON.stringify(spec.default)}.` };
}

/**
 * Reads settings through the table: a value of the wrong type or range (say
 * "maxConcurrentRuns": "two") becomes the default, and `report` hears about it
 * once per setting and value, not on every read.
 */
export class SettingReader {
  private readonly reported = new Set<string>();

  constructor(private readonly report: (problem: string) => void) {}

  read<K extends keyof HostSettings>(key: K, value: unknown): HostSettings[K] {
    const spec = settingSpec(key);
    if (!spec) throw new Error(`no setting l2softmax.${key}`);
    const checked = validSetting(spec, value);
    const id = `${key}=${JSON.stringify(value)}`;
    if (checked.problem && !this.reported.has(id)) {
      this.reported.add(id);
      this.report(checked.problem);
    }
    return checked.value as HostSettings[K];
  }
}
