// Reading and writing the l2softmax.* settings of the workspace folder this
// window's runs belong to (one of several in a multi-root workspace): reads go
// through the validated settings table, failed writes are shown to the user.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { pathKindAt, type PathKind } from '../core/setting-checks';
import { SETTINGS, SettingReader, configFromSettings, type HostSettings } from '../core/settings';
import type { ConfigResult, RunConfig } from '../shared/config';

const reader = new SettingReader((problem) => void vscode.window.showWarningMessage(vscode.l10n.t('L2-Softmax: {0}', problem)));

/** The workspace folder whose runs this window shows and whose settings runs take (see workspace-folder.ts). */
let activeFolder: vscode.WorkspaceFolder | undefined;

export function setActiveFolder(folder: vscode.WorkspaceFolder | undefined): void {
  activeFolder = folder;
}

export function getActiveFolder(): vscode.WorkspaceFolder | undefined {
  return activeFolder ?? vscode.workspace.workspaceFolders?.[0];
}

/** The l2softmax.* settings as the active folder sees them (its own resource settings included). */
export function l2Settings(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('l2softmax', getActiveFolder()?.uri);
}

/** Snapshots the l2softmax.* settings into a validated run config. */
export function readRunConfig(): ConfigResult {
  const config = l2Settings();
  return configFromSettings((key) => config.get(key));
}

/** A host-only setting, checked: a wrong value is reported once and its default used. */
export function hostSetting<K extends keyof HostSettings>(key: K): HostSettings[K] {
  return reader.read(key, l2Settings().get(key));
}

/** Edits go to the workspace's settings when a folder is open (the active folder's own in a multi-root workspace), else to the user's. */
export function settingsTarget(): vscode.ConfigurationTarget {
  const folders = vscode.workspace.workspaceFolders?.length ?? 0;
  return folders > 1 ? vscode.ConfigurationTarget.WorkspaceFolder : folders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

/**
 * Writes one setting; returns false when that failed (settings.json unwritable,
 * unparsable or with unsaved changes), after telling the user which setting and why.
 */
export async function updateSetting(key: string, value: unknown, target = settingsTarget()): Promise<boolean> {
  try {
    await l2Settings().update(key, value, target);
    return true;
  } catch (err) {
    const where = target === vscode.ConfigurationTarget.Global ? 'user settings' : 'workspace settings';
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: could not save l2softmax.{0} to the {1}: {2}', key, where, (err as Error).message ?? err));
    return false;
  }
}

export async function resetSettings(): Promise<void> {
  const target = settingsTarget();
  for (const spec of SETTINGS) await updateSetting(spec.key, undefined, target);
}

/** The folder relative dataset paths mean: the active workspace folder, else the current directory. */
export function workspaceBase(): string {
  return getActiveFolder()?.uri.fsPath ?? process.cwd();
}

/** Relative dataset paths mean "in the workspace": the trainer runs elsewhere (in the run folder). */
export function withAbsolutePaths(config: RunConfig, base = workspaceBase()): RunConfig {
  const abs = (p: string) => (p && !path.isAbsolute(p) ? path.resolve(base, p) : p);
  return { ...config, dataset: { ...config.dataset, path: abs(config.dataset.path), pairsFile: abs(config.dataset.pairsFile), pairsImages: abs(config.dataset.pairsImages) } };
}

/** What a dataset path names, relative ones resolved in the workspace. */
export function pathKind(p: string, base = workspaceBase()): PathKind {
  return pathKindAt(p, base);
}
