// A status-bar item while runs are active: epoch, loss and ETA of the latest; click opens its dashboard.

import * as vscode from 'vscode';
import { statusText } from '../core/format';
import type { RunMonitor } from '../core/run-monitor';

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('l2softmax.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: { dispose(): void }[];

  constructor(private readonly monitor: RunMonitor) {
    this.item.name = 'L2-Softmax run';
    this.render();
    this.subscriptions = [monitor.onDidChange(() => this.render()), monitor.onDidRemove(() => this.render())];
  }

  private render(): void {
    const live = this.monitor.records().filter((r) => r.status === 'running' || r.status === 'queued');
    // Newest first: the run started last is the one shown.
    const shown = live.find((r) => r.status === 'running');
    if (!shown) {
      this.item.hide();
      return;
    }
    const more = live.length > 1 ? ` (+${live.length - 1})` : '';
    this.item.text = `$(sync~spin) ${shown.name} · ${statusText(shown)}${more}`;
    this.item.tooltip = `${shown.name}: ${statusText(shown)}${shown.backend ? `\n${shown.backend.description}` : ''}\nClick to open its dashboard.`;
    this.item.command = { command: 'l2softmax.openDashboard', title: vscode.l10n.t('Open Dashboard'), arguments: [shown.id] };
    this.item.show();
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
    this.item.dispose();
  }
}
