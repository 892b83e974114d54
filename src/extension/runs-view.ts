// The Runs view: run history newest first, updated live from run-manager events.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { runDescription, runTooltip } from '../core/format';
import type { RunManager } from '../core/run-manager';
import { ACTIVE, isAlive, type RunRecord, type RunStatus, type RunStore } from '../core/run-store';
import { untrustedMarkdown } from './tooltip';

const ICONS: Record<RunStatus, [string, string | undefined]> = {
  queued: ['clock', undefined],
  running: ['sync~spin', 'charts.blue'],
  completed: ['pass', 'testing.iconPassed'],
  stopped: ['debug-stop', 'charts.yellow'],
  failed: ['error', 'testing.iconFailed'],
  interrupted: ['warning', 'charts.orange'],
};

export class RunsView implements vscode.TreeDataProvider<RunRecord>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunRecord | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private records: RunRecord[] = [];
  private loaded?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** Active runs owned elsewhere (the CLI, another window). */
  private readonly foreign = new Set<string>();
  private readonly sweeper = setInterval(() => void this.sweep(), 5000);
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly store: RunStore,
    private readonly manager: RunManager,
  ) {
    // Runs written by someone else (the CLI in a terminal, another window) show up too.
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(store.root), '*/run.json'));
    const external = (uri: vscode.Uri) => void this.reread(path.basename(path.dirname(uri.fsPath)));
    this.subscriptions.push(
      this.changed,
      manager.onDidChangeRun((record) => this.upsert(record)),
      watcher,
      watcher.onDidCreate(external),
      watcher.onDidChange(external),
      watcher.onDidDelete((uri) => this.remove(path.basename(path.dirname(uri.fsPath)))),
    );
  }

  /** Re-reads the history from disk. */
  refresh(): Promise<void> {
    this.loaded = this.store.list().then((list) => {
      const live = this.manager.ids();
      this.records = list.map((r) => (live.has(r.id) ? (this.manager.get(r.id) ?? r) : r));
      for (const r of this.records) if (!live.has(r.id)) this.track(r);
      this.changed.fire(undefined);
    });
    return this.loaded;
  }

  /** Reads one run written by someone else (the CLI in a terminal, another window). */
  private async reread(id: string): Promise<void> {
    if (this.manager.ids().has(id)) return; // ours: already live
    const record = await this.store.get(id);
    if (!record) {
      this.foreign.delete(id);
      this.remove(id);
      return;
    }
    this.upsert(record);
    this.track(record);
  }

  private track(record: RunRecord): void {
    if (ACTIVE.has(record.status) && isAlive(record.pid)) this.foreign.add(record.id);
    else this.foreign.delete(record.id);
  }

  /**
   * File watchers can coalesce or drop events: every few seconds, pick up run
   * folders that came or went (one directory read) and re-read active runs owned elsewhere.
   */
  private async sweep(): Promise<void> {
    if (!this.loaded) return;
    const ids = new Set(await this.store.ids());
    const known = new Set(this.records.map((r) => r.id));
    const live = this.manager.ids();
    for (const id of ids) if (!known.has(id) && !live.has(id)) await this.reread(id);
    for (const id of known) if (!ids.has(id) && !live.has(id)) this.remove(id);
    for (const id of [...this.foreign]) await this.reread(id);
  }

  private upsert(record: RunRecord): void {
    const i = this.records.findIndex((r) => r.id === record.id);
    if (i >= 0) this.records[i] = record;
    else this.records.unshift(record);
    // Step events arrive several times a second: coalesce redraws.
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.changed.fire(undefined);
      }, 250);
    }
  }

  remove(id: string): void {
    this.records = this.records.filter((r) => r.id !== id);
    this.changed.fire(undefined);
  }

  all(): RunRecord[] {
    return this.records;
  }

  find(id: string): RunRecord | undefined {
    return this.records.find((r) => r.id === id);
  }

  async getChildren(element?: RunRecord): Promise<RunRecord[]> {
    if (element) return [];
    if (!this.loaded) await this.refresh();
    else await this.loaded;
    return this.records;
  }

  getParent(): undefined {
    return undefined;
  }

  getTreeItem(record: RunRecord): vscode.TreeItem {
    const item = new vscode.TreeItem(record.name, vscode.TreeItemCollapsibleState.None);
    item.id = record.id;
    item.description = runDescription(record);
    const [icon, color] = ICONS[record.status] ?? ['circle-outline', undefined];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = `run.${record.status}`;
    item.tooltip = tooltip(record);
    item.command = { command: 'l2softmax.openDashboard', title: 'Open Dashboard', arguments: [record] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.sweeper);
    this.subscriptions.forEach((d) => d.dispose());
  }
}

/** Everything shown comes from run.json, which anyone can commit: escaped (runTooltip), in an untrusted MarkdownString. */
function tooltip(record: RunRecord): vscode.MarkdownString {
  return untrustedMarkdown(runTooltip(record));
}
