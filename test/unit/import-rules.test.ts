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
    const found = findViolations([...sources, ...planted]);
    assert.deepEqual(found.map((v) => `${v.file} ${v.specifier}`), [
      'src/core/planted.ts vscode',
      'webview/planted.ts node:fs',
      'webview/planted.ts ../src/core/run-store',
      'src/shared/planted.ts ../core/run-store',
      'src/trainer/data/planted.ts ../../core/run-manager',
      'src/extension/planted.ts ../trainer/train/run',
    ]);
    const reasons = found.map((v) => v.reason);
    [/src\/core never imports vscode/, /no Node built-ins/, /the webview imports only src\/shared/, /src\/shared imports nothing outside itself/, /from src\/core only src\/core\/run-writer/, /it imports neither/].forEach((want, i) => assert.match(reasons[i], want));
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
