// Builds the VSIX for one platform: `npm run vsix -- [target]` (default: this machine's,
// e.g. linux-x64), writing l2-softmax-lab-<target>-<version>.vsix. .vscodeignore lists
// the runtime files one by one; Dawn ships a dawn.node for every platform in one npm
// package (about 21 MB each), so this packages with a copy of those rules that adds the
// target's own Dawn folder only. Targets Dawn has no build for get no WebGPU backend.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** VS Code target -> folder of node_modules/webgpu/dist holding its dawn.node (Windows: with its DirectX compiler DLLs). */
export const DAWN_FOLDERS: Readonly<Record<string, string>> = {
  'linux-x64': 'linux-x64',
  'linux-arm64': 'linux-arm64',
  'darwin-x64': 'darwin-universal',
  'darwin-arm64': 'darwin-universal',
  'win32-x64': 'win32-x64',
  'win32-arm64': 'win32-arm64',
};

/** .vscodeignore plus the target's Dawn folder. */
export function ignoreRules(base: string, target: string): string {
  const folder = DAWN_FOLDERS[target];
  if (!folder) return base;
  return `${base.trimEnd()}\n# The target's own Dawn build (scripts/package-vsix.ts)\n!node_modules/webgpu/dist/${folder}/**\n`;
}

function main(): void {
  const target = process.argv[2] ?? `${process.platform}-${process.arch}`;
  const { version, name } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const dir = mkdtempSync(path.join(tmpdir(), 'l2sm-vsix-'));
  const rules = path.join(dir, '.vscodeignore');
  writeFileSync(rules, ignoreRules(readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), target));
  if (!DAWN_FOLDERS[target]) console.log(`Dawn has no build for ${target}: this VSIX trains without WebGPU.`);
  try {
    const out = `${name}-${target}-${version}.vsix`;
    // README images stay relative, so the installed extension's details page shows them from its own folder
    // (vsce would otherwise point them at a repository URL that does not exist).
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--target', target, '--ignoreFile', rules, '--no-rewrite-relative-links', '--out', out], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main();
