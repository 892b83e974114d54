// Launches trainers for this machine's queue and asks them to stop. A trainer
// runs detached (own process group, stdio to trainer.log, no IPC) and owns its
// run folder, so it outlives the window that started it. Queued runs are
// folders with status "queued"; whichever window holds the queue lock starts
// them, up to the concurrency limit. What runs do is seen through the
// RunMonitor, the same way for every run. Free of `vscode`.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, openSync, promises as fs, readSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import type { RunConfig } from '../shared/config';
import { ACTIVE_STATUSES, RUN_FILES, cleanAnnotations, unappliedAnnotations, type ControlRequest, type Provenance, type RunAnnotations, type RunRecord } from '../shared/run';
import { writeFileAtomic } from './atomic-file';
import { Emitter, type Disposable } from './emitter';
import type { RunLauncher } from './launcher';
import type { RunMonitor } from './run-monitor';
import { isAlive, type RunStore } from './run-store';
import { readControlFile } from './run-writer';
import { RuntimeError, type Runtime } from './runtime';

export interface ManagerOptions {
  store: RunStore;
  monitor: RunMonitor;
  /** The trainer entry script (dist/trainer.js). */
  trainerScript: string;
  /** Resolved at every launch, so settings changes apply to the next run. */
  runtime: () => Runtime;
  maxConcurrent: () => number;
  /** A trainer on this machine that has not stopped this long after a stop request is killed. */
  stopGraceMs?: number;
  /** How often the queue is looked at (besides after every change). */
  queuePollMs?: number;
  /** A queue lock whose holder stopped refreshing it this long ago is taken over. */
  lockStaleMs?: number;
  /** Launchers of runs this machine's queue does not start (a cluster scheduler), driven by the queue's holder. */
  launchers?: RunLauncher[];
}

export interface LogLine {
  runId: string;
  line: string;
}

/** The queue lock's own folder name; not a run id (those never start with a dot). */
const QUEUE_LOCK = '.queue.lock';
const STOP_GRACE_MS = 30000;
const QUEUE_POLL_MS = 1000;
const LOCK_STALE_MS = 20000;
/** How much of the end of trainer.log a failure message may quote from. */
const LOG_TAIL_BYTES = 16384;

export class RunManager implements Disposable {
  private readonly children = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<void>>();
  private readonly launching = new Set<string>();
  private readonly logs = new Emitter<LogLine>();
  /** Host-side lines (launches, stops, trainers that died); the trainer's own log is trainer.log. */
  readonly onDidLog = this.logs.event;
  private readonly timer: NodeJS.Timeout;
  private readonly subscription: Disposable;
  private releaseLock: (() => Promise<void>) | undefined;
  /** Pumps run one at a time; a pump asked for while one runs happens after it (once for any number of asks). */
  private pumps: Promise<void> = Promise.resolve();
  private pumpPending = false;
  private disposed = false;

  constructor(private readonly opts: ManagerOptions) {
    this.timer = setInterval(() => void this.pump(), opts.queuePollMs ?? QUEUE_POLL_MS);
    this.subscription = opts.monitor.onDidChange((r) => {
      if (r.status !== 'running') void this.pump();
    });
  }

  /** True while this window starts the queued runs of the folder. */
  get holdsQueue(): boolean {
    return !!this.releaseLock;
  }

  /** Records a new run in the queue (with where it came from) and starts it when a slot is free. */
  async start(config: RunConfig, name: string, provenance?: Provenance): Promise<RunRecord> {
    const record = await this.opts.store.create(config, name, { provenance });
    await this.opts.monitor.poke(record.id);
    await this.pump();
    return this.opts.monitor.get(record.id) ?? record;
  }

  /** Queues a stopped, interrupted or failed run to continue from its newest checkpoint (see checkResume first). */
  async resume(id: string, epochs?: number): Promise<RunRecord> {
    const record = await this.requireRecord(id);
    Object.assign(record, { status: 'queued', resumeRequested: true, config: { ...record.config, epochs: epochs ?? record.config.epochs } });
    delete record.endedAt;
    // A scheduler's run needs a new job for the next trainer.
    delete record.job;
    await this.opts.store.save(record);
    this.log(id, `resume requested (to epoch ${record.config.epochs})`);
    await this.opts.monitor.poke(id);
    await this.pump();
    return this.opts.monitor.get(id) ?? record;
  }

