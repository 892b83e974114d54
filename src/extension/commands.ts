// Command handlers: thin glue between the UI and the core (run manager, store).

import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { summarizeDataset } from '../core/dataset-summary';
import { resultLine, suggestAlpha } from '../core/format';
import type { RunManager } from '../core/run-manager';
import type { RunMonitor } from '../core/run-monitor';
import { hostProvenance } from '../core/provenance';
import { defaultRunName, rerunName } from '../core/run-names';
import { ACTIVE, type RunRecord, type RunStore } from '../core/run-store';
import { checkResume } from '../core/resume';
import { isDatasetPath, scaleBoundFor, settingProblem } from '../core/setting-checks';
import { SETTINGS, displaySetting } from '../core/settings';
import { trainingClasses } from '../core/sweep';
import { formatErrors, type RunConfig } from '../shared/config';
import type { Provenance } from '../shared/run';
import { workspaceGit } from './git';
import type { Dashboards } from './dashboard';
import type { RunsNode, RunsView } from './runs-view';
import { registerOrganizeCommands, selectedRuns } from './organize';
import { evaluateRun } from './evaluate';
import { checkGpuSetup } from './gpu-check';
import { editSetting } from './settings-view';
import { getActiveFolder, hostSetting, l2Settings, pathKind, readRunConfig, resetSettings, updateSetting, withAbsolutePaths } from './workspace-config';

export interface Services {
  store: RunStore;
  monitor: RunMonitor;
  manager: RunManager;
  runs: RunsView;
  runsTree: vscode.TreeView<RunsNode>;
  dashboards: Dashboards;
  output: vscode.LogOutputChannel;
}

type RunArg = RunRecord | string | undefined;

/** Registers a command whose errors are logged and shown to the user (every command goes through this). */
export function registerReported(output: vscode.LogOutputChannel, id: string, fn: (...args: never[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: never[]) => {
    try {
      return await fn(...args);
    } catch (err) {
      output.error(`${id}: ${(err as Error).stack ?? err}`);
      void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: {0}', (err as Error).message));
      return undefined;
    }
  });
}

