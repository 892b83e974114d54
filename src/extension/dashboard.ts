// Dashboard webview panels: one per run, plus comparison panels. The webview
// asks for its data with `ready`; panels restore after a window reload through
// a WebviewPanelSerializer and hold no state while hidden.

import * as vscode from 'vscode';
import { metricsCsv } from '../core/export';
import { RunFollower } from '../core/run-follower';
import type { RunManager } from '../core/run-manager';
import type { RunMonitor } from '../core/run-monitor';
import type { RunRecord, RunStore } from '../core/run-store';
import { DASHBOARD_FOLLOW_MS, SnapshotBuilder, isPanelState, parseWebviewMessage, type HostMessage, type PanelState, type RunSnapshot, type SweepPanelState } from '../shared/dashboard';
import type { TrainerEvent } from '../shared/events';
import { provenanceFacts } from '../shared/run';
import { dataUrlBytes, fileSafe, saveExport } from './export-file';
import { exportRunRecords, imageRoots, insightReply } from './insight';

const VIEW_TYPE = 'l2softmax.dashboard';

export class Dashboards implements vscode.Disposable {
  private readonly panels = new Set<Panel>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private disposing = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly store: RunStore,
    readonly monitor: RunMonitor,
    readonly manager: RunManager,
  ) {
    this.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state) => {
          const known = isPanelState(state) ? state : this.rememberedState(panel.title);
          if (!known) {
            panel.dispose();
            return;
          }
          this.attach(panel, known);
        },
      }),
      new vscode.Disposable(
        monitor.onDidChange((run) => {
          for (const p of this.panels) if (p.state.runIds.includes(run.id)) p.status(run);
        }).dispose,
      ),
    );
  }

  /** Opens (or reveals) the dashboard of one run. */
  async open(runId: string, preserveFocus = false): Promise<void> {
    const existing = [...this.panels].find((p) => p.state.mode === 'run' && p.state.runIds[0] === runId);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      return;
    }
    const record = this.monitor.get(runId) ?? (await this.store.view(runId));
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
    this.remember();
  }

  /** True when the dashboard of `runId` is the active editor. */
  inFront(runId: string): boolean {
    return [...this.panels].some((p) => p.state.mode === 'run' && p.state.runIds[0] === runId && p.panel.active);
  }

  /**
   * A panel the window closed before its page ever ran has no state of its own
   * to restore from: the states of the open panels are also kept per workspace,
   * by title (run names are distinct).
   */
  private rememberedState(title: string): PanelState | undefined {
    const saved = this.context.workspaceState.get<{ title: string; state: unknown }[]>(OPEN_PANELS_KEY, []);
    const found = saved.find((p) => p.title === title)?.state;
    return isPanelState(found) ? found : undefined;
  }

  /** Remembers the open panels (see rememberedState). */
  remember(): void {
    const open = [...this.panels].map((p) => ({ title: p.panel.title, state: p.state }));
    void this.context.workspaceState.update(OPEN_PANELS_KEY, open);
  }

  /** For tests: the open panels' states. */
  openPanels(): PanelState[] {
    return [...this.panels].map((p) => p.state);
  }

  /** For tests: events each run's panels received since they opened. */
  forwarded(runId: string): number {
    return [...this.panels].reduce((n, p) => n + p.forwarded(runId), 0);
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
    const base = this.options();
    // The embedding views' thumbnails: the runs' folders and image folders.
    const runs = state.runIds.map((id) => ({ dir: this.store.dir(id), record: this.monitor.get(id) }));
    panel.webview.options = { ...base, localResourceRoots: [...(base.localResourceRoots ?? []), ...imageRoots(runs)] };
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'activity.svg');
    const p = new Panel(panel, state, this, this.context.extensionUri);
    this.panels.add(p);
    this.remember();
    panel.onDidDispose(() => {
      this.panels.delete(p);
      p.dispose();
      // Closing the window disposes every panel too: what was open then must be kept for the restore.
      if (!this.disposing) this.remember();
    });
  }

  /**
   * Reads a run's history into a snapshot (decimated when it is long), and
   * returns the follower positioned after it, for the live events that follow.
   */
  async load(runId: string): Promise<{ snapshot: RunSnapshot; follower: RunFollower } | undefined> {
    const record: RunRecord | undefined = this.monitor.get(runId) ?? (await this.store.view(runId));
    if (!record) return undefined;
    const base = { id: record.id, name: record.name, status: record.status, reason: record.reason, config: record.config, createdAt: record.createdAt, phase: this.monitor.phase(runId), tags: record.tags, note: record.note, provenance: provenanceFacts(record) };
    const builder = new SnapshotBuilder(base);
    const follower = new RunFollower(this.store.dir(runId));
    const update = await follower.poll((events, reset) => {
      if (reset) builder.reset();
      builder.add(events);
    });
    builder.skipped = update.skipped;
    return { snapshot: builder.build(), follower };
  }

  dispose(): void {
    this.disposing = true;
    for (const p of [...this.panels]) p.panel.dispose();
    this.subscriptions.forEach((d) => d.dispose());
  }
}

/** workspaceState key of the open panels' titles and states. */
const OPEN_PANELS_KEY = 'l2softmax.openDashboards';

