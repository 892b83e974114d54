// "Evaluate Run on Pairs...": asks for a pairs file, its images folder and
// test-time flip, then runs `node dist/cli.js eval` on the run's folder (the CLI
// stores the evaluation in the run; its dashboard and Compare Runs show it).

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveRuntime } from '../core/runtime';
import type { RunRecord, RunStore } from '../core/run-store';
import { parseEventLine } from '../shared/events';
import { pct, tarText } from '../shared/format';
import { l2Settings } from './workspace-config';

/** Lines of the CLI's stderr kept for an error message. */
const STDERR_LINES = 5;

interface EvalChoice {
  pairs: string;
  images?: string;
  flip: boolean;
}

export async function evaluateRun(store: RunStore, run: RunRecord, output: vscode.LogOutputChannel, openDashboard: (id: string) => Thenable<unknown>): Promise<void> {
  const choice = await askEvaluation(run);
  if (!choice) return;
  const args = [path.join(__dirname, 'cli.js'), 'eval', '--run', store.dir(run.id), '--pairs', choice.pairs, ...(choice.images ? ['--images', choice.images] : []), ...(choice.flip ? ['--flip'] : []), '--json'];
  output.info(`[${run.name}] eval ${args.slice(2).join(' ')}`);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('L2-Softmax: evaluating "{0}" on {1}', run.name, path.basename(choice.pairs)), cancellable: true },
    (_progress, token) => runCli(args, token, (line) => output.info(`[${run.name}] ${line}`)),
  );
  if (result.cancelled) return;
  const event = parseEventLine(result.stdout.trim().split('\n').pop() ?? '');
  if (result.code !== 0 || event?.type !== 'evaluation') {
    void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: evaluating "{0}" failed: {1}', run.name, result.stderr.trim().split('\n').slice(-STDERR_LINES).join(' ') || `exit code ${result.code}`));
    return;
  }
  const v = event.verification;
  const open = await vscode.window.showInformationMessage(
    vscode.l10n.t(
      'L2-Softmax: "{0}" (epoch {1}) on {2}{3}: 10-fold accuracy {4} ± {5}, TAR@FAR=1e-3 {6}, AUC {7}.',
      run.name,
      event.checkpoint.epoch,
      path.basename(choice.pairs),
      choice.flip ? ' with flip' : '',
      pct(v.accuracy, 2),
      pct(v.accuracyStd, 2),
      tarText(v, 1e-3, 2),
      v.auc.toFixed(4),
    ),
    vscode.l10n.t('Open Dashboard'),
  );
  if (open) await openDashboard(run.id);
}

async function askEvaluation(run: RunRecord): Promise<EvalChoice | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: vscode.l10n.t('Evaluate "{0}" on which pairs file?', run.name),
    openLabel: vscode.l10n.t('Evaluate on these pairs'),
    canSelectMany: false,
    filters: { 'Pairs files': ['txt', 'csv'], 'All files': ['*'] },
  });
  if (!picked?.length) return undefined;
  const pairs = picked[0].fsPath;
  const where = await vscode.window.showQuickPick(
    [
      { label: vscode.l10n.t('Next to the pairs file'), description: vscode.l10n.t('{0} (then the run\'s dataset folder)', path.dirname(pairs)), images: undefined as string | undefined },
      { label: vscode.l10n.t('Choose the images folder…'), images: '' },
    ],
    { title: vscode.l10n.t('Where are the images the pairs name?') },
  );
  if (!where) return undefined;
  let images = where.images;
  if (images === '') {
    const folder = await vscode.window.showOpenDialog({ title: vscode.l10n.t('Images folder of the pairs'), canSelectFolders: true, canSelectFiles: false, openLabel: vscode.l10n.t('Use this folder') });
    if (!folder?.length) return undefined;
    images = folder[0].fsPath;
  }
  const flip = await vscode.window.showQuickPick(
    [
      { label: vscode.l10n.t('Without flip'), flip: false },
      { label: vscode.l10n.t('With test-time flip'), description: vscode.l10n.t('each image described by its embedding plus its mirror image\'s, as LFW papers report'), flip: true },
    ],
    { title: vscode.l10n.t('Test-time augmentation') },
  );
  return flip && { pairs, images, flip: flip.flip };
}

function runCli(args: string[], token: vscode.CancellationToken, log: (line: string) => void): Promise<{ code: number | null; stdout: string; stderr: string; cancelled: boolean }> {
  const runtime = resolveRuntime(l2Settings().get<string>('nodePath', ''));
  const child = spawn(runtime.execPath, [...runtime.execArgv, ...args], { env: { ...process.env, ...runtime.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    d.toString().split('\n').filter(Boolean).forEach(log);
  });
  const cancel = token.onCancellationRequested(() => child.kill());
  return new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: null, stdout, stderr: `${stderr}\n${err.message}`, cancelled: false }));
    child.on('close', (code) => {
      cancel.dispose();
      resolve({ code, stdout, stderr, cancelled: token.isCancellationRequested });
    });
  });
}
