// `l2softmax sweep`: creates a sweep (sweep.json plus one queued run per cell),
// runs it on this machine's queue (this process holds the queue, as a VS Code
// window would) or submits it to Slurm as one job array, then follows its cells
// to the end and prints the figure's numbers: accuracy and TAR@FAR=1e-3 per
// swept value, mean ± std over seeds, the softmax baseline and alpha_low.

import { hostname } from 'node:os';
import * as path from 'node:path';
import { pidMayBeAlive } from '../core/liveness';
import { RunManager } from '../core/run-manager';
import { RunMonitor } from '../core/run-monitor';
import { RunStore } from '../core/run-store';
import { TRAINER_NODE_FLAGS } from '../core/runtime';
import { SlurmError, SlurmLauncher, checkCluster } from '../core/slurm';
import { alphaLowFor, cellLabel, defaultAlphas, sweepSnapshot, trainingClasses } from '../core/sweep';
import { SweepStore, sweepsRootFor } from '../core/sweep-store';
import { pct, plural } from '../shared/format';
import { ACTIVE_STATUSES, type RunRecord } from '../shared/run';
import { EXIT } from '../trainer/session';
import type { PointView, SweepRecord, SweepSnapshot } from '../shared/sweep';
import { UsageError, readConfigFile, usageErrorText } from './args';
import { SWEEP_USAGE, parseSweepCli, type SweepCliOptions } from './sweep-args';

/** How often the follower looks at the cells (the monitor polls the folders itself). */
const FOLLOW_MS = 1000;

/** A cell whose trainer has been silent this long counts as interrupted for good (killed where no launcher sees it). */
const GIVE_UP_MS = 10 * 60 * 1000;

interface Context {
  store: RunStore;
  sweeps: SweepStore;
  trainerScript: string;
  print: (line: string) => void;
}

