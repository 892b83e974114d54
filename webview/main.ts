// Dashboard webview entry: handshake with the host, then render one run or a comparison.

import type { HostMessage, PanelState, SweepPanelState, WebviewMessage } from '../src/shared/dashboard';
import { CompareView } from './compare-view';
import { h } from './dom';
import { RunView } from './run-view';
import { SweepView } from './sweep-view';
import { onThemeChange } from './theme';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  setState(state: PanelState | SweepPanelState): void;
  getState(): PanelState | SweepPanelState | undefined;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app') as HTMLElement;
const initial = JSON.parse(app.dataset.state ?? '{}') as PanelState | SweepPanelState;
// Remembered across reloads so the panel serializer can bring this dashboard back.
vscode.setState(initial);

let view: RunView | CompareView | SweepView | undefined;
const post = (m: WebviewMessage) => vscode.postMessage(m);

function notice(level: 'info' | 'error', message: string): void {
  document.querySelector('.notice')?.remove();
  const el = h('div', { class: `notice ${level}`, role: 'status' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), level === 'error' ? 10000 : 4000);
}

window.addEventListener('message', (e: MessageEvent<HostMessage>) => {
  const m = e.data;
  if (!m || typeof m !== 'object') return;
  switch (m.type) {
    case 'init':
      view?.dispose();
      if (!m.runs.length) {
        app.replaceChildren(h('div', { class: 'empty' }, 'Nothing to show: the run was deleted.'));
        view = undefined;
      } else if (m.mode === 'run') view = new RunView(app, m.runs[0], post);
      else view = new CompareView(app, m.runs, post);
      document.body.dataset.ready = 'true';
      break;
    case 'sweep':
      if (view instanceof SweepView) view.update(m.snapshot);
      else {
        view?.dispose();
        view = new SweepView(app, m.snapshot, post);
      }
      document.body.dataset.ready = 'true';
      break;
    case 'event':
      if (view instanceof SweepView) break;
      if (view instanceof RunView) {
        if (view.run.id === m.runId) view.event(m.event);
      } else view?.event(m.runId, m.event);
      break;
    case 'status':
      if (view instanceof SweepView) break;
      if (view instanceof RunView) {
        if (view.run.id === m.runId) view.status(m);
      } else view?.status(m.runId, m.status, m.name);
      break;
    case 'notice':
      notice(m.level, m.message);
      break;
    case 'insight':
      if (view instanceof RunView || view instanceof CompareView) view.insight(m);
      break;
  }
});

onThemeChange(() => view?.retheme());
post({ type: 'ready' });

// For tests and debugging in a browser: the live view and its charts.
(window as unknown as { dashboard: () => typeof view }).dashboard = () => view;