export function registerCommands(s: Services): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: never[]) => unknown) => registerReported(s.output, id, fn);
  return [
    reg('l2softmax.startRun', () => startRun(s)),
    reg('l2softmax.stopRun', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Stop which run?', (r) => ACTIVE.has(r.status));
      if (run) await s.manager.stop(run.id);
    }),
    reg('l2softmax.resumeRun', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Resume which run?', (r) => r.status === 'stopped' || r.status === 'interrupted' || r.status === 'failed' || r.status === 'completed');
      if (run && requireTrust()) await resumeRun(s, run);
    }),
    reg('l2softmax.openDashboard', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Open the dashboard of which run?');
      if (run) await s.dashboards.open(run.id);
    }),
    reg('l2softmax.compareRuns', async (arg: RunArg, selected?: RunsNode[]) => {
      let runs = selected?.length ? (selected.filter((n) => !('kind' in n)) as RunRecord[]) : selectedRuns(s);
      if (runs.length < 2) {
        const picks = await vscode.window.showQuickPick(
          s.runs.all().map((r) => ({ label: r.name, description: r.status, run: r, picked: runs.some((x) => x.id === r.id) })),
          { canPickMany: true, title: vscode.l10n.t('Compare runs'), placeHolder: vscode.l10n.t('Select two or more runs') },
        );
        if (!picks) return;
        runs = picks.map((p) => p.run);
      }
      if (runs.length < 2) {
        void vscode.window.showWarningMessage(vscode.l10n.t('L2-Softmax: select at least two runs to compare (Ctrl/Cmd+click in the Runs view).'));
        return;
      }
      await s.dashboards.compare(runs.map((r) => r.id));
    }),
    reg('l2softmax.rerun', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Rerun which run?');
      if (!run) return;
      if (!requireTrust()) return;
      return launch(s, run.config, rerunName(run.name, s.monitor.records().map((r) => r.name)));
    }),
    reg('l2softmax.deleteRun', async (arg: RunArg, selected?: RunRecord[]) => {
      const first = await pickRun(s, arg, 'Delete which run?', (r) => !ACTIVE.has(r.status));
      if (!first) return;
      const runs = selected?.length ? selected.filter((r) => !ACTIVE.has(r.status)) : [first];
      const what = runs.length === 1 ? `run "${runs[0].name}"` : `${runs.length} runs`;
      const ok = await vscode.window.showWarningMessage(vscode.l10n.t('Delete {0} with its checkpoints and logs?', what), { modal: true }, vscode.l10n.t('Delete'));
      if (ok !== vscode.l10n.t('Delete')) return;
      for (const run of runs) {
        s.dashboards.close(run.id);
        await s.manager.delete(run.id);
      }
      s.runs.refresh();
    }),
    reg('l2softmax.renameRun', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Rename which run?');
      if (!run) return;
      const name = await vscode.window.showInputBox({
        title: vscode.l10n.t('Rename run'),
        value: run.name,
        validateInput: (t) => (t.trim() ? undefined : 'A run needs a name.'),
      });
      if (!name?.trim()) return;
      await s.manager.rename(run.id, name.trim());
      s.runs.refresh();
      s.dashboards.renamed(run.id, name.trim());
    }),
    reg('l2softmax.revealRun', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Reveal which run folder?');
      if (!run) return;
      const uri = vscode.Uri.file(s.store.dir(run.id));
      const inWorkspace = vscode.workspace.getWorkspaceFolder(uri);
      await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
    }),
    reg('l2softmax.showLog', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Show the log of which run?');
      if (!run) return;
      const file = s.store.file(run.id, 'trainer.log');
      if (!existsSync(file)) {
        void vscode.window.showInformationMessage(vscode.l10n.t('L2-Softmax: run "{0}" has no log yet (it never started).', run.name));
        return;
      }
      await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
    }),
    reg('l2softmax.editSetting', async (key?: string | { id?: string; key?: string }) => {
      const k = typeof key === 'string' ? key : (key?.key ?? (await pickSetting()));
      return k ? editSetting(k) : false;
    }),
    reg('l2softmax.resetSettings', async () => {
      const ok = await vscode.window.showWarningMessage(vscode.l10n.t('Reset every L2-Softmax setting of this workspace to its default?'), { modal: true }, vscode.l10n.t('Reset'));
      if (ok === vscode.l10n.t('Reset')) await resetSettings();
    }),
    reg('l2softmax.suggestAlpha', () => suggest()),
    reg('l2softmax.evaluateRun', async (arg: RunArg) => {
      const run = await pickRun(s, arg, 'Evaluate which run?', (r) => !ACTIVE.has(r.status) && !!r.checkpoint);
      if (run && requireTrust()) await evaluateRun(s.store, run, s.output, (id) => s.dashboards.open(id));
    }),
    reg('l2softmax.checkGpu', async (opts?: { bench?: boolean }) => (requireTrust() ? checkGpuSetup(opts) : undefined)),
    ...registerOrganizeCommands(s, reg, (arg, title) => pickRun(s, arg, title)),
  ];
}

