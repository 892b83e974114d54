// The Settings view: one item per l2softmax.* setting, edited in place; a
// value that would stop a run (or make it underfit) is marked on its row.

import * as vscode from 'vscode';
import { datasetTooltip, lastRunStats, summarizeDataset } from '../core/dataset-summary';
import type { RunStore } from '../core/run-store';
import { escapeMarkdown } from '../core/markdown';
import { settingProblem, scaleBoundFor, type CheckContext, type SettingProblem } from '../core/setting-checks';
import { SETTINGS, checkSetting, displaySetting, parseNumberInput, settingSpec, settingTooltip, type SettingSpec } from '../core/settings';
import { trainingClasses } from '../core/sweep';
import { DEFAULT_CONFIG, type LossKind } from '../shared/config';
import { untrustedMarkdown } from './tooltip';
import { getActiveFolder, l2Settings, pathKind, readRunConfig, updateSetting, withAbsolutePaths } from './workspace-config';

export class SettingsView implements vscode.TreeDataProvider<SettingSpec>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SettingSpec | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  /** Training classes of the configured dataset (for the alpha and s bounds), re-counted when the settings change. */
  private classes?: number;

  constructor(private readonly store: RunStore) {
    this.subscriptions.push(
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('l2softmax')) return;
        this.changed.fire(undefined);
        void this.countClasses();
      }),
    );
    void this.countClasses();
  }

  private async countClasses(): Promise<void> {
    const config = readRunConfig();
    const classes = config.ok ? (await trainingClasses(withAbsolutePaths(config.config))).classes : undefined;
    if (classes === this.classes) return;
    this.classes = classes;
    this.changed.fire(undefined);
  }

  getChildren(element?: SettingSpec): SettingSpec[] {
    return element ? [] : [...SETTINGS];
  }

  /** What is wrong with each setting now (the rows marked), by key. */
  problems(): Map<string, SettingProblem> {
    const config = l2Settings();
    const ctx = checkContext(config.get<LossKind>('loss') ?? DEFAULT_CONFIG.loss, this.classes);
    const out = new Map<string, SettingProblem>();
    for (const spec of SETTINGS) {
      const problem = settingProblem(spec, config.get(spec.key), ctx);
      if (problem) out.set(spec.key, problem);
    }
    return out;
  }

  getTreeItem(spec: SettingSpec): vscode.TreeItem {
    const config = l2Settings();
    const value = config.get(spec.key);
    const problem = settingProblem(spec, value, checkContext(config.get<LossKind>('loss') ?? DEFAULT_CONFIG.loss, this.classes));
    const item = new vscode.TreeItem(spec.label, vscode.TreeItemCollapsibleState.None);
    item.id = `setting.${spec.key}`;
    item.description = displaySetting(spec, value);
    item.contextValue = `setting.${spec.kind}${problem ? `.${problem.severity}` : ''}`;
    item.iconPath = problem
      ? new vscode.ThemeIcon(problem.severity, new vscode.ThemeColor(problem.severity === 'error' ? 'list.errorForeground' : 'list.warningForeground'))
      : new vscode.ThemeIcon(ICONS[spec.kind]);
    item.command = { command: 'l2softmax.editSetting', title: vscode.l10n.t('Edit Setting'), arguments: [spec.key] };
    // Tooltips that need the disk are left to resolveTreeItem (VS Code resolves only a tooltip that is undefined).
    if (!DISK_TOOLTIPS.has(spec.key)) item.tooltip = untrustedMarkdown(this.baseTooltip(spec));
    return item;
  }

  /** The setting's problem, what it is and its value. */
  private baseTooltip(spec: SettingSpec): string {
    const config = l2Settings();
    const value = config.get(spec.key);
    const problem = settingProblem(spec, value, checkContext(config.get<LossKind>('loss') ?? DEFAULT_CONFIG.loss, this.classes));
    const mark = problem ? `${problem.severity === 'error' ? '⛔' : '⚠'} **${escapeMarkdown(problem.message)}**\n\n` : '';
    return mark + settingTooltip(spec, value);
  }

  /** Tooltips that need the disk (dataset statistics, alpha_low) are filled in lazily. */
  async resolveTreeItem(item: vscode.TreeItem, spec: SettingSpec): Promise<vscode.TreeItem> {
    item.tooltip = await this.tooltip(spec);
    return item;
  }

  /** A row's whole tooltip: for the dataset and scale settings, with the dataset's counts and alpha_low and s_low for it. */
  async tooltip(spec: SettingSpec): Promise<vscode.MarkdownString> {
    const base = this.baseTooltip(spec);
    const config = readRunConfig();
    if (!DISK_TOOLTIPS.has(spec.key) || !config.ok) return untrustedMarkdown(base);
    const run = withAbsolutePaths(config.config);
    const s = await summarizeDataset(run);
    const last = run.dataset.path && !s.error ? await lastRunStats(this.store, run.dataset.path) : undefined;
    return untrustedMarkdown(`${base}\n\n---\n\n${datasetTooltip(s, run, last)}`);
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
  }
}

/** Settings whose tooltips read the dataset (counts, alpha_low, s_low): filled in on hover. */
const DISK_TOOLTIPS: ReadonlySet<string> = new Set(['alpha', 'scale', 'datasetFolder', 'pairsFile', 'minImagesPerIdentity']);

