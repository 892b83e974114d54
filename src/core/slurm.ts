// Sweeps on a Slurm cluster, through Slurm itself: a generated job script and
// the sbatch/scancel/sacct argument arrays (commands run without a shell, their
// errors passed on verbatim), Slurm's job states mapped onto run statuses, the
// check that the compute nodes see the runs folder, and the SlurmLauncher that
// submits a sweep's queued cells as one job array, cancels jobs, and records
// Slurm's reason for a job it ended (time limit, preemption, node failure).
// A cluster job is just a trainer writing a run folder on a shared filesystem.
// Free of `vscode`.

import { execFile } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunCode, RunRecord, RunStatus, SchedulerJob } from '../shared/run';
import { RUN_FILES } from '../shared/run';
import { SWEEP_FILES, type SlurmOptions, type SweepRecord } from '../shared/sweep';
import { writeFileAtomic } from './atomic-file';
import type { RunLauncher } from './launcher';
import type { RunStore } from './run-store';
import { readControlFile } from './run-writer';
import { TRAINER_NODE_FLAGS } from './runtime';
import { cellJobId } from './sweep';
import type { SweepStore } from './sweep-store';

export type { SlurmOptions } from '../shared/sweep';

export const DEFAULT_SLURM: SlurmOptions = {
  partition: '',
  account: '',
  timeLimit: '',
  cpusPerTask: 2,
  gpusPerTask: 0,
  maxParallel: 0,
  extraArgs: [],
  setup: '',
  nodePath: '',
};

/** One l2softmax.slurm.* setting (contributed in package.json by scripts/sync-settings.ts) and the option it sets. */
export interface SlurmSetting {
  key: string;
  option: keyof SlurmOptions | 'checkSharedFolder';
  type: 'string' | 'integer' | 'boolean';
  default: string | number | boolean;
  minimum?: number;
  description: string;
}

export const SLURM_SETTINGS: readonly SlurmSetting[] = [
  { key: 'slurm.partition', option: 'partition', type: 'string', default: '', description: 'Slurm partition for sweeps (sbatch --partition). Empty: the cluster\'s default partition.' },
  { key: 'slurm.account', option: 'account', type: 'string', default: '', description: 'Account to charge (sbatch --account). Empty: your default account.' },
  { key: 'slurm.timeLimit', option: 'timeLimit', type: 'string', default: '', description: 'Time limit per run (sbatch --time), e.g. `02:00:00`. Empty: the partition\'s default. A run Slurm stops at its limit shows as interrupted; Resume continues it from its checkpoint.' },
  { key: 'slurm.cpusPerTask', option: 'cpusPerTask', type: 'integer', default: DEFAULT_SLURM.cpusPerTask, minimum: 1, description: 'CPU cores per run (sbatch --cpus-per-task); the trainer uses as many threads when Training threads is 0.' },
  { key: 'slurm.gpusPerTask', option: 'gpusPerTask', type: 'integer', default: DEFAULT_SLURM.gpusPerTask, minimum: 0, description: 'GPUs per run (sbatch --gres=gpu:N). 0: none.' },
  { key: 'slurm.maxParallel', option: 'maxParallel', type: 'integer', default: DEFAULT_SLURM.maxParallel, minimum: 0, description: 'Runs of a sweep running at once (the %K of sbatch --array). 0: as many as Slurm allows.' },
  { key: 'slurm.extraArgs', option: 'extraArgs', type: 'string', default: '', description: 'More sbatch arguments, split like a shell would (quotes group), e.g. `--mem=16G --qos=normal`.' },
  { key: 'slurm.setup', option: 'setup', type: 'string', default: '', description: 'Shell lines run on the node before the trainer, e.g. `module load nodejs/20` (separate lines with newlines or `;`).' },
  { key: 'slurm.nodePath', option: 'nodePath', type: 'string', default: '', description: 'Node.js on the compute nodes. Empty: `node` on PATH after the setup lines.' },
  { key: 'slurm.checkSharedFolder', option: 'checkSharedFolder', type: 'boolean', default: true, description: 'Before a sweep is submitted, run a short job that checks that the nodes see the runs folder, Node.js and the trainer (remembered for a week).' },
];

