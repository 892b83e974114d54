// The sweeps folder: <sweeps>/<id>/sweep.json (src/shared/sweep.ts) beside the
// runs folder. Creating a sweep writes its record first and then one ordinary
// queued run per cell, so a sweep is never left without its record; running
// cells again gives them new runs and keeps the old ones. Free of `vscode`.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import type { RunConfig } from '../shared/config';
import type { Provenance, SchedulerJob } from '../shared/run';
import { SWEEP_FILES, SWEEP_FORMAT_VERSION, type SlurmOptions, type SweepCell, type SweepLauncher, type SweepRecord } from '../shared/sweep';
import { pathExists, writeFileAtomic } from './atomic-file';
import { isRunId, type RunStore } from './run-store';
import { defaultSweepName, expandSweep, runName, seedList, type SweepDefinition } from './sweep';

/** Folder name of the default runs folder; its sweeps live in a sibling folder. */
const DEFAULT_RUNS_NAME = 'runs';

/** Retries of the sweep.json update lock (another window or the CLI updating the same sweep). */
const LOCK_RETRIES = { retries: 40, minTimeout: 25, maxTimeout: 250 };

/**
 * `.l2softmax/runs` keeps its sweeps in `.l2softmax/sweeps`; any other runs
 * folder keeps them inside, in `.sweeps` (never a run id: those start with a
 * letter or digit).
 */
export function sweepsRootFor(runsRoot: string): string {
  const root = path.resolve(runsRoot);
  return path.basename(root) === DEFAULT_RUNS_NAME ? path.join(path.dirname(root), 'sweeps') : path.join(root, '.sweeps');
}

export interface NewSweep extends SweepDefinition {
  launcher: SweepLauncher;
  slurm?: SlurmOptions;
  alphaLow?: number;
  classes?: number;
  /** Recorded in each cell's run (the code's git state, what created it). */
  provenance?: Provenance;
}

