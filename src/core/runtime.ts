// Which Node.js runs the trainer. A system `node` is preferred: native tfjs
// backends crash inside Electron's V8 memory cage, even with ELECTRON_RUN_AS_NODE.

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
 * The `nodePath` setting when set (it must exist), else `node` on PATH, else
 * the host's own runtime (`hostExecPath`) run as plain Node via ELECTRON_RUN_AS_NODE.
 */
export function resolveRuntime(nodePath: string, env: NodeJS.ProcessEnv = process.env, hostExecPath = process.execPath): Runtime {
  if (nodePath.trim()) {
    const p = nodePath.trim();
    if (!isFile(p)) {
      throw new RuntimeError(`The setting l2softmax.nodePath points to "${p}", which is not a file. Set it to a Node.js executable (18 or newer) or clear it to use node from PATH.`);
    }
    return { execPath: p, execArgv: TRAINER_NODE_FLAGS, env: {}, description: `Node.js from l2softmax.nodePath (${p})` };
  }
  const onPath = findOnPath('node', env);
  if (onPath) return { execPath: onPath, execArgv: TRAINER_NODE_FLAGS, env: {}, description: `Node.js on PATH (${onPath})` };
  return {
    execPath: hostExecPath,
    execArgv: [],
    env: { ELECTRON_RUN_AS_NODE: '1' },
    description: `the editor's own runtime (${hostExecPath}); install Node.js or set l2softmax.nodePath to use native TensorFlow backends`,
  };
}