/** Slurm options from the settings (read through `get`); throws SlurmError for unbalanced quotes in the extra arguments. */
export function slurmOptionsFrom(get: (key: string) => unknown): SlurmOptions {
  const options: SlurmOptions = { ...DEFAULT_SLURM, extraArgs: [] };
  for (const s of SLURM_SETTINGS) {
    const value = get(s.key);
    if (s.option === 'checkSharedFolder' || value === undefined || value === null) continue;
    if (s.option === 'extraArgs') options.extraArgs = splitArgs(String(value));
    else if (s.type === 'integer') (options as unknown as Record<string, number>)[s.option] = Math.max(s.minimum ?? 0, Math.floor(Number(value)) || 0);
    else (options as unknown as Record<string, string>)[s.option] = String(value).trim();
  }
  return options;
}

/** sacct/scontrol are asked about this launcher's jobs at most this often (they load the controller). */
const POLL_MS = 15000;
/** A cell marked "being submitted" by a process that never finished submitting it is failed after this. */
const SUBMIT_STALE_MS = 10 * 60 * 1000;
/** How long the shared-filesystem check waits for its job to run and its marker to appear. */
const PROBE_TIMEOUT_MS = 180000;
/** After the check job ended, network filesystems may show its file this much later (attribute caches). */
const PROBE_GRACE_MS = 60000;
const PROBE_POLL_MS = 1000;
/** A successful check of a runs folder holds this long for the same options. */
const PROBE_VALID_MS = 7 * 24 * 3600 * 1000;
const PROBE_RECORD = '.slurm-shared.json';
/** Slurm commands that take longer than this are reported as hanging (a controller that does not answer). */
const COMMAND_TIMEOUT_MS = 60000;
/** Lines of trainer.log quoted when a job failed before the trainer could say why. */
const LOG_TAIL_LINES = 3;

// ------------------------------------------------------------------ commands

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not run at all (ENOENT: not installed). */
  spawnError?: string;
}

export type CommandRunner = (file: string, args: string[]) => Promise<CommandResult>;

/** Runs a command without a shell. */
export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      if (e && typeof e.code === 'string') return resolve({ code: null, stdout: String(stdout), stderr: String(stderr), spawnError: e.code });
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout: String(stdout), stderr: String(stderr) || (e?.killed ? `no answer within ${COMMAND_TIMEOUT_MS / 1000} s` : '') });
    });
  });

export class SlurmError extends Error {}

/** What went wrong with a Slurm command, with its own error output verbatim. */
export function commandError(file: string, args: string[], result: CommandResult): string {
  if (result.spawnError === 'ENOENT') {
    return `${file} was not found on PATH. Slurm's commands must be installed where the editor runs its extensions: on a cluster, open the folder on a login node (for example with Remote-SSH).`;
  }
  if (result.spawnError) return `${file} could not be run (${result.spawnError}).`;
  const said = (result.stderr.trim() || result.stdout.trim() || '(no output)').split('\n').slice(-10).join('\n');
  return `${file} ${args.join(' ')} failed${result.code !== null ? ` (exit code ${result.code})` : ''}: ${said}`;
}

async function must(exec: CommandRunner, file: string, args: string[]): Promise<string> {
  const result = await exec(file, args);
  if (result.code !== 0) throw new SlurmError(commandError(file, args, result));
  return result.stdout;
}

/** Splits an "extra sbatch arguments" setting into arguments, honouring quotes (no shell involved). */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started || current) args.push(current);
      current = '';
      started = false;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
    } else {
      current += ch;
    }
  }
  if (quote) throw new SlurmError(`unbalanced ${quote} in the extra sbatch arguments: ${text}`);
  if (started || current) args.push(current);
  return args;
}

// ------------------------------------------------------------ script and argv

/** Quotes a value for bash, whatever it holds. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** "0-3,5,7-9%2": the --array value for these task indexes, at most `maxParallel` at once (0 = no limit). */
export function arraySpec(indexes: number[], maxParallel: number): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return ranges.join(',') + (maxParallel > 0 ? `%${maxParallel}` : '');
}

export interface ScriptInput {
  sweep: Pick<SweepRecord, 'id' | 'name'>;
  /** Run folder of every cell, indexed by cell (= array task id). */
  runDirs: string[];
  /** Cells that continue from their checkpoint. */
  resume: Set<number>;
  trainerScript: string;
  options: Pick<SlurmOptions, 'setup' | 'nodePath'>;
}

/**
 * The job script: array task i trains cell i, appending its output to the
 * run's trainer.log like a local trainer. `exec` makes the trainer the job's
 * main process, so scancel's SIGTERM reaches it and it stops with a checkpoint.
 */
