// Command-line arguments of `l2softmax train`, turned into a run config.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatErrors, resolveConfig, setField, DEFAULT_CONFIG, LOSSES, LR_SCHEDULES, REPORT_EPOCHS, type RunConfig } from '../shared/config';

export const USAGE = `Usage: node dist/cli.js train [options]
       node dist/cli.js eval --run DIR [--pairs FILE] ...   (eval --help)
       node dist/cli.js sweep ...                           (sweep --help)
       node dist/cli.js export --run DIR [--format csv|npy]  (a run's records: scores, norms, embeddings)
       node dist/cli.js gpu-check [--seconds N]             (which GPU backends work here, and how fast)

Trains a face-verification model with the L2-constrained softmax loss (or plain
softmax, NormFace, CosFace, ArcFace) and reports LFW-protocol verification
metrics after every epoch.

Options:
  --config FILE          run config JSON (fields as in the extension's settings)
  --loss NAME            ${LOSSES.join(', ')} (default ${DEFAULT_CONFIG.loss})
  --alpha N              l2-softmax: scale of the normalized feature (default ${DEFAULT_CONFIG.alpha})
  --alpha-trainable      learn alpha (starts at --alpha)
  --scale N              normface, cosface, arcface: scale s (default ${DEFAULT_CONFIG.scale})
  --scale-trainable      learn s (starts at --scale)
  --margin M             cosface: cosine margin (default ${DEFAULT_CONFIG.cosfaceMargin}); arcface: angular margin (default ${DEFAULT_CONFIG.arcfaceMargin})
  --weight-decay N       L2 on kernels, never on biases, alpha or s (default ${DEFAULT_CONFIG.weightDecay})
  --scale-lr N           learning rate of a learned alpha or s (default ${DEFAULT_CONFIG.scaleLearningRate})
  --lr-schedule NAME     ${LR_SCHEDULES.join(', ')} (default ${DEFAULT_CONFIG.lrSchedule})
  --dataset SRC          "synthetic" (default) or an ImageFolder root (root/<identity>/<image>)
  --pairs FILE           LFW pairs.txt (or CSV path1,path2,same) for verification
  --pairs-images DIR     folder holding the images the pairs file names (default: the pairs file's folder)
  --min-images N         skip training identities with fewer images (default ${DEFAULT_CONFIG.dataset.minImagesPerIdentity})
  --strict-data          fail on an undecodable image (default: skip it and report it)
  --allow-pairs-outside-folder
                         let the pairs file name images outside its images folder
  --strict-protocol      fail when training and verification share identities or images
                         (default: warn, and say so in the run's header)
  --report-epoch RULE    ${REPORT_EPOCHS.join(' or ')}: the epoch the run reports as its result
                         (default ${DEFAULT_CONFIG.reportEpoch}; best-validation chooses on held-out
                         images of the training identities, never on the verification pairs)
  --epochs N             (default ${DEFAULT_CONFIG.epochs})
  --batch-size N         (default ${DEFAULT_CONFIG.batchSize})
  --lr N                 learning rate (default ${DEFAULT_CONFIG.learningRate})
  --optimizer NAME       adam (default) or sgd (with momentum ${DEFAULT_CONFIG.momentum})
  --image-size N         input side in pixels (default ${DEFAULT_CONFIG.imageSize})
  --device NAME          auto (default), gpu, webgpu (WebGPU only, software adapters too) or cpu
  --seed N               (default ${DEFAULT_CONFIG.seed})
  --out DIR              run folder (default .l2softmax/runs/<id>)
  --resume DIR           continue a stopped, interrupted or failed run from its newest
                         checkpoint, in its own folder (--epochs N extends it)
  --force                resume even though the trainer version or the dataset changed
  --json                 print raw protocol events (JSON lines) instead of the report
  -h, --help             this help

Exit code: 0 when the run completed, 1 when it failed, 2 for bad arguments, 3 when stopped (Ctrl+C),
4 when the run folder cannot be written (full disk).`;

export interface CliOptions {
  config: RunConfig;
  out?: string;
  /** A run folder to continue, with an optional new epoch count. */
  resume?: { dir: string; epochs?: number; force: boolean };
  json: boolean;
  help: boolean;
}

export class UsageError extends Error {}

/**
 * What a command prints for a usage error: the error and where its options are (the whole help
 * only when it was given no arguments at all, as someone finding out how to call it).
 */
export function usageErrorText(command: string, argv: readonly string[], message: string, usage: string): string {
  return argv.length ? `error: ${message}\nRun \`node dist/cli.js ${command} --help\` for the options.\n` : `error: ${message}\n\n${usage}\n`;
}

