// Which Node.js runs the trainer. A system `node` is preferred: native tfjs
// backends crash inside Electron's V8 memory cage, even with ELECTRON_RUN_AS_NODE.

import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';

export interface Runtime {
  execPath: string;
  /** Node/V8 flags for the child. */
  execArgv: string[];
  /** Extra environment for the child. */
  env: Record<string, string>;
  description: string;
}

/**
 * V8 without helper threads: training keeps every core busy (data-parallel
 * workers), and background GC and compile threads preempting them cost 5-7% of
 * throughput. Only for a real Node; the editor's runtime keeps its defaults.
 */
export const TRAINER_NODE_FLAGS = ['--single-threaded'];

export class RuntimeError extends Error {}

/** The oldest Node.js the trainer runs on (package.json "engines"). */
export const MIN_NODE_VERSION = { major: 18, minor: 17 };
const VERSION_TIMEOUT_MS = 10_000;
/** Checked executables by path, size and mtime: a run start does not spawn `node --version` every time. */
const checkedVersions = new Map<string, string>();

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split('\n')[0];
}

/**
 * Runs `<execPath> --version` and returns the version when it is a Node.js
 * at least MIN_NODE_VERSION; otherwise throws a RuntimeError saying why,
 * naming the executable as `what` (e.g. "node on PATH").
 */
export function checkNodeVersion(execPath: string, what: string): string {
  const st = statSync(execPath);
  const key = `${execPath}|${st.size}|${st.mtimeMs}`;
  const known = checkedVersions.get(key);
  if (known) return known;
  const want = `${MIN_NODE_VERSION.major}.${MIN_NODE_VERSION.minor}`;
  let out: string;
  try {
    out = execFileSync(execPath, ['--version'], { encoding: 'utf8', timeout: VERSION_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true }).trim();
  } catch (err) {
    throw new RuntimeError(`${what} (${execPath}) did not run as Node.js ("--version" failed: ${firstLine(err)}). The trainer needs Node.js ${want} or newer.`);
  }
  const m = /^v(\d+)\.(\d+)\.\d+/.exec(out);
  if (!m) throw new RuntimeError(`${what} (${execPath}) is not Node.js: "--version" printed ${JSON.stringify(out.slice(0, 80))}. The trainer needs Node.js ${want} or newer.`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_NODE_VERSION.major || (major === MIN_NODE_VERSION.major && minor < MIN_NODE_VERSION.minor)) {
    throw new RuntimeError(`${what} (${execPath}) is Node.js ${out}, but the trainer needs Node.js ${want} or newer. Install a newer Node.js or point l2softmax.nodePath at one.`);
  }
  checkedVersions.set(key, out);
  return out;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Finds an executable on PATH (PATHEXT on Windows). */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter(Boolean);
  const exts = platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext.toLowerCase());
      if (isFile(candidate)) return candidate;
      if (ext && isFile(path.join(dir, name + ext))) return path.join(dir, name + ext);
    }
  }
  return undefined;
}

/**
 * The `nodePath` setting when set (it must exist and be a recent enough
 * Node.js), else `node` on PATH when recent enough, else the host's own
 * runtime (`hostExecPath`) run as plain Node via ELECTRON_RUN_AS_NODE.
 */
export function resolveRuntime(nodePath: string, env: NodeJS.ProcessEnv = process.env, hostExecPath = process.execPath): Runtime {
  if (nodePath.trim()) {
    const p = nodePath.trim();
    if (!isFile(p)) {
      throw new RuntimeError(`The setting l2softmax.nodePath points to "${p}", which is not a file. Set it to a Node.js executable (18 or newer) or clear it to use node from PATH.`);
    }
    const version = checkNodeVersion(p, 'The setting l2softmax.nodePath');
    return { execPath: p, execArgv: TRAINER_NODE_FLAGS, env: {}, description: `Node.js ${version} from l2softmax.nodePath (${p})` };
  }
  const onPath = findOnPath('node', env);
  let unusable = '';
  if (onPath) {
    try {
      const version = checkNodeVersion(onPath, 'node on PATH');
      return { execPath: onPath, execArgv: TRAINER_NODE_FLAGS, env: {}, description: `Node.js ${version} on PATH (${onPath})` };
    } catch (err) {
      unusable = ` (${(err as Error).message})`;
    }
  }
  return {
    execPath: hostExecPath,
    execArgv: [],
    env: { ELECTRON_RUN_AS_NODE: '1' },
    description: `the editor's own runtime (${hostExecPath})${unusable}; install Node.js or set l2softmax.nodePath to use native TensorFlow backends`,
  };
}
