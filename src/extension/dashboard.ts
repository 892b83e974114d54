// Dashboard webview panels: one per run, plus comparison panels. The webview
// asks for its data with `ready`; panels restore after a window reload through
// a WebviewPanelSerializer and hold no state while hidden.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { metricsCsv } from '../core/export';
import type { RunManager } from '../core/run-manager';
import type { RunRecord, RunStore } from '../core/run-store';
import { isPanelState, parseWebviewMessage, snapshotFromEvents, type HostMessage, type PanelState, type RunSnapshot } from '../shared/dashboard';
import type { TrainerEvent } from '../shared/events';

const VIEW_TYPE = 'l2softmax.dashboard';

/** Follows the events file of a run this window does not own (the CLI, another window). */
interface Follower {
  watcher: vscode.FileSystemWatcher;
  offset: number;
  reading: Promise<void>;
}

export class Dashboards implements vscode.Disposable {
  private readonly panels = new Set<Panel>();
  private readonly followers = new Map<string, Follower>();
  private readonly forwardedCount = new Map<string, number>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly store: RunStore,
    readonly manager: RunManager,
  ) {
    this.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state) => {
          if (!isPanelState(state)) {
            panel.dispose();
            return;
          }
          this.attach(panel, state);
        },
      }),
      manager.onDidEvent(({ run, event }) => {
        for (const p of this.panels) if (p.state.runIds.includes(run.id)) p.event(run.id, event);
      }),
      manager.onDidChangeRun((run) => {
        for (const p of this.panels) if (p.state.runIds.includes(run.id)) p.status(run);
      }),
    );
  }

  /** Opens (or reveals) the dashboard of one run. */
  async open(runId: string, preserveFocus = false): Promise<void> {
    const existing = [...this.panels].find((p) => p.state.mode === 'run' && p.state.runIds[0] === runId);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      return;
    }
    const record = this.manager.get(runId) ?? (await this.store.get(runId));
    if (!record) throw new Error(`run ${runId} no longer exists`);
    const panel = this.createPanel(record.name, preserveFocus);
    this.attach(panel, { mode: 'run', runIds: [runId] });
  }

  async compare(runIds: string[]): Promise<void> {
    const key = [...runIds].sort().join(',');
    const existing = [...this.panels].find((p) => p.state.mode === 'compare' && [...p.state.runIds].sort().join(',') === key);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = this.createPanel(`Compare ${runIds.length} runs`, false);
    this.attach(panel, { mode: 'compare', runIds });
  }

  close(runId: string): void {
    for (const p of [...this.panels]) if (p.state.runIds.includes(runId)) p.panel.dispose();
  }

  renamed(runId: string, name: string): void {
    for (const p of this.panels) if (p.state.mode === 'run' && p.state.runIds[0] === runId) p.panel.title = name;
  }

  /** For tests: the open panels' states. */
  openPanels(): PanelState[] {
    return [...this.panels].map((p) => p.state);
  }

  private createPanel(title: string, preserveFocus: boolean): vscode.WebviewPanel {
    return vscode.window.createWebviewPanel(VIEW_TYPE, title, { viewColumn: vscode.ViewColumn.Active, preserveFocus }, this.options());
  }

  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')],
    };
  }

  private attach(panel: vscode.WebviewPanel, state: PanelState): void {
    panel.webview.options = this.options();
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'activity.svg');
    const p = new Panel(panel, state, this, this.context.extensionUri);
    this.panels.add(p);
    panel.onDidDispose(() => {
      this.panels.delete(p);
      p.dispose();
      for (const id of state.runIds) if (![...this.panels].some((o) => o.state.runIds.includes(id))) this.unfollow(id);
    });
  }

  /** Builds the snapshot of a run from its events file (flushed first) and its record. */
  async snapshot(runId: string): Promise<RunSnapshot | undefined> {
    const record: RunRecord | undefined = this.manager.get(runId) ?? (await this.store.get(runId));
    if (!record) return undefined;
    await this.store.flushEvents(runId);
    const { events, end } = await this.store.readEventsFrom(runId, 0);
    if (record.status === 'running' && !this.manager.ids().has(runId)) this.follow(runId, end);
    return snapshotFromEvents(
      { id: record.id, name: record.name, status: record.status, reason: record.reason, config: record.config, createdAt: record.createdAt },
      events,
    );
  }

  /** Streams new events of a run written by another process to its panels, until it finishes. */
  private follow(runId: string, offset: number): void {
    const existing = this.followers.get(runId);
    if (existing) return;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(this.store.dir(runId)), 'events.jsonl'));
    const f: Follower = { watcher, offset, reading: Promise.resolve() };
    this.followers.set(runId, f);
    const read = () => {
      f.reading = f.reading.then(async () => {
        const { events, end } = await this.store.readEventsFrom(runId, f.offset);
        f.offset = end;
        for (const event of events) {
          this.forwardedCount.set(runId, (this.forwardedCount.get(runId) ?? 0) + 1);
          for (const p of this.panels) if (p.state.runIds.includes(runId)) p.event(runId, event);
          if (event.type === 'finished') {
            const record = await this.store.get(runId);
            if (record) for (const p of this.panels) if (p.state.runIds.includes(runId)) p.status({ ...record, status: event.status });
            this.unfollow(runId);
          }
        }
      });
    };
    watcher.onDidChange(read);
    watcher.onDidCreate(read);
    read();
  }

  private unfollow(runId: string): void {
    this.followers.get(runId)?.watcher.dispose();
    this.followers.delete(runId);
  }

  /** For tests: events forwarded from another process's run. */
  forwarded(runId: string): number {
    return this.forwardedCount.get(runId) ?? 0;
  }

  dispose(): void {
    for (const p of [...this.panels]) p.panel.dispose();
    for (const id of [...this.followers.keys()]) this.unfollow(id);
    this.subscriptions.forEach((d) => d.dispose());
  }
}

