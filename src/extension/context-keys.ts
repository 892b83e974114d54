// Context keys the menus' `when` clauses read: how many runs and sweeps there
// are and whether any is active, so the palette offers Stop only while something
// runs and Compare only when there is something to compare.

import * as vscode from 'vscode';
import type { RunMonitor } from '../core/run-monitor';
import { ACTIVE_STATUSES } from '../shared/run';
import type { SweepMonitor } from '../core/sweep-monitor';

/** Runs change several times a second while training: the keys are set at most this often. */
const UPDATE_MS = 500;

export class ContextKeys implements vscode.Disposable {
  private readonly subscriptions: { dispose(): void }[];
  private readonly last = new Map<string, unknown>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly runs: RunMonitor,
    private readonly sweeps: SweepMonitor,
  ) {
    const later = () => this.schedule();
    this.subscriptions = [runs.onDidChange(later), runs.onDidRemove(later), sweeps.onDidChange(later), sweeps.onDidRemove(later)];
    this.update();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, UPDATE_MS);
  }

  private update(): void {
    const records = this.runs.records();
    const sweeps = this.sweeps.list();
    this.set('l2softmax.runCount', records.length);
    this.set('l2softmax.activeRuns', records.some((r) => ACTIVE_STATUSES.has(r.status)));
    this.set('l2softmax.sweepCount', sweeps.length);
    this.set('l2softmax.activeSweeps', sweeps.some((s) => {
      const snap = this.sweeps.snapshot(s.id);
      return !!(snap?.counts.running || snap?.counts.queued);
    }));
  }

  private set(key: string, value: unknown): void {
    if (this.last.get(key) === value) return;
    this.last.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.subscriptions.forEach((d) => d.dispose());
  }
}
