// The Sweeps view (each sweep with its status counts, expandable to its cells'
// runs) and the sweep dashboards (one webview panel per sweep, restored after a
// window reload, sent the whole sweep again whenever one of its cells changes).

import * as vscode from 'vscode';
import { markdown } from '../core/markdown';
import { cellLabel, sweepCsv } from '../core/sweep';
import type { SweepMonitor } from '../core/sweep-monitor';
import { isSweepPanelState, parseWebviewMessage, type HostMessage, type SweepPanelState, type WebviewMessage } from '../shared/dashboard';
import type { SweepRecord, SweepSnapshot } from '../shared/sweep';
import { html, type Dashboards } from './dashboard';
import { dataUrlBytes, fileSafe, saveExport } from './export-file';
import type { RunsView } from './runs-view';
import { untrustedMarkdown } from './tooltip';

const VIEW_TYPE = 'l2softmax.sweep';

/** Live runs change several times a second; views and panels redraw at most this often. */
const REDRAW_MS = 300;

/** The order status counts are listed in. */
const COUNT_ORDER = ['completed', 'running', 'queued', 'failed', 'interrupted', 'stopped', 'missing'] as const;

export type SweepNode = { kind: 'sweep'; sweepId: string } | { kind: 'cell'; sweepId: string; index: number };

export function countsText(snap: SweepSnapshot): string {
  const done = snap.counts.completed ?? 0;
  const rest = COUNT_ORDER.filter((s) => s !== 'completed' && snap.counts[s]).map((s) => `${snap.counts[s]} ${s}`);
  return [`${done}/${snap.cells.length} done`, ...rest].join(' · ');
}

function isActive(snap: SweepSnapshot): boolean {
  return !!(snap.counts.running || snap.counts.queued);
}

function hasFailures(snap: SweepSnapshot): boolean {
  return !!(snap.counts.failed || snap.counts.interrupted || snap.counts.stopped || snap.counts.missing);
}

export class SweepsView implements vscode.TreeDataProvider<SweepNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SweepNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private timer?: NodeJS.Timeout;
  private readonly subscriptions: { dispose(): void }[];

  constructor(
    private readonly monitor: SweepMonitor,
    private readonly runs: RunsView,
  ) {
    this.subscriptions = [this.changed, monitor.onDidChange(() => this.redraw()), monitor.onDidRemove(() => this.redraw())];
  }

  private redraw(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed.fire(undefined);
    }, REDRAW_MS);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(element?: SweepNode): Promise<SweepNode[]> {
    await this.monitor.ready();
    if (!element) return this.monitor.list().map((s) => ({ kind: 'sweep', sweepId: s.id }));
    if (element.kind === 'cell') return [];
    return (this.monitor.get(element.sweepId)?.cells ?? []).map((c) => ({ kind: 'cell', sweepId: element.sweepId, index: c.index }));
  }

  getParent(element: SweepNode): SweepNode | undefined {
    return element.kind === 'cell' ? { kind: 'sweep', sweepId: element.sweepId } : undefined;
  }

  getTreeItem(node: SweepNode): vscode.TreeItem {
    const snap = this.monitor.snapshot(node.sweepId);
    if (!snap) return new vscode.TreeItem('(sweep removed)');
    return node.kind === 'sweep' ? this.sweepItem(snap) : this.cellItem(snap, node.index);
  }

  private sweepItem(snap: SweepSnapshot): vscode.TreeItem {
    const s = snap.sweep;
    const item = new vscode.TreeItem(s.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `sweep:${s.id}`;
    item.description = `${countsText(snap)}${s.launcher === 'slurm' ? ' · Slurm' : ''}`;
    const active = isActive(snap);
    item.iconPath = new vscode.ThemeIcon(active ? 'sync~spin' : hasFailures(snap) ? 'warning' : 'pass', new vscode.ThemeColor(active ? 'charts.blue' : hasFailures(snap) ? 'charts.orange' : 'testing.iconPassed'));
    item.contextValue = `sweep.${active ? 'active' : 'done'}${hasFailures(snap) ? '.failed' : ''}`;
    item.tooltip = sweepTooltip(s, snap);
    item.command = { command: 'l2softmax.openSweep', title: vscode.l10n.t('Open Sweep Dashboard'), arguments: [s.id] };
    return item;
  }

  private cellItem(snap: SweepSnapshot, index: number): vscode.TreeItem {
    const cell = snap.cells[index];
    const record = this.runs.find(cell.runId);
    const label = `${cellLabel(cell)} · seed ${cell.seed}`;
    if (!record) {
      const item = new vscode.TreeItem(label);
      item.id = `sweep:${snap.sweep.id}:${index}`;
      item.description = 'run missing';
      item.iconPath = new vscode.ThemeIcon('circle-slash');
      return item;
    }
    const item = this.runs.getTreeItem(record);
    item.label = label;
    item.id = `sweep:${snap.sweep.id}:${index}`;
    return item;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.subscriptions.forEach((d) => d.dispose());
  }
}