export function slurmScript(input: ScriptInput): string {
  const node = input.options.nodePath.trim() ? shellQuote(input.options.nodePath.trim()) : 'node';
  return [
    '#!/bin/bash',
    `# Generated by L2-Softmax Lab for the sweep "${input.sweep.name.replace(/\n/g, ' ')}" (${input.sweep.id}).`,
    '# Array task i trains cell i of the sweep in its run folder; the folders must be on a filesystem the nodes share.',
    'RUNS=(',
    ...input.runDirs.map((d) => `  ${shellQuote(d)}`),
    ')',
    `RESUME=(${input.runDirs.map((_, i) => (input.resume.has(i) ? 1 : 0)).join(' ')})`,
    'TASK="${SLURM_ARRAY_TASK_ID:?this script runs as a Slurm array task}"',
    'RUN="${RUNS[$TASK]}"',
    '[ -n "$RUN" ] || { echo "the sweep has no cell $TASK" >&2; exit 2; }',
    'exec >>"$RUN/trainer.log" 2>&1',
    'echo "[slurm] job ${SLURM_ARRAY_JOB_ID}_${TASK} (${SLURM_JOB_ID}) on $(hostname), $(date -u +%FT%TZ)"',
    ...(input.options.setup.trim() ? ['# Setup lines (l2softmax.slurm.setup):', input.options.setup.trim()] : []),
    `ARGS=(${TRAINER_NODE_FLAGS.map(shellQuote).join(' ')} ${shellQuote(input.trainerScript)} --run "$RUN" --launcher slurm)`,
    '[ "${RESUME[$TASK]}" = 1 ] && ARGS+=(--resume)',
    `exec ${node} "\${ARGS[@]}"`,
    '',
  ].join('\n');
}

export interface SbatchJob {
  name: string;
  /** --array value; absent for a single job. */
  array?: string;
  output: string;
  chdir: string;
  script: string;
  /** Overrides the options' time limit (the short check job). */
  timeLimit?: string;
}

/** The sbatch arguments (after "sbatch"): job, resources, the user's extra arguments, then the script. */
export function sbatchArgs(o: SlurmOptions, job: SbatchJob): string[] {
  const time = job.timeLimit ?? o.timeLimit;
  return [
    '--parsable',
    `--job-name=${job.name}`,
    ...(job.array ? [`--array=${job.array}`] : []),
    `--output=${job.output}`,
    `--chdir=${job.chdir}`,
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.account ? [`--account=${o.account}`] : []),
    ...(time ? [`--time=${time}`] : []),
    `--cpus-per-task=${o.cpusPerTask}`,
    ...(o.gpusPerTask > 0 ? [`--gres=gpu:${o.gpusPerTask}`] : []),
    ...o.extraArgs,
    job.script,
  ];
}

