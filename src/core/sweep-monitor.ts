// Every sweep of a sweeps folder as viewers see it: sweep.json polled (other
// windows, the CLI and re-runs change it) and each sweep's cells as the
// RunMonitor shows their runs. Fires with a sweep's id whenever its record or
// one of its runs changed. Free of `vscode`.

import { promises as fs } from 'node:fs';
import type { SweepRecord, SweepSnapshot } from '../shared/sweep';
import { Emitter, type Disposable } from './emitter';
import { statStamp, type RunMonitor } from './run-monitor';
import { isRunId } from './run-store';
import { sweepSnapshot } from './sweep';
import type { SweepStore } from './sweep-store';

/** New, removed or changed sweep records show up within this. */
const POLL_MS = 3000;

export class SweepMonitor implements Disposable {
  private readonly sweeps = new Map<string, { record: SweepRecord; stamp: string }>();
  /** Which sweep each current cell run belongs to. */
  private readonly byRun = new Map<string, string>();
  private readonly changed = new Emitter<string>();
  private readonly removed = new Emitter<string>();
  readonly onDidChange = this.changed.event;
  readonly onDidRemove = this.removed.event;
  private readonly timer: NodeJS.Timeout;
  private readonly subscriptions: Disposable[];
  private loaded: Promise<void> | undefined;
  private polling = false;

  constructor(
    readonly store: SweepStore,
    readonly runs: RunMonitor,
    opts: { pollMs?: number } = {},
  ) {
    this.timer = setInterval(() => void this.poll(), opts.pollMs ?? POLL_MS);
    this.subscriptions = [
      runs.onDidChange((r) => this.runChanged(r.id)),
      runs.onDidRemove((id) => this.runChanged(id)),
    ];
  }

  ready(): Promise<void> {
    this.loaded ??= this.read();
    return this.loaded;
  }

  /** Sweeps newest first. */
  list(): SweepRecord[] {
    return [...this.sweeps.values()].map((s) => s.record).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  get(id: string): SweepRecord | undefined {
    return this.sweeps.get(id)?.record;
  }

  /** The sweep a run is a current cell of. */
  sweepOf(runId: string): string | undefined {
    return this.byRun.get(runId);
  }

  snapshot(id: string): SweepSnapshot | undefined {
    const record = this.get(id);
    return record && sweepSnapshot(record, (runId) => this.runs.get(runId));
  }

  /** Re-reads the folder now (after this window changed a sweep). */
  async refresh(): Promise<void> {
    await this.read();
  }

  private runChanged(runId: string): void {
    const sweepId = this.byRun.get(runId);
    if (sweepId) this.changed.fire(sweepId);
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.loaded) return;
    this.polling = true;
    try {
      await this.read();
    } catch {
      // the next poll tries again
    } finally {
      this.polling = false;
    }
  }

  private async read(): Promise<void> {
    const ids = await this.ids();
    for (const id of [...this.sweeps.keys()]) {
      if (ids.includes(id)) continue;
      this.forget(id);
      this.removed.fire(id);
    }
    for (const id of ids) {
      const stamp = await statStamp(this.store.file(id));
      const known = this.sweeps.get(id);
      if (!stamp || known?.stamp === stamp) continue;
      const record = await this.store.get(id);
      if (!record) continue;
      this.forget(id);
      this.sweeps.set(id, { record, stamp });
      for (const cell of record.cells) this.byRun.set(cell.runId, id);
      this.changed.fire(id);
    }
  }

  private forget(id: string): void {
    const known = this.sweeps.get(id);
    for (const cell of known?.record.cells ?? []) if (this.byRun.get(cell.runId) === id) this.byRun.delete(cell.runId);
    this.sweeps.delete(id);
  }

  private async ids(): Promise<string[]> {
    try {
      return (await fs.readdir(this.store.root)).filter(isRunId);
    } catch {
      return [];
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    this.subscriptions.forEach((d) => d.dispose());
    this.changed.dispose();
    this.removed.dispose();
  }
}