export function requireTrust(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showErrorMessage(
      vscode.l10n.t("L2-Softmax: this workspace is in Restricted Mode. Training runs Node.js with this workspace's settings (dataset folders, runs folder), so starting, resuming or evaluating a run needs a trusted workspace. Runs already here stay readable."),
      vscode.l10n.t('Manage Workspace Trust'),
    )
    .then((a) => a && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

async function startRun(s: Services): Promise<RunRecord | undefined> {
  if (!requireTrust()) return undefined;
  const config = await configFromSettingsOrSay('a run');
  if (!config || !(await confirmScale(config))) return undefined;
  return launch(s, config, defaultRunName(config, new Date(), s.monitor.records().map((r) => r.name)));
}

/** Opens the Settings editor at one setting. */
function openSetting(key: string): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', `l2softmax.${key}`);
}

/**
 * The settings as a run config with absolute dataset paths, or undefined after
 * telling the user what to fix (`what`: "a run", "a sweep"), with the actions that fix it.
 */
export async function configFromSettingsOrSay(what: string): Promise<RunConfig | undefined> {
  const result = readRunConfig();
  if (!result.ok) {
    const action = await vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: cannot start {0}: {1}', what, formatErrors(result.errors)), vscode.l10n.t('Open Settings'));
    if (action) await openSetting(result.errors[0].field.replace(/^l2softmax\./, ''));
    return undefined;
  }
  const settings = l2Settings();
  for (const spec of SETTINGS.filter(isDatasetPath)) {
    const problem = settingProblem(spec, settings.get(spec.key), { loss: result.config.loss, pathKind });
    if (problem?.severity !== 'error') continue;
    const synthetic = spec.key === 'datasetFolder' ? ' Clear it to train on the built-in synthetic faces.' : '';
    const action = await vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: cannot start {0}: {1}: {2}.{3}', what, spec.label, problem.message, synthetic), vscode.l10n.t('Open Settings'), vscode.l10n.t('Clear'));
    if (action === vscode.l10n.t('Open Settings')) await openSetting(spec.key);
    if (action === vscode.l10n.t('Clear')) await updateSetting(spec.key, '');
    return undefined;
  }
  return withAbsolutePaths(result.config);
}

/** A fixed alpha (or s) below its bound for the dataset makes the run underfit: asks before starting. */
async function confirmScale(config: RunConfig): Promise<boolean> {
  const { classes } = await trainingClasses(config);
  const bound = classes === undefined ? undefined : scaleBoundFor(config.loss, classes);
  if (!bound) return true;
  const [value, trainable] = bound.name === 'alpha' ? [config.alpha, config.alphaTrainable] : [config.scale, config.scaleTrainable];
  if (trainable || value >= bound.low) return true;
  const action = await vscode.window.showWarningMessage(
    vscode.l10n.t('L2-Softmax: {0} = {1} is below {2}_low = {3} for the {4} training classes of this dataset (p = 0.9): the classifier cannot get confident and training underfits.', bound.name, value, bound.name, bound.low.toFixed(2), classes ?? 0),
    { modal: true },
    vscode.l10n.t('Start Anyway'),
    bound.name === 'alpha' ? vscode.l10n.t('Suggest Alpha') : vscode.l10n.t('Open Settings'),
  );
  if (action === vscode.l10n.t('Suggest Alpha')) await vscode.commands.executeCommand('l2softmax.suggestAlpha');
  if (action === vscode.l10n.t('Open Settings')) await openSetting('scale');
  return action === vscode.l10n.t('Start Anyway');
}

/** Where a run started from this window comes from: the active folder's git state and this extension. */
export async function newRunProvenance(runsRoot: string): Promise<Provenance> {
  const folder = getActiveFolder();
  return hostProvenance('extension', folder ? await workspaceGit(folder.uri, runsRoot) : undefined);
}

async function launch(s: Services, config: RunRecord['config'], name: string): Promise<RunRecord> {
  const run = await s.manager.start(config, name, await newRunProvenance(s.store.root));
  s.output.info(`[${name}] ${run.status === 'queued' ? 'queued' : 'started'} (run ${run.id})`);
  if (run.status === 'queued') {
    void vscode.window.showInformationMessage(vscode.l10n.t('L2-Softmax: "{0}" is queued: {1} run(s) already use the l2softmax.maxConcurrentRuns limit.', name, s.manager.runningCount()));
  }
  if (hostSetting('openDashboardOnStart')) await s.dashboards.open(run.id, true);
  void showStartProgress(s, run);
  return run;
}

/** A cancellable notification while the trainer loads its backend and dataset. */
function showStartProgress(s: Services, run: RunRecord): Thenable<void> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('L2-Softmax: {0}', run.name), cancellable: true },
    (progress, token) =>
      new Promise<void>((resolve) => {
        progress.report({ message: run.status === 'queued' ? 'waiting in the queue…' : 'loading the backend and dataset…' });
        const subs: { dispose(): void }[] = [];
        const done = () => {
          subs.forEach((d) => d.dispose());
          resolve();
        };
        subs.push(
          token.onCancellationRequested(() => {
            void s.manager.stop(run.id);
            done();
          }),
          s.monitor.onDidChange((r) => {
            if (r.id !== run.id) return;
            if (!ACTIVE.has(r.status)) return done();
            if (r.status === 'running') progress.report({ message: vscode.l10n.t('loading the backend and dataset…') });
            if (r.backend) {
              progress.report({ message: vscode.l10n.t('training on {0}', r.backend.description) });
              setTimeout(done, 2500);
            }
          }),
        );
      }),
  );
}

