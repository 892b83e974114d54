// The Settings view: one item per l2softmax.* setting, edited in place.

import * as vscode from 'vscode';
import { existsSync, statSync } from 'node:fs';
import { datasetTooltip, lastRunStats, summarizeDataset } from '../core/dataset-summary';
import type { RunStore } from '../core/run-store';
import { SETTINGS, checkSetting, displaySetting, parseNumberInput, settingSpec, settingTooltip, type SettingSpec } from '../core/settings';
import { untrustedMarkdown } from './tooltip';
import { readRunConfig, updateSetting } from './workspace-config';

export class SettingsView implements vscode.TreeDataProvider<SettingSpec>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SettingSpec | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly store: RunStore) {
    this.subscriptions.push(
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('l2softmax')) this.changed.fire(undefined);
      }),
    );
  }

  getChildren(element?: SettingSpec): SettingSpec[] {
    return element ? [] : [...SETTINGS];
  }

  getTreeItem(spec: SettingSpec): vscode.TreeItem {
    const value = vscode.workspace.getConfiguration('l2softmax').get(spec.key);
    const item = new vscode.TreeItem(spec.label, vscode.TreeItemCollapsibleState.None);
    item.id = `setting.${spec.key}`;
    item.description = displaySetting(spec, value);
    item.contextValue = `setting.${spec.kind}`;
    item.iconPath = new vscode.ThemeIcon(ICONS[spec.kind]);
    item.command = { command: 'l2softmax.editSetting', title: 'Edit Setting', arguments: [spec.key] };
    item.tooltip = untrustedMarkdown(settingTooltip(spec, value));
    return item;
  }

  /** Tooltips that need the disk (dataset statistics, alpha_low) are filled in lazily. */
  async resolveTreeItem(item: vscode.TreeItem, spec: SettingSpec): Promise<vscode.TreeItem> {
    if (!['alpha', 'scale', 'datasetFolder', 'pairsFile', 'minImagesPerIdentity'].includes(spec.key)) return item;
    const config = readRunConfig();
    if (!config.ok) return item;
    const s = await summarizeDataset(config.config);
    const last = config.config.dataset.path && !s.error ? await lastRunStats(this.store, config.config.dataset.path) : undefined;
    const base = item.tooltip instanceof vscode.MarkdownString ? item.tooltip.value : '';
    item.tooltip = untrustedMarkdown(`${base}\n\n---\n\n${datasetTooltip(s, config.config, last)}`);
    return item;
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
  }
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
    void vscode.window.showErrorMessage(`L2-Softmax: there is no setting "${key}".`);
    return false;
  }
  const config = vscode.workspace.getConfiguration('l2softmax');
  const current = config.get(spec.key);
  let value: unknown;
  switch (spec.kind) {
    case 'boolean':
      value = !current;
      break;
    case 'enum': {
      const pick = await vscode.window.showQuickPick(
        (spec.options ?? []).map((o) => ({ label: String(o), description: o === current ? 'current' : undefined, value: o })),
        { title: spec.label, placeHolder: spec.description },
      );
      if (!pick) return false;
      value = pick.value;
      break;
    }
    case 'number':
    case 'integer': {
      const text = await vscode.window.showInputBox({
        title: spec.label,
        prompt: spec.description,
        value: String(current ?? spec.default),
        validateInput: (t) => parseNumberInput(spec, t).error,
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
    void vscode.window.showErrorMessage(`L2-Softmax: ${spec.label} ${reason}; the setting was not changed.`);
    return false;
  }
  return updateSetting(spec.key, value);
}

async function pickPath(spec: SettingSpec, current: string): Promise<string | undefined> {
  const folder = spec.kind === 'folder';
  const clearLabel = spec.key === 'datasetFolder' ? 'Use the built-in synthetic faces' : 'Clear';
  const choice = await vscode.window.showQuickPick(
    [
      { label: folder ? '$(folder-opened) Choose a folder…' : '$(file) Choose a file…', id: 'browse' },
      { label: '$(edit) Type a path…', id: 'type' },
      { label: `$(close) ${clearLabel}`, id: 'clear' },
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
      defaultUri: current ? vscode.Uri.file(current) : vscode.workspace.workspaceFolders?.[0]?.uri,
      openLabel: `Use as ${spec.label.toLowerCase()}`,
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
    void vscode.window.showErrorMessage(`L2-Softmax: ${problem}; ${spec.label} was not changed.`);
    return undefined;
  }
  return target;
}

function checkPath(p: string, folder: boolean): string | undefined {
  if (!p) return undefined;
  if (!existsSync(p)) return `${p} does not exist`;
  const isDir = statSync(p).isDirectory();
  if (folder && !isDir) return `${p} is a file, not a folder`;
  if (!folder && isDir) return `${p} is a folder, not a file`;
  return undefined;
}
