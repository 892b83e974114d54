// The layer rules of the code base, checked (test/unit/import-rules.test.ts runs
// this over every source file; `npx tsx scripts/import-rules.ts` prints what
// breaks them):
//   webview/       the dashboard page: src/shared and chart.js only (no Node, no vscode)
//   src/shared/    types and pure helpers: imports nothing outside itself
//   src/core/      host logic tested in plain Node: never vscode, the extension, the trainer or the CLI
//   src/trainer/   the training process: src/shared, and from src/core only the run-folder modules
//   src/cli/       the command line: never vscode, the extension or the webview
//   src/extension/ the VS Code glue: never the trainer's modules (it starts the trainer as a process) or the webview's

import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

export interface SourceFile {
  /** Repository-relative, with forward slashes, e.g. `src/core/run-store.ts`. */
  path: string;
  text: string;
}

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

/** What an import names: a module of this repository (its repo-relative path without extension), a Node built-in, or a package. */
type Target = { kind: 'local'; module: string } | { kind: 'builtin' } | { kind: 'package'; name: string };

/** The src/core modules the trainer may use: the run folder it writes, how files are written durably and user-only (the decode cache too), and the facts it shares with the host. */
const TRAINER_CORE_MODULES = new Set(['src/core/run-writer', 'src/core/atomic-file', 'src/core/fingerprint', 'src/core/checkpoints', 'src/core/nvidia-smi']);
const WEBVIEW_PACKAGES = new Set(['chart.js', 'chartjs-plugin-zoom']);

const within = (module: string, dir: string) => module.startsWith(dir + '/');

/** Each layer's rule: why the import is refused, or undefined when it is allowed. */
const LAYERS: { dir: string; check: (t: Target) => string | undefined }[] = [
  {
    dir: 'webview',
    check: (t) =>
      t.kind === 'builtin' ? 'the webview runs in a browser: no Node built-ins'
      : t.kind === 'package' ? (WEBVIEW_PACKAGES.has(t.name) ? undefined : `the webview bundles only ${[...WEBVIEW_PACKAGES].join(', ')}`)
      : within(t.module, 'webview') || within(t.module, 'src/shared') ? undefined : 'the webview imports only src/shared',
  },
  {
    dir: 'src/shared',
    check: (t) => (t.kind === 'local' && within(t.module, 'src/shared') ? undefined : 'src/shared imports nothing outside itself'),
  },
  {
    dir: 'src/core',
    check: (t) =>
      t.kind === 'package' && t.name === 'vscode' ? 'src/core never imports vscode'
      : t.kind === 'local' && !within(t.module, 'src/core') && !within(t.module, 'src/shared') ? 'src/core imports only src/shared besides itself'
      : undefined,
  },
  {
    dir: 'src/trainer',
    check: (t) =>
      t.kind === 'package' && t.name === 'vscode' ? 'the trainer never imports vscode'
      : t.kind !== 'local' || within(t.module, 'src/trainer') || within(t.module, 'src/shared') || TRAINER_CORE_MODULES.has(t.module) ? undefined
      : `the trainer imports src/shared, and from src/core only ${[...TRAINER_CORE_MODULES].join(', ')}`,
  },
  {
    dir: 'src/cli',
    check: (t) =>
      t.kind === 'package' && t.name === 'vscode' ? 'the CLI never imports vscode'
      : t.kind === 'local' && (within(t.module, 'src/extension') || within(t.module, 'webview')) ? 'the CLI never imports the extension or the webview'
      : undefined,
  },
  {
    dir: 'src/extension',
    check: (t) => (t.kind === 'local' && (within(t.module, 'src/trainer') || within(t.module, 'webview')) ? 'the extension starts the trainer as a process and loads the webview as a bundle: it imports neither' : undefined),
  },
];

const IMPORT = /(?:\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?|\bexport\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s+from\s+|\brequire\(\s*|\bimport\(\s*)'([^']+)'/g;

/** The module specifiers a file imports, re-exports or requires (static and dynamic). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(IMPORT)].map((m) => m[1]);
}

function classify(from: string, specifier: string): Target {
  if (specifier.startsWith('.')) return { kind: 'local', module: path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.(ts|js)$/, '') };
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) return { kind: 'builtin' };
  const parts = specifier.split('/');
  return { kind: 'package', name: specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] };
}

/** Every import of `files` that breaks its layer's rule. */
export function findViolations(files: SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const layer = LAYERS.find((l) => within(file.path, l.dir));
    if (!layer) continue;
    for (const specifier of importsOf(file.text)) {
      const reason = layer.check(classify(file.path, specifier));
      if (reason) out.push({ file: file.path, specifier, reason });
    }
  }
  return out;
}

/** The TypeScript sources of every layer, read from `root`. */
export function readSources(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push({ path: rel, text: readFileSync(path.join(root, rel), 'utf8') });
    }
  };
  // The AssemblyScript kernels are compiled for WebAssembly on their own, with no imports at all.
  for (const dir of LAYERS.map((l) => l.dir)) walk(dir);
  return files.filter((f) => !f.path.startsWith('src/trainer/backend/simd/'));
}

if (require.main === module) {
  const violations = findViolations(readSources(path.resolve(__dirname, '..')));
  for (const v of violations) process.stdout.write(`${v.file}: '${v.specifier}': ${v.reason}\n`);
  process.exitCode = violations.length ? 1 : 0;
}
