import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../src/core/run-store';
import type { Api } from '../../src/extension/main';
import { writeFaceFolder, writePairsTxt } from '../../src/trainer/data/write-face-folder';

const EXTENSION_ID = 'l2-softmax-lab.l2-softmax-lab';

async function until<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Answers the Settings tree's path editor: "Type a path…", then the path. */
async function setPathThroughTree(key: string, value: string): Promise<void> {
  const w = vscode.window as unknown as Record<string, unknown>;
  const pick = w.showQuickPick;
  const input = w.showInputBox;
  let validation: unknown = 'not called';
  w.showQuickPick = async (items: readonly { id?: string }[]) => (await items).find((i) => i.id === 'type');
  w.showInputBox = async (options: vscode.InputBoxOptions) => {
    validation = await options.validateInput?.(value);
    return value;
  };
  try {
    assert.equal(await vscode.commands.executeCommand('l2softmax.editSetting', key), true);
  } finally {
    w.showQuickPick = pick;
    w.showInputBox = input;
  }
  assert.equal(validation, undefined, `the tree rejected ${value}: ${validation}`);
}

async function finished(api: Api, id: string): Promise<RunRecord> {
  return until(async () => {
    const r = await api.store.get(id);
    return r && r.status !== 'running' && r.status !== 'queued' ? r : undefined;
  }, 240000, 'the run to finish');
}

describe('L2-Softmax Lab with an image folder dataset', () => {
  let api: Api;
  const config = () => vscode.workspace.getConfiguration('l2softmax');
  const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

  before(async () => {
    api = await vscode.extensions.getExtension<Api>(EXTENSION_ID)!.activate();
    for (const [k, v] of Object.entries({ imageSize: 16, width: 4, embeddingSize: 16, epochs: 1, batchSize: 32, learningRate: 0.003, openDashboardOnStart: false, alpha: 16 })) {
      await config().update(k, v, vscode.ConfigurationTarget.Workspace);
    }
  });

  after(async () => {
    for (const k of ['datasetFolder', 'pairsFile']) await config().update(k, undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('trains on a folder and LFW pairs set in the Settings tree', async () => {
    const root = path.join(workspace(), 'data with spaces');
    await writeFaceFolder(path.join(root, 'train'), { identities: 10, images: 6, size: 24, seed: 8 });
    const held = await writeFaceFolder(path.join(root, 'lfw'), { identities: 6, images: 4, size: 24, seed: 9, name: (i) => `Held_${i + 1}` });
    const pairs = await writePairsTxt(path.join(root, 'lfw'), held, 5, 2);
    await setPathThroughTree('datasetFolder', path.join(root, 'train'));
    await setPathThroughTree('pairsFile', pairs);
    assert.equal(config().get('datasetFolder'), path.join(root, 'train'));
    const before = (await api.store.list()).map((r) => r.id);
    const run = (await vscode.commands.executeCommand('l2softmax.startRun')) as RunRecord;
    assert.equal(run.config.dataset.path, path.join(root, 'train'));
    assert.match(run.name, /^L2 α=16 · train · \d\d:\d\d( \(\d+\))?$/, 'the default name says what and when');
    const done = await finished(api, run.id);
    assert.equal(done.status, 'completed', done.reason);
    assert.equal(done.dataset?.source, path.join(root, 'train'));
    assert.equal(done.dataset?.identities, 10);
    assert.equal(done.dataset?.pairs, 100);
    const after = (await api.store.list()).map((r) => r.id);
    for (const id of before) assert.ok(after.includes(id), 'an earlier run disappeared');
  });

  it('a bad folder fails the run with the reason, keeping earlier runs', async () => {
    const empty = path.join(workspace(), 'empty dataset');
    mkdirSync(empty, { recursive: true });
    await setPathThroughTree('datasetFolder', empty);
    await config().update('pairsFile', undefined, vscode.ConfigurationTarget.Workspace);
    const before = (await api.store.list()).map((r) => r.id);
    let shown = '';
    const w = vscode.window as unknown as Record<string, unknown>;
    const original = w.showErrorMessage;
    w.showErrorMessage = async (m: string) => {
      shown = m;
      return undefined;
    };
    try {
      const run = (await vscode.commands.executeCommand('l2softmax.startRun')) as RunRecord;
      const done = await finished(api, run.id);
      assert.equal(done.status, 'failed');
      assert.equal(done.code, 'dataset');
      assert.match(done.reason ?? '', /empty dataset is empty: it needs one sub-folder per identity/);
      await until(async () => (shown ? true : undefined), 5000, 'the error notification');
      assert.match(shown, /failed: Dataset folder .*is empty/);
      const items = await api.runs.runs();
      const item = api.runs.getTreeItem(items.find((r) => r.id === run.id)!);
      assert.equal(item.contextValue, 'run.failed');
    } finally {
      w.showErrorMessage = original;
    }
    const after = (await api.store.list()).map((r) => r.id);
    for (const id of before) assert.ok(after.includes(id), 'an earlier run disappeared');
  });
});
