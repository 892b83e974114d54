// "Check GPU Setup": runs `node dist/cli.js gpu-check` with the trainer's runtime (a
// system Node: native backends crash inside the editor's Electron) and shows its
// report line by line, as it comes, in an output channel of its own: the adapters
// Dawn sees, why tfjs-node-gpu does or does not train on an NVIDIA GPU here (driver,
// package, CUDA 11 and cuDNN 8 libraries and where they load from) with exactly what
// to install otherwise (src/core/cuda-check.ts), and images/s per backend.

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import * as vscode from 'vscode';
import { resolveRuntime } from '../core/runtime';
import { l2Settings } from './workspace-config';

const CHANNEL_NAME = 'L2-Softmax GPU Check';
/** Dawn's start-up notices on stderr: harmless, and not what the user asked about. */
const DAWN_NOISE = /artificially reduced/;

let channel: vscode.OutputChannel | undefined;

/** Shows the report; `bench: false` skips the timed training (the checks only). Returns the report's lines. */
export async function checkGpuSetup(opts: { bench?: boolean } = {}): Promise<string[]> {
  const bench = opts.bench !== false;
  const lines: string[] = [];
  channel ??= vscode.window.createOutputChannel(CHANNEL_NAME);
  const out = channel;
  out.clear();
  out.show(true);
  const runtime = resolveRuntime(l2Settings().get<string>('nodePath', ''));
  out.appendLine(`${runtime.description}: node dist/cli.js gpu-check${bench ? ' (a 30 s training benchmark per usable backend)' : ' --no-bench'}`);
  const code = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('L2-Softmax: checking the GPU setup{0}', bench ? ' and timing each backend' : ''), cancellable: true },
    (_progress, token) =>
      runCheck(runtime, bench, token, (line) => {
        lines.push(line);
        out.appendLine(line);
      }),
  );
  out.appendLine(code === 0 ? 'Done.' : code === null ? 'Cancelled.' : `gpu-check ended with exit code ${code}.`);
  return lines;
}

function runCheck(runtime: ReturnType<typeof resolveRuntime>, bench: boolean, token: vscode.CancellationToken, line: (text: string) => void): Promise<number | null> {
  const args = [...runtime.execArgv, path.join(__dirname, 'cli.js'), 'gpu-check', ...(bench ? [] : ['--no-bench'])];
  const child = spawn(runtime.execPath, args, { env: { ...process.env, ...runtime.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Whole lines, however the pipe cuts them (a chunk may end mid-line or mid-character).
  createInterface({ input: child.stdout }).on('line', (t) => t && line(t));
  createInterface({ input: child.stderr }).on('line', (t) => t && !DAWN_NOISE.test(t) && line(t));
  const cancel = token.onCancellationRequested(() => child.kill());
  return new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      line(`could not start ${runtime.execPath}: ${err.message}`);
      resolve(1);
    });
    child.on('close', (code) => resolve(token.isCancellationRequested ? null : code));
  }).finally(() => cancel.dispose());
}
