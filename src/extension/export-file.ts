// Saving what a dashboard exports (CSV, PNG): the save dialog proposes the
// workspace (never the hidden run or sweep folder) and a name after the run or
// sweep; the outcome is said in the panel, and a failure also as an error.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { workspaceBase } from './workspace-config';

export type Notice = (level: 'info' | 'error', message: string) => void;

export interface ExportFile {
  /** The proposed file name, e.g. "L2-16-synthetic-metrics.csv". */
  name: string;
  /** The dialog's filter, e.g. "CSV" and "csv". */
  kind: string;
  ext: string;
  title: string;
  data: Buffer;
}

/** Asks where to save `file` and writes it there; nothing when the user cancels. */
export async function saveExport(file: ExportFile, notice: Notice): Promise<void> {
  const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(workspaceBase(), file.name)), filters: { [file.kind]: [file.ext] }, title: file.title });
  if (!uri) return;
  try {
    if (uri.scheme === 'file') await fs.writeFile(uri.fsPath, file.data);
    else await vscode.workspace.fs.writeFile(uri, file.data);
    notice('info', vscode.l10n.t('Saved {0}', uri.fsPath));
  } catch (err) {
    const message = vscode.l10n.t('Could not save {0}: {1}', uri.fsPath, (err as Error).message);
    notice('error', message);
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: {0}', message));
  }
}

/** A run or sweep name as the start of a file name ("L2 α=16 · synthetic" -> "L2-16-synthetic"). */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'run';
}

/** The bytes of a data: URL (a chart's PNG from the webview). */
export function dataUrlBytes(dataUrl: string): Buffer {
  return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
}
