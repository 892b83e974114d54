// The one writer of a run folder (the contract in src/shared/run.ts). Every
// trainer writes through it, whoever started it: the extension's detached
// trainer, the CLI, a cluster job. It takes the folder over from its launcher,
// appends events (one complete line per write; fsync at epochs, checkpoints and
// the end), keeps run.json current (atomic replace), beats the heartbeat, and
// reads control.json (stop and rename requests from any window or machine).
// A resume changes the run's record only once it trains: one that ends before
// its first step leaves the run's result as it was (see keepResult).

import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from '../shared/config';
import type { RunSummary, TrainerEvent } from '../shared/events';
import { HEARTBEAT_MS, RUN_FILES, RUN_FORMAT_VERSION, cleanAnnotations, unappliedAnnotations, type ControlRequest, type DatasetFingerprint, type Heartbeat, type Launcher, type RunOwner, type RunRecord } from '../shared/run';
import { DISK_CODES, endsMidLine, removeTempFiles, writeFileAtomicSync } from './atomic-file';
import { HeartbeatThread } from './heartbeat';
import { applyToRecord } from './record';
import { TRAINER_VERSION } from './version';

/** run.json is rewritten at most this often for step events (epochs and the end are saved at once). */
const STEP_SAVE_MS = 1000;

/** control.json is looked at no more often than this (one stat). */
const CONTROL_POLL_MS = 500;

/** What a resume changes in the record only once it trains (its first step, epoch or checkpoint): until then the run is what it was. */
type Adopted = Partial<Pick<RunRecord, 'config' | 'fingerprint' | 'trainerVersion' | 'resumes'>>;

/** What a resumed session's start rewrites (the `started` event) and a resume that never trained puts back. */
const RESULT_FIELDS = ['summary', 'progress', 'backend', 'dataset', 'alphaLow', 'checkpoint'] as const;
type Result = Partial<Pick<RunRecord, (typeof RESULT_FIELDS)[number]>>;

/** Events that show a session has trained (or written a checkpoint): from them on, the folder holds its work. */
const TRAINED: ReadonlySet<TrainerEvent['type']> = new Set(['step', 'epoch', 'checkpoint']);

/** The run folder cannot be written (full disk, quota, read-only, I/O error, folder removed). */
export class RunFolderError extends Error {
  readonly code = 'disk';
}

export interface WriterOptions {
  launcher: Launcher;
  jobId?: string;
  /** Continuing from a checkpoint: the record keeps its history and counts the resume. */
  resume?: boolean;
  /** A new epoch count (a resume may extend the run). */
  epochs?: number;
  heartbeatMs?: number;
  now?: () => number;
}

export class RunWriter {
  private readonly fd: number;
  private readonly heart: HeartbeatThread;
  private readonly now: () => number;
  private lastSave = 0;
  private lastControl = 0;
  private controlStamp = '';
  private stop = false;
  private phase = 'loading';
  /** A heartbeat write that failed: the next event write reports it. */
  private failure: RunFolderError | undefined;
  private closed = false;
  /** A resume that has not trained yet: what it will change, and the run's result before it (see keepResult). */
  private pending: { adopt: Adopted; before: Result } | undefined;

  private constructor(
    readonly dir: string,
    private readonly record: RunRecord,
    opts: WriterOptions,
    adopt: Adopted,
  ) {
    if (opts.resume) {
      const before: Result = JSON.parse(JSON.stringify(Object.fromEntries(RESULT_FIELDS.map((k) => [k, record[k]]))));
      this.pending = { adopt, before };
    } else Object.assign(record, adopt);
    this.now = opts.now ?? Date.now;
    this.fd = this.guard(RUN_FILES.events, () => openSync(this.file(RUN_FILES.events), 'a', 0o600));
    // A previous trainer killed mid-write left half a line: the next event starts a line of its own.
    if (endsMidLine(this.file(RUN_FILES.events))) this.guard(RUN_FILES.events, () => writeSync(this.fd, '\n'));
    this.consumeStaleControl();
    this.saveRecord();
    this.heart = new HeartbeatThread(this.file(RUN_FILES.heartbeat), this.beat(), opts.heartbeatMs ?? HEARTBEAT_MS, (f) => {
      this.failure ??= folderError(this.file(RUN_FILES.heartbeat), f);
    });
  }

