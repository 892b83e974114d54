// The `run()` contract of @vscode/test-electron / @vscode/test-cli: runs the
// integration tests inside the extension host of a real VS Code, with mocha.
// Results go to a JSON file ($L2SOFTMAX_TEST_OUT, else <workspace>/.test-results.json),
// because a browser-hosted VS Code (code-server) cannot hand back an exit code.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const out = process.env.L2SOFTMAX_TEST_OUT || path.join(workspace, '.test-results.json');
  fs.rmSync(out, { force: true });
  const mocha = new Mocha({ ui: 'bdd', timeout: 300000, color: false, reporter: 'json', reporterOptions: { output: `${out}.partial` } });
  const dir = __dirname;
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(dir, f));
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  // Renamed at the end, so a harness polling for the file never reads half of it.
  fs.renameSync(`${out}.partial`, out);
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}
