// The run folder contract: what a trainer writes and every watcher reads.
//   <runs>/<id>/run.json        RunRecord, replaced atomically (temp file, fsync, rename)
//   <runs>/<id>/config.json     the config snapshot the run was created with
//   <runs>/<id>/events.jsonl    TrainerEvent lines, append-only
//   <runs>/<id>/heartbeat.json  Heartbeat, replaced atomically at least every HEARTBEAT_MS
//   <runs>/<id>/control.json    ControlRequest, written by whoever wants the trainer to stop
//   <runs>/<id>/trainer.log     the trainer's stdout and stderr
//   <runs>/<id>/checkpoints/epoch-NNN/  complete checkpoints only (written new-then-rename)
// docs/run-format.md documents it for trainers written in other languages.

import type { RunConfig } from './config';
import type { BackendInfo, DatasetStats, ErrorCode, RunSummary } from './events';

/** Bumped when a reader of the previous version would misread a folder. */
export const RUN_FORMAT_VERSION = 2;

export const RUN_FILES = {
  record: 'run.json',
  config: 'config.json',
  events: 'events.jsonl',
  heartbeat: 'heartbeat.json',
  control: 'control.json',
  log: 'trainer.log',
  checkpoints: 'checkpoints',
} as const;

export type RunStatus = 'queued' | 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'completed', 'stopped', 'failed', 'interrupted'];

/** Statuses in which a run still has (or waits for) a trainer. */
export const ACTIVE_STATUSES: ReadonlySet<RunStatus> = new Set(['queued', 'running']);

/** How often a live trainer refreshes heartbeat.json. */
export const HEARTBEAT_MS = 5000;

/** A running run whose heartbeat is older than this is interrupted (three missed beats, with slack for slow disks). */
export const HEARTBEAT_STALE_MS = 30000;

export type RunCode = ErrorCode | 'spawn' | 'exit' | 'interrupted' | 'disk';

export interface RunProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number | null;
  imagesPerSec: number | null;
  /** Seconds left as the trainer estimated them at its last step event (verifications included). */
  eta?: number;
}

/** Who starts a run's trainer: this machine's queue (the extension), the CLI in a terminal, or a cluster scheduler. */
export type Launcher = 'local' | 'cli' | 'slurm';

/** Who trains a run: the process that owns (writes) its folder. */
export interface RunOwner {
  host: string;
  pid: number;
  /** Scheduler job id when a cluster runs it. */
  jobId?: string;
}

/** The cluster job that runs (or will run) a run, as its launcher submitted it. */
export interface SchedulerJob {
  /** As the scheduler names it: "1234" or, for an array task, "1234_5"; empty while its launcher is submitting it. */
  jobId: string;
  submittedAt: string;
  /** The trainer was asked to continue from the run's checkpoint. */
  resume?: boolean;
  /** The scheduler's last known state and why, e.g. "TIMEOUT", "PENDING (Priority)". */
  state?: string;
}

export interface CheckpointRef {
  epoch: number;
  /** Global step the checkpoint was taken after. */
  step: number;
  /** Folder name under checkpoints/. */
  name: string;
  /** True for a checkpoint taken mid-epoch (a stop); resuming continues that epoch. */
  partial: boolean;
}

export interface RunRecord {
  /** RUN_FORMAT_VERSION of the writer; absent in folders written before version 2. */
  format?: number;
  id: string;
  name: string;
  status: RunStatus;
  config: RunConfig;
  createdAt: string;
  launcher?: Launcher;
  /** A queued run that continues from its checkpoint when the queue starts it. */
  resumeRequested?: boolean;
  startedAt?: string;
  /** When the current trainer was launched (a resume launches again); older stop requests are ignored. */
  launchedAt?: string;
  endedAt?: string;
  owner?: RunOwner;
  /** Launcher "slurm": the job submitted for the current (or next) trainer; a resume needs a new one. */
  job?: SchedulerJob;
  /** Trainer process id while running (kept for folders of format 1). */
  pid?: number;
  backend?: BackendInfo;
  dataset?: DatasetStats;
  alphaLow?: number;
  progress?: RunProgress;
  summary?: RunSummary;
  /** The newest complete checkpoint, the one Resume continues from. */
  checkpoint?: CheckpointRef;
  /** How many times the run was resumed. */
  resumes?: number;
  /** Version of the trainer that wrote the run (package version). */
  trainerVersion?: string;
  /** What it trained and verified on, when it started; a resume compares. */
  fingerprint?: DatasetFingerprint;
  /** Why a run failed, stopped or was interrupted, in words a user can act on. */
  reason?: string;
  code?: RunCode;
  /** The user's labels for the run (the Runs view filters and groups by them). */
  tags?: string[];
  /** The user's free-text note about the run. */
  note?: string;
  /** Listed first in the Runs view. */
  pinned?: boolean;
  /** Where the run came from: the code's git state and who created it (at creation), the trainer's Node.js (at takeover). */
  provenance?: Provenance;
}

