// Starts, watches and stops trainer child processes; one child per run,
// queued beyond the concurrency limit. Every event goes to the run's
// events.jsonl and updates its run.json. Free of `vscode`: tested in plain Node.

import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { RunConfig } from '../shared/config';
import { isTrainerEvent, type TrainerEvent } from '../shared/events';
import { Emitter, type Disposable } from './emitter';
import { applyToRecord } from './record';
import { ACTIVE, type RunRecord, type RunStore } from './run-store';
import { RuntimeError, type Runtime } from './runtime';

export interface ManagerOptions {
  store: RunStore;
  /** The trainer entry script (dist/trainer.js). */
  trainerScript: string;
  /** Resolved at every launch, so settings changes apply to the next run. */
  runtime: () => Runtime;
  maxConcurrent: () => number;
  /** Graceful stop (finish the step, checkpoint) before SIGTERM. */
  stopGraceMs?: number;
  /** SIGTERM before SIGKILL. */
  killGraceMs?: number;
}

export interface RunEvent {
  run: RunRecord;
  event: TrainerEvent;
}

export interface LogLine {
  runId: string;
  stream: 'stdout' | 'stderr' | 'host';
  line: string;
}

interface Active {
  record: RunRecord;
  child: ChildProcess;
  log: WriteStream;
  finished: boolean;
  stopRequested: boolean;
  stderrTail: string[];
  timers: NodeJS.Timeout[];
  lastSave: number;
  exited: Promise<void>;
}

const SAVE_INTERVAL_MS = 1000;

export class RunManager implements Disposable {
  private readonly active = new Map<string, Active>();
  private readonly queue: RunRecord[] = [];
  private readonly changed = new Emitter<RunRecord>();
  private readonly events = new Emitter<RunEvent>();
  private readonly logs = new Emitter<LogLine>();
  readonly onDidChangeRun = this.changed.event;
  readonly onDidEvent = this.events.event;
  readonly onDidLog = this.logs.event;

  private readonly saves = new Map<string, Promise<void>>();

  constructor(private readonly opts: ManagerOptions) {}

  /** Saves run.json; saves of one run happen in order, so an older state never overwrites a newer one. */
  private persist(record: RunRecord): Promise<void> {
    const snapshot: RunRecord = JSON.parse(JSON.stringify(record));
    const previous = this.saves.get(record.id) ?? Promise.resolve();
    const next = previous.then(() => this.opts.store.save(snapshot)).catch(() => undefined);
    this.saves.set(record.id, next);
    void next.then(() => {
      if (this.saves.get(record.id) === next) this.saves.delete(record.id);
    });
    return next;
  }

  /** Records a new run and starts it, or queues it when the concurrency limit is reached. */
  async start(config: RunConfig, name: string): Promise<RunRecord> {
    const record = await this.opts.store.create(config, name);
    this.queue.push(record);
    this.changed.fire(record);
    await this.pump();
    return this.get(record.id) ?? record;
  }

  /** The live record of an active or queued run. */
  get(id: string): RunRecord | undefined {
    return this.active.get(id)?.record ?? this.queue.find((r) => r.id === id);
  }

  ids(): Set<string> {
    return new Set([...this.active.keys(), ...this.queue.map((r) => r.id)]);
  }

  runningCount(): number {
    return this.active.size;
  }

  /** Asks the trainer to stop; escalates to SIGTERM then SIGKILL of its process group. Resolves when it has exited. */
  async stop(id: string): Promise<void> {
    const queued = this.queue.findIndex((r) => r.id === id);
    if (queued >= 0) {
      const [record] = this.queue.splice(queued, 1);
      record.status = 'stopped';
      record.reason = 'Stopped before it started.';
      record.endedAt = new Date().toISOString();
      await this.persist(record);
      this.changed.fire(record);
      return;
    }
    const a = this.active.get(id);
    if (!a) return;
    if (!a.stopRequested) {
      a.stopRequested = true;
      this.hostLog(a, 'stop requested');
      if (a.child.connected) a.child.send({ type: 'stop' }, () => undefined);
      else this.signal(a, 'SIGTERM');
      a.timers.push(
        setTimeout(() => {
          this.hostLog(a, 'the trainer did not stop in time: SIGTERM');
          this.signal(a, 'SIGTERM');
          a.timers.push(
            setTimeout(() => {
              this.hostLog(a, 'the trainer ignored SIGTERM: SIGKILL');
              this.signal(a, 'SIGKILL');
            }, this.opts.killGraceMs ?? 5000),
          );
        }, this.opts.stopGraceMs ?? 15000),
      );
    }
    await a.exited;
  }

