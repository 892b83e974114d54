// Sweep commands: Start Sweep (which setting, its values with alpha prefilled
// around alpha_low, an optional second setting for a grid, seeds, where it
// runs), Open Sweep Dashboard, Stop Sweep, Re-run Failed Cells, Delete Sweep.

import * as vscode from 'vscode';
import type { RunManager } from '../core/run-manager';
import type { RunMonitor } from '../core/run-monitor';
import type { RunStore } from '../core/run-store';
import { findOnPath } from '../core/runtime';
import { SlurmError, checkCluster, slurmOptionsFrom, type SlurmLauncher } from '../core/slurm';
import { ALPHA_FIELD, DEFAULT_SEEDS, alphaLowFor, checkDefinition, defaultAlphas, expandSweep, failedCells, parseSweepValues, sweepableSettings, trainingClasses, type SweepDefinition } from '../core/sweep';
import type { SweepMonitor } from '../core/sweep-monitor';
import type { NewSweep, SweepStore } from '../core/sweep-store';
import type { SettingSpec } from '../core/settings';
import { getField, type RunConfig } from '../shared/config';
import type { SweepAxis, SweepLauncher, SweepRecord } from '../shared/sweep';
import { configFromSettingsOrSay, newRunProvenance, registerReported, requireTrust } from './commands';
import type { SweepDashboards, SweepNode, SweepsView } from './sweeps';
import { hostSetting, l2Settings } from './workspace-config';

export interface SweepServices {
  store: RunStore;
  monitor: RunMonitor;
  manager: RunManager;
  sweeps: SweepStore;
  sweepMonitor: SweepMonitor;
  sweepsView: SweepsView;
  sweepDashboards: SweepDashboards;
  slurm: SlurmLauncher;
  /** dist/trainer.js as the cluster's nodes see it (the extension's own folder). */
  trainerScript: string;
  output: vscode.LogOutputChannel;
}

/** The value-list words that add the softmax and learned-alpha variants to an alpha sweep. */
const SOFTMAX_WORD = 'softmax';
const LEARNED_WORD = 'learned';

type SweepArg = string | SweepNode | undefined;

export function registerSweepCommands(s: SweepServices): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: never[]) => unknown) => registerReported(s.output, id, fn);
  return [
    reg('l2softmax.startSweep', () => startSweep(s)),
    reg('l2softmax.openSweep', async (arg: SweepArg) => {
      const sweep = await pickSweep(s, arg, 'Open which sweep?');
      if (sweep) await s.sweepDashboards.open(sweep.id);
    }),
    reg('l2softmax.stopSweep', async (arg: SweepArg) => {
      const sweep = await pickSweep(s, arg, 'Stop which sweep?', (id) => active(s, id));
      if (sweep) await stopSweep(s, sweep.id);
    }),
    reg('l2softmax.rerunFailedCells', async (arg: SweepArg) => {
      const sweep = await pickSweep(s, arg, 'Re-run the failed cells of which sweep?');
      if (sweep && requireTrust()) await rerunFailed(s, sweep.id);
    }),
    reg('l2softmax.deleteSweep', async (arg: SweepArg) => {
      const sweep = await pickSweep(s, arg, 'Delete which sweep?', (id) => !active(s, id));
      if (!sweep) return;
      const ok = await vscode.window.showWarningMessage(vscode.l10n.t('Delete sweep "{0}"? Its {1} runs stay in the Runs view.', sweep.name, sweep.cells.length), { modal: true }, vscode.l10n.t('Delete'));
      if (ok !== vscode.l10n.t('Delete')) return;
      s.sweepDashboards.close(sweep.id);
      await s.sweeps.delete(sweep.id);
      await s.sweepMonitor.refresh();
    }),
  ];
}

function active(s: SweepServices, sweepId: string): boolean {
  const snap = s.sweepMonitor.snapshot(sweepId);
  return !!(snap?.counts.running || snap?.counts.queued);
}

async function pickSweep(s: SweepServices, arg: SweepArg, title: string, filter: (id: string) => boolean = () => true): Promise<SweepRecord | undefined> {
  await s.sweepMonitor.ready();
  const id = typeof arg === 'string' ? arg : arg?.sweepId;
  if (id) return s.sweepMonitor.get(id) ?? (await s.sweeps.get(id));
  const candidates = s.sweepMonitor.list().filter((r) => filter(r.id));
  if (!candidates.length) {
    void vscode.window.showInformationMessage(vscode.l10n.t('L2-Softmax: there is no such sweep.'));
    return undefined;
  }
  if (candidates.length === 1) return candidates[0];
  const pick = await vscode.window.showQuickPick(
    candidates.map((r) => ({ label: r.name, description: new Date(r.createdAt).toLocaleString(), sweep: r })),
    { title },
  );
  return pick?.sweep;
}

// ----------------------------------------------------------------- Start Sweep

interface SettingItem extends vscode.QuickPickItem {
  spec?: SettingSpec;
}

