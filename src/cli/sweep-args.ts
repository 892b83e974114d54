// Command-line arguments of `l2softmax sweep`: what to vary, the variants and
// seeds, the launcher and its Slurm options; the base run config comes from the
// same options as `train` (parsed by args.ts).

import { parseArgs } from 'node:util';
import type { RunConfig } from '../shared/config';
import type { SweepAxis, SweepLauncher } from '../shared/sweep';
import { DEFAULT_SEEDS, parseSweepValues, sweepSetting, sweepableSettings } from '../core/sweep';
import { DEFAULT_SLURM, splitArgs, type SlurmOptions } from '../core/slurm';
import { UsageError, joinNegativeValues, parseCli } from './args';

export const SWEEP_USAGE = `Usage: node dist/cli.js sweep --vary SETTING[=V1,V2,...] [--vary SETTING=...] [options]

Trains the same network over a range of one setting's values (or a grid of two),
each with several seeds, on this machine's queue or as a Slurm job array, and
prints verification accuracy and TAR@FAR=1e-3 per value (mean ± std over seeds).

  --vary SETTING=V1,V2   a setting and its values; twice for a grid. "--vary alpha" alone
                         takes the paper's values around alpha_low for the dataset
                         (1, 4, ceil(alpha_low), 12, 16, 32). Sweepable: ${sweepableSettings().map((s) => s.key).join(', ')}
  --with-softmax         add plain softmax cells (the baseline band)
  --with-learned         add learned-alpha cells (alpha starts at --alpha)
  --seeds N              seeds per cell, from --seed on (default ${DEFAULT_SEEDS})
  --name TEXT            the sweep's name
  --launcher NAME        local (default: this machine's queue) or slurm
  --concurrency N        local: runs at once (default 1)
  --runs DIR             runs folder (default .l2softmax/runs; sweeps go beside it)
  --detach               queue or submit, then exit (a VS Code window or --follow runs the local queue)
  --follow ID            follow an existing sweep until its cells end
  Slurm (--launcher slurm):
  --partition NAME  --account NAME  --time LIMIT  --cpus-per-task N  --gpus-per-task N
  --max-parallel N       array tasks at once (the %K of --array; 0 = no limit)
  --sbatch-arg ARG       one more sbatch argument (repeatable)
  --setup TEXT           shell lines run on the node before the trainer (module load ...)
  --node PATH            Node.js on the nodes (default: node on PATH after --setup)
  --skip-fs-check        do not check that the nodes see the runs folder
  Base config: every \`train\` option (--config, --epochs, --alpha, --lr, --dataset, --seed, ...).

Exit code: 0 when every cell completed, 1 when some did not, 2 for bad arguments.`;

export interface SweepCliOptions {
  help: boolean;
  base: RunConfig;
  /** Axes whose values are still to be chosen (empty list: the paper's alphas). */
  axes: SweepAxis[];
  withSoftmax: boolean;
  withLearned: boolean;
  seeds: number;
  name?: string;
  launcher: SweepLauncher;
  concurrency: number;
  runs?: string;
  detach: boolean;
  follow?: string;
  slurm: SlurmOptions;
  skipFsCheck: boolean;
}

const SWEEP_OPTIONS = {
  vary: { type: 'string', multiple: true },
  'with-softmax': { type: 'boolean' },
  'with-learned': { type: 'boolean' },
  seeds: { type: 'string' },
  name: { type: 'string' },
  launcher: { type: 'string' },
  concurrency: { type: 'string' },
  runs: { type: 'string' },
  detach: { type: 'boolean' },
  follow: { type: 'string' },
  partition: { type: 'string' },
  account: { type: 'string' },
  time: { type: 'string' },
  'cpus-per-task': { type: 'string' },
  'gpus-per-task': { type: 'string' },
  'max-parallel': { type: 'string' },
  'sbatch-arg': { type: 'string', multiple: true },
  setup: { type: 'string' },
  node: { type: 'string' },
  'skip-fs-check': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Splits argv into the sweep's own options and the rest (the base config's `train` options). */