  /** Live runs launched by this machine's queue. */
  runningCount(): number {
    return this.opts.monitor.records().filter((r) => r.status === 'running' && (r.launcher ?? 'local') === 'local').length;
  }

  private pump(): Promise<void> {
    if (this.pumpPending) return this.pumps;
    this.pumpPending = true;
    this.pumps = this.pumps
      .then(() => {
        this.pumpPending = false;
        return this.pumpOnce();
      })
      .catch(() => undefined);
    return this.pumps;
  }

  private async pumpOnce(): Promise<void> {
    if (this.disposed || !(await this.acquireQueue())) return;
    const queued = this.opts.monitor
      .records()
      .filter((r) => r.status === 'queued' && (r.launcher ?? 'local') === 'local' && !this.launching.has(r.id))
      .reverse();
    for (const record of queued) {
      if (this.runningCount() + this.launching.size >= Math.max(1, this.opts.maxConcurrent())) break;
      await this.launch(record.id).catch((err: Error) => this.log(record.id, `could not start the run: ${err.message}`));
    }
    await this.pumpLaunchers();
  }

  /** Other launchers start their queued runs and look after the rest (under the same lock, so one window does it). */
  private async pumpLaunchers(): Promise<void> {
    const records = this.opts.monitor.records();
    for (const launcher of this.opts.launchers ?? []) {
      const mine = records.filter((r) => r.launcher === launcher.kind);
      const queued = mine.filter((r) => r.status === 'queued').reverse();
      await launcher.launch(queued).catch(() => undefined);
      await launcher.reconcile(mine).catch(() => undefined);
    }
  }

  private launcherOf(record: RunRecord): RunLauncher | undefined {
    return this.opts.launchers?.find((l) => l.kind === record.launcher);
  }

  private async acquireQueue(): Promise<boolean> {
    if (this.releaseLock) return true;
    const root = this.opts.store.root;
    try {
      await fs.mkdir(root, { recursive: true });
      this.releaseLock = await lockfile.lock(root, {
        lockfilePath: path.join(root, QUEUE_LOCK),
        stale: this.opts.lockStaleMs ?? LOCK_STALE_MS,
        retries: 0,
        realpath: false,
        // Another process took the lock over (this one stalled): stop starting runs until it is ours again.
        onCompromised: () => (this.releaseLock = undefined),
      });
      return true;
    } catch {
      return false; // another window holds the queue
    }
  }

  private async launch(id: string): Promise<void> {
    const { store } = this.opts;
    const record = await store.get(id);
    if (!record || record.status !== 'queued') return;
    this.launching.add(id);
    try {
      let runtime: Runtime;
      try {
        runtime = this.opts.runtime();
      } catch (err) {
        return await this.takeOver(id, 'failed', err instanceof RuntimeError ? err.message : `Cannot start the trainer: ${(err as Error).message}`, 'spawn');
      }
      const resume = !!record.resumeRequested;
      const now = new Date().toISOString();
      Object.assign(record, { status: 'running', launchedAt: now, startedAt: record.startedAt ?? now, launcher: 'local' });
      // The previous trainer's identity would make the new launch look dead already.
      for (const key of ['resumeRequested', 'reason', 'code', 'owner', 'pid', 'endedAt'] as const) delete record[key];
      await store.save(record);
      this.log(id, `${resume ? 'resuming' : 'starting'} the trainer with ${runtime.description}`);
      this.spawn(record, runtime, resume);
      await this.opts.monitor.poke(id);
    } finally {
      this.launching.delete(id);
    }
  }

