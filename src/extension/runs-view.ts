// The Runs view: every run of the runs folder newest first, as the RunMonitor
// sees it (runs of this window, other windows, the CLI and cluster jobs alike).

import * as vscode from 'vscode';
import { runDescription, runTooltip } from '../core/format';
import type { RunMonitor } from '../core/run-monitor';
import type { RunRecord, RunStatus } from '../core/run-store';
import { untrustedMarkdown } from './tooltip';

const ICONS: Record<RunStatus, [string, string | undefined]> = {
  queued: ['clock', undefined],
  running: ['sync~spin', 'charts.blue'],
  completed: ['pass', 'testing.iconPassed'],
  stopped: ['debug-stop', 'charts.yellow'],
  failed: ['error', 'testing.iconFailed'],
  interrupted: ['warning', 'charts.orange'],
};

/** Step events change live runs several times a second: redraws are coalesced to this. */
const REDRAW_MS = 250;

export class RunsView implements vscode.TreeDataProvider<RunRecord>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunRecord | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private timer?: NodeJS.Timeout;
  private readonly subscriptions: { dispose(): void }[] = [];

  constructor(private readonly monitor: RunMonitor) {
    this.subscriptions.push(
      this.changed,
      monitor.onDidChange(() => this.redraw()),
      monitor.onDidRemove(() => this.redraw()),
    );
  }

  private redraw(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed.fire(undefined);
    }, REDRAW_MS);
  }

  /** Redraws now (after a command changed a run). */
  refresh(): void {
    this.changed.fire(undefined);
  }

  all(): RunRecord[] {
    return this.monitor.records();
  }

  find(id: string): RunRecord | undefined {
    return this.monitor.get(id);
  }

  async getChildren(element?: RunRecord): Promise<RunRecord[]> {
    if (element) return [];
    await this.monitor.ready();
    return this.monitor.records();
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
    this.subscriptions.forEach((d) => d.dispose());
  }
}

/** Everything shown comes from run.json, which anyone can commit: escaped (runTooltip), in an untrusted MarkdownString. */
function tooltip(record: RunRecord): vscode.MarkdownString {
  return untrustedMarkdown(runTooltip(record));
}