/** The job id sbatch --parsable printed ("1234" or "1234;cluster"). */
export function parseJobId(stdout: string): string {
  const id = stdout.trim().split('\n').pop()?.split(';')[0].trim() ?? '';
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id (it printed "${stdout.trim()}")`);
  return id;
}

/**
 * Cancels jobs; with a signal, sends it to the batch script, which is the
 * trainer (Slurm 22.05 turns `--signal=KILL` without `--batch` into a plain
 * cancel of a job that has no steps: SIGTERM first).
 */
export function scancelArgs(jobIds: string[], signal?: string): string[] {
  return [...(signal ? ['--batch', `--signal=${signal}`] : []), ...jobIds];
}

export function sacctArgs(jobIds: string[]): string[] {
  return ['--noheader', '--parsable2', '--allocations', '--format=JobID,State,Reason,ExitCode,NodeList', `--jobs=${jobIds.join(',')}`];
}

// ---------------------------------------------------------------- job states

export interface JobInfo {
  /** "1234" or "1234_5" for an array task. */
  jobId: string;
  state: string;
  /** "by 1000" of "CANCELLED by 1000", or the scheduler's Reason (Priority, Resources, ...). */
  detail?: string;
  exitCode?: string;
  nodes?: string;
}

export type JobPhase = 'pending' | 'active' | 'ended';

interface StateMeaning {
  phase: JobPhase;
  /** For an ended job whose trainer did not write a final state: what the run becomes. */
  status?: RunStatus;
  /** Words for the user. */
  says: string;
}

/** Slurm's job states (sacct/scontrol), what they mean for a run whose trainer did not finish. */
const STATES: Record<string, StateMeaning> = {
  PENDING: { phase: 'pending', says: 'waiting in the Slurm queue' },
  REQUEUED: { phase: 'pending', says: 'requeued' },
  REQUEUE_HOLD: { phase: 'pending', says: 'requeued and held' },
  REQUEUE_FED: { phase: 'pending', says: 'requeued' },
  RESV_DEL_HOLD: { phase: 'pending', says: 'held' },
  CONFIGURING: { phase: 'active', says: 'starting' },
  RUNNING: { phase: 'active', says: 'running' },
  COMPLETING: { phase: 'active', says: 'completing' },
  SUSPENDED: { phase: 'active', says: 'suspended' },
  STOPPED: { phase: 'active', says: 'stopped by a signal' },
  SIGNALING: { phase: 'active', says: 'being signalled' },
  STAGE_OUT: { phase: 'active', says: 'staging out' },
  RESIZING: { phase: 'active', says: 'resizing' },
  COMPLETED: { phase: 'ended', status: 'failed', says: 'ended without the trainer writing a result' },
  FAILED: { phase: 'ended', status: 'failed', says: 'failed' },
  CANCELLED: { phase: 'ended', status: 'interrupted', says: 'was cancelled' },
  TIMEOUT: { phase: 'ended', status: 'interrupted', says: 'reached its time limit' },
  PREEMPTED: { phase: 'ended', status: 'interrupted', says: 'was preempted' },
  NODE_FAIL: { phase: 'ended', status: 'interrupted', says: 'was ended by a node failure' },
  BOOT_FAIL: { phase: 'ended', status: 'interrupted', says: 'could not boot its node' },
  DEADLINE: { phase: 'ended', status: 'interrupted', says: 'passed its deadline' },
  REVOKED: { phase: 'ended', status: 'interrupted', says: 'was revoked (federation)' },
  OUT_OF_MEMORY: { phase: 'ended', status: 'failed', says: 'ran out of memory (ask for more with --mem in the extra sbatch arguments)' },
  SPECIAL_EXIT: { phase: 'ended', status: 'failed', says: 'ended with a special exit' },
};

export function jobPhase(state: string): JobPhase {
  return STATES[state]?.phase ?? 'ended';
}

/** A signal in an exit code "0:9" or "137" (128 + signal): the trainer was killed, not failing by itself. */
function killedBySignal(exitCode: string | undefined): number | undefined {
  if (!exitCode) return undefined;
  const [code, signal] = exitCode.split(':').map(Number);
  if (signal > 0) return signal;
  return code > 128 && code < 160 ? code - 128 : undefined;
}

export interface JobOutcome {
  status: RunStatus;
  reason: string;
  code: RunCode;
}

/**
 * What a run becomes when Slurm ended its job and its trainer did not write a
 * final state: interrupted (resumable) when Slurm or a signal ended it, stopped
 * when a stop was asked for, failed when the trainer exited by itself.
 */
export function jobOutcome(info: JobInfo, stopRequested: boolean): JobOutcome {
  const meaning = STATES[info.state] ?? { phase: 'ended', status: 'interrupted', says: `ended in state ${info.state}` };
  const signal = killedBySignal(info.exitCode);
  const detail = info.detail && info.detail !== 'None' ? ` ${info.detail}` : '';
  const where = info.nodes && info.nodes !== 'None assigned' && info.nodes !== '(null)' ? ` on ${info.nodes}` : '';
  const what = `Slurm job ${info.jobId}${where} ${meaning.says} (${info.state}${detail}${info.exitCode && info.exitCode !== '0:0' ? `, exit code ${info.exitCode}` : ''})`;
  if (stopRequested) return { status: 'stopped', reason: `Stopped: ${what}.`, code: 'interrupted' };
  const killed = info.state === 'FAILED' && signal !== undefined;
  const status = killed ? 'interrupted' : (meaning.status ?? 'interrupted');
  if (status === 'interrupted') return { status, reason: `${what}${killed ? `, killed by signal ${signal}` : ''}. Resume continues from its newest checkpoint.`, code: 'interrupted' };
  return { status, reason: `${what}.`, code: 'exit' };
}

/** The job names sacct prints for array tasks not yet started: "12_[3-5,7%2]" stands for 12_3, 12_4, 12_5, 12_7. */
function expandArrayId(id: string): string[] {
  const m = /^(\d+)_\[([^\]]+)\]$/.exec(id);
  if (!m) return [id];
  const out: string[] = [];
  for (const part of m[2].split('%')[0].split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (Number.isFinite(b) ? b : a); i++) out.push(`${m[1]}_${i}`);
  }
  return out;
}

/** Parses `sacct --parsable2 --format=JobID,State,Reason,ExitCode,NodeList`. */
export function parseSacct(stdout: string): JobInfo[] {
  const jobs: JobInfo[] = [];
  for (const line of stdout.split('\n')) {
    const [jobId, stateText, reason, exitCode, nodes] = line.trim().split('|');
    if (!jobId || !stateText) continue;
    const [state, ...rest] = stateText.trim().split(/\s+/);
    const detail = rest.length ? rest.join(' ') : reason;
    for (const id of expandArrayId(jobId)) jobs.push({ jobId: id, state, detail, exitCode, nodes });
  }
  return jobs;
}

/** Parses `scontrol show job -o` (one line per job or array task, Key=Value fields). */
export function parseScontrol(stdout: string): JobInfo[] {
  const jobs: JobInfo[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('JobId=')) continue;
    const fields = new Map<string, string>();
    for (const m of line.matchAll(/(?:^|\s)([A-Za-z:/]+)=(\S*)/g)) if (!fields.has(m[1])) fields.set(m[1], m[2]);
    const arrayJob = fields.get('ArrayJobId');
    const task = fields.get('ArrayTaskId');
    const ids = arrayJob && task ? expandArrayId(`${arrayJob}_[${task}]`) : [fields.get('JobId') as string];
    for (const jobId of ids) {
      jobs.push({ jobId, state: fields.get('JobState') ?? 'UNKNOWN', detail: fields.get('Reason'), exitCode: fields.get('ExitCode'), nodes: fields.get('NodeList') });
    }
  }
  return jobs;
}

/** The job (array) id a run's job belongs to: "12" of "12_3". */
function arrayJobOf(jobId: string): string {
  return jobId.split('_')[0];
}

/**
 * What Slurm says about these jobs: sacct where accounting is kept, else
 * scontrol (which knows a job until MinJobAge after it ended). Jobs neither
 * knows are absent from the map.
 */
export async function queryJobs(exec: CommandRunner, jobIds: string[]): Promise<Map<string, JobInfo>> {
  const found = new Map<string, JobInfo>();
  const arrays = [...new Set(jobIds.map(arrayJobOf))];
  if (!arrays.length) return found;
  const sacct = await exec('sacct', sacctArgs(arrays));
  if (sacct.code === 0) for (const j of parseSacct(sacct.stdout)) found.set(j.jobId, j);
  for (const array of arrays) {
    if (jobIds.filter((id) => arrayJobOf(id) === array).every((id) => found.has(id) && jobPhase(found.get(id)!.state) === 'ended')) continue;
    const scontrol = await exec('scontrol', ['show', 'job', '-o', array]);
    if (scontrol.code === 0) for (const j of parseScontrol(scontrol.stdout)) found.set(j.jobId, j);
  }
  return found;
}

// --------------------------------------------------- the shared-folder check

export interface ProbeOptions {
  /** The folder the nodes must see (the runs folder). */
  folder: string;
  trainerScript: string;
  options: SlurmOptions;
  exec?: CommandRunner;
  timeoutMs?: number;
  graceMs?: number;
  pollMs?: number;
  /** Progress for the user ("waiting for the check job 12 (Priority)"). */
  onProgress?: (message: string) => void;
}

function probeKey(o: ProbeOptions): string {
  const { partition, account, setup, nodePath } = o.options;
  return JSON.stringify({ partition, account, setup, nodePath, trainer: o.trainerScript });
}

/**
 * Checks, before a sweep is submitted, that sbatch accepts a job with these
 * options, that a job on a node can write a marker into `folder` which this
 * machine then sees (a filesystem the nodes share), and that Node.js and the
 * trainer script are there on the node. Throws SlurmError saying what failed.
 * A passed check is remembered in the folder for a week.
 */
export async function checkCluster(o: ProbeOptions): Promise<void> {
  const exec = o.exec ?? runCommand;
  const recordFile = path.join(o.folder, PROBE_RECORD);
  try {
    const previous = JSON.parse(readFileSync(recordFile, 'utf8')) as { key: string; at: number };
    if (previous.key === probeKey(o) && Date.now() - previous.at < PROBE_VALID_MS) return;
  } catch {
    // never checked
  }
  await must(exec, 'sbatch', ['--version']);
  await fs.mkdir(o.folder, { recursive: true });
  const stamp = `${Date.now()}-${process.pid}`;
  const marker = path.join(o.folder, `.slurm-probe-${stamp}`);
  const script = `${marker}.sh`;
  const node = o.options.nodePath.trim() ? shellQuote(o.options.nodePath.trim()) : 'node';
  await fs.writeFile(
    script,
    [
      '#!/bin/bash',
      '# L2-Softmax Lab: does a job see the runs folder, Node.js and the trainer?',
      o.options.setup.trim(),
      `{ echo "host $(hostname)"; echo "node $(${node} --version 2>&1 | head -1)"; [ -r ${shellQuote(o.trainerScript)} ] && echo "trainer ok" || echo "trainer missing"; } > ${shellQuote(marker + '.tmp')} && mv ${shellQuote(marker + '.tmp')} ${shellQuote(marker)}`,
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  try {
    const args = sbatchArgs(o.options, { name: 'l2sm-fs-check', output: '/dev/null', chdir: o.folder, script, timeLimit: '5' });
    const jobId = parseJobId(await must(exec, 'sbatch', args));
    const text = await waitForMarker(exec, jobId, marker, o);
    const node = /^node (.*)$/m.exec(text)?.[1] ?? '';
    const host = /^host (.*)$/m.exec(text)?.[1] ?? 'the node';
    if (!/^v\d+/.test(node)) throw new SlurmError(`The check job ran on ${host} but Node.js did not start there (${node || 'no output'}). Set l2softmax.slurm.setup (e.g. "module load nodejs") or l2softmax.slurm.nodePath.`);
    if (!/trainer ok/.test(text)) throw new SlurmError(`The check job on ${host} cannot read the trainer ${o.trainerScript}: the extension's folder must be on a filesystem the nodes share too.`);
    await writeFileAtomic(recordFile, JSON.stringify({ key: probeKey(o), at: Date.now(), host, node }), 0o600);
  } finally {
    for (const f of [script, marker, `${marker}.tmp`]) await fs.rm(f, { force: true });
  }
}