/** Creates the sweep from the options (alpha values from the dataset when none were given). */
async function createSweep(opts: SweepCliOptions, ctx: Context): Promise<SweepRecord> {
  const needsAlphaLow = opts.axes.some((a) => a.field === 'alpha');
  let classes: number | undefined;
  if (needsAlphaLow) {
    const counted = await trainingClasses(opts.base);
    if (counted.error) ctx.print(`note: cannot count the dataset's classes for alpha_low: ${counted.error}`);
    classes = counted.classes;
  }
  const alphaLow = classes !== undefined ? alphaLowFor(classes) : undefined;
  const axes = opts.axes.map((a) => (a.field === 'alpha' && !a.values.length ? { field: 'alpha', values: defaultAlphas(alphaLow) } : a));
  const slurm = opts.launcher === 'slurm' ? opts.slurm : undefined;
  // Slurm tasks get cpusPerTask cores; the trainer would otherwise start one thread per core of the node.
  const base = slurm && !opts.base.workers ? { ...opts.base, workers: slurm.cpusPerTask } : opts.base;
  const def = { name: opts.name, base, axes, withSoftmax: opts.withSoftmax, withLearned: opts.withLearned, seeds: opts.seeds, launcher: opts.launcher, slurm, alphaLow, classes };
  if (slurm && !opts.skipFsCheck) {
    ctx.print(`Checking that the Slurm nodes see ${ctx.store.root} (a short job)…`);
    await checkCluster({ folder: ctx.store.root, trainerScript: ctx.trainerScript, options: slurm, onProgress: (m) => ctx.print(`  ${m}`) });
  }
  try {
    return await ctx.sweeps.create(def, ctx.store);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A monitor, and a manager holding this folder's queue (with the Slurm launcher), for as long as the CLI follows. */
function hostQueue(ctx: Context, concurrency: number): { monitor: RunMonitor; manager: RunManager; slurm: SlurmLauncher } {
  const monitor = new RunMonitor(ctx.store);
  const slurm = new SlurmLauncher({ store: ctx.store, sweeps: ctx.sweeps, trainerScript: ctx.trainerScript, log: (id, line) => ctx.print(`  [${id}] ${line}`) });
  const manager = new RunManager({
    store: ctx.store,
    monitor,
    trainerScript: ctx.trainerScript,
    runtime: () => ({ execPath: process.execPath, execArgv: TRAINER_NODE_FLAGS, env: {}, description: `Node.js ${process.version} (${process.execPath})` }),
    maxConcurrent: () => concurrency,
    launchers: [slurm],
  });
  return { monitor, manager, slurm };
}

function progressLine(snap: SweepSnapshot): string {
  const order = ['completed', 'running', 'queued', 'failed', 'interrupted', 'stopped', 'missing'] as const;
  return order.filter((s) => snap.counts[s]).map((s) => `${snap.counts[s]} ${s}`).join(', ');
}

/** Follows a sweep until no cell is queued or running; prints each cell as it ends. */
async function follow(sweepId: string, ctx: Context, concurrency: number): Promise<SweepSnapshot> {
  const { monitor, manager } = hostQueue(ctx, concurrency);
  await monitor.ready();
  manager.onDidLog(({ runId, line }) => {
    if (/^(the trainer (exited with code [^0]|was killed|never)|Cannot start|could not start)/.test(line)) ctx.print(`  [${runId}] ${line}`);
  });
  const seen = new Map<string, string>();
  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(130);
    stopping = true;
    ctx.print('\nLeaving the sweep to run on (trainers and jobs continue; queued local cells start when a VS Code window or `sweep --follow` holds the queue). Ctrl+C again to quit at once.');
  };
  process.on('SIGINT', onSigint);
  try {
    for (;;) {
      const sweep = await ctx.sweeps.get(sweepId);
      if (!sweep) throw new UsageError(`no sweep ${sweepId} in ${ctx.sweeps.root}`);
      const records = new Map<string, RunRecord | undefined>();
      for (const cell of sweep.cells) records.set(cell.runId, await settledRecord(ctx.store, monitor.get(cell.runId), cell.runId));
      const snap = sweepSnapshot(sweep, (id) => records.get(id));
      for (const cell of snap.cells) {
        if (seen.get(cell.runId) === cell.status) continue;
        const before = seen.get(cell.runId);
        seen.set(cell.runId, cell.status);
        if (before === undefined && (cell.status === 'queued' || cell.status === 'running')) continue;
        if (cell.status === 'running' || cell.status === 'queued') continue;
        const metrics = cell.accuracy !== null ? ` accuracy ${pct(cell.accuracy)}, TAR@1e-3 ${pct(cell.tar)}` : '';
        ctx.print(`${cellLabel(cell).padEnd(16)} seed ${cell.seed}: ${cell.status}${metrics}${cell.status !== 'completed' && cell.reason ? ` — ${cell.reason}` : ''}   [${progressLine(snap)}]`);
      }
      if (!snap.cells.some((c) => c.status === 'queued' || c.status === 'running') || stopping) return snap;
      await new Promise((r) => setTimeout(r, FOLLOW_MS));
    }
  } finally {
    process.off('SIGINT', onSigint);
    manager.dispose();
    monitor.dispose();
  }
}

/**
 * A cell as the follower counts it: a run whose heartbeat lapsed shows as
 * interrupted, but its trainer may be busy (a long blocking phase) or may have
 * finished since; it is given up on only when its local process is gone or it
 * stayed silent for GIVE_UP_MS.
 */
async function settledRecord(store: RunStore, shown: RunRecord | undefined, id: string): Promise<RunRecord | undefined> {
  if (shown?.status !== 'interrupted') return shown;
  const raw = await store.get(id);
  if (!raw || !ACTIVE_STATUSES.has(raw.status)) return raw ?? shown;
  const beat = await store.heartbeat(id);
  const last = Math.max(beat?.time ?? 0, Date.parse(raw.launchedAt ?? raw.createdAt) || 0);
  const gone = raw.owner?.host === hostname() && !pidMayBeAlive(raw.owner.pid);
  return gone || Date.now() - last > GIVE_UP_MS ? shown : raw;
}

function statText(p: PointView | undefined, metric: 'accuracy' | 'tar'): string {
  const s = p?.stats[metric];
  return s ? `${pct(s.mean, 2)} ± ${pct(s.std, 2)}` : '–';
}

function rowOf(label: string, p: PointView): string {
  const excluded = p.excluded.length ? `  (${p.excluded.length} excluded: ${p.excluded.map((e) => e.status).join(', ')})` : '';
  const pending = p.pending ? `  (${p.pending} unfinished)` : '';
  return `${label.padEnd(22)} ${String(p.runIds.length).padStart(2)}   ${statText(p, 'accuracy').padEnd(18)} ${statText(p, 'tar').padEnd(18)}${excluded}${pending}`;
}

/** The sweep figure as a table: one row per value, the baselines, alpha_low. */
export function formatFigure(snap: SweepSnapshot): string {
  const f = snap.figure;
  const lines = [`${'value'.padEnd(22)}  n   ${'accuracy (10-fold)'.padEnd(18)} TAR@FAR=1e-3`];
  for (const series of f.series) {
    for (const p of series.points) {
      const x = f.xCategories ? f.xCategories[p.x] : String(p.x);
      const label = f.series.length > 1 ? `${series.label} ${x}` : `${f.xLabel.toLowerCase()} ${x}`;
      lines.push(rowOf(label, p));
    }
  }
  for (const b of f.softmax) lines.push(rowOf(b.label, b.point));
  for (const b of f.learned) lines.push(rowOf(`${b.label} (→ ${Number.isFinite(b.point.x) ? b.point.x.toFixed(2) : '?'})`, b.point));
  if (f.alphaLow !== undefined) lines.push(`alpha_low = log(0.9 (C − 2) / 0.1) = ${f.alphaLow.toFixed(2)} for C = ${snap.sweep.classes} classes`);
  lines.push('mean ± std over seeds of each cell\'s final epoch; cells that did not complete are excluded');
  return lines.join('\n');
}

/** `sweep` (after its options are parsed): returns the exit code. */
export async function runSweep(opts: SweepCliOptions): Promise<number> {
  const store = new RunStore(path.resolve(opts.runs ?? path.join('.l2softmax', 'runs')));
  const ctx: Context = { store, sweeps: new SweepStore(sweepsRootFor(store.root)), trainerScript: path.join(__dirname, 'trainer.js'), print: (l) => process.stdout.write(l + '\n') };
  let sweep: SweepRecord;
  if (opts.follow) {
    const found = await ctx.sweeps.get(opts.follow);
    if (!found) throw new UsageError(`no sweep ${opts.follow} in ${ctx.sweeps.root}`);
    sweep = found;
  } else {
    sweep = await createSweep(opts, ctx);
    ctx.print(`Sweep ${sweep.id}: "${sweep.name}", ${plural(sweep.cells.length, 'run')} (${sweep.launcher === 'slurm' ? 'Slurm job array' : `this machine's queue, ${opts.concurrency} at a time`})`);
    ctx.print(`  ${ctx.sweeps.file(sweep.id)}`);
    if (sweep.alphaLow !== undefined) ctx.print(`  alpha_low = ${sweep.alphaLow.toFixed(2)} for C = ${sweep.classes} training classes`);
    if (sweep.launcher === 'slurm') {
      const slurm = new SlurmLauncher({ store, sweeps: ctx.sweeps, trainerScript: ctx.trainerScript });
      const jobId = await slurm.submit(sweep, sweep.cells.map((c) => c.index)).catch(async (err: Error) => {
        await slurm.abandon(sweep, err.message);
        throw err;
      });
      ctx.print(`  submitted as Slurm job array ${jobId} (script ${ctx.sweeps.file(sweep.id, 'sweep.sbatch')})`);
    }
  }
  if (opts.detach) {
    ctx.print(`Detached. Follow it with: node dist/cli.js sweep --follow ${sweep.id}${opts.runs ? ` --runs ${opts.runs}` : ''}`);
    return 0;
  }
  const snap = await follow(sweep.id, ctx, opts.concurrency);
  ctx.print('\n' + formatFigure(snap));
  return snap.cells.every((c) => c.status === 'completed') ? 0 : EXIT.failed;
}


/** Entry of `node dist/cli.js sweep ...` (argv after "sweep"); returns the exit code. */
export async function sweepMain(argv: string[]): Promise<number> {
  try {
    const opts = parseSweepCli(argv, readConfigFile);
    if (opts.help) {
      process.stdout.write(SWEEP_USAGE + '\n');
      return 0;
    }
    return await runSweep(opts);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(usageErrorText('sweep', argv, err.message, SWEEP_USAGE));
      return EXIT.usage;
    }
    if (err instanceof SlurmError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.failed;
    }
    throw err;
  }
}
