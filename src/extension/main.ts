// Extension entry: wires the core (run store, run manager) to views, commands,
// the status bar and dashboards. Everything created here is disposed on deactivate.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunManager } from '../core/run-manager';
import { RunStore } from '../core/run-store';
import { resolveRuntime } from '../core/runtime';
import { notifyEnd, registerCommands } from './commands';
import { Dashboards } from './dashboard';
import { RunsView } from './runs-view';
import { SettingsView } from './settings-view';
import { RunStatusBar } from './status-bar';
import { hostSetting } from './workspace-config';

export interface Api {
  store: RunStore;
  manager: RunManager;
  runs: RunsView;
  dashboards: Dashboards;
}

let manager: RunManager | undefined;

function runsRoot(context: vscode.ExtensionContext): string {
  const configured = hostSetting('runsFolder').trim();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (configured) return path.resolve(folder ?? context.globalStorageUri.fsPath, configured);
  return folder ? path.join(folder, '.l2softmax', 'runs') : path.join(context.globalStorageUri.fsPath, 'runs');
}

export async function activate(context: vscode.ExtensionContext): Promise<Api> {
  const output = vscode.window.createOutputChannel('L2-Softmax', { log: true });
  const store = new RunStore(runsRoot(context));
  manager = new RunManager({
    store,
    trainerScript: context.asAbsolutePath(path.join('dist', 'trainer.js')),
    runtime: () => resolveRuntime(hostSetting('nodePath')),
    maxConcurrent: () => hostSetting('maxConcurrentRuns'),
  });
  const interrupted = await store.markInterrupted(manager.ids());
  if (interrupted.length) output.warn(`${interrupted.length} run(s) left running by a closed window were marked interrupted.`);

  const runs = new RunsView(store, manager);
  const runsTree = vscode.window.createTreeView('l2softmax.runs', { treeDataProvider: runs, canSelectMany: true, showCollapseAll: false });
  const settings = new SettingsView(store);
  const settingsTree = vscode.window.createTreeView('l2softmax.settings', { treeDataProvider: settings });
  const dashboards = new Dashboards(context, store, manager);
  const names = new Map<string, string>();
  const notified = new Set<string>();

  context.subscriptions.push(
    output,
    runs,
    runsTree,
    settings,
    settingsTree,
    dashboards,
    new RunStatusBar(manager),
    manager.onDidLog(({ runId, stream, line }) => {
      const name = names.get(runId) ?? runId;
      if (stream === 'host' && /^error|failed|Cannot start/.test(line)) output.error(`[${name}] ${line}`);
      else output.info(`[${name}]${stream === 'stderr' ? ' (stderr)' : ''} ${line}`);
    }),
    manager.onDidChangeRun((run) => {
      const previous = names.get(run.id);
      names.set(run.id, run.name);
      if (previous !== undefined && (run.status === 'completed' || run.status === 'failed') && !notified.has(run.id)) {
        notified.add(run.id);
        notifyEnd(run, dashboards);
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('l2softmax.runsFolder')) {
        void vscode.window
          .showInformationMessage('L2-Softmax: reload the window to use the new runs folder.', 'Reload Window')
          .then((a) => a && vscode.commands.executeCommand('workbench.action.reloadWindow'));
      }
    }),
    ...registerCommands({ store, manager, runs, runsTree, dashboards, output }),
    { dispose: () => void store.dispose() },
  );
  return { store, manager, runs, dashboards };
}

export function deactivate(): void {
  // Children stop gracefully (they also stop on their own when the IPC channel closes).
  manager?.dispose();
  manager = undefined;
}