  private spawn(record: RunRecord, runtime: Runtime, resume: boolean): void {
    const dir = this.opts.store.dir(record.id);
    const log = openSync(path.join(dir, RUN_FILES.log), 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(runtime.execPath, [...runtime.execArgv, this.opts.trainerScript, '--run', dir, ...(resume ? ['--resume'] : [])], {
        cwd: dir,
        env: { ...process.env, ...runtime.env },
        // Own process group and no pipes: the trainer outlives this window, and a stop can signal its whole tree.
        detached: true,
        stdio: ['ignore', log, log],
        windowsHide: true,
      });
    } finally {
      closeSync(log);
    }
    child.unref();
    this.children.set(record.id, child);
    let ended: (() => void) | undefined;
    this.exits.set(record.id, new Promise((r) => (ended = r)));
    const end = (how: string, spawnError?: Error) => {
      if (!this.children.has(record.id)) return;
      this.children.delete(record.id);
      void this.onExit(record.id, how, spawnError).finally(() => {
        this.exits.delete(record.id);
        ended?.();
      });
    };
    child.on('error', (err) => {
      if (!child.pid) end('never started', err);
    });
    child.on('exit', (code, signal) => end(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  }

  /**
   * The trainer this window started has exited. It writes its own final state;
   * when it could not (killed, crashed, or never started), nobody owns the
   * folder any more and the host records what happened.
   */
  private async onExit(id: string, how: string, spawnError?: Error): Promise<void> {
    this.log(id, `the trainer ${how}`);
    const record = await this.opts.store.get(id);
    if (record && ACTIVE_STATUSES.has(record.status)) {
      const stopRequested = !!readControlFile(this.opts.store.file(id, RUN_FILES.control))?.stop;
      if (spawnError) {
        await this.takeOver(id, 'failed', `Cannot start the trainer: ${spawnError.message}. Check l2softmax.nodePath (or that node is on PATH).`, 'spawn');
      } else if (stopRequested) {
        await this.takeOver(id, 'stopped', `Stopped: the trainer ${how} before it could write a final checkpoint.`);
      } else if (/killed/.test(how)) {
        await this.takeOver(id, 'interrupted', `The trainer ${how}. Resume continues from its newest checkpoint.`, 'interrupted');
      } else {
        await this.takeOver(id, 'failed', `The trainer ${how} without reporting a result.${lastError(this.opts.store.file(id, RUN_FILES.log))} See the run log for details.`, 'exit');
      }
    }
    await this.opts.monitor.poke(id);
    void this.pump();
  }

  /** Writes a final state for a run whose trainer is gone (or never came). */
  private async takeOver(id: string, status: RunRecord['status'], reason: string, code?: RunRecord['code']): Promise<void> {
    const record = await this.opts.store.get(id);
    if (!record) return;
    Object.assign(record, { status, reason, endedAt: new Date().toISOString() });
    if (code) record.code = code;
    delete record.pid;
    await this.opts.store.save(record);
    this.log(id, reason);
    await this.opts.monitor.poke(id);
  }

  /**
   * Asks a run to stop from any window: a queued run is taken off the queue; a
   * running one gets a stop request in control.json (read by its trainer on any
   * machine) and, on this machine, SIGTERM. A trainer here that ignores both is
   * killed after the grace period. Resolves when the run has ended.
   */
  async stop(id: string): Promise<void> {
    const shown = this.opts.monitor.get(id) ?? (await this.opts.store.view(id));
    if (!shown) return;
    if (shown.status === 'queued') {
      await this.launcherOf(shown)?.cancel(shown);
      await this.takeOver(id, 'stopped', 'Stopped before it started.');
      return;
    }
    if (shown.status !== 'running') return;
    await this.control(id, { stop: true });
    this.log(id, 'stop requested');
    await this.launcherOf(shown)?.cancel(shown);
    const pid = this.localPid(shown);
    if (pid) signalGroup(pid, 'SIGTERM');
    const grace = this.opts.stopGraceMs ?? STOP_GRACE_MS;
    const ended = await this.until(id, (r) => r.status !== 'running', grace);
    if (ended || !pid || !isAlive(pid)) return;
    this.log(id, `the trainer did not stop within ${grace / 1000} s: killing it`);
    signalGroup(pid, 'SIGKILL');
    await this.exits.get(id);
    if (!this.children.has(id) && ACTIVE_STATUSES.has((await this.opts.store.get(id))?.status ?? 'completed')) {
      await this.takeOver(id, 'stopped', `Stopped: the trainer ignored the stop request for ${grace / 1000} s and was killed.`);
    }
  }

  /** Renames a run (see annotate). */
  rename(id: string, name: string): Promise<void> {
    return this.annotate(id, { name });
  }

  /**
   * Changes a run's name, tags, note or pin: through control.json while a
   * trainer owns the folder (only it writes run.json then), else in run.json.
   */
  async annotate(id: string, change: RunAnnotations): Promise<void> {
    const clean = cleanAnnotations(change);
    // Read afresh (the monitor may be a poll behind a trainer that has just finished), with liveness.
    const live = async () => (await this.opts.store.view(id))?.status === 'running';
    if (await live()) {
      await this.control(id, clean);
      // A trainer that took its last request before this one leaves it unapplied once ended: apply it here.
      const after = await this.requireRecord(id);
      if (!(await live()) && unappliedAnnotations(after, clean).length) await this.opts.store.save(Object.assign(after, clean));
    } else {
      await this.opts.store.save(Object.assign(await this.requireRecord(id), clean));
    }
    await this.opts.monitor.poke(id);
  }

  /** Deletes an ended run; waits for the trainer this window started to be gone first. */
  async delete(id: string): Promise<void> {
    const shown = this.opts.monitor.get(id) ?? (await this.opts.store.view(id));
    if (shown && ACTIVE_STATUSES.has(shown.status)) throw new Error(`run "${shown.name}" is ${shown.status === 'queued' ? 'queued' : 'still running'}; stop it first`);
    await this.exits.get(id);
    await this.opts.store.delete(id);
    await this.opts.monitor.poke(id);
  }

  private async control(id: string, change: Partial<ControlRequest>): Promise<void> {
    const file = this.opts.store.file(id, RUN_FILES.control);
    const request: ControlRequest = { ...readControlFile(file), ...change, requestedAt: new Date().toISOString(), by: `window on ${hostname()} (pid ${process.pid})` };
    await writeFileAtomic(file, JSON.stringify(request, null, 2), 0o600);
  }

  /** The trainer's pid when it runs on this machine. */
  private localPid(record: RunRecord): number | undefined {
    const pid = this.children.get(record.id)?.pid ?? (record.owner?.host === hostname() ? record.owner.pid : undefined);
    return pid && isAlive(pid) ? pid : undefined;
  }

  private async until(id: string, done: (r: RunRecord) => boolean, ms: number): Promise<boolean> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      const r = await this.opts.monitor.poke(id);
      if (!r || done(r)) return true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return false;
  }

  private async requireRecord(id: string): Promise<RunRecord> {
    const record = await this.opts.store.get(id);
    if (!record) throw new Error(`no run with id ${id}`);
    return record;
  }

  private log(runId: string, line: string): void {
    try {
      appendFileSync(this.opts.store.file(runId, RUN_FILES.log), `[host] ${new Date().toISOString()} ${line}\n`);
    } catch {
      // the run folder is gone; the line still reaches the output channel
    }
    this.logs.fire({ runId, line });
  }

  /** For tests: resolves when the trainer this window started for `id` has exited. */
  exited(id: string): Promise<void> {
    return this.exits.get(id) ?? Promise.resolve();
  }

  /** Lets go of the queue; trainers keep running (they outlive the window). */
  dispose(): void {
    this.disposed = true;
    clearInterval(this.timer);
    this.subscription.dispose();
    for (const child of this.children.values()) child.removeAllListeners();
    this.children.clear();
    void this.releaseLock?.().catch(() => undefined);
    this.releaseLock = undefined;
    this.logs.dispose();
  }
}

/** Signals a trainer's process group (it leads one when this machine's queue started it), else the process. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    if (process.platform === 'win32') {
      spawnSync('taskkill', ['/pid', String(pid), '/T', ...(signal === 'SIGKILL' ? ['/F'] : [])], { windowsHide: true });
      return;
    }
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** The last error line of trainer.log, for a failure message. */
function lastError(logFile: string): string {
  let text: string;
  try {
    const fd = openSync(logFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const tail = Buffer.alloc(Math.min(size, LOG_TAIL_BYTES));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      text = tail.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
  const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('[host]'));
  const error = [...lines].reverse().find((l) => /\b\w*Error\b:/.test(l));
  const line = error ?? lines[lines.length - 1];
  return line ? ` Last ${error ? 'error' : 'output'}: ${line.trim().slice(0, 300)}.` : '';
}