/** Reads a --config file, or says why it cannot. */
export function readConfigFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read --config ${file}: ${(err as Error).message}`);
  }
}

const NUMERIC: Record<string, string> = {
  alpha: 'alpha',
  scale: 'scale',
  'weight-decay': 'weightDecay',
  'scale-lr': 'scaleLearningRate',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  lr: 'learningRate',
  'image-size': 'imageSize',
  seed: 'seed',
  'min-images': 'dataset.minImagesPerIdentity',
};

/** The flag that sets each dataset path (errors about a path name its flag). */
export const PATH_FLAGS: Readonly<Record<string, string>> = { 'dataset.path': '--dataset', 'dataset.pairsFile': '--pairs', 'dataset.pairsImages': '--pairs-images' };

/** Flags that turn a boolean field on. */
const SWITCHES: Record<string, string> = {
  'alpha-trainable': 'alphaTrainable',
  'scale-trainable': 'scaleTrainable',
  'strict-data': 'dataset.strictData',
  'allow-pairs-outside-folder': 'dataset.allowPairsOutsideFolder',
  'strict-protocol': 'dataset.strictProtocol',
};

/** A negative number, as an option's value: -1, -0.5, -.5, -1e-3. */
const NEGATIVE_NUMBER = /^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * `--opt -1` as `--opt=-1` for every option of `options` that takes a value: node:util's
 * parseArgs refuses a value that starts with "-" as ambiguous, so the option's own check could
 * not say what range it takes. Anything after "--" is left alone.
 */
export function joinNegativeValues(argv: readonly string[], options: Readonly<Record<string, { type: 'string' | 'boolean' }>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return [...out, ...argv.slice(i)];
    const takesValue = arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
    if (takesValue && i + 1 < argv.length && NEGATIVE_NUMBER.test(argv[i + 1])) out.push(`${arg}=${argv[++i]}`);
    else out.push(arg);
  }
  return out;
}

/** The options of `train` (node:util parseArgs). */
const TRAIN_OPTIONS = {
  config: { type: 'string' },
  loss: { type: 'string' },
  alpha: { type: 'string' },
  'alpha-trainable': { type: 'boolean' },
  scale: { type: 'string' },
  'scale-trainable': { type: 'boolean' },
  margin: { type: 'string' },
  'weight-decay': { type: 'string' },
  'scale-lr': { type: 'string' },
  'lr-schedule': { type: 'string' },
  dataset: { type: 'string' },
  pairs: { type: 'string' },
  'pairs-images': { type: 'string' },
  'min-images': { type: 'string' },
  'strict-data': { type: 'boolean' },
  'allow-pairs-outside-folder': { type: 'boolean' },
  'strict-protocol': { type: 'boolean' },
  'report-epoch': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  'image-size': { type: 'string' },
  device: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses argv (without "node cli.js"); `readConfig` loads a --config file. */
export function parseCli(argv: string[], readConfig: (file: string) => unknown): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, TRAIN_OPTIONS), allowPositionals: true, strict: true, options: TRAIN_OPTIONS });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { config: DEFAULT_CONFIG, json: false, help: true };
  const command = positionals[0] ?? 'train';
  if (command !== 'train' || positionals.length > 1) throw new UsageError(`unknown command "${positionals.join(' ')}" (commands: train, eval, sweep, export)`);
  if (values.resume !== undefined) return resumeOptions(values);
  const base = values.config ? readConfig(values.config) : {};
  const first = resolveConfig(base);
  if (!first.ok) throw new UsageError(`${values.config}: ${formatErrors(first.errors)}`);
  let config = first.config;
  for (const [flag, field] of Object.entries(NUMERIC)) {
    const v = values[flag as keyof typeof values];
    if (typeof v === 'string') config = setField(config, field, numberFlag(flag, v));
  }
  if (values.loss !== undefined) config = setField(config, 'loss', values.loss);
  if (values.optimizer !== undefined) config = setField(config, 'optimizer', values.optimizer);
  if (values.device !== undefined) config = setField(config, 'device', values.device);
  for (const [flag, field] of Object.entries(SWITCHES)) if (values[flag as keyof typeof values]) config = setField(config, field, true);
  if (values['lr-schedule'] !== undefined) config = setField(config, 'lrSchedule', values['lr-schedule']);
  if (values['report-epoch'] !== undefined) config = setField(config, 'reportEpoch', values['report-epoch']);
  if (values.margin !== undefined) config = setField(config, marginField(config), numberFlag('margin', values.margin));
  if (values.dataset !== undefined) config = setField(config, 'dataset.path', values.dataset === 'synthetic' ? '' : values.dataset);
  if (values.pairs !== undefined) config = setField(config, 'dataset.pairsFile', values.pairs);
  if (values['pairs-images'] !== undefined) config = setField(config, 'dataset.pairsImages', values['pairs-images']);
  const checked = resolveConfig(config);
  if (!checked.ok) throw new UsageError(formatErrors(checked.errors));
  return { config: checked.config, out: values.out, json: Boolean(values.json), help: false };
}

function numberFlag(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${v}"`);
  return n;
}

/** The margin --margin sets: the loss's own (the loss is set before). */
function marginField(config: RunConfig): string {
  if (config.loss === 'cosface') return 'cosfaceMargin';
  if (config.loss === 'arcface') return 'arcfaceMargin';
  throw new UsageError(`--margin applies to --loss cosface or arcface, not ${config.loss}`);
}

/** `--resume DIR [--epochs N] [--force]`: the run's own config is used, so other settings are refused. */
function resumeOptions(values: Record<string, string | boolean | undefined>): CliOptions {
  const other = Object.keys(values).filter((k) => values[k] !== undefined && !['resume', 'epochs', 'force', 'json'].includes(k));
  if (other.length) throw new UsageError(`--resume continues a run with its own settings; drop ${other.map((k) => `--${k}`).join(', ')} (only --epochs may extend it)`);
  let epochs: number | undefined;
  if (typeof values.epochs === 'string') {
    epochs = Number(values.epochs);
    if (!Number.isInteger(epochs) || epochs < 1) throw new UsageError(`--epochs must be a positive integer, got "${values.epochs}"`);
  }
  if (!String(values.resume).trim()) throw new UsageError('--resume needs a run folder');
  return { config: DEFAULT_CONFIG, resume: { dir: String(values.resume), epochs, force: Boolean(values.force) }, json: Boolean(values.json), help: false };
}
