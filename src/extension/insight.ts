// The host's side of "Inside the embedding": answers a dashboard's request for
// an epoch of a run's records (src/core/records.ts builds it; image files become
// webview URIs here, so thumbnails load through the panel's local resource
// roots, never inlined), exports records where the user chooses, and names the
// folders a panel may load images from.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { epochInsight, exportRecords, imageFile } from '../core/records';
import type { RunRecord } from '../core/run-store';
import type { ExportRecordsRequest, InsightReply, InsightRequest } from '../shared/insight';
import { THUMBNAILS_DIR } from '../shared/records';
import { workspaceBase } from './workspace-config';

/** One epoch of a run's records for the page; a reason instead when there are none or they cannot be read. */
export async function insightReply(runDir: string, request: InsightRequest, webview: vscode.Webview): Promise<InsightReply> {
  const thumbnails = existsSync(path.join(runDir, THUMBNAILS_DIR));
  const src = (image: number, file: string | undefined) => (file || thumbnails ? webview.asWebviewUri(vscode.Uri.file(imageFile(runDir, image, file))).toString() : undefined);
  try {
    const insight = await epochInsight(runDir, request.epoch, request.operating, src);
    return { type: 'insight', runId: request.runId, seq: request.seq, insight: insight ?? null, ...(insight ? {} : { reason: 'No records yet: they appear after the first verification (runs from before records existed have none).' }) };
  } catch (err) {
    return { type: 'insight', runId: request.runId, seq: request.seq, insight: null, reason: `The records cannot be read: ${(err as Error).message}` };
  }
}

/** Asks for a folder and writes the requested epoch of the run's records there (the latest when none); returns what to tell the user. */
export async function exportRunRecords(runDir: string, request: ExportRecordsRequest): Promise<{ level: 'info' | 'error'; message: string } | undefined> {
  // The workspace, not the run folder: only a trainer writes there.
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(workspaceBase()),
    openLabel: vscode.l10n.t('Export {0} here', request.format === 'csv' ? 'CSV' : '.npy'),
    title: vscode.l10n.t('Export the run\'s records (scores, norms, qualities, embeddings)'),
  });
  if (!picked?.[0]) return undefined;
  try {
    const out = path.join(picked[0].fsPath, `${path.basename(runDir)}-records-${request.format}`);
    const result = await exportRecords(runDir, out, request.format, request.epoch);
    return { level: 'info', message: vscode.l10n.t('Exported epoch {0}\'s records ({1} files) to {2}', result.epoch, result.files.length, out) };
  } catch (err) {
    return { level: 'error', message: vscode.l10n.t('Could not export the records: {0}', (err as Error).message) };
  }
}

/** Folders a panel of these runs may load images from: the runs (synthetic thumbnails) and their image folders. */
export function imageRoots(runs: { dir: string; record: RunRecord | undefined }[]): vscode.Uri[] {
  const folders = new Set<string>();
  for (const { dir, record } of runs) {
    folders.add(dir);
    const d = record?.config.dataset;
    for (const p of [d?.path, d?.pairsImages, d?.pairsFile ? path.dirname(d.pairsFile) : undefined]) if (p && path.isAbsolute(p)) folders.add(p);
  }
  return [...folders].map((f) => vscode.Uri.file(f));
}