class Panel {
  /** Status messages that arrive while the history is being read are held back, then sent after `init`. */
  private pending: HostMessage[] | undefined = [];
  private readonly subscriptions: vscode.Disposable[] = [];
  /** One follower per run, positioned after the history the page got with `init`. */
  private followers: { runId: string; follower: RunFollower; watch: { dispose(): void } }[] = [];
  private readonly counts = new Map<string, number>();

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
    this.counts.set(runId, (this.counts.get(runId) ?? 0) + 1);
    this.post({ type: 'event', runId, event });
  }

  status(run: RunRecord): void {
    if (this.state.mode === 'run' && this.panel.title !== run.name) {
      this.panel.title = run.name;
      this.owner.remember();
    }
    this.post({ type: 'status', runId: run.id, status: run.status, name: run.name, reason: run.reason, phase: this.owner.monitor.phase(run.id), tags: run.tags, note: run.note });
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseWebviewMessage(raw);
    if (!message) return; // never act on anything we did not expect
    switch (message.type) {
      case 'ready':
        return this.init();
      case 'exportCsv':
        return this.exportCsv();
      case 'exportPng':
        return this.exportPng(message.chart, message.dataUrl);
      case 'stop':
        if (this.state.runIds.includes(message.runId)) await this.owner.manager.stop(message.runId);
        return;
      case 'resume':
        if (this.state.runIds.includes(message.runId)) await vscode.commands.executeCommand('l2softmax.resumeRun', message.runId);
        return;
      case 'showLog':
      case 'editTags':
      case 'editNote':
        if (this.state.runIds.includes(message.runId)) await vscode.commands.executeCommand(`l2softmax.${message.type}`, message.runId);
        return;
      case 'insight':
        if (this.state.runIds.includes(message.runId)) this.post(await insightReply(this.owner.store.dir(message.runId), message, this.panel.webview));
        return;
      case 'exportRecords': {
        const done = this.state.runIds.includes(message.runId) ? await exportRunRecords(this.owner.store.dir(message.runId), message) : undefined;
        if (done) this.notice(done.level, done.message);
        return;
      }
    }
  }

  /**
   * A webview that loads (or reloads, or was hidden and shown again) asks with
   * `ready`: it gets each run's history read from disk, then the events its
   * follower reads after that, so nothing is lost or sent twice.
   */
  private async init(): Promise<void> {
    this.unfollow();
    this.pending = [];
    const loaded = (await Promise.all(this.state.runIds.map((id) => this.owner.load(id)))).filter((l) => !!l);
    const held = this.pending;
    this.pending = undefined;
    void this.panel.webview.postMessage({ type: 'init', mode: this.state.mode, runs: loaded.map((l) => l.snapshot) } satisfies HostMessage);
    for (const m of held ?? []) void this.panel.webview.postMessage(m);
    if (!loaded.length) this.notice('error', 'This run no longer exists (it was deleted or its folder moved).');
    this.followers = loaded.map(({ snapshot, follower }) => ({
      runId: snapshot.id,
      follower,
      watch: follower.watch(DASHBOARD_FOLLOW_MS, (update) => {
        // The events file was replaced (a run folder restored from elsewhere): start over.
        // A resumed run redoes the steps after its checkpoint: the page gets the history again, seam included.
        if (update.reset || update.events.some((e) => e.type === 'resumed')) return void this.init();
        for (const event of update.events) this.event(snapshot.id, event);
      }),
    }));
  }

  private unfollow(): void {
    for (const f of this.followers) {
      f.watch.dispose();
      f.follower.dispose();
    }
    this.followers = [];
  }

  forwarded(runId: string): number {
    return this.counts.get(runId) ?? 0;
  }

  private notice(level: 'info' | 'error', message: string): void {
    void this.panel.webview.postMessage({ type: 'notice', level, message } satisfies HostMessage);
  }

  /** The start of an export's file name: the run's name (nothing for a comparison). */
  private filePrefix(): string {
    const run = this.state.mode === 'run' ? this.owner.monitor.get(this.state.runIds[0]) : undefined;
    return run ? `${fileSafe(run.name)}-` : '';
  }

  private async exportCsv(): Promise<void> {
    const loaded = await Promise.all(this.state.runIds.map((id) => this.owner.load(id)));
    const snaps = loaded.filter((l) => !!l).map((l) => (l.follower.dispose(), l.snapshot));
    const data = Buffer.from(metricsCsv(snaps), 'utf8');
    await saveExport({ name: `${this.filePrefix()}metrics.csv`, kind: 'CSV', ext: 'csv', title: vscode.l10n.t('Export metrics as CSV'), data }, (level, m) => this.notice(level, m));
  }

  private async exportPng(chart: string, dataUrl: string): Promise<void> {
    const file = { name: `${this.filePrefix()}${chart}.png`, kind: 'PNG', ext: 'png', title: vscode.l10n.t('Export the {0} chart as PNG', chart), data: dataUrlBytes(dataUrl) };
    await saveExport(file, (level, m) => this.notice(level, m));
  }

  dispose(): void {
    this.unfollow();
    this.subscriptions.forEach((d) => d.dispose());
  }
}

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let text = '';
  for (let i = 0; i < 32; i++) text += chars.charAt(Math.floor(Math.random() * chars.length));
  return text;
}

/** The page of every dashboard panel (runs, comparisons and sweeps share one webview bundle). */
export function html(webview: vscode.Webview, extensionUri: vscode.Uri, state: PanelState | SweepPanelState): string {
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