  /**
   * Deletes a run that is not running. A run that has just finished may still
   * have its trainer exiting and its last record save pending: deleting the
   * folder under them would leave a half-deleted run, so that waits for both.
   */
  async delete(id: string): Promise<void> {
    const a = this.active.get(id);
    if (a && ACTIVE.has(a.record.status)) throw new Error(`run "${a.record.name}" is still running; stop it first`);
    if (this.queue.some((r) => r.id === id)) throw new Error('the run is queued; stop it first');
    await a?.exited;
    await this.saves.get(id);
    await this.opts.store.delete(id);
  }

  private async pump(): Promise<void> {
    while (this.queue.length && this.active.size < Math.max(1, this.opts.maxConcurrent())) {
      const record = this.queue.shift() as RunRecord;
      await this.launch(record);
    }
  }

  private async launch(record: RunRecord): Promise<void> {
    const { store } = this.opts;
    let runtime: Runtime;
    try {
      runtime = this.opts.runtime();
    } catch (err) {
      await this.failBeforeStart(record, err instanceof RuntimeError ? err.message : `Cannot start the trainer: ${(err as Error).message}`);
      return;
    }
    const dir = store.dir(record.id);
    const log = createWriteStream(store.file(record.id, 'trainer.log'), { flags: 'a' });
    log.on('error', () => undefined);
    let child: ChildProcess;
    try {
      child = fork(this.opts.trainerScript, ['--config', store.file(record.id, 'config.json'), '--out', dir], {
        execPath: runtime.execPath,
        execArgv: runtime.execArgv,
        cwd: dir,
        env: { ...process.env, ...runtime.env },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // Own process group, so a stop can signal the whole tree.
        detached: process.platform !== 'win32',
      });
    } catch (err) {
      log.end();
      await this.failBeforeStart(record, `Cannot start the trainer with ${runtime.execPath}: ${(err as Error).message}`);
      return;
    }
    record.status = 'running';
    record.startedAt = new Date().toISOString();
    record.pid = child.pid;
    let resolveExit!: () => void;
    const a: Active = {
      record,
      child,
      log,
      finished: false,
      stopRequested: false,
      stderrTail: [],
      timers: [],
      lastSave: 0,
      exited: new Promise((r) => (resolveExit = r)),
    };
    this.active.set(record.id, a);
    log.write(`[host] ${new Date().toISOString()} starting the trainer with ${runtime.description}\n`);
    this.pipeLines(a, 'stdout');
    this.pipeLines(a, 'stderr');
    child.on('message', (message) => this.onMessage(a, message));
    let spawnError: Error | undefined;
    let ended = false;
    const end = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      void this.onExit(a, code, signal, spawnError).finally(resolveExit);
    };
    child.on('error', (err) => {
      this.hostLog(a, `process error: ${err.message}`);
      // A child that never spawned (bad executable) gets no 'exit' event.
      if (!child.pid) {
        spawnError = err;
        end(null, null);
      }
    });
    child.on('exit', end);
    await this.persist(record);
    this.changed.fire(record);
  }

  private async failBeforeStart(record: RunRecord, reason: string): Promise<void> {
    record.status = 'failed';
    record.reason = reason;
    record.code = 'spawn';
    record.endedAt = new Date().toISOString();
    await this.persist(record);
    this.logs.fire({ runId: record.id, stream: 'host', line: reason });
    this.changed.fire(record);
  }

  private pipeLines(a: Active, stream: 'stdout' | 'stderr'): void {
    let buffer = '';
    a.child[stream]?.setEncoding('utf8');
    a.child[stream]?.on('data', (chunk: string) => {
      a.log.write(chunk);
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        if (stream === 'stderr') {
          a.stderrTail.push(line);
          if (a.stderrTail.length > 40) a.stderrTail.shift();
        }
        this.logs.fire({ runId: a.record.id, stream, line });
      }
    });
  }

  private hostLog(a: Active, line: string): void {
    a.log.write(`[host] ${new Date().toISOString()} ${line}\n`);
    this.logs.fire({ runId: a.record.id, stream: 'host', line });
  }

  private onMessage(a: Active, message: unknown): void {
    if (!isTrainerEvent(message)) {
      this.hostLog(a, `ignored a malformed message from the trainer: ${preview(message)}`);
      return;
    }
    const { record } = a;
    this.opts.store.appendEvent(record.id, message);
    let save = applyToRecord(record, message);
    switch (message.type) {
      case 'step':
        save = Date.now() - a.lastSave > SAVE_INTERVAL_MS;
        break;
      case 'error':
        this.hostLog(a, `error (${message.code}): ${message.message}`);
        break;
      case 'warning':
        this.hostLog(a, `warning: ${message.message}`);
        break;
      case 'log':
        a.log.write(`[trainer] ${message.message}\n`);
        this.logs.fire({ runId: record.id, stream: 'stdout', line: message.message });
        break;
      case 'finished':
        a.finished = true;
        break;
    }
    if (save) {
      a.lastSave = Date.now();
      void this.persist(record);
    }
    this.events.fire({ run: record, event: message });
    this.changed.fire(record);
  }

  private async onExit(a: Active, code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): Promise<void> {
    a.timers.forEach(clearTimeout);
    const { record } = a;
    if (!a.finished) {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const errorLine = [...a.stderrTail].reverse().find((l) => /\b\w*Error\b:/.test(l));
      const tail = errorLine ? ` Last error: ${errorLine.trim()}.` : a.stderrTail.length ? ` Last output: ${a.stderrTail[a.stderrTail.length - 1].trim()}.` : '';
      if (a.stopRequested) {
        record.status = 'stopped';
        record.reason = `Stopped: the trainer ${how} before it could write a final checkpoint.`;
      } else {
        record.status = 'failed';
        record.code = spawnError ? 'spawn' : 'exit';
        record.reason = spawnError
          ? `Cannot start the trainer: ${spawnError.message}. Check l2softmax.nodePath (or that node is on PATH).`
          : `The trainer ${how} without reporting a result.${tail} See the run log for details.`;
      }
      this.hostLog(a, record.reason);
    }
    record.endedAt = new Date().toISOString();
    delete record.pid;
    this.hostLog(a, `trainer exited (${signal ?? `code ${code}`}), run ${record.status}`);
    await new Promise<void>((r) => a.log.end(() => r()));
    await this.opts.store.closeEvents(record.id);
    await this.persist(record);
    this.active.delete(record.id);
    this.changed.fire(record);
    await this.pump();
  }

  private signal(a: Active, signal: NodeJS.Signals): void {
    const pid = a.child.pid;
    if (!pid || a.child.exitCode !== null) return;
    try {
      if (process.platform === 'win32') {
        spawnSync('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true });
      } else {
        process.kill(-pid, signal);
      }
    } catch {
      try {
        a.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /** Stops every run (graceful first) and waits for the children to exit. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.queue.map((r) => r.id), ...this.active.keys()].map((id) => this.stop(id)));
  }

  dispose(): void {
    for (const a of this.active.values()) {
      a.stopRequested = true;
      if (a.child.connected) a.child.send({ type: 'stop' }, () => undefined);
      else this.signal(a, 'SIGTERM');
    }
    this.changed.dispose();
    this.events.dispose();
    this.logs.dispose();
  }
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? text.slice(0, 117) + '...' : text;
}