/** Everything shown comes from sweep.json, which anyone can commit: escaped, in an untrusted MarkdownString. */
function sweepTooltip(s: SweepRecord, snap: SweepSnapshot): vscode.MarkdownString {
  const lines = [markdown`**${s.name}**`, markdown`${countsText(snap)}`];
  const items = s.axes.map((a) => markdown`- ${a.field}: ${a.values.join(', ')}`);
  if (s.withSoftmax) items.push('- plain softmax');
  if (s.withLearned) items.push('- learned alpha');
  items.push(markdown`- seeds: ${s.seeds.join(', ')}`);
  lines.push(items.join('\n'));
  if (s.alphaLow !== undefined) lines.push(markdown`alpha_low = ${Number(s.alphaLow).toFixed(2)} for C = ${s.classes} classes`);
  const jobs = s.submissions?.length ? markdown`, job arrays ${s.submissions.map((j) => j.jobId).join(', ')}` : '';
  lines.push(s.launcher === 'slurm' ? `Slurm${jobs}` : "This machine's queue");
  return untrustedMarkdown(lines.join('\n\n'));
}

/** One notification when a sweep this window saw active has no cell queued or running any more. */
export function notifySweepEnds(monitor: SweepMonitor, dashboards: SweepDashboards): vscode.Disposable {
  const wasActive = new Map<string, boolean>();
  const sub = monitor.onDidChange((id) => {
    const snap = monitor.snapshot(id);
    if (!snap) return;
    const now = isActive(snap);
    const before = wasActive.get(id);
    wasActive.set(id, now);
    if (!before || now) return;
    const text = vscode.l10n.t('L2-Softmax: sweep "{0}" ended: {1}.', snap.sweep.name, countsText(snap));
    const shown = hasFailures(snap) ? vscode.window.showWarningMessage(text, vscode.l10n.t('Open Sweep Dashboard')) : vscode.window.showInformationMessage(text, vscode.l10n.t('Open Sweep Dashboard'));
    void shown.then((a) => {
      if (a) void dashboards.open(id);
    });
  });
  return new vscode.Disposable(() => sub.dispose());
}

/** What a sweep panel asks its owner to do (commands of the extension). */
export interface SweepActions {
  stop(sweepId: string): Promise<void>;
  rerunFailed(sweepId: string): Promise<void>;
}

export class SweepDashboards implements vscode.Disposable {
  private readonly panels = new Map<string, SweepPanel>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly monitor: SweepMonitor,
    readonly runs: Dashboards,
    readonly actions: SweepActions,
  ) {
    this.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state) => {
          if (!isSweepPanelState(state)) return panel.dispose();
          this.attach(panel, state);
        },
      }),
      new vscode.Disposable(monitor.onDidChange((id) => this.panels.get(id)?.changed()).dispose),
    );
  }

  async open(sweepId: string, preserveFocus = false): Promise<void> {
    const existing = this.panels.get(sweepId);
    if (existing) return existing.panel.reveal(undefined, preserveFocus);
    await this.monitor.ready();
    const sweep = this.monitor.get(sweepId) ?? (await this.monitor.refresh(), this.monitor.get(sweepId));
    if (!sweep) throw new Error(`sweep ${sweepId} no longer exists`);
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, sweep.name, { viewColumn: vscode.ViewColumn.Active, preserveFocus }, this.options());
    this.attach(panel, { mode: 'sweep', sweepId });
  }

  close(sweepId: string): void {
    this.panels.get(sweepId)?.panel.dispose();
  }

  /** For tests: the sweeps with an open dashboard and what each was last sent. */
  openPanels(): { sweepId: string; sent?: SweepSnapshot }[] {
    return [...this.panels.values()].map((p) => ({ sweepId: p.sweepId, sent: p.sent }));
  }

  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')] };
  }

  private attach(panel: vscode.WebviewPanel, state: SweepPanelState): void {
    panel.webview.options = this.options();
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'activity.svg');
    panel.webview.html = html(panel.webview, this.context.extensionUri, state);
    const p = new SweepPanel(panel, state.sweepId, this);
    this.panels.get(state.sweepId)?.panel.dispose();
    this.panels.set(state.sweepId, p);
    panel.onDidDispose(() => {
      if (this.panels.get(state.sweepId) === p) this.panels.delete(state.sweepId);
      p.dispose();
    });
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.subscriptions.forEach((d) => d.dispose());
  }
}