async function waitForMarker(exec: CommandRunner, jobId: string, marker: string, o: ProbeOptions): Promise<string> {
  const timeout = o.timeoutMs ?? PROBE_TIMEOUT_MS;
  const t0 = Date.now();
  let endedAt: number | undefined;
  let last: JobInfo | undefined;
  for (;;) {
    if (existsSync(marker)) return readFileSync(marker, 'utf8');
    const now = Date.now();
    if (endedAt === undefined || now - endedAt < 2 * (o.pollMs ?? PROBE_POLL_MS)) {
      last = (await queryJobs(exec, [jobId])).get(jobId) ?? last;
      if (last && jobPhase(last.state) === 'ended') endedAt ??= now;
      if (last) o.onProgress?.(`check job ${jobId}: ${last.state}${last.detail && last.detail !== 'None' ? ` (${last.detail})` : ''}`);
    }
    if (endedAt !== undefined && now - endedAt > (o.graceMs ?? PROBE_GRACE_MS)) {
      throw new SlurmError(
        `The runs folder ${o.folder} is not shared with the compute nodes: check job ${jobId} ended (${last?.state}${last?.nodes ? ` on ${last.nodes}` : ''}) but its file ${path.basename(marker)} never appeared here. ` +
          `Put the runs folder (l2softmax.runsFolder) on a filesystem the nodes mount (home, project or scratch space).`,
      );
    }
    if (endedAt === undefined && now - t0 > timeout) {
      await exec('scancel', [jobId]);
      throw new SlurmError(
        `The check that the nodes see ${o.folder} did not finish within ${Math.round(timeout / 1000)} s: job ${jobId} is ${last?.state ?? 'unknown to Slurm'}${last?.detail && last.detail !== 'None' ? ` (${last.detail})` : ''}. ` +
          `Try again when the partition is less busy, or skip the check (l2softmax.slurm.checkSharedFolder, or --skip-fs-check) if you know the folder is shared.`,
      );
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? PROBE_POLL_MS));
  }
}