/** The workspace's git state when a run was created. */
export interface GitState {
  commit: string;
  /** Uncommitted changes outside the runs folder (tracked or not). */
  dirty: boolean;
  branch?: string;
}

export interface Provenance {
  /** Absent when the workspace is not in a git repository (or git could not say). */
  git?: GitState;
  /** What created the run, e.g. "L2-Softmax Lab 0.1.0 (extension)" or "... (CLI)". */
  createdBy?: string;
  /** The trainer's Node.js version, e.g. "v20.20.2" (the latest trainer's, after a resume). */
  node?: string;
}

/** The facts a run's provenance is compared by, in display order: label and value (missing ones left out). */
export function provenanceFacts(record: Pick<RunRecord, 'provenance' | 'trainerVersion' | 'fingerprint' | 'backend'>): [string, string][] {
  const p = record.provenance ?? {};
  const fp = record.fingerprint;
  const facts: [string, string | undefined][] = [
    ['git commit', p.git ? `${p.git.commit.slice(0, 12)}${p.git.dirty ? ' (dirty)' : ''}${p.git.branch ? ` on ${p.git.branch}` : ''}` : undefined],
    ['dataset', fp ? `${fp.files ? `${fp.files.toLocaleString('en-US')} files, ${(fp.bytes / 1e6).toFixed(1)} MB, ` : ''}listing ${fp.hash}` : undefined],
    ['pairs file', fp?.pairs],
    ['created by', p.createdBy],
    ['trainer', record.trainerVersion],
    ['Node.js', p.node],
    ['backend', record.backend?.description],
  ];
  return facts.filter((f): f is [string, string] => typeof f[1] === 'string' && f[1] !== '');
}

/** What a user may change about a run at any time (through control.json while a trainer owns it). */
export type RunAnnotations = Partial<Pick<RunRecord, 'name' | 'tags' | 'note' | 'pinned'>>;

/** Longest name, tag and note kept: a run.json stays small, whatever is pasted in. */
export const ANNOTATION_LIMITS = { name: 200, tag: 40, tags: 20, note: 2000 } as const;

/** Annotations cut to their limits, tags trimmed, deduplicated and without empty ones; undefined fields left out. */
export function cleanAnnotations(change: RunAnnotations): RunAnnotations {
  const out: RunAnnotations = {};
  if (typeof change.name === 'string' && change.name.trim()) out.name = change.name.trim().slice(0, ANNOTATION_LIMITS.name);
  if (Array.isArray(change.tags)) {
    const tags = change.tags.filter((t): t is string => typeof t === 'string').map((t) => t.trim().replace(/\s+/g, '-').slice(0, ANNOTATION_LIMITS.tag)).filter(Boolean);
    out.tags = [...new Set(tags)].slice(0, ANNOTATION_LIMITS.tags);
  }
  if (typeof change.note === 'string') out.note = change.note.slice(0, ANNOTATION_LIMITS.note);
  if (typeof change.pinned === 'boolean') out.pinned = change.pinned;
  return out;
}

/** The annotations of `change` that `record` does not carry yet. */
export function unappliedAnnotations(record: RunAnnotations, change: RunAnnotations): (keyof RunAnnotations)[] {
  return (Object.keys(change) as (keyof RunAnnotations)[]).filter((k) => JSON.stringify(change[k]) !== JSON.stringify(record[k]));
}

export interface DatasetFingerprint {
  /** Files in the dataset folder (0 for the synthetic set). */
  files: number;
  bytes: number;
  /** Hash of the listing (names, sizes, modification times) or of the synthetic settings. */
  hash: string;
  /** Hash of the pairs file's content. */
  pairs?: string;
}

/** What a trainer is doing, as its heartbeat says. */
export type TrainerPhase = 'loading' | 'rendering' | 'decoding' | 'training' | 'verifying' | 'checkpointing' | 'finished';

/** Each phase in words, for the dashboard's header. */
export const PHASE_TEXT: Readonly<Record<TrainerPhase, string>> = {
  loading: 'loading the backend and the data',
  rendering: 'rendering the synthetic faces (kept on disk for the next run)',
  decoding: 'decoding images into the cache',
  training: 'training',
  verifying: 'verifying on the 10 folds',
  checkpointing: 'writing a checkpoint',
  finished: 'finished, releasing the backend',
};

export interface Heartbeat {
  /** Milliseconds since the epoch. */
  time: number;
  host: string;
  pid: number;
  /** What the trainer is doing: a TrainerPhase (readers show an unknown one as it is). */
  phase?: string;
}

/** Written to control.json to ask the trainer (on any machine sharing the folder) to stop its run or change its annotations. */
export interface ControlRequest {
  stop?: boolean;
  /** A new name for the run: only the trainer writes run.json while it runs. */
  name?: string;
  /** New tags, note or pin (each replaces the one the run has). */
  tags?: string[];
  note?: string;
  pinned?: boolean;
  requestedAt: string;
  /** Who asked, for the log: "window on host x", "cli". */
  by?: string;
}
