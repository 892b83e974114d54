// The workspace's git state for a new run's provenance, through VS Code's git
// extension (the repository VS Code already watches, its own git binary and
// settings); where that extension is missing or off, the git command line.
// Changes inside the runs folder do not make the code dirty.

import * as vscode from 'vscode';
import { gitStateFromCli, isDirty } from '../core/provenance';
import type { GitState } from '../shared/run';

/** How long a run's start waits for the git extension to find the repository. */
const GIT_WAIT_MS = 3000;

/** The parts of the git extension's API (extensions/git/src/api/git.d.ts, version 1) used here. */
interface GitChange {
  uri: vscode.Uri;
}
interface GitRepository {
  rootUri: vscode.Uri;
  state: { HEAD?: { commit?: string; name?: string }; workingTreeChanges: GitChange[]; indexChanges: GitChange[]; untrackedChanges?: GitChange[] };
  status?(): Promise<void>;
}
interface GitApi {
  state: 'uninitialized' | 'initialized';
  onDidChangeState(listener: (state: string) => void): vscode.Disposable;
  getRepository(uri: vscode.Uri): GitRepository | null;
  openRepository?(root: vscode.Uri): Promise<GitRepository | null>;
}

/** `p`, or undefined after `ms` (the timer is cleared when `p` wins). */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function gitApi(): Promise<GitApi | undefined> {
  const ext = vscode.extensions.getExtension<{ getAPI(version: 1): GitApi }>('vscode.git');
  if (!ext) return undefined;
  try {
    const api = (ext.isActive ? ext.exports : await ext.activate()).getAPI(1);
    if (api.state !== 'initialized') {
      let sub: vscode.Disposable | undefined;
      await withTimeout(new Promise<void>((resolve) => (sub = api.onDidChangeState(() => resolve()))), GIT_WAIT_MS);
      sub?.dispose();
    }
    return api;
  } catch {
    return undefined; // the git extension is disabled (git.enabled: false) or failed
  }
}

/** The git state of the repository holding `folder`; undefined where there is none. */
export async function workspaceGit(folder: vscode.Uri, runsRoot: string): Promise<GitState | undefined> {
  const api = await gitApi();
  const repo = api ? (api.getRepository(folder) ?? (await withTimeout(api.openRepository?.(folder) ?? Promise.resolve(null), GIT_WAIT_MS)) ?? null) : null;
  if (!repo) return gitStateFromCli(folder.fsPath, [runsRoot]);
  await withTimeout(repo.status?.() ?? Promise.resolve(), GIT_WAIT_MS);
  const commit = repo.state.HEAD?.commit;
  if (!commit) return gitStateFromCli(folder.fsPath, [runsRoot]);
  const changed = [...repo.state.workingTreeChanges, ...repo.state.indexChanges, ...(repo.state.untrackedChanges ?? [])].map((c) => c.uri.fsPath);
  return { commit, dirty: isDirty(changed, repo.rootUri.fsPath, [runsRoot]), ...(repo.state.HEAD?.name ? { branch: repo.state.HEAD.name } : {}) };
}