/** Paths are checked as a run would read them: relative ones in the workspace. */
function checkContext(loss: LossKind, classes: number | undefined): CheckContext {
  return { loss, classes, pathKind };
}

const ICONS: Record<SettingSpec['kind'], string> = {
  number: 'symbol-number',
  integer: 'symbol-number',
  boolean: 'symbol-boolean',
  enum: 'symbol-enum',
  folder: 'folder-library',
  file: 'file',
  text: 'symbol-string',
};

/** Edits one setting with the right control; returns true when a value was written. */
export async function editSetting(key: string): Promise<boolean> {
  const spec = settingSpec(key);
  if (!spec) {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: there is no setting "{0}".', key));
    return false;
  }
  const config = l2Settings();
  const current = config.get(spec.key);
  let value: unknown;
  switch (spec.kind) {
    case 'boolean':
      value = !current;
      break;
    case 'enum': {
      const pick = await vscode.window.showQuickPick(
        (spec.options ?? []).map((o, i) => ({ label: String(o), description: o === current ? 'current' : undefined, detail: spec.optionDescriptions?.[i] || undefined, value: o })),
        { title: spec.label, placeHolder: spec.description },
      );
      if (!pick) return false;
      value = pick.value;
      break;
    }
    case 'number':
    case 'integer': {
      const bound = await boundOf(spec);
      const text = await vscode.window.showInputBox({
        title: spec.label,
        prompt: bound ? `${spec.description} For the dataset set now: ${bound.name}_low = ${bound.low.toFixed(2)} (C = ${bound.classes} classes).` : spec.description,
        value: String(current ?? spec.default),
        validateInput: (t) => numberInputProblem(spec, t, bound),
      });
      if (text === undefined) return false;
      value = parseNumberInput(spec, text).value;
      break;
    }
    case 'folder':
    case 'file':
    case 'text': {
      const picked = await pickPath(spec, String(current ?? ''));
      if (picked === undefined) return false;
      value = picked;
      break;
    }
  }
  const reason = checkSetting(spec, value);
  if (reason) {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: {0} {1}; the setting was not changed.', spec.label, reason));
    return false;
  }
  return updateSetting(spec.key, value);
}

/** The lower bound alpha or s must exceed for the configured dataset, when `spec` is that scale and the head uses it. */
async function boundOf(spec: SettingSpec): Promise<{ name: string; low: number; classes: number } | undefined> {
  if (spec.key !== 'alpha' && spec.key !== 'scale') return undefined;
  const config = readRunConfig();
  if (!config.ok) return undefined;
  const { classes } = await trainingClasses(withAbsolutePaths(config.config));
  const bound = classes === undefined ? undefined : scaleBoundFor(config.config.loss, classes);
  if (!bound || (bound.name === 'alpha') !== (spec.key === 'alpha')) return undefined;
  return { ...bound, classes: classes as number };
}

/** An error for input that cannot be saved; a warning (still saved) for a scale below its bound. */
function numberInputProblem(spec: SettingSpec, text: string, bound: { name: string; low: number; classes: number } | undefined): string | vscode.InputBoxValidationMessage | undefined {
  const parsed = parseNumberInput(spec, text);
  if (parsed.error) return parsed.error;
  if (bound && (parsed.value as number) < bound.low) {
    return { message: vscode.l10n.t('Below {0}_low = {1} for {2} classes: training may underfit.', bound.name, bound.low.toFixed(2), bound.classes), severity: vscode.InputBoxValidationSeverity.Warning };
  }
  return undefined;
}

async function pickPath(spec: SettingSpec, current: string): Promise<string | undefined> {
  const folder = spec.kind === 'folder';
  const clearLabel = spec.key === 'datasetFolder' ? 'Use the built-in synthetic faces' : 'Clear';
  const choice = await vscode.window.showQuickPick(
    [
      { label: folder ? '$(folder-opened) Choose a folder…' : '$(file) Choose a file…', id: 'browse' },
      { label: vscode.l10n.t('$(edit) Type a path…'), id: 'type' },
      { label: vscode.l10n.t('$(close) {0}', clearLabel), id: 'clear' },
    ],
    { title: spec.label, placeHolder: current ? `Current: ${current}` : spec.description },
  );
  if (!choice) return undefined;
  if (choice.id === 'clear') return '';
  let target: string | undefined;
  if (choice.id === 'browse') {
    const uris = await vscode.window.showOpenDialog({
      canSelectFolders: folder,
      canSelectFiles: !folder,
      canSelectMany: false,
      defaultUri: current ? vscode.Uri.file(current) : getActiveFolder()?.uri,
      openLabel: vscode.l10n.t('Use as {0}', spec.label.toLowerCase()),
    });
    target = uris?.[0]?.fsPath;
  } else {
    target = await vscode.window.showInputBox({
      title: spec.label,
      prompt: spec.description,
      value: current,
      validateInput: (t) => checkPath(t.trim(), folder),
    });
    target = target?.trim();
  }
  if (!target) return undefined;
  const problem = checkPath(target, folder);
  if (problem) {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: {0}; {1} was not changed.', problem, spec.label));
    return undefined;
  }
  return target;
}

function checkPath(p: string, folder: boolean): string | undefined {
  if (!p) return undefined;
  const kind = pathKind(p);
  if (!kind) return `${p} does not exist`;
  if (folder && kind !== 'folder') return `${p} is a file, not a folder`;
  if (!folder && kind !== 'file') return `${p} is a folder, not a file`;
  return undefined;
}
