import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Api } from '../../src/extension/main';
import type { RunRecord } from '../../src/core/run-store';

const EXTENSION_ID = 'l2-softmax-lab.l2-softmax-lab';

// Small enough to train in seconds on two CPU cores.
const FAST: Record<string, unknown> = { imageSize: 16, width: 4, embeddingSize: 16, epochs: 1, batchSize: 64, learningRate: 0.003 };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** Replaces a vscode.window function for one call sequence; returns a restore function. */
function stub<K extends keyof typeof vscode.window>(name: K, impl: (typeof vscode.window)[K]): () => void {
  const original = vscode.window[name];
  (vscode.window as unknown as Record<string, unknown>)[name] = impl;
  return () => ((vscode.window as unknown as Record<string, unknown>)[name] = original);
}

describe('L2-Softmax Lab in VS Code', () => {
  let api: Api;
  const config = () => vscode.workspace.getConfiguration('l2softmax');

  before(async () => {
    const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
    api = await ext.activate();
    for (const [k, v] of Object.entries(FAST)) await config().update(k, v, vscode.ConfigurationTarget.Workspace);
    await config().update('openDashboardOnStart', false, vscode.ConfigurationTarget.Workspace);
  });

  after(async () => {
    for (const r of api.monitor.records()) if (r.status === 'running' || r.status === 'queued') await api.manager.stop(r.id);
  });

  it('contributes its commands, with Start L2-Softmax Run in the palette', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['startRun', 'stopRun', 'openDashboard', 'compareRuns', 'rerun', 'deleteRun', 'renameRun', 'revealRun', 'showLog', 'editSetting', 'resetSettings', 'suggestAlpha']) {
      assert.ok(all.includes(`l2softmax.${id}`), `l2softmax.${id} is not registered`);
    }
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const start = pkg.contributes.commands.find((c: { command: string }) => c.command === 'l2softmax.startRun');
    assert.equal(start.title, 'Start L2-Softmax Run');
    assert.ok(!pkg.contributes.menus.commandPalette.some((m: { command: string }) => m.command === 'l2softmax.startRun'));
  });

  it('edits alpha through the Settings tree command, validating the input', async () => {
    let validation: string | undefined | null;
    const restore = stub('showInputBox', (async (options?: vscode.InputBoxOptions) => {
      validation = (await options?.validateInput?.('-1')) as string | undefined;
      assert.equal(await options?.validateInput?.('24'), undefined);
      return '24';
    }) as typeof vscode.window.showInputBox);
    try {
      assert.equal(await vscode.commands.executeCommand('l2softmax.editSetting', 'alpha'), true);
    } finally {
      restore();
    }
    assert.match(String(validation), /Alpha must be greater than 0/);
    assert.equal(config().get('alpha'), 24);
    const inspected = config().inspect('alpha');
    assert.equal(inspected?.workspaceValue, 24);
  });

  it('toggles a boolean and picks an enum from the Settings tree', async () => {
    const before = config().get<boolean>('alphaTrainable');
    await vscode.commands.executeCommand('l2softmax.editSetting', 'alphaTrainable');
    assert.equal(config().get('alphaTrainable'), !before);
    await vscode.commands.executeCommand('l2softmax.editSetting', 'alphaTrainable');
    const restore = stub('showQuickPick', (async (items: readonly (vscode.QuickPickItem & { value?: unknown })[] | Thenable<readonly vscode.QuickPickItem[]>) => {
      const list = (await items) as (vscode.QuickPickItem & { value?: unknown })[];
      return list.find((i) => i.label === 'sgd');
    }) as unknown as typeof vscode.window.showQuickPick);
    try {
      await vscode.commands.executeCommand('l2softmax.editSetting', 'optimizer');
    } finally {
      restore();
    }
    assert.equal(config().get('optimizer'), 'sgd');
    await config().update('optimizer', undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('starts a short run from the palette command, shows it live and finished in the Runs view', async () => {
    const seenRunning: string[] = [];
    const sub = api.monitor.onDidChange((r) => r.status === 'running' && seenRunning.push(r.id));
    const run = (await vscode.commands.executeCommand('l2softmax.startRun')) as RunRecord;
    assert.ok(run && run.id, 'startRun returned no run');
    assert.equal(run.config.alpha, 24, 'the run snapshot did not pick up the edited alpha');
    assert.equal(run.config.epochs, 1);
    const liveItems = await api.runs.runs();
    const liveItem = api.runs.getTreeItem(liveItems.find((r) => r.id === run.id)!);
    assert.equal(liveItem.contextValue, 'run.running');
    const done = await until(async () => {
      const r = await api.store.get(run.id);
      return r && r.status !== 'running' && r.status !== 'queued' ? r : undefined;
    }, 240000, 'the run to finish');
    sub.dispose();
    assert.equal(done.status, 'completed', done.reason);
    assert.ok(seenRunning.includes(run.id));
    await sleep(400); // the view coalesces redraws
    const items = await api.runs.runs();
    assert.equal(items[0].id, run.id, 'newest run first');
    const item = api.runs.getTreeItem(items[0]);
    assert.equal(item.contextValue, 'run.completed');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'pass');
    assert.match(String(item.description), /^acc \d+\.\d% \(final epoch \d+\) · TAR@1e-3 /);
    assert.match(String(item.label), /^L2 α=24 · synthetic · \d\d:\d\d( \(\d+\))?$/, 'the default name says what and when');
    const dir = api.store.dir(run.id);
    for (const f of ['run.json', 'events.jsonl', 'trainer.log', 'config.json', 'verification-pairs.txt', 'checkpoints/epoch-001/model.json']) {
      assert.ok(existsSync(path.join(dir, f)), `${f} missing from the run folder`);
    }
    assert.ok(dir.startsWith(path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, '.l2softmax', 'runs')));
    const events = readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).type);
    assert.equal(events[events.length - 1], 'finished');
    assert.ok(events.includes('epoch'));
  });

  it('opens the dashboard of a finished run', async () => {
    const [latest] = await api.runs.runs();
    await vscode.commands.executeCommand('l2softmax.openDashboard', latest.id);
    assert.ok(api.dashboards.openPanels().some((p) => p.mode === 'run' && p.runIds[0] === latest.id));
    await sleep(3000); // lets the webview render, for the harness's screenshot
  });

  it('compares two runs in one panel', async () => {
    const runs = (await api.runs.runs()).slice(0, 2);
    assert.equal(runs.length, 2);
    await vscode.commands.executeCommand('l2softmax.compareRuns', runs[0], runs);
    assert.ok(api.dashboards.openPanels().some((p) => p.mode === 'compare' && p.runIds.length === 2));
  });

  it('stops a second run within seconds', async () => {
    await config().update('epochs', 200, vscode.ConfigurationTarget.Workspace);
    const run = (await vscode.commands.executeCommand('l2softmax.startRun')) as RunRecord;
    await until(() => (api.monitor.get(run.id)?.progress?.step ?? 0) > 0 || undefined, 120000, 'the first training step');
    const t0 = Date.now();
    await vscode.commands.executeCommand('l2softmax.stopRun', run.id);
    const stopped = await until(async () => {
      const r = await api.store.get(run.id);
      return r && r.status !== 'running' ? r : undefined;
    }, 30000, 'the run to stop');
    assert.equal(stopped.status, 'stopped');
    assert.ok(Date.now() - t0 < 15000, `stopping took ${Date.now() - t0} ms`);
    const items = await api.runs.runs();
    assert.equal(api.runs.getTreeItem(items.find((r) => r.id === run.id)!).contextValue, 'run.stopped');
    await config().update('epochs', 1, vscode.ConfigurationTarget.Workspace);
  });

  it('resumes an interrupted run from the Runs view; its dashboard continues where it stopped', async () => {
    await config().update('epochs', 3, vscode.ConfigurationTarget.Workspace);
    // Small batches: an epoch of cached synthetic faces lasts long enough to be caught in the middle of epoch 2.
    await config().update('batchSize', 8, vscode.ConfigurationTarget.Workspace);
    const run = (await vscode.commands.executeCommand('l2softmax.startRun')) as RunRecord;
    const owner = await until(() => {
      const r = api.monitor.get(run.id);
      return r?.checkpoint?.epoch === 1 && (r.progress?.step ?? 0) > (r.checkpoint.step ?? 0) ? r.owner : undefined;
    }, 120000, 'the first checkpoint and a step after it');
    // The trainer dies without a word (out-of-memory killer, power cut): the run is interrupted.
    process.kill(owner.pid, 'SIGKILL');
    const interrupted = await until(() => (api.monitor.get(run.id)?.status === 'interrupted' ? api.monitor.get(run.id) : undefined), 30000, 'the run to show interrupted');
    assert.match(interrupted.reason ?? '', /SIGKILL|exited without finishing/);
    assert.equal(api.runs.getTreeItem((await api.runs.runs()).find((r) => r.id === run.id)!).contextValue, 'run.interrupted');
    await vscode.commands.executeCommand('l2softmax.openDashboard', run.id);
    const restore = stub('showInputBox', (async () => '3') as typeof vscode.window.showInputBox);
    try {
      await vscode.commands.executeCommand('l2softmax.resumeRun', interrupted);
    } finally {
      restore();
    }
    const done = await until(async () => {
      const r = await api.store.get(run.id);
      return r && r.status !== 'running' && r.status !== 'queued' && r.status !== 'interrupted' ? r : undefined;
    }, 240000, 'the resumed run to end');
    assert.equal(done.status, 'completed', done.reason);
    assert.equal(done.resumes, 1);
    assert.equal(done.summary?.epochs, 3);
    const epochs = readFileSync(path.join(api.store.dir(run.id), 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'epoch' || e.type === 'resumed');
    assert.deepEqual(epochs.map((e) => (e.type === 'epoch' ? e.epoch : 'resumed')), [1, 'resumed', 2, 3]);
    await until(() => (api.dashboards.forwarded(run.id) > 0 ? true : undefined), 10000, 'live events in the open dashboard');
    await config().update('epochs', 1, vscode.ConfigurationTarget.Workspace);
    await config().update('batchSize', 64, vscode.ConfigurationTarget.Workspace);
  });

  it('resumes a stopped run to more epochs; the seam is in its events and the dashboard follows', async () => {
    await config().update('epochs', 1, vscode.ConfigurationTarget.Workspace);
    const run = (await vscode.commands.executeCommand('l2softmax.startRun')) as RunRecord;
    await until(async () => ((await api.store.get(run.id))?.status === 'completed' ? true : undefined), 240000, 'the first run to complete');
    await vscode.commands.executeCommand('l2softmax.openDashboard', run.id);
    const restore = stub('showInputBox', (async () => '2') as typeof vscode.window.showInputBox);
    try {
      await vscode.commands.executeCommand('l2softmax.resumeRun', run.id);
    } finally {
      restore();
    }
    const done = await until(async () => {
      const r = await api.store.get(run.id);
      return r && r.resumes === 1 && r.status === 'completed' ? r : undefined;
    }, 240000, 'the resumed run to complete');
    assert.equal(done.summary?.epochs, 2);
    const types = readFileSync(path.join(api.store.dir(run.id), 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).type);
    assert.ok(types.indexOf('resumed') > types.indexOf('finished'), 'no resumed event after the first finish');
    await until(() => (api.dashboards.forwarded(run.id) > 0 ? true : undefined), 10000, 'live events in the open dashboard');
  });

  it('renames, reruns and deletes runs from their context actions', async () => {
    const [latest] = (await api.runs.runs()).filter((r) => r.status === 'completed');
    let restore = stub('showInputBox', (async () => 'baseline run') as typeof vscode.window.showInputBox);
    try {
      await vscode.commands.executeCommand('l2softmax.renameRun', latest);
    } finally {
      restore();
    }
    assert.equal((await api.store.get(latest.id))?.name, 'baseline run');
    assert.equal(api.runs.getTreeItem((await api.runs.runs()).find((r) => r.id === latest.id)!).label, 'baseline run');
    const rerun = (await vscode.commands.executeCommand('l2softmax.rerun', latest)) as RunRecord;
    assert.equal(rerun.name, 'baseline run (rerun)');
    assert.deepEqual(rerun.config, latest.config);
    const done = await until(async () => {
      const r = await api.store.get(rerun.id);
      return r && r.status !== 'running' && r.status !== 'queued' ? r : undefined;
    }, 240000, 'the rerun to finish');
    assert.equal(done.status, 'completed');
    restore = stub('showWarningMessage', (async () => 'Delete') as typeof vscode.window.showWarningMessage);
    try {
      await vscode.commands.executeCommand('l2softmax.deleteRun', done);
    } finally {
      restore();
    }
    assert.equal(await api.store.get(rerun.id), undefined);
    assert.ok(!(await api.runs.runs()).some((r) => r.id === rerun.id));
    assert.ok(await api.store.get(latest.id), 'deleting one run touched another');
  });

  it('suggests alpha above alpha_low for the dataset and says why', async () => {
    await config().update('alpha', 2, vscode.ConfigurationTarget.Workspace);
    let message = '';
    const restore = stub('showInformationMessage', (async (m: string) => {
      message = m;
      return undefined;
    }) as typeof vscode.window.showInformationMessage);
    try {
      await vscode.commands.executeCommand('l2softmax.suggestAlpha');
    } finally {
      restore();
    }
    // 300 synthetic identities: alpha_low = log(0.9 * 298 / 0.1) = 7.89, 25% above rounds up to 10.
    assert.equal(config().get('alpha'), 10);
    assert.match(message, /alpha set to 10\. With 300 training identities .* alpha_low = log\(0\.9 × \(300 − 2\) \/ 0\.1\) = 7\.89/);
  });

  it('resets the settings to their defaults after confirming', async () => {
    await config().update('seed', 7, vscode.ConfigurationTarget.Workspace);
    const restore = stub('showWarningMessage', (async () => 'Reset') as typeof vscode.window.showWarningMessage);
    try {
      await vscode.commands.executeCommand('l2softmax.resetSettings');
    } finally {
      restore();
    }
    assert.equal(config().inspect('seed')?.workspaceValue, undefined);
    assert.equal(config().get('seed'), 42);
    for (const [k, v] of Object.entries(FAST)) await config().update(k, v, vscode.ConfigurationTarget.Workspace);
    await config().update('openDashboardOnStart', false, vscode.ConfigurationTarget.Workspace);
  });

  it('shows a run started from the CLI in a terminal', async () => {
    const { spawn } = await import('node:child_process');
    const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
    const cwd = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const child = spawn(process.execPath, [cli, 'train', '--epochs', '1', '--image-size', '16', '--loss', 'softmax'], { cwd, stdio: 'ignore', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
    const found = await until(async () => (await api.runs.runs()).find((r) => r.name.startsWith('Softmax · synthetic') && r.status === 'completed'), 20000, 'the CLI run in the Runs view');
    assert.ok(found.summary?.bestAccuracy);
  });

  it('follows a CLI run live in its dashboard', async () => {
    const { spawn } = await import('node:child_process');
    const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
    const cwd = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const child = spawn(process.execPath, [cli, 'train', '--epochs', '4', '--image-size', '16', '--alpha', '12'], { cwd, stdio: 'ignore', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const run = await until(async () => (await api.runs.runs()).find((r) => r.name.startsWith('L2 α=12 · synthetic') && r.status === 'running'), 30000, 'the CLI run to appear running');
    await vscode.commands.executeCommand('l2softmax.openDashboard', run.id);
    assert.equal(await exited, 0);
    await until(async () => (api.dashboards.forwarded(run.id) > 0 ? true : undefined), 10000, 'events forwarded to the dashboard');
    const done = await until(async () => (await api.runs.runs()).find((r) => r.id === run.id && r.status === 'completed'), 10000, 'the Runs view to show it completed');
    assert.equal(done.summary?.epochs, 4);
  });

  it('refuses to start with an invalid setting and says which', async () => {
    await config().update('learningRate', -1, vscode.ConfigurationTarget.Workspace);
    let shown = '';
    const restore = stub('showErrorMessage', (async (message: string) => {
      shown = message;
      return undefined;
    }) as typeof vscode.window.showErrorMessage);
    try {
      const before = (await api.store.list()).length;
      assert.equal(await vscode.commands.executeCommand('l2softmax.startRun'), undefined);
      assert.equal((await api.store.list()).length, before);
    } finally {
      restore();
      await config().update('learningRate', undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.match(shown, /l2softmax\.learningRate: must be greater than 0/);
  });
});