/**
 * Continues a run from its newest checkpoint, optionally for more epochs; asks
 * first when the trainer or the dataset changed since the run started.
 */
async function resumeRun(s: Services, run: RunRecord): Promise<void> {
  const current = run.config.epochs;
  const input = await vscode.window.showInputBox({
    title: vscode.l10n.t('Resume "{0}"', run.name),
    prompt: vscode.l10n.t('Train to which epoch? It stopped at epoch {0} of {1}; a larger number extends it.', run.progress?.epoch ?? run.summary?.epochs ?? 0, current),
    value: String(run.status === 'completed' ? current * 2 : current),
    validateInput: (t) => (/^\d+$/.test(t.trim()) && Number(t) >= 1 ? undefined : 'A whole number of epochs, at least 1.'),
  });
  if (!input) return;
  const epochs = Number(input.trim());
  const check = await checkResume(s.store.dir(run.id), run, run.status, epochs);
  if (check.refusal) {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: cannot resume: {0}.', check.refusal));
    return;
  }
  if (check.changes.length) {
    const go = await vscode.window.showWarningMessage(
      vscode.l10n.t('Since "{0}" started, {1}. Resuming mixes the two in one run. Resume anyway?', run.name, check.changes.join('; ')),
      { modal: true },
      vscode.l10n.t('Resume Anyway'),
    );
    if (go !== vscode.l10n.t('Resume Anyway')) return;
  }
  const resumed = await s.manager.resume(run.id, epochs);
  s.output.info(`[${run.name}] resume from epoch ${check.from?.epoch} (step ${check.from?.step}) to epoch ${epochs}: ${resumed.status}`);
  await s.dashboards.open(run.id, true);
}

/** Resolves a command argument to a run: the one named, else the one selected in the Runs view, else a quick pick. */
async function pickRun(s: Services, arg: RunArg, title: string, filter: (r: RunRecord) => boolean = () => true): Promise<RunRecord | undefined> {
  // Read afresh: the view may be up to a poll behind (a run that has just ended still shows running).
  if (typeof arg === 'string') return s.monitor.poke(arg);
  if (arg && typeof arg === 'object' && typeof arg.id === 'string') return (await s.monitor.poke(arg.id)) ?? arg;
  // From the palette: the run selected in the Runs view, when it is one that fits.
  const selected = selectedRuns(s);
  if (selected.length === 1 && filter(selected[0])) return (await s.monitor.poke(selected[0].id)) ?? selected[0];
  // The monitor keeps the list current: no re-read here. The view's filter applies, unless it hides every candidate.
  const shown = (await s.runs.runs()).filter(filter);
  const candidates = shown.length ? shown : s.runs.all().filter(filter);
  if (!candidates.length) {
    void vscode.window.showInformationMessage(vscode.l10n.t('L2-Softmax: there is no such run.'));
    return undefined;
  }
  if (candidates.length === 1) return candidates[0];
  const pick = await vscode.window.showQuickPick(
    candidates.map((r) => ({ label: r.name, description: `${r.status} · ${new Date(r.createdAt).toLocaleString()}`, run: r })),
    { title },
  );
  return pick?.run;
}

