// Provenance inside VS Code: a run started in a git repository records the
// commit VS Code's git extension reports, and its dashboard's snapshot lists it.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../src/core/run-store';
import type { Api } from '../../src/extension/main';
import { activate, until } from './helpers';

describe('provenance', () => {
  let api: Api;
  const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: workspace(), encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 't@example.com' } });

  before(async () => {
    api = await activate();
    const config = vscode.workspace.getConfiguration('l2softmax');
    for (const [k, v] of Object.entries({ imageSize: 16, width: 4, embeddingSize: 16, epochs: 1, openDashboardOnStart: false, datasetFolder: '' })) await config.update(k, v, vscode.ConfigurationTarget.Workspace);
  });

  it('records the git commit of the workspace\'s repository in run.json, and the trainer\'s Node.js', async () => {
    git('init', '-q');
    writeFileSync(path.join(workspace(), '.gitignore'), '.l2softmax/\n.test-results.json*\n');
    writeFileSync(path.join(workspace(), 'train-notes.md'), 'the code a run was trained at\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'code of the run');
    const head = git('rev-parse', 'HEAD').trim();
    const run = (await vscode.commands.executeCommand('l2softmax.startRun')) as RunRecord;
    assert.ok(run?.id, 'no run started');
    const created = await api.store.get(run.id);
    assert.equal(created?.provenance?.git?.commit, head);
    assert.equal(typeof created?.provenance?.git?.dirty, 'boolean');
    assert.match(created?.provenance?.createdBy ?? '', /^L2-Softmax Lab \S+ \(extension\)$/);
    const trained = await until(async () => {
      const r = await api.store.get(run.id);
      return r?.provenance?.node ? r : undefined;
    }, 120000, 'the trainer to take the run over');
    assert.match(trained.provenance?.node ?? '', /^v\d+\./);
    const loaded = await api.dashboards.load(run.id);
    loaded?.follower.dispose();
    assert.ok(loaded?.snapshot.provenance?.some(([label, value]) => label === 'git commit' && value.startsWith(head.slice(0, 12))), 'the dashboard does not show the commit');
    await until(async () => {
      const r = await api.store.get(run.id);
      return r && r.status !== 'running' && r.status !== 'queued' ? r : undefined;
    }, 240000, 'the run to finish');
  });
});
