// Extension entry: wires the core (run store, monitor, manager) to views,
// commands, the status bar and dashboards. Everything created here is disposed
// on deactivate; training runs are not: they outlive the window.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunManager } from '../core/run-manager';
import { RunMonitor } from '../core/run-monitor';
import { RunStore } from '../core/run-store';
import { resolveRuntime } from '../core/runtime';
import { SlurmLauncher } from '../core/slurm';
import { SweepMonitor } from '../core/sweep-monitor';
import { SweepStore, sweepsRootFor } from '../core/sweep-store';
import { notifyEnd, registerCommands, registerReported } from './commands';
import { Dashboards } from './dashboard';
import { RunsView, isGroup } from './runs-view';
import { SettingsView } from './settings-view';
import { RunStatusBar } from './status-bar';
import { registerSweepCommands } from './sweep-commands';
import { SweepDashboards, SweepsView, notifySweepEnds } from './sweeps';
import { ContextKeys } from './context-keys';
import { hostSetting } from './workspace-config';
import { folderNote, restoreActiveFolder, switchFolder } from './workspace-folder';

export interface Api {
  store: RunStore;
  monitor: RunMonitor;
  manager: RunManager;
  runs: RunsView;
  settings: SettingsView;
  dashboards: Dashboards;
  sweeps: SweepStore;
  sweepMonitor: SweepMonitor;
  sweepsView: SweepsView;
  sweepDashboards: SweepDashboards;
}

/** The walkthrough's id in package.json (contributes.walkthroughs). */
const WALKTHROUGH = 'gettingStarted';

/** Shown above the runs in Restricted Mode, where Start explains itself and offers to trust the workspace. */
const restrictedMessage = () => vscode.l10n.t('Restricted Mode: these runs are readable, but starting, resuming or evaluating one needs a trusted workspace (Start says how).');

function runsRoot(context: vscode.ExtensionContext): string {
  const folder = restoreActiveFolder(context)?.uri.fsPath;
  const configured = hostSetting('runsFolder').trim();
  if (configured) return path.resolve(folder ?? context.globalStorageUri.fsPath, configured);
  return folder ? path.join(folder, '.l2softmax', 'runs') : path.join(context.globalStorageUri.fsPath, 'runs');
}

export async function activate(context: vscode.ExtensionContext): Promise<Api> {
  const output = vscode.window.createOutputChannel('L2-Softmax', { log: true });
  const store = new RunStore(runsRoot(context));
  const monitor = new RunMonitor(store);
  const trainerScript = context.asAbsolutePath(path.join('dist', 'trainer.js'));
  const sweeps = new SweepStore(sweepsRootFor(store.root));
  const slurm = new SlurmLauncher({ store, sweeps, trainerScript, log: (runId, line) => output.info(`[${monitor.get(runId)?.name ?? runId}] ${line}`) });
  const manager = new RunManager({
    store,
    monitor,
    trainerScript,
    runtime: () => resolveRuntime(hostSetting('nodePath')),
    maxConcurrent: () => hostSetting('maxConcurrentRuns'),
    launchers: [slurm],
  });
  await monitor.ready();

  const sweepMonitor = new SweepMonitor(sweeps, monitor);
  await sweepMonitor.ready();

  const runs = new RunsView(monitor, sweepMonitor, context.workspaceState);
  const runsTree = vscode.window.createTreeView('l2softmax.runs', { treeDataProvider: runs, canSelectMany: true, showCollapseAll: false });
  const settings = new SettingsView(store);
  const settingsTree = vscode.window.createTreeView('l2softmax.settings', { treeDataProvider: settings });
  const dashboards = new Dashboards(context, store, monitor, manager);
  const sweepsView = new SweepsView(sweepMonitor, runs);
  const sweepsTree = vscode.window.createTreeView('l2softmax.sweeps', { treeDataProvider: sweepsView, showCollapseAll: true });
  const sweepDashboards = new SweepDashboards(context, sweepMonitor, dashboards, {
    stop: async (id) => void (await vscode.commands.executeCommand('l2softmax.stopSweep', id)),
    rerunFailed: async (id) => void (await vscode.commands.executeCommand('l2softmax.rerunFailedCells', id)),
  });
  const lastStatus = new Map(monitor.records().map((r) => [r.id, r.status]));
  const showTrust = () => (runsTree.message = [vscode.workspace.isTrusted ? undefined : restrictedMessage(), folderNote()].filter(Boolean).join(' ') || undefined);
  showTrust();
  const contextKeys = new ContextKeys(monitor, sweepMonitor);

  context.subscriptions.push(
    output,
    runs,
    runsTree,
    settings,
    settingsTree,
    dashboards,
    sweepsView,
    sweepsTree,
    sweepDashboards,
    sweepMonitor,
    notifySweepEnds(sweepMonitor, sweepDashboards),
    new RunStatusBar(monitor),
    contextKeys,
    // Trainers keep running: disposing lets go of the queue and the timers only.
    manager,
    monitor,
    toDisposable(
      manager.onDidLog(({ runId, line }) => {
        const name = monitor.get(runId)?.name ?? runId;
        if (/^(the trainer (exited with code [1-9]|was killed|never)|Cannot start)/.test(line)) output.error(`[${name}] ${line}`);
        else output.info(`[${name}] ${line}`);
      }),
    ),
    toDisposable(
      monitor.onDidChange((run) => {
        const previous = lastStatus.get(run.id);
        lastStatus.set(run.id, run.status);
        // Runs seen running end with a notification, whichever window or terminal started them (a sweep's runs: once, when the sweep ends).
        if (previous === 'running' && run.status !== 'running' && !sweepMonitor.sweepOf(run.id)) notifyEnd(run, dashboards);
      }),
    ),
    vscode.workspace.onDidGrantWorkspaceTrust(showTrust),
    // The view title's Compare action: `listMultiSelection` is not set for view titles.
    runsTree.onDidChangeSelection((e) => void vscode.commands.executeCommand('setContext', 'l2softmax.runsMultiSelected', e.selection.filter((n) => !isGroup(n)).length > 1)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('l2softmax.runsFolder')) {
        void vscode.window
          .showInformationMessage(vscode.l10n.t('L2-Softmax: reload the window to use the new runs folder.'), vscode.l10n.t('Reload Window'))
          .then((a) => a && vscode.commands.executeCommand('workbench.action.reloadWindow'));
      }
    }),
    ...registerCommands({ store, monitor, manager, runs, runsTree, dashboards, output }),
    registerReported(output, 'l2softmax.switchFolder', () => switchFolder(context)),
    registerReported(output, 'l2softmax.openWalkthrough', () => vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#${WALKTHROUGH}`, false)),
    ...registerSweepCommands({ store, monitor, manager, sweeps, sweepMonitor, sweepsView, sweepDashboards, slurm, trainerScript, output }),
  );
  return { store, monitor, manager, runs, settings, dashboards, sweeps, sweepMonitor, sweepsView, sweepDashboards };
}

/** Runs keep training when the window closes: nothing to stop here (context.subscriptions release the rest). */
export function deactivate(): void {}

function toDisposable(d: { dispose(): void }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