async function pickSetting(title: string, exclude?: SettingSpec, none?: string): Promise<SettingSpec | null | undefined> {
  const items: SettingItem[] = sweepableSettings()
    .filter((spec) => spec !== exclude)
    .map((spec) => ({
      label: spec.label,
      description: spec.field === ALPHA_FIELD ? "the paper's experiment: fixed alphas around alpha_low, plain softmax, learned alpha" : `l2softmax.${spec.key}`,
      spec,
    }));
  if (none) items.unshift({ label: none });
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('A numeric or choice setting') });
  if (!pick) return undefined;
  return pick.spec ?? null;
}

function formatValues(values: (number | string)[]): string {
  return values.join(', ');
}

interface AxisAnswer {
  axis: SweepAxis;
  withSoftmax: boolean;
  withLearned: boolean;
}

/** Splits an alpha value list into values and the softmax/learned words. */
function readAxis(spec: SettingSpec, text: string): { answer?: AxisAnswer; error?: string } {
  const isAlpha = spec.field === ALPHA_FIELD;
  const words = text.split(',').map((w) => w.trim());
  const withSoftmax = isAlpha && words.includes(SOFTMAX_WORD);
  const withLearned = isAlpha && words.includes(LEARNED_WORD);
  const rest = isAlpha ? words.filter((w) => w !== SOFTMAX_WORD && w !== LEARNED_WORD) : words;
  const parsed = parseSweepValues(spec, rest.join(','));
  if (parsed.error) return { error: parsed.error };
  return { answer: { axis: { field: spec.field as string, values: parsed.values ?? [] }, withSoftmax, withLearned } };
}

async function askValues(spec: SettingSpec, base: RunConfig, alphaLow: number | undefined, classes: number | undefined): Promise<AxisAnswer | undefined> {
  const isAlpha = spec.field === ALPHA_FIELD;
  const value = isAlpha ? formatValues([...defaultAlphas(alphaLow), SOFTMAX_WORD, LEARNED_WORD]) : String(getField(base, spec.field as string));
  const bound = alphaLow !== undefined ? `alpha_low = log(0.9 (C − 2) / 0.1) = ${alphaLow.toFixed(2)} for C = ${classes} classes. ` : '';
  const prompt = isAlpha
    ? `${bound}Fixed alphas, comma-separated; "${SOFTMAX_WORD}" adds plain softmax (the baseline band), "${LEARNED_WORD}" a learned alpha starting at ${base.alpha}.`
    : `Values of ${spec.label}, comma-separated${spec.options ? ` (choices: ${spec.options.join(', ')})` : ''}.`;
  const text = await vscode.window.showInputBox({
    title: vscode.l10n.t('Sweep: values of {0}', spec.label),
    prompt,
    value,
    validateInput: (t) => readAxis(spec, t).error,
  });
  if (text === undefined) return undefined;
  const { answer, error } = readAxis(spec, text);
  if (error) throw new Error(error);
  return answer;
}

async function askSeeds(): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: vscode.l10n.t('Sweep: seeds per cell'),
    prompt: vscode.l10n.t('Each cell trains with this many seeds (the setting\'s seed, then the next ones); the figure shows their mean and std.'),
    value: String(DEFAULT_SEEDS),
    validateInput: (t) => (/^\d+$/.test(t.trim()) && Number(t) >= 1 ? undefined : 'A whole number, at least 1.'),
  });
  return text === undefined ? undefined : Number(text.trim());
}

async function askLauncher(cells: number): Promise<SweepLauncher | undefined> {
  const local = { label: vscode.l10n.t('This machine\'s queue'), description: vscode.l10n.t('{0} runs, {1} at a time (l2softmax.maxConcurrentRuns)', cells, hostSetting('maxConcurrentRuns')), launcher: 'local' as const };
  // Without Slurm's commands here there is nothing to ask.
  if (!findOnPath('sbatch')) return 'local';
  // Slurm settings are read as slurmOptionsFrom reads them (they are not in the host settings table).
  const partition = String(l2Settings().get('slurm.partition') ?? '').trim();
  const slurm = { label: vscode.l10n.t('Slurm cluster'), description: vscode.l10n.t('one job array of {0} tasks{1} (l2softmax.slurm.* settings)', cells, partition ? ` on partition ${partition}` : ''), launcher: 'slurm' as const };
  return (await vscode.window.showQuickPick([local, slurm], { title: vscode.l10n.t('Sweep: run {0} runs where?', cells) }))?.launcher;
}

/** Asks for the sweep step by step; undefined when the user cancels. */
async function askDefinition(base: RunConfig): Promise<(SweepDefinition & { alphaLow?: number; classes?: number }) | undefined> {
  const first = await pickSetting('Sweep: vary which setting?');
  if (!first) return undefined;
  let alphaLow: number | undefined;
  let classes: number | undefined;
  if (first.field === ALPHA_FIELD) {
    classes = (await trainingClasses(base)).classes;
    alphaLow = classes !== undefined ? alphaLowFor(classes) : undefined;
  }
  const firstAxis = await askValues(first, base, alphaLow, classes);
  if (!firstAxis) return undefined;
  const second = await pickSetting('Sweep: also vary a second setting (a grid)?', first, 'No second setting');
  if (second === undefined) return undefined;
  const secondAxis = second ? await askValues(second, base, alphaLow, classes) : undefined;
  if (second && !secondAxis) return undefined;
  const seeds = await askSeeds();
  if (!seeds) return undefined;
  const axes = [firstAxis.axis, ...(secondAxis ? [secondAxis.axis] : [])];
  return { base, axes, withSoftmax: firstAxis.withSoftmax, withLearned: firstAxis.withLearned, seeds, alphaLow, classes };
}