// ------------------------------------------------------------------ launcher

export interface SlurmLauncherOptions {
  store: RunStore;
  sweeps: SweepStore;
  /** dist/trainer.js, as the nodes see it. */
  trainerScript: string;
  exec?: CommandRunner;
  log?: (runId: string, line: string) => void;
  pollMs?: number;
  now?: () => number;
}

export class SlurmLauncher implements RunLauncher {
  readonly kind = 'slurm' as const;
  private readonly exec: CommandRunner;
  private readonly now: () => number;
  private lastPoll = 0;

  constructor(private readonly opts: SlurmLauncherOptions) {
    this.exec = opts.exec ?? runCommand;
    this.now = opts.now ?? Date.now;
  }

  private log(runId: string, line: string): void {
    this.opts.log?.(runId, line);
  }

  /**
   * Submits cells of a sweep as one job array (task i = cell i) and records the
   * job in sweep.json, then in each cell's run. Throws SlurmError with sbatch's
   * own words when it refuses; the cells then stay as they were.
   */
  async submit(sweep: SweepRecord, indexes: number[], resume: Set<number> = new Set()): Promise<string> {
    if (!sweep.slurm) throw new SlurmError(`sweep "${sweep.name}" has no Slurm options (it was created for the local queue)`);
    const { store, sweeps } = this.opts;
    const script = sweeps.file(sweep.id, SWEEP_FILES.script);
    const output = path.join(sweeps.dir(sweep.id), SWEEP_FILES.slurmOutput);
    await fs.mkdir(output, { recursive: true });
    const runDirs = sweep.cells.map((c) => store.dir(c.runId));
    await writeFileAtomic(script, slurmScript({ sweep, runDirs, resume, trainerScript: this.opts.trainerScript, options: sweep.slurm }), 0o700);
    const args = sbatchArgs(sweep.slurm, { name: `l2sm-${sweep.id}`, array: arraySpec(indexes, sweep.slurm.maxParallel), output: path.join(output, '%A_%a.out'), chdir: sweeps.dir(sweep.id), script });
    const jobId = parseJobId(await must(this.exec, 'sbatch', args));
    const submittedAt = new Date(this.now()).toISOString();
    await sweeps.update(sweep.id, (s) => (s.submissions = [...(s.submissions ?? []), { jobId, submittedAt, cells: [...indexes].sort((a, b) => a - b) }]));
    for (const index of indexes) {
      const runId = sweep.cells[index].runId;
      await this.recordJob(runId, { jobId: `${jobId}_${index}`, submittedAt, ...(resume.has(index) ? { resume: true } : {}) });
      this.log(runId, `submitted as Slurm job ${jobId}_${index}${resume.has(index) ? ' (resume)' : ''}`);
    }
    return jobId;
  }

