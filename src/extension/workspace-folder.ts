// Multi-root workspaces: runs are per folder (each folder's .l2softmax/runs and
// its own settings). A window shows the runs of one folder at a time, kept per
// workspace; Switch Runs Folder... picks another and reloads the window, which
// training runs outlive.

import * as vscode from 'vscode';
import { getActiveFolder, setActiveFolder } from './workspace-config';

/** workspaceState key of the chosen folder's URI. */
const FOLDER_KEY = 'l2softmax.runsWorkspaceFolder';

/** The folder this window works in: the one chosen before, else the first. */
export function restoreActiveFolder(context: vscode.ExtensionContext): vscode.WorkspaceFolder | undefined {
  const saved = context.workspaceState.get<string>(FOLDER_KEY);
  const folders = vscode.workspace.workspaceFolders ?? [];
  const folder = folders.find((f) => f.uri.toString() === saved) ?? folders[0];
  setActiveFolder(folder);
  return folder;
}

/** Asks which folder's runs to show (only when there is a choice), remembers it and reloads the window. */
export async function switchFolder(context: vscode.ExtensionContext): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length < 2) {
    void vscode.window.showInformationMessage(vscode.l10n.t('L2-Softmax: this window has {0}; runs live in {1}.', folders.length ? 'one folder' : 'no folder', folders.length ? `${folders[0].name}/.l2softmax/runs` : 'the extension\'s storage'));
    return;
  }
  const current = getActiveFolder();
  const pick = await vscode.window.showQuickPick(
    folders.map((f) => ({ label: f.name, description: f.uri.fsPath, detail: f === current ? 'current: its runs are shown' : undefined, folder: f })),
    { title: vscode.l10n.t('Show and start the runs of which folder?'), placeHolder: vscode.l10n.t('Each folder keeps its own runs and settings') },
  );
  if (!pick || pick.folder === current) return;
  await context.workspaceState.update(FOLDER_KEY, pick.folder.uri.toString());
  await vscode.commands.executeCommand('workbench.action.reloadWindow');
}

/** A short note for the Runs view in a multi-root workspace: whose runs these are. */
export function folderNote(): string | undefined {
  const folders = vscode.workspace.workspaceFolders ?? [];
  return folders.length > 1 ? vscode.l10n.t("Runs of {0} (one of {1} folders: Switch Runs Folder... in the view's menu)", getActiveFolder()?.name ?? '', folders.length) : undefined;
}
