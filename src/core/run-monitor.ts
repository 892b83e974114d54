// Every run of a runs folder as viewers see it, kept current by polling the
// folder (file watchers coalesce and drop events, and miss other machines'
// writes on network filesystems): active runs' run.json and heartbeat every
// ACTIVE_POLL_MS, the folder list and the others' run.json every SWEEP_MS.
// Runs this window started, runs of other windows, CLI runs and cluster jobs
// all arrive the same way. Free of `vscode`.

import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { ACTIVE_STATUSES, RUN_FILES, cleanAnnotations, type ControlRequest, type RunAnnotations, type RunRecord } from '../shared/run';
import { Emitter, type Disposable } from './emitter';
import { effectiveStatus } from './liveness';
import { newestFirst, type RunStore } from './run-store';
import { readControlFile } from './run-writer';

/** Live runs show progress at this rate. */
const ACTIVE_POLL_MS = 1000;
/** New, removed, renamed or resumed runs show up within this. */
const SWEEP_MS = 4000;
/** Files stat-ed at once in a sweep. */
const STAT_CONCURRENCY = 32;

interface Entry {
  /** As written. */
  raw: RunRecord;
  /** As shown: a stale running run is interrupted; one its trainer has not renamed yet shows the name asked for. */
  shown: RunRecord;
  stamp: string;
  beatStamp: string;
  beat?: Awaited<ReturnType<RunStore['heartbeat']>>;
  controlStamp: string;
  control?: ControlRequest;
}

export interface MonitorOptions {
  activePollMs?: number;
  sweepMs?: number;
  now?: () => number;
}

export class RunMonitor implements Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new Emitter<RunRecord>();
  private readonly removed = new Emitter<string>();
  /** Fires with a run's record whenever what viewers see of it changes. */
  readonly onDidChange = this.changed.event;
  readonly onDidRemove = this.removed.event;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private readonly host = hostname();
  private loaded: Promise<void> | undefined;
  private busy = { active: false, sweep: false };

  constructor(
    readonly store: RunStore,
    opts: MonitorOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.timers.push(
      setInterval(() => void this.guarded('active', () => this.pollActive()), opts.activePollMs ?? ACTIVE_POLL_MS),
      setInterval(() => void this.guarded('sweep', () => this.sweep()), opts.sweepMs ?? SWEEP_MS),
    );
  }

  /** Resolves once the folder has been read at least once. */
  ready(): Promise<void> {
    this.loaded ??= this.sweep();
    return this.loaded;
  }

  /** Runs newest first, as shown. */
  records(): RunRecord[] {
    return [...this.entries.values()].map((e) => e.shown).sort(newestFirst);
  }

  get(id: string): RunRecord | undefined {
    return this.entries.get(id)?.shown;
  }

  /** What the trainer of a live run is doing, from its heartbeat ("loading", "rendering", "training", ...). */
  phase(id: string): string | undefined {
    const entry = this.entries.get(id);
    if (!entry || entry.shown.status !== 'running' || !entry.beat) return undefined;
    // A beat older than the launch is the previous trainer's (a resume).
    return entry.beat.time >= (Date.parse(entry.shown.launchedAt ?? '') || 0) ? entry.beat.phase : undefined;
  }

  /** Re-reads one run now (after this window changed it). */
  async poke(id: string): Promise<RunRecord | undefined> {
    await this.read(id, true);
    return this.get(id);
  }

  private async guarded(kind: 'active' | 'sweep', f: () => Promise<void>): Promise<void> {
    if (this.busy[kind] || !this.loaded) return;
    this.busy[kind] = true;
    try {
      await f();
    } catch {
      // the next tick tries again
    } finally {
      this.busy[kind] = false;
    }
  }

  private async pollActive(): Promise<void> {
    const ids = [...this.entries.values()].filter((e) => ACTIVE_STATUSES.has(e.raw.status)).map((e) => e.raw.id);
    for (const id of ids) await this.read(id, false);
  }

  private async sweep(): Promise<void> {
    const ids = await this.store.ids();
    const present = new Set(ids);
    for (const id of [...this.entries.keys()]) {
      if (!present.has(id)) {
        this.entries.delete(id);
        this.removed.fire(id);
      }
    }
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < ids.length; i = next++) await this.read(ids[i], false);
    };
    await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, ids.length) }, worker));
  }

  /** Reads a run's files when they changed (one stat each otherwise) and fires when what is shown changed. */
  private async read(id: string, force: boolean): Promise<void> {
    const entry = this.entries.get(id);
    const stamp = await statStamp(this.store.file(id, RUN_FILES.record));
    if (!stamp) {
      if (entry && force) {
        this.entries.delete(id);
        this.removed.fire(id);
      }
      return;
    }
    let raw = entry?.raw;
    if (force || !entry || entry.stamp !== stamp) raw = await this.store.get(id);
    if (!raw) return;
    let beat = entry?.beat;
    let beatStamp = entry?.beatStamp ?? '';
    let control = entry?.control;
    let controlStamp = entry?.controlStamp ?? '';
    if (ACTIVE_STATUSES.has(raw.status)) {
      beatStamp = (await statStamp(this.store.file(id, RUN_FILES.heartbeat))) ?? '';
      if (force || beatStamp !== entry?.beatStamp) beat = await this.store.heartbeat(id);
      controlStamp = (await statStamp(this.store.file(id, RUN_FILES.control))) ?? '';
      if (force || controlStamp !== entry?.controlStamp) control = controlStamp ? readControlFile(this.store.file(id, RUN_FILES.control)) : undefined;
    }
    const shown = ACTIVE_STATUSES.has(raw.status) ? withRequests(effectiveStatus(raw, beat, this.now(), this.host), control) : raw;
    this.entries.set(id, { raw, shown, stamp, beat, beatStamp, control, controlStamp });
    if (!entry || JSON.stringify(entry.shown) !== JSON.stringify(shown) || entry.beat?.phase !== beat?.phase) this.changed.fire(shown);
  }

  dispose(): void {
    this.timers.forEach(clearInterval);
    this.changed.dispose();
    this.removed.dispose();
  }
}

/**
 * A live run shows the name, tags and note asked for in control.json at once:
 * its trainer applies them to run.json only between steps (not while it loads
 * or verifies). Requests older than the trainer's launch are stale.
 */
function withRequests(record: RunRecord, control: ControlRequest | undefined): RunRecord {
  if (!control || record.status !== 'running' || Date.parse(control.requestedAt) < (Date.parse(record.launchedAt ?? '') || 0)) return record;
  const change = cleanAnnotations(control);
  const differs = (Object.keys(change) as (keyof RunAnnotations)[]).some((k) => JSON.stringify(change[k]) !== JSON.stringify(record[k]));
  return differs ? { ...record, ...change } : record;
}

/** A file's identity and version (mtime, size, inode), or undefined when it is missing. */
export async function statStamp(file: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return undefined;
  }
}