  /**
   * sbatch refused a sweep's first submission: its cells that were being
   * submitted fail with sbatch's words, so the sweep keeps its record and
   * Re-run Failed Cells can try again once the options are fixed.
   */
  async abandon(sweep: SweepRecord, message: string): Promise<void> {
    for (const cell of sweep.cells) {
      const record = await this.opts.store.get(cell.runId);
      if (record?.status === 'queued' && record.job?.jobId === '') await this.end(cell.runId, { status: 'failed', reason: `Could not submit to Slurm: ${message}`, code: 'spawn' });
    }
  }

  /** Writes the job into a run that is still queued (a started trainer owns its record and keeps the job). */
  private async recordJob(runId: string, job: SchedulerJob): Promise<void> {
    const record = await this.opts.store.get(runId);
    if (!record || record.status !== 'queued') return;
    record.job = job;
    await this.opts.store.save(record);
  }

  /** Queued Slurm runs without a job (new, resumed or re-run cells): submitted per sweep as one array. */
  async launch(queued: RunRecord[]): Promise<void> {
    if (!queued.some((r) => !r.job)) return;
    // What viewers saw may predate the job this launcher just recorded: the folder says.
    const fresh = await Promise.all(queued.filter((r) => !r.job).map((r) => this.opts.store.get(r.id)));
    const waiting = fresh.filter((r): r is RunRecord => r?.status === 'queued' && !r.job);
    if (!waiting.length) return;
    const bySweep = new Map<string, { sweep: SweepRecord; indexes: number[]; resume: Set<number> }>();
    for (const record of waiting) {
      const sweep = await this.opts.sweeps.ofRun(record.id);
      if (!sweep) {
        await this.end(record.id, { status: 'failed', reason: 'This Slurm run belongs to no sweep, so there is no job script to submit it with.', code: 'spawn' });
        continue;
      }
      if (sweep.stoppedAt) continue;
      const entry = bySweep.get(sweep.id) ?? { sweep, indexes: [], resume: new Set<number>() };
      const index = sweep.cells.findIndex((c) => c.runId === record.id);
      entry.indexes.push(index);
      if (record.resumeRequested) entry.resume.add(index);
      bySweep.set(sweep.id, entry);
    }
    for (const { sweep, indexes, resume } of bySweep.values()) {
      try {
        await this.submit(sweep, indexes, resume);
      } catch (err) {
        for (const i of indexes) await this.end(sweep.cells[i].runId, { status: 'failed', reason: `Could not submit to Slurm: ${(err as Error).message}`, code: 'spawn' });
      }
    }
  }

  /** scancel of the run's job (pending or running); "already completed" is not an error. */
  async cancel(record: RunRecord): Promise<void> {
    const jobId = cellJobId(await this.opts.sweeps.ofRun(record.id), record);
    if (!jobId) return;
    await this.scancel([jobId]);
    this.log(record.id, `scancel ${jobId}`);
  }