/** Asks which setting to edit (Edit Setting from the palette). */
async function pickSetting(): Promise<string | undefined> {
  const settings = l2Settings();
  const pick = await vscode.window.showQuickPick(
    SETTINGS.map((spec) => ({ label: spec.label, description: displaySetting(spec, settings.get(spec.key)), detail: `l2softmax.${spec.key}`, key: spec.key })),
    { title: vscode.l10n.t('Edit which setting?'), matchOnDetail: true },
  );
  return pick?.key;
}

async function suggest(): Promise<void> {
  const result = readRunConfig();
  if (!result.ok) {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: fix these settings first: {0}', formatErrors(result.errors)));
    return;
  }
  const count = await summarizeDataset(result.config);
  if (count.error || count.classes < 3) {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: cannot count the identities of the dataset: {0}. Check the dataset folder setting.', count.error ?? `only ${count.classes} found`));
    return;
  }
  const previous = result.config.alpha;
  const { alpha, alphaLow } = suggestAlpha(count.classes);
  if (!(await updateSetting('alpha', alpha))) return;
  const note = result.config.loss === 'softmax' ? ' (alpha is used once the loss is l2-softmax)' : '';
  const undo = await vscode.window.showInformationMessage(
    vscode.l10n.t(
      "L2-Softmax: alpha set to {0}{1}. With {2} training identities the paper's lower bound for a 0.9 target-class probability is alpha_low = log(0.9 × ({2} − 2) / 0.1) = {3}; a smaller alpha caps how confident the classifier can be, so training underfits. The suggestion is 25% above the bound.",
      alpha,
      note,
      count.classes,
      alphaLow.toFixed(2),
    ),
    vscode.l10n.t('Undo'),
  );
  if (undo) await updateSetting('alpha', previous);
}

/** The end of a run this window saw running, unless the user turned these off; no Open Dashboard when it is in front already. */
export function notifyEnd(run: RunRecord, dashboards: Dashboards): void {
  if (!hostSetting('notifyOnRunEnd')) return;
  const open = dashboards.inFront(run.id) ? [] : [vscode.l10n.t('Open Dashboard')];
  const act = (action: string | undefined) => {
    if (action === vscode.l10n.t('Open Dashboard')) return dashboards.open(run.id);
    if (action === vscode.l10n.t('Show Log')) return vscode.commands.executeCommand('l2softmax.showLog', run.id);
    if (action === vscode.l10n.t('Resume')) return vscode.commands.executeCommand('l2softmax.resumeRun', run.id);
    if (action === dontShowAgain()) return updateSetting('notifyOnRunEnd', false, vscode.ConfigurationTarget.Global);
    return undefined;
  };
  if (run.status === 'completed') {
    void vscode.window
      .showInformationMessage(vscode.l10n.t('L2-Softmax: "{0}" completed: {1}.', run.name, resultLine(run)), ...open, dontShowAgain())
      .then(act);
  } else if (run.status === 'failed') {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: "{0}" failed: {1}', run.name, run.reason ?? 'unknown reason'), vscode.l10n.t('Show Log'), ...open).then(act);
  } else if (run.status === 'interrupted') {
    void vscode.window.showWarningMessage(vscode.l10n.t('L2-Softmax: "{0}" was interrupted: {1}', run.name, run.reason ?? 'its trainer is gone'), vscode.l10n.t('Resume'), vscode.l10n.t('Show Log')).then(act);
  }
}

const dontShowAgain = () => vscode.l10n.t("Don't Show Again");