class Panel {
  /** Live events that arrive while the history is being read are held back, then sent after `init`. */
  private pending: HostMessage[] | undefined = [];
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly state: PanelState,
    private readonly owner: Dashboards,
    extensionUri: vscode.Uri,
  ) {
    panel.webview.html = html(panel.webview, extensionUri, state);
    this.subscriptions.push(panel.webview.onDidReceiveMessage((m) => void this.receive(m)));
  }

  private post(message: HostMessage): void {
    if (this.pending) this.pending.push(message);
    else void this.panel.webview.postMessage(message);
  }

  event(runId: string, event: TrainerEvent): void {
    this.post({ type: 'event', runId, event });
  }

  status(run: RunRecord): void {
    this.post({ type: 'status', runId: run.id, status: run.status, name: run.name, reason: run.reason });
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseWebviewMessage(raw);
    if (!message) return; // never act on anything we did not expect
    switch (message.type) {
      case 'ready': {
        // A webview that reloads (or was hidden and shown again) asks again: replay from disk.
        this.pending = [];
        const snaps = (await Promise.all(this.state.runIds.map((id) => this.owner.snapshot(id)))).filter((s): s is RunSnapshot => !!s);
        const held = this.pending;
        this.pending = undefined;
        void this.panel.webview.postMessage({ type: 'init', mode: this.state.mode, runs: snaps } satisfies HostMessage);
        for (const m of held ?? []) void this.panel.webview.postMessage(m);
        if (!snaps.length) this.notice('error', 'This run no longer exists (it was deleted or its folder moved).');
        return;
      }
      case 'exportCsv':
        return this.exportCsv();
      case 'exportPng':
        return this.exportPng(message.chart, message.dataUrl);
      case 'stop':
        if (this.state.runIds.includes(message.runId)) await this.owner.manager.stop(message.runId);
        return;
      case 'showLog':
        if (this.state.runIds.includes(message.runId)) await vscode.commands.executeCommand('l2softmax.showLog', message.runId);
        return;
    }
  }

  private notice(level: 'info' | 'error', message: string): void {
    void this.panel.webview.postMessage({ type: 'notice', level, message } satisfies HostMessage);
  }

  private defaultUri(name: string): vscode.Uri {
    const dir = this.state.mode === 'run' ? this.owner.store.dir(this.state.runIds[0]) : (vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? this.owner.store.root);
    return vscode.Uri.file(path.join(dir, name));
  }

  private async exportCsv(): Promise<void> {
    const snaps = (await Promise.all(this.state.runIds.map((id) => this.owner.snapshot(id)))).filter((s): s is RunSnapshot => !!s);
    const uri = await vscode.window.showSaveDialog({ defaultUri: this.defaultUri('metrics.csv'), filters: { CSV: ['csv'] }, title: 'Export metrics as CSV' });
    if (!uri) return;
    await this.write(uri, Buffer.from(metricsCsv(snaps), 'utf8'));
  }

  private async exportPng(chart: string, dataUrl: string): Promise<void> {
    const uri = await vscode.window.showSaveDialog({ defaultUri: this.defaultUri(`${chart}.png`), filters: { PNG: ['png'] }, title: `Export the ${chart} chart as PNG` });
    if (!uri) return;
    await this.write(uri, Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
  }

  private async write(uri: vscode.Uri, data: Buffer): Promise<void> {
    try {
      if (uri.scheme === 'file') await fs.writeFile(uri.fsPath, data);
      else await vscode.workspace.fs.writeFile(uri, data);
      this.notice('info', `Saved ${uri.fsPath}`);
    } catch (err) {
      const message = `Could not save ${uri.fsPath}: ${(err as Error).message}`;
      this.notice('error', message);
      void vscode.window.showErrorMessage(`L2-Softmax: ${message}`);
    }
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
  }
}

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let text = '';
  for (let i = 0; i < 32; i++) text += chars.charAt(Math.floor(Math.random() * chars.length));
  return text;
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri, state: PanelState): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'dashboard.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${style}" rel="stylesheet">
<title>L2-Softmax dashboard</title>
</head>
<body>
<div id="app" data-state="${escapeAttr(JSON.stringify(state))}"><p class="loading">Loading…</p></div>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}

function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
