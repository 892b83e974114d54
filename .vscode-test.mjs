// The same integration suite under @vscode/test-cli + @vscode/test-electron, where VS Code
// can be downloaded (a developer laptop): `npm run test:electron`. CI here runs it in
// code-server instead (test/e2e/run-vscode.ts), since these machines cannot download VS Code.
import { defineConfig } from '@vscode/test-cli';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default defineConfig({
  files: 'out/integration/*.test.js',
  workspaceFolder: mkdtempSync(join(tmpdir(), 'l2sm-electron-')),
  mocha: { ui: 'bdd', timeout: 300000 },
});
