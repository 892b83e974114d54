import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { findViolations, importsOf, readSources } from '../../scripts/import-rules';

const ROOT = path.resolve(__dirname, '../..');

describe('layer rules (scripts/import-rules.ts)', () => {
  const sources = readSources(ROOT);

  it('every source file keeps its layer\'s imports', () => {
    assert.ok(sources.length > 50, `read ${sources.length} files`);
    assert.deepEqual(findViolations(sources), []);
  });

  it('fails on planted forbidden imports, naming the file, the import and the rule', () => {
    const planted = [
      { path: 'src/core/planted.ts', text: "import * as vscode from 'vscode';\n" },
      { path: 'webview/planted.ts', text: "import { readFileSync } from 'node:fs';\nimport { RunStore } from '../src/core/run-store';\n" },
      { path: 'src/shared/planted.ts', text: "export { RunStore } from '../core/run-store';\n" },
      { path: 'src/trainer/data/planted.ts', text: "const m = require('../../core/run-manager');\n" },
      { path: 'src/extension/planted.ts', text: "import { train } from '../trainer/train/run';\n" },
    ];
    const found = findViolations([...sources, ...planted]).map((v) => `${v.file} ${v.specifier}: ${v.reason}`);
    assert.deepEqual(found, [
      'src/core/planted.ts vscode: src/core never imports vscode',
      'webview/planted.ts node:fs: the webview runs in a browser: no Node built-ins',
      'webview/planted.ts ../src/core/run-store: the webview imports only src/shared',
      'src/shared/planted.ts ../core/run-store: src/shared imports nothing outside itself',
      'src/trainer/data/planted.ts ../../core/run-manager: the trainer imports src/shared, and from src/core only src/core/run-writer, src/core/atomic-file, src/core/fingerprint, src/core/checkpoints',
      'src/extension/planted.ts ../trainer/train/run: the extension starts the trainer as a process and loads the webview as a bundle: it imports neither',
    ]);
  });

  it('reads static, type-only, re-exported, required and dynamic imports, not ones in comments', () => {
    const text = [
      "import * as a from 'a';",
      "import type { B } from './b';",
      "import {\n  c,\n  type D,\n} from '../c';",
      "import 'side-effect';",
      "export { e } from './e';",
      "export * from './f';",
      "const g = require('g');",
      "const h = await import('./h');",
      "// import x from 'commented';",
      "/* import y from 'block'; */",
    ].join('\n');
    assert.deepEqual(importsOf(text), ['a', './b', '../c', 'side-effect', './e', './f', 'g', './h']);
  });
});