class SweepPanel {
  private timer?: NodeJS.Timeout;
  private ready = false;
  private readonly subscription: vscode.Disposable;
  /** The snapshot last posted (for tests). */
  sent?: SweepSnapshot;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly sweepId: string,
    private readonly owner: SweepDashboards,
  ) {
    this.subscription = panel.webview.onDidReceiveMessage((m) => void this.receive(m).catch((err: Error) => this.notice('error', err.message)));
  }

  /** One of the sweep's cells (or its record) changed: send it again, at most every REDRAW_MS. */
  changed(): void {
    if (!this.ready || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.send();
    }, REDRAW_MS);
  }

  private send(): void {
    const snapshot = this.owner.monitor.snapshot(this.sweepId);
    if (!snapshot) return this.notice('error', 'This sweep no longer exists (its sweep.json was deleted or moved).');
    this.sent = snapshot;
    if (this.panel.title !== snapshot.sweep.name) this.panel.title = snapshot.sweep.name;
    void this.panel.webview.postMessage({ type: 'sweep', snapshot } satisfies HostMessage);
  }

  private notice(level: 'info' | 'error', message: string): void {
    void this.panel.webview.postMessage({ type: 'notice', level, message } satisfies HostMessage);
  }

  private async receive(raw: unknown): Promise<void> {
    const message: WebviewMessage | undefined = parseWebviewMessage(raw);
    if (!message) return;
    const cells = new Set(this.owner.monitor.get(this.sweepId)?.cells.flatMap((c) => [c.runId, ...(c.previousRunIds ?? [])]) ?? []);
    switch (message.type) {
      case 'ready':
        await this.owner.monitor.ready();
        this.ready = true;
        return this.send();
      case 'openRun':
        if (cells.has(message.runId)) await this.owner.runs.open(message.runId);
        return;
      case 'compareRuns': {
        const ids = message.runIds.filter((id) => cells.has(id));
        if (ids.length === 1) await this.owner.runs.open(ids[0]);
        else if (ids.length > 1) await this.owner.runs.compare(ids);
        return;
      }
      case 'stopSweep':
        return this.owner.actions.stop(this.sweepId);
      case 'rerunFailed':
        return this.owner.actions.rerunFailed(this.sweepId);
      case 'exportCsv':
        return this.exportCsv();
      case 'exportPng':
        return this.save(`${message.chart}.png`, 'PNG', 'png', dataUrlBytes(message.dataUrl));
    }
  }

  private async exportCsv(): Promise<void> {
    const snapshot = this.owner.monitor.snapshot(this.sweepId);
    if (snapshot) await this.save('sweep.csv', 'CSV', 'csv', Buffer.from(sweepCsv(snapshot), 'utf8'));
  }

  /** Proposed in the workspace, named after the sweep. */
  private async save(name: string, kind: string, ext: string, data: Buffer): Promise<void> {
    const sweep = this.owner.monitor.get(this.sweepId);
    const file = `${sweep ? `${fileSafe(sweep.name)}-` : ''}${name}`;
    await saveExport({ name: file, kind, ext, title: vscode.l10n.t('Export {0}', name), data }, (level, m) => this.notice(level, m));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.subscription.dispose();
  }
}