async function startSweep(s: SweepServices): Promise<SweepRecord | undefined> {
  if (!requireTrust()) return undefined;
  const settingsBase = await configFromSettingsOrSay('a sweep');
  if (!settingsBase) return undefined;
  const def = await askDefinition(settingsBase);
  if (!def) return undefined;
  const problem = checkDefinition(def);
  if (problem) throw new Error(problem);
  const launcher = await askLauncher(expandSweep(def).length);
  if (!launcher) return undefined;
  const provenance = await newRunProvenance(s.store.root);
  const sweep = launcher === 'slurm' ? await startOnSlurm(s, { ...def, provenance }) : await s.sweeps.create({ ...def, launcher, provenance }, s.store);
  if (!sweep) return undefined;
  s.output.info(`sweep "${sweep.name}" (${sweep.id}): ${sweep.cells.length} runs on ${launcher === 'slurm' ? 'Slurm' : "this machine's queue"}`);
  await queued(s, sweep);
  await s.sweepDashboards.open(sweep.id);
  return sweep;
}

/** Makes the new runs and sweep visible now (the queue starts local cells at its next look). */
async function queued(s: SweepServices, sweep: SweepRecord): Promise<void> {
  for (const cell of sweep.cells) await s.monitor.poke(cell.runId);
  await s.sweepMonitor.refresh();
  s.sweepsView.refresh();
}

/**
 * Checks the cluster (sbatch there, the runs folder, Node.js and the trainer
 * visible on a node) before anything is created, then creates the sweep and
 * submits it as one job array; sbatch's refusal reaches the user verbatim and
 * the sweep keeps its record with the cells failed.
 */
async function startOnSlurm(s: SweepServices, def: SweepDefinition & Pick<NewSweep, 'alphaLow' | 'classes' | 'provenance'>): Promise<SweepRecord | undefined> {
  const config = l2Settings();
  const options = slurmOptionsFrom((key) => config.get(key));
  const base = def.base.workers ? def.base : { ...def.base, workers: options.cpusPerTask };
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('L2-Softmax: Slurm sweep') }, async (progress) => {
    if (config.get('slurm.checkSharedFolder', true)) {
      progress.report({ message: vscode.l10n.t('checking that the nodes see {0} (a short job)…', s.store.root) });
      await checkCluster({ folder: s.store.root, trainerScript: s.trainerScript, options, onProgress: (m) => progress.report({ message: m }) });
    }
    progress.report({ message: vscode.l10n.t('submitting the job array…') });
    const sweep = await s.sweeps.create({ ...def, base, launcher: 'slurm', slurm: options }, s.store);
    try {
      const jobId = await s.slurm.submit(sweep, sweep.cells.map((c) => c.index));
      void vscode.window.showInformationMessage(vscode.l10n.t('L2-Softmax: sweep "{0}" submitted as Slurm job array {1} ({2} tasks).', sweep.name, jobId, sweep.cells.length));
    } catch (err) {
      await s.slurm.abandon(sweep, (err as Error).message);
      throw err instanceof SlurmError ? err : new SlurmError((err as Error).message);
    }
    return (await s.sweeps.get(sweep.id)) ?? sweep;
  });
}

// ------------------------------------------------------- Stop, Re-run Failed

async function stopSweep(s: SweepServices, sweepId: string): Promise<void> {
  const sweep = await s.sweeps.markStopped(sweepId);
  await Promise.all(sweep.cells.map((c) => s.manager.stop(c.runId).catch((err: Error) => s.output.error(`[${c.runId}] stop: ${err.message}`))));
  await s.sweepMonitor.refresh();
}

async function rerunFailed(s: SweepServices, sweepId: string): Promise<void> {
  const snap = s.sweepMonitor.snapshot(sweepId);
  if (!snap) throw new Error(`sweep ${sweepId} no longer exists`);
  const cells = failedCells(snap);
  if (!cells.length) {
    void vscode.window.showInformationMessage(vscode.l10n.t('L2-Softmax: every cell of "{0}" completed or is still going.', snap.sweep.name));
    return;
  }
  const sweep = await s.sweeps.rerun(sweepId, cells.map((c) => c.index), s.store, new Date(), await newRunProvenance(s.store.root));
  if (sweep.launcher === 'slurm') {
    try {
      await s.slurm.submit(sweep, cells.map((c) => c.index));
    } catch (err) {
      await s.slurm.abandon(sweep, (err as Error).message);
      throw err;
    }
  }
  s.output.info(`sweep "${sweep.name}": ${cells.length} cell(s) run again`);
  await queued(s, sweep);
}