  /**
   * Takes over the run folder `dir`, whose run.json its launcher wrote (status
   * queued or running). Throws RunFolderError when the folder cannot be used.
   */
  static open(dir: string, opts: WriterOptions): RunWriter {
    const file = path.join(dir, RUN_FILES.record);
    let record: RunRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
    } catch (err) {
      throw new RunFolderError(`Cannot read the run record ${file}: ${(err as Error).message}`);
    }
    if (typeof record !== 'object' || record === null || typeof record.config !== 'object' || record.config === null) {
      throw new RunFolderError(`${file} is not a run record (no config).`);
    }
    // The folder's writer before this one may have been killed between a write and its rename.
    removeTempFiles(dir);
    const now = new Date((opts.now ?? Date.now)()).toISOString();
    const owner: RunOwner = { host: hostname(), pid: process.pid, ...(opts.jobId ? { jobId: opts.jobId } : {}) };
    Object.assign(record, { format: RUN_FORMAT_VERSION, status: 'running', launcher: opts.launcher, owner, pid: process.pid });
    record.provenance = { ...record.provenance, node: process.version };
    delete record.resumeRequested;
    record.startedAt ??= now;
    record.launchedAt ??= now;
    delete record.endedAt;
    const adopt: Adopted = { trainerVersion: TRAINER_VERSION };
    if (opts.resume) {
      adopt.resumes = (record.resumes ?? 0) + 1;
      delete record.reason;
      delete record.code;
    }
    if (opts.epochs) adopt.config = { ...record.config, epochs: opts.epochs };
    return new RunWriter(dir, record, opts, adopt);
  }

  /** The config this session trains with (a resume's new epoch count included, before the record takes it). */
  get config(): RunConfig {
    return this.pending?.adopt.config ?? this.record.config;
  }

  /** The run's resume count, this session's resume included. */
  get resumes(): number {
    return this.pending?.adopt.resumes ?? this.record.resumes ?? 0;
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private guard<T>(name: string, write: () => T): T {
    try {
      return write();
    } catch (err) {
      throw folderError(this.file(name), err as NodeJS.ErrnoException);
    }
  }

  /**
   * Appends an event and updates run.json; throws RunFolderError when the folder cannot take it.
   * Returns the event as written: a resume's `finished` before it trained carries the run's summary as it was.
   */
  emit(event: TrainerEvent): TrainerEvent {
    if (this.failure) throw this.failure;
    const adopted = !!this.pending && TRAINED.has(event.type);
    if (adopted) this.adoptResume();
    if (this.pending && event.type === 'finished') {
      const summary = this.keepResult();
      if (summary) event = { ...event, summary };
    }
    const line = Buffer.from(JSON.stringify(event) + '\n', 'utf8');
    this.guard(RUN_FILES.events, () => {
      for (let off = 0; off < line.length; ) off += writeSync(this.fd, line, off, line.length - off);
    });
    if (event.type === 'log' || event.type === 'warning' || event.type === 'error') this.log(event);
    let save = applyToRecord(this.record, event);
    if (event.type === 'step') save = this.now() - this.lastSave >= STEP_SAVE_MS;
    if (event.type === 'checkpoint') {
      this.record.checkpoint = { epoch: event.epoch, step: event.step ?? this.record.progress?.step ?? 0, name: path.basename(event.path), partial: event.partial ?? false };
      save = true;
    }
    if (event.type === 'finished') {
      // A rename, tags or note asked for during the last verification must not be lost with the trainer.
      this.readControl();
      this.record.endedAt = new Date(this.now()).toISOString();
      this.setPhase('finished');
    }
    if (event.type === 'epoch' || event.type === 'checkpoint' || event.type === 'finished') this.guard(RUN_FILES.events, () => fsyncSync(this.fd));
    if (save || adopted) this.saveRecord();
    return event;
  }

  /** The resume trains: the record takes its epoch count, fingerprint, trainer version and resume count. */
  private adoptResume(): void {
    Object.assign(this.record, (this.pending as NonNullable<RunWriter['pending']>).adopt);
    this.pending = undefined;
  }

  /**
   * A resume that ends before it trained (its checkpoint does not fit, the data cannot be loaded)
   * leaves the run's result as it was: summary, progress, checkpoint and what the `started` event
   * rewrote come back (the `finished` event carries the returned summary, the one the run had).
   */
  private keepResult(): RunSummary | undefined {
    const { before } = this.pending as NonNullable<RunWriter['pending']>;
    this.pending = undefined;
    for (const k of RESULT_FIELDS) {
      if (before[k] === undefined) delete this.record[k];
      else Object.assign(this.record, { [k]: before[k] });
    }
    return before.summary;
  }

  private log(event: Extract<TrainerEvent, { type: 'log' | 'warning' | 'error' }>): void {
    const level = event.type === 'log' ? event.level : event.type;
    const text = `[${new Date(event.time).toISOString()}] ${level}: ${event.message}\n`;
    this.guard(RUN_FILES.log, () => appendFileSync(this.file(RUN_FILES.log), text, { mode: 0o600 }));
  }

  /** Records what the run trains on (see fingerprint.ts); a resume's, once it trains. */
  setFingerprint(fingerprint: DatasetFingerprint): void {
    if (this.pending) {
      this.pending.adopt.fingerprint = fingerprint;
      return;
    }
    this.record.fingerprint = fingerprint;
    this.saveRecord();
  }

  setPhase(phase: string): void {
    if (phase === this.phase) return;
    this.phase = phase;
    this.heart.setPhase(phase);
  }

  /** True once a stop was asked for through control.json (or the folder became unwritable). */
  stopRequested(): boolean {
    if (this.stop || this.failure) return true;
    const now = this.now();
    if (now - this.lastControl < CONTROL_POLL_MS) return false;
    this.lastControl = now;
    this.readControl();
    return this.stop;
  }

  private readControl(): void {
    let stamp: string;
    try {
      const st = statSync(this.file(RUN_FILES.control));
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return;
    }
    if (stamp === this.controlStamp) return;
    this.controlStamp = stamp;
    const request = readControlFile(this.file(RUN_FILES.control));
    if (!request) return;
    if (request.stop) this.stop = true;
    if (this.annotate(request)) this.saveRecord();
  }

  /** Takes the name, tags, note and pin a request asks for; true when the record changed. */
  private annotate(request: ControlRequest): boolean {
    const change = cleanAnnotations(request);
    const changed = unappliedAnnotations(this.record, change);
    Object.assign(this.record, change);
    return changed.length > 0;
  }

  /** A stop request older than this trainer's launch belongs to an earlier trainer of the run: drop it. */
  private consumeStaleControl(): void {
    const request = readControlFile(this.file(RUN_FILES.control));
    if (!request) return;
    const launched = Date.parse(this.record.launchedAt ?? '') || 0;
    if (Date.parse(request.requestedAt) < launched) {
      rmSync(this.file(RUN_FILES.control), { force: true });
      // What the user asked of the run outlives the trainer it was asked of; a stop does not.
      this.annotate(request);
      return;
    }
    this.readControl();
  }

  private saveRecord(): void {
    this.lastSave = this.now();
    this.guard(RUN_FILES.record, () => writeFileAtomicSync(this.file(RUN_FILES.record), JSON.stringify(this.record, null, 2), 0o600));
  }

  /** The first beat, written at takeover; the heartbeat thread writes the next ones. */
  private beat(): Heartbeat {
    const beat: Heartbeat = { time: this.now(), host: hostname(), pid: process.pid, phase: this.phase };
    this.guard(RUN_FILES.heartbeat, () => writeFileAtomicSync(this.file(RUN_FILES.heartbeat), JSON.stringify(beat), 0o600));
    return beat;
  }

  /**
   * Last resort when training ended with an exception (the disk filled up):
   * says so in run.json if the disk still takes a small file. Never throws.
   */
  failHard(message: string, code: RunRecord['code']): void {
    if (this.pending) this.keepResult();
    Object.assign(this.record, { status: 'failed', reason: message, code, endedAt: new Date(this.now()).toISOString() });
    try {
      this.saveRecord();
    } catch {
      // the caller also prints the message and exits non-zero
    }
  }

  /** Stops the heartbeat and closes the events file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.heart.stop();
    try {
      fsyncSync(this.fd);
    } catch {
      // already reported by the write that failed
    }
    closeSync(this.fd);
  }
}

function folderError(file: string, err: { code?: string; message: string }): RunFolderError {
  const reason = err.code && DISK_CODES.has(err.code) ? 'the disk is full or cannot be written' : 'it cannot be written';
  return new RunFolderError(`Cannot write ${file}: ${reason} (${err.message}). Free space or fix the folder, then resume the run.`);
}

export function readControlFile(file: string): ControlRequest | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as ControlRequest;
    if (typeof value !== 'object' || value === null || typeof value.requestedAt !== 'string') return undefined;
    return value;
  } catch {
    return undefined;
  }
}