function split(argv: string[]): { own: string[]; train: string[] } {
  const own: string[] = [];
  const train: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.replace(/^--?/, '').split('=')[0];
    const spec = (SWEEP_OPTIONS as Record<string, { type: string }>)[name] ?? (arg === '-h' ? SWEEP_OPTIONS.help : undefined);
    const target = spec ? own : train;
    target.push(arg);
    const takesValue = spec ? spec.type === 'string' : !['--alpha-trainable', '--json', '--force'].includes(arg);
    if (takesValue && !arg.includes('=') && arg.startsWith('-') && i + 1 < argv.length) target.push(argv[++i]);
  }
  return { own, train };
}

function count(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be a whole number of at least ${min}, got "${text}"`);
  return n;
}

function parseAxis(text: string): SweepAxis {
  const eq = text.indexOf('=');
  const name = (eq < 0 ? text : text.slice(0, eq)).trim();
  const spec = sweepSetting(name);
  if (!spec) throw new UsageError(`--vary ${text}: "${name}" cannot be swept; sweepable: ${sweepableSettings().map((s) => s.key).join(', ')}`);
  if (eq < 0) {
    if (spec.field !== 'alpha') throw new UsageError(`--vary ${name} needs values: --vary ${name}=V1,V2,...`);
    return { field: 'alpha', values: [] };
  }
  const parsed = parseSweepValues(spec, text.slice(eq + 1));
  if (parsed.error) throw new UsageError(`--vary ${text}: ${parsed.error}`);
  return { field: spec.field as string, values: parsed.values ?? [] };
}

/** Parses argv after "sweep"; `readConfig` loads a --config file. */
export function parseSweepCli(argv: string[], readConfig: (file: string) => unknown): SweepCliOptions {
  const { own, train } = split(argv);
  let values;
  try {
    ({ values } = parseArgs({ args: joinNegativeValues(own, SWEEP_OPTIONS), options: SWEEP_OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const launcher = values.launcher ?? 'local';
  if (launcher !== 'local' && launcher !== 'slurm') throw new UsageError(`--launcher must be local or slurm, got "${launcher}"`);
  const base = parseCli(['train', ...train], readConfig);
  if (base.resume || base.out) throw new UsageError('--resume and --out do not apply to a sweep (each cell is a run of its own)');
  const help = Boolean(values.help || base.help);
  const axes = help || values.follow ? [] : (values.vary ?? []).map(parseAxis);
  if (!help && !values.follow && !axes.length) throw new UsageError('say what to vary: --vary alpha (the paper\'s values) or --vary SETTING=V1,V2,...');
  const slurm: SlurmOptions = {
    ...DEFAULT_SLURM,
    partition: values.partition ?? DEFAULT_SLURM.partition,
    account: values.account ?? DEFAULT_SLURM.account,
    timeLimit: values.time ?? DEFAULT_SLURM.timeLimit,
    cpusPerTask: count('cpus-per-task', values['cpus-per-task'], DEFAULT_SLURM.cpusPerTask, 1),
    gpusPerTask: count('gpus-per-task', values['gpus-per-task'], DEFAULT_SLURM.gpusPerTask, 0),
    maxParallel: count('max-parallel', values['max-parallel'], DEFAULT_SLURM.maxParallel, 0),
    extraArgs: (values['sbatch-arg'] ?? []).flatMap((a) => splitArgs(a)),
    setup: values.setup ?? DEFAULT_SLURM.setup,
    nodePath: values.node ?? DEFAULT_SLURM.nodePath,
  };
  return {
    help,
    base: base.config,
    axes,
    withSoftmax: Boolean(values['with-softmax']),
    withLearned: Boolean(values['with-learned']),
    seeds: count('seeds', values.seeds, DEFAULT_SEEDS, 1),
    name: values.name,
    launcher,
    concurrency: count('concurrency', values.concurrency, 1, 1),
    runs: values.runs,
    detach: Boolean(values.detach),
    follow: values.follow,
    slurm,
    skipFsCheck: Boolean(values['skip-fs-check']),
  };
}
