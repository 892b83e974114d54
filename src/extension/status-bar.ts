// A status-bar item while runs are active: epoch, loss and ETA of the latest; click opens its dashboard.

import * as vscode from 'vscode';
import { statusText } from '../core/format';
import type { RunMonitor } from '../core/run-monitor';
import type { RunRecord } from '../core/run-store';

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('l2softmax.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscription: { dispose(): void };
  private readonly live = new Map<string, RunRecord>();

  constructor(monitor: RunMonitor) {
    this.item.name = 'L2-Softmax run';
    for (const r of monitor.records()) if (r.status === 'running' || r.status === 'queued') this.live.set(r.id, r);
    this.render();
    this.subscription = monitor.onDidChange((record) => {
      if (record.status === 'running' || record.status === 'queued') this.live.set(record.id, record);
      else this.live.delete(record.id);
      this.render();
    });
  }

  private render(): void {
    const running = [...this.live.values()].filter((r) => r.status === 'running');
    const shown = running[running.length - 1];
    if (!shown) {
      this.item.hide();
      return;
    }
    const more = this.live.size > 1 ? ` (+${this.live.size - 1})` : '';
    this.item.text = `$(sync~spin) ${shown.name} · ${statusText(shown)}${more}`;
    this.item.tooltip = `${shown.name}: ${statusText(shown)}${shown.backend ? `\n${shown.backend.description}` : ''}\nClick to open its dashboard.`;
    this.item.command = { command: 'l2softmax.openDashboard', title: 'Open Dashboard', arguments: [shown.id] };
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