export class SweepStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    if (!isRunId(id)) throw new Error(`invalid sweep id: ${JSON.stringify(id)}`);
    return path.join(this.root, id);
  }

  file(id: string, name: (typeof SWEEP_FILES)[keyof typeof SWEEP_FILES] = SWEEP_FILES.record): string {
    return path.join(this.dir(id), name);
  }

  async get(id: string): Promise<SweepRecord | undefined> {
    try {
      const record = JSON.parse(await fs.readFile(this.file(id), 'utf8')) as SweepRecord;
      return isSweepRecord(record) && record.id === id ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every readable sweep, newest first. */
  async list(): Promise<SweepRecord[]> {
    let names: string[];
    try {
      names = (await fs.readdir(this.root)).filter(isRunId);
    } catch {
      return [];
    }
    const records = await Promise.all(names.map((n) => this.get(n)));
    return records.filter((r): r is SweepRecord => !!r).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /** The sweep a run belongs to (as a current or previous cell run). */
  async ofRun(runId: string): Promise<SweepRecord | undefined> {
    return (await this.list()).find((s) => s.cells.some((c) => c.runId === runId));
  }

  async save(record: SweepRecord): Promise<void> {
    await fs.mkdir(this.dir(record.id), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file(record.id), JSON.stringify(record, null, 2), 0o600);
  }

  /** Read-modify-write of sweep.json under a lock, for changes from several windows. */
  async update(id: string, change: (record: SweepRecord) => void): Promise<SweepRecord> {
    const release = await lockfile.lock(this.dir(id), { lockfilePath: path.join(this.dir(id), '.lock'), retries: LOCK_RETRIES, realpath: false });
    try {
      const record = await this.get(id);
      if (!record) throw new Error(`sweep ${id} no longer exists`);
      change(record);
      await this.save(record);
      return record;
    } finally {
      await release();
    }
  }

  newId(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `sweep-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
  }

  /**
   * Expands the definition (throws with the reason when a cell's config is
   * bad), writes sweep.json, then creates each cell's run, queued for its
   * launcher, oldest first in cell order so queues start them in that order.
   */
  async create(def: NewSweep, runs: RunStore, now = new Date()): Promise<SweepRecord> {
    const expanded = expandSweep(def);
    let id = this.newId(now);
    while (await pathExists(this.dir(id))) id = this.newId(now);
    const cells: SweepCell[] = expanded.map((c, index) => ({ index, variant: c.variant, values: c.values, seed: c.seed, runId: cellRunId(id, index) }));
    const record: SweepRecord = {
      format: SWEEP_FORMAT_VERSION,
      id,
      name: def.name?.trim() || defaultSweepName(def),
      createdAt: now.toISOString(),
      launcher: def.launcher,
      base: def.base,
      axes: def.axes,
      withSoftmax: def.withSoftmax,
      withLearned: def.withLearned,
      seeds: seedList(def.base, def.seeds),
      cells,
    };
    if (def.alphaLow !== undefined) record.alphaLow = def.alphaLow;
    if (def.classes !== undefined) record.classes = def.classes;
    if (def.slurm) record.slurm = def.slurm;
    await this.save(record);
    for (const cell of cells) {
      await runs.create(expanded[cell.index].config, runName(record, cell), { id: cell.runId, now: new Date(now.getTime() + cell.index), launcher: def.launcher, job: submitting(def.launcher, now), provenance: def.provenance });
    }
    return record;
  }

  /**
   * Gives cells new runs (same config, fresh start), keeping their previous
   * runs as ordinary runs; returns the sweep with the new run ids.
   */
  async rerun(id: string, indexes: number[], runs: RunStore, now = new Date(), provenance?: Provenance): Promise<SweepRecord> {
    const before = await this.get(id);
    const configs = new Map<number, RunConfig>();
    for (const index of indexes) {
      const old = before?.cells[index] && (await runs.get(before.cells[index].runId));
      if (old) configs.set(index, old.config);
    }
    const record = await this.update(id, (sweep) => {
      delete sweep.stoppedAt;
      for (const index of indexes) {
        const cell = sweep.cells[index];
        if (!cell) continue;
        const attempt = (cell.previousRunIds?.length ?? 0) + 1;
        cell.previousRunIds = [...(cell.previousRunIds ?? []), cell.runId];
        cell.runId = `${cellRunId(id, index)}-r${attempt}`;
      }
    });
    const expanded = expandSweep({ base: record.base, axes: record.axes, withSoftmax: record.withSoftmax, withLearned: record.withLearned, seeds: record.seeds.length });
    for (const index of indexes) {
      const cell = record.cells[index];
      if (!cell) continue;
      // The cell's config as it was created (a later edit of the settings does not change a sweep).
      const config = configs.get(index) ?? expanded[index].config;
      await runs.create(config, runName(record, cell), { id: cell.runId, now: new Date(now.getTime() + index), launcher: record.launcher, job: submitting(record.launcher, now), provenance });
    }
    return record;
  }

  /** Marks a sweep stopped: its cells are not submitted again until a re-run. */
  async markStopped(id: string): Promise<SweepRecord> {
    return this.update(id, (s) => (s.stoppedAt = new Date().toISOString()));
  }

  async delete(id: string): Promise<void> {
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }
}

/**
 * Cells for a scheduler are created "being submitted": the caller submits them
 * and reports sbatch's answer, and no queue holder submits them meanwhile.
 */
function submitting(launcher: SweepLauncher, now: Date): SchedulerJob | undefined {
  return launcher === 'slurm' ? { jobId: '', submittedAt: now.toISOString() } : undefined;
}

function cellRunId(sweepId: string, index: number): string {
  return `${sweepId}-c${String(index).padStart(3, '0')}`;
}

function isSweepRecord(value: unknown): value is SweepRecord {
  const r = value as SweepRecord;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.name === 'string' && typeof r.createdAt === 'string' && Array.isArray(r.cells) && Array.isArray(r.axes) && typeof r.base === 'object' && r.base !== null;
}