  async scancel(jobIds: string[], signal?: string): Promise<void> {
    const args = scancelArgs(jobIds, signal);
    const result = await this.exec('scancel', args);
    if (result.code !== 0 && !/already complet|Invalid job id|has already finished/i.test(result.stderr)) throw new SlurmError(commandError('scancel', args, result));
  }

  /**
   * Now and then: asks Slurm about the jobs of runs that wait for one or whose
   * trainer stopped beating, and writes the final state of those whose job
   * ended without the trainer writing one, with Slurm's reason.
   */
  async reconcile(records: RunRecord[]): Promise<void> {
    const now = this.now();
    if (now - this.lastPoll < (this.opts.pollMs ?? POLL_MS)) return;
    this.lastPoll = now;
    const mine = records.filter((r) => r.launcher === 'slurm' && (r.status === 'queued' || r.status === 'running' || (r.status === 'interrupted' && r.code === 'interrupted' && !r.endedAt)));
    const watched: { raw: RunRecord; jobId: string }[] = [];
    for (const shown of mine) {
      const raw = await this.opts.store.get(shown.id);
      if (!raw || (raw.status !== 'queued' && raw.status !== 'running')) continue;
      if (raw.status === 'queued' && raw.job?.jobId === '') {
        if (now - Date.parse(raw.job.submittedAt) > SUBMIT_STALE_MS) await this.end(raw.id, { status: 'failed', reason: 'Its submission to Slurm never completed (the window or CLI submitting it went away). Run the cell again.', code: 'spawn' });
        continue;
      }
      if (raw.status === 'queued' && !raw.job) continue;
      const jobId = cellJobId(await this.opts.sweeps.ofRun(raw.id), raw);
      if (jobId) watched.push({ raw, jobId });
    }
    if (!watched.length) return;
    const jobs = await queryJobs(this.exec, watched.map((w) => w.jobId));
    for (const { raw, jobId } of watched) await this.settle(raw, jobId, jobs.get(jobId), shownOf(records, raw.id));
  }

  private async settle(raw: RunRecord, jobId: string, info: JobInfo | undefined, shown: RunRecord | undefined): Promise<void> {
    const stale = shown?.status === 'interrupted';
    if (!info) {
      // Slurm forgot the job (it ended long ago): only a run whose trainer stopped beating is over.
      if (raw.status === 'running' && stale) await this.end(raw.id, { status: 'interrupted', reason: `Slurm no longer knows job ${jobId} and its trainer stopped writing heartbeats. Resume continues from its newest checkpoint.`, code: 'interrupted' });
      return;
    }
    const phase = jobPhase(info.state);
    const state = `${info.state}${info.detail && info.detail !== 'None' ? ` (${info.detail})` : ''}`;
    if (phase !== 'ended') {
      if (raw.status === 'queued' && raw.job && raw.job.state !== state) {
        raw.job = { ...raw.job, state };
        await this.opts.store.save(raw);
      }
      return;
    }
    const latest = await this.opts.store.get(raw.id);
    if (!latest || (latest.status !== 'running' && latest.status !== 'queued')) return;
    const stopRequested = !!readControlFile(this.opts.store.file(raw.id, RUN_FILES.control))?.stop;
    const outcome = jobOutcome(info, stopRequested);
    const tail = outcome.status === 'failed' ? logTail(this.opts.store.file(raw.id, RUN_FILES.log)) : '';
    await this.end(raw.id, { ...outcome, reason: outcome.reason + tail }, state);
  }

  /** Final state of a run whose trainer is gone (or never came). */
  private async end(runId: string, outcome: JobOutcome, state?: string): Promise<void> {
    const record = await this.opts.store.get(runId);
    if (!record) return;
    Object.assign(record, { status: outcome.status, reason: outcome.reason, code: outcome.code, endedAt: new Date(this.now()).toISOString() });
    if (state && record.job) record.job = { ...record.job, state };
    delete record.pid;
    await this.opts.store.save(record);
    this.log(runId, outcome.reason);
  }
}

function shownOf(records: RunRecord[], id: string): RunRecord | undefined {
  return records.find((r) => r.id === id);
}

/** The last lines of trainer.log (the node's own errors: module load, node not found). */
function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('[host]'));
    const tail = lines.slice(-LOG_TAIL_LINES).join(' | ').slice(0, 600);
    return tail ? ` Last output: ${tail}` : '';
  } catch {
    return '';
  }
}
