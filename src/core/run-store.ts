// The runs folder as the host sees it: <root>/<id>/ folders in the format of
// src/shared/run.ts. The host creates a run (queued), may write run.json while
// no trainer owns it (queued, ended, or its trainer died), lists and deletes
// runs. Events are read with a RunFollower; a running run's trainer writes.

import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from '../shared/config';
import { ACTIVE_STATUSES, RUN_FILES, RUN_FORMAT_VERSION, type Heartbeat, type Launcher, type Provenance, type RunRecord, type SchedulerJob } from '../shared/run';
import { pathExists, writeFileAtomic } from './atomic-file';
import { effectiveStatus } from './liveness';
import { isHeartbeat, isRunRecord } from './run-follower';

export type { RunProgress, RunRecord, RunStatus } from '../shared/run';

export const ACTIVE = ACTIVE_STATUSES;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isRunId(id: string): boolean {
  return ID_PATTERN.test(id) && !id.includes('..');
}

/** run.json files read at once when listing: 3,000 runs must not exhaust file handles. */
const READ_CONCURRENCY = 32;

export class RunStore {
  constructor(readonly root: string) {}

  /** The folder of run `id`; throws for ids that could address anything outside the runs folder. */
  dir(id: string): string {
    if (typeof id !== 'string' || !ID_PATTERN.test(id) || id.includes('..')) throw new Error(`invalid run id: ${JSON.stringify(id)}`);
    const dir = path.resolve(this.root, id);
    if (path.dirname(dir) !== path.resolve(this.root)) throw new Error(`invalid run id: ${JSON.stringify(id)}`);
    return dir;
  }

  file(id: string, name: (typeof RUN_FILES)[keyof typeof RUN_FILES]): string {
    return path.join(this.dir(id), name);
  }

  newId(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
  }

  /**
   * Creates a run folder: queued for a launcher that starts its trainer later
   * (this machine's queue, "local"; a cluster job, "slurm"), or running at once
   * for one that starts it itself (the CLI).
   * `id` picks the folder name (it may exist already, e.g. the CLI's --out);
   * `job` marks a run its launcher is submitting to a scheduler.
   */
  async create(config: RunConfig, name: string, opts: { now?: Date; id?: string; launcher?: Launcher; job?: SchedulerJob; provenance?: Provenance } = {}): Promise<RunRecord> {
    const now = opts.now ?? new Date();
    const launcher = opts.launcher ?? 'local';
    let id = opts.id;
    if (id === undefined) {
      id = this.newId(now);
      while (await pathExists(this.dir(id))) id = this.newId(now);
    }
    await fs.mkdir(this.dir(id), { recursive: true, mode: 0o700 });
    const record: RunRecord = { format: RUN_FORMAT_VERSION, id, name, status: 'queued', config, createdAt: now.toISOString(), launcher };
    if (opts.job) record.job = opts.job;
    if (opts.provenance) record.provenance = opts.provenance;
    if (launcher === 'cli') Object.assign(record, { status: 'running', startedAt: record.createdAt, launchedAt: record.createdAt });
    await writeFileAtomic(this.file(id, RUN_FILES.config), JSON.stringify(config, null, 2), 0o600);
    await this.save(record);
    return record;
  }

  /** Writes run.json; only for runs no live trainer owns (the trainer writes its own). */
  async save(record: RunRecord): Promise<void> {
    await writeFileAtomic(this.file(record.id, RUN_FILES.record), JSON.stringify(record, null, 2), 0o600);
  }

  /** The record as written. */
  async get(id: string): Promise<RunRecord | undefined> {
    try {
      const record = JSON.parse(await fs.readFile(this.file(id, RUN_FILES.record), 'utf8')) as RunRecord;
      return isRunRecord(record) && record.id === id ? record : undefined;
    } catch {
      return undefined;
    }
  }

  async heartbeat(id: string): Promise<Heartbeat | undefined> {
    try {
      const beat: unknown = JSON.parse(await fs.readFile(this.file(id, RUN_FILES.heartbeat), 'utf8'));
      return isHeartbeat(beat) ? beat : undefined;
    } catch {
      return undefined;
    }
  }

  /** The record as a viewer should see it: a running run whose trainer stopped beating is interrupted. */
  async view(id: string, now = Date.now()): Promise<RunRecord | undefined> {
    const record = await this.get(id);
    if (!record || !ACTIVE_STATUSES.has(record.status)) return record;
    return effectiveStatus(record, await this.heartbeat(id), now, hostname());
  }

  /** Names in the runs folder that can be run ids (cheap: one directory read; `get` tells whether each holds a run). */
  async ids(): Promise<string[]> {
    try {
      return (await fs.readdir(this.root)).filter((n) => ID_PATTERN.test(n));
    } catch {
      return [];
    }
  }

  /** Every readable run as viewers see it, newest first; folders without a valid run.json are skipped. */
  async list(now = Date.now()): Promise<RunRecord[]> {
    const ids = await this.ids();
    const records: (RunRecord | undefined)[] = new Array(ids.length);
    let next = 0;
    const reader = async () => {
      for (let i = next++; i < ids.length; i = next++) records[i] = await this.view(ids[i], now);
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, ids.length) }, reader));
    return records.filter((r): r is RunRecord => !!r).sort(newestFirst);
  }

  async delete(id: string): Promise<void> {
    const record = await this.view(id);
    if (record && ACTIVE_STATUSES.has(record.status)) throw new Error(`run "${record.name}" is ${record.status}; stop it first`);
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }
}

export function newestFirst(a: RunRecord, b: RunRecord): number {
  return b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
}

/** True when `pid` names a live process of this machine; EPERM (someone else's process, maybe a reused pid) is not proof of ours. */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

