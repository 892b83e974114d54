// The Runs view: every run of the runs folder newest first, as the RunMonitor
// sees it (runs of this window, other windows, the CLI and cluster jobs alike).

import * as vscode from 'vscode';
import { configRows, pct, runDescription, tarAt } from '../core/format';
import type { RunMonitor } from '../core/run-monitor';
import type { RunRecord, RunStatus } from '../core/run-store';

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

function tooltip(record: RunRecord): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escape(record.name)}** — ${record.status}\n\n`);
  if (record.reason) md.appendMarkdown(`${escape(record.reason)}\n\n`);
  const s = record.summary;
  if (s?.final) {
    md.appendMarkdown(
      `Best 10-fold accuracy ${pct(s.bestAccuracy)} (epoch ${s.bestEpoch}); latest AUC ${s.final.auc.toFixed(4)}, EER ${pct(s.final.eer)}, ` +
        `TAR@FAR=1e-3 ${pct(tarAt(record, 1e-3))}\n\n`,
    );
  }
  if (record.backend) md.appendMarkdown(`Backend: ${escape(record.backend.description)}\n\n`);
  md.appendMarkdown(`Started ${new Date(record.startedAt ?? record.createdAt).toLocaleString()}\n\n`);
  md.appendMarkdown('| setting | value |\n|---|---|\n');
  for (const [k, v] of configRows(record.config)) md.appendMarkdown(`| ${k} | ${escape(v)} |\n`);
  return md;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
