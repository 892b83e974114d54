import * as vscode from 'vscode';
import { SETTINGS, configFromSettings } from '../core/settings';
import type { ConfigResult } from '../shared/config';

/** Snapshots the l2softmax.* settings into a validated run config. */
export function readRunConfig(): ConfigResult {
  const config = vscode.workspace.getConfiguration('l2softmax');
  return configFromSettings((key) => config.get(key));
}

export function hostSetting<T>(key: string, fallback: T): T {
  return vscode.workspace.getConfiguration('l2softmax').get<T>(key, fallback);
}

/** Edits go to the workspace's settings when a folder is open, else to the user's. */
export function settingsTarget(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

export async function resetSettings(): Promise<void> {
  const config = vscode.workspace.getConfiguration('l2softmax');
  const target = settingsTarget();
  for (const spec of SETTINGS) await config.update(spec.key, undefined, target);
}
