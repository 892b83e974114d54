// Provenance of a new run: the git state of the code it was started from (the
// commit, whether there were uncommitted changes outside the runs folder) and
// what created it. The extension asks VS Code's git extension (src/extension/git.ts);
// the CLI and any other host ask the git command line here. Nothing is recorded
// where there is no repository.

import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { GitState, Provenance } from '../shared/run';
import { TRAINER_VERSION } from './version';

/** git is asked with this timeout: a slow network filesystem must not hold up a run's start. */
const GIT_TIMEOUT_MS = 3000;

/** True when a changed path (relative to the repository root) lies outside every ignored folder. */
export function isDirty(changed: readonly string[], repoRoot: string, ignoreUnder: readonly string[]): boolean {
  const ignored = ignoreUnder.map((dir) => path.resolve(dir) + path.sep);
  return changed.some((rel) => {
    const abs = path.resolve(repoRoot, rel);
    return !ignored.some((dir) => abs === dir.slice(0, -1) || abs.startsWith(dir));
  });
}

/** The paths `git status --porcelain -z` lists (renames give their new path). */
export function porcelainPaths(status: string): string[] {
  const out: string[] = [];
  const entries = status.split('\0').filter(Boolean);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    out.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') i++; // the original path follows a rename or copy
  }
  return out;
}

const run = promisify(execFile);

async function git(dir: string, args: string[]): Promise<string | undefined> {
  try {
    return (await run('git', args, { cwd: dir, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch {
    return undefined;
  }
}

/** The git state of the repository holding `dir`, by the git command line; undefined outside a repository or without git. */
export async function gitStateFromCli(dir: string, ignoreUnder: readonly string[] = []): Promise<GitState | undefined> {
  const [commit, root, branch] = (await Promise.all([['rev-parse', 'HEAD'], ['rev-parse', '--show-toplevel'], ['rev-parse', '--abbrev-ref', 'HEAD']].map((a) => git(dir, a)))).map((out) => out?.trim());
  if (!commit || !root) return undefined;
  const status = await git(dir, ['status', '--porcelain', '-z', '--untracked-files=all']);
  // A status that failed (timed out in a huge untracked tree) counts as dirty: the commit alone may not be the code.
  const dirty = status === undefined || isDirty(porcelainPaths(status), root, ignoreUnder);
  return { commit, dirty, ...(branch && branch !== 'HEAD' ? { branch } : {}) };
}

/** What a host records of a run it creates. */
export function hostProvenance(host: 'extension' | 'CLI', gitState: GitState | undefined): Provenance {
  return { ...(gitState ? { git: gitState } : {}), createdBy: `L2-Softmax Lab ${TRAINER_VERSION} (${host})` };
}
