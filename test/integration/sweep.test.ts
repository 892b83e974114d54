import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Api } from '../../src/extension/main';
import type { SweepRecord } from '../../src/shared/sweep';
import { writeFaceFolder, writePairsTxt } from '../../src/trainer/data/write-face-folder';

const EXTENSION_ID = 'l2-softmax-lab.l2-softmax-lab';

async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Answer = (options: Record<string, unknown>, items?: readonly (vscode.QuickPickItem & Record<string, unknown>)[]) => unknown;

/** Answers Start Sweep's quick picks and input boxes by their titles; returns a restore function. */
function answer(byTitle: Record<string, Answer>): { restore: () => void; asked: string[] } {
  const w = vscode.window as unknown as Record<string, unknown>;
  const pick = w.showQuickPick;
  const input = w.showInputBox;
  const asked: string[] = [];
  const respond = async (options: Record<string, unknown> | undefined, items?: readonly (vscode.QuickPickItem & Record<string, unknown>)[]) => {
    const title = String(options?.title ?? '');
    asked.push(title);
    const entry = Object.entries(byTitle).find(([t]) => title.startsWith(t));
    if (!entry) throw new Error(`unexpected prompt "${title}"`);
    return entry[1](options ?? {}, items);
  };
  w.showQuickPick = async (items: unknown, options?: Record<string, unknown>) => respond(options, (await items) as (vscode.QuickPickItem & Record<string, unknown>)[]);
  w.showInputBox = async (options?: Record<string, unknown>) => respond(options);
  return {
    asked,
    restore: () => {
      w.showQuickPick = pick;
      w.showInputBox = input;
    },
  };
}

describe('sweeps in VS Code', () => {
  let api: Api;
  const config = () => vscode.workspace.getConfiguration('l2softmax');
  const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

  before(async () => {
    api = await vscode.extensions.getExtension<Api>(EXTENSION_ID)!.activate();
    // A small image folder with LFW pairs: 12 training identities, so alpha_low = log(0.9 * 10 / 0.1) = 4.50.
    const root = path.join(workspace(), 'sweep data');
    await writeFaceFolder(path.join(root, 'train'), { identities: 12, images: 6, size: 24, seed: 21 });
    const held = await writeFaceFolder(path.join(root, 'lfw'), { identities: 6, images: 4, size: 24, seed: 22, name: (i) => `Held_${i + 1}` });
    const pairs = await writePairsTxt(path.join(root, 'lfw'), held, 5, 2);
    const settings = { imageSize: 16, width: 4, embeddingSize: 16, epochs: 1, batchSize: 32, learningRate: 0.003, openDashboardOnStart: false, alpha: 16, datasetFolder: path.join(root, 'train'), pairsFile: pairs };
    for (const [k, v] of Object.entries(settings)) await config().update(k, v, vscode.ConfigurationTarget.Workspace);
  });

  after(async () => {
    for (const k of ['datasetFolder', 'pairsFile']) await config().update(k, undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('Start Sweep from the palette runs alpha values, softmax and two seeds on the local queue, and the sweep dashboard fills in', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['startSweep', 'openSweep', 'stopSweep', 'rerunFailedCells', 'deleteSweep']) assert.ok(all.includes(`l2softmax.${id}`), `l2softmax.${id} is not registered`);
    let prefilled = '';
    let rejected: unknown;
    const prompts = answer({
      'Sweep: vary which setting?': (_o, items) => {
        assert.ok(items?.some((i) => i.label === 'Learning rate'), 'numeric settings can be swept');
        assert.ok(items?.some((i) => i.label === 'Optimizer'), 'choice settings can be swept');
        return items?.find((i) => i.label === 'Alpha');
      },
      'Sweep: values of Alpha': async (o) => {
        prefilled = String(o.value);
        const validate = o.validateInput as (t: string) => Promise<string | undefined> | string | undefined;
        rejected = await validate('4, 0');
        assert.match(String(await validate(', ')), /at least one value/);
        assert.equal(await validate('2, 16, softmax'), undefined);
        return '2, 16, softmax';
      },
      'Sweep: also vary a second setting': (_o, items) => items?.find((i) => i.label === 'No second setting'),
      'Sweep: seeds per cell': (o) => {
        assert.equal(o.value, '3');
        return '2';
      },
      'Sweep: run 6 runs where?': (_o, items) => items?.find((i) => i.launcher === 'local'),
    });
    let sweep: SweepRecord;
    try {
      sweep = (await vscode.commands.executeCommand('l2softmax.startSweep')) as SweepRecord;
    } finally {
      prompts.restore();
    }
    assert.ok(sweep && sweep.id, `Start Sweep returned nothing (asked: ${prompts.asked.join(' | ')})`);
    assert.equal(prefilled, '1, 4, 5, 12, 16, 32, softmax, learned', 'alpha prefilled around alpha_low = 4.50 (rounded up: 5)');
    assert.match(String(rejected), /Alpha: 0 must be greater than 0/);
    assert.equal(sweep.launcher, 'local');
    assert.deepEqual(sweep.axes, [{ field: 'alpha', values: [2, 16] }]);
    assert.equal(sweep.withSoftmax, true);
    assert.equal(sweep.cells.length, 6);
    assert.ok(Math.abs((sweep.alphaLow ?? 0) - Math.log(90)) < 1e-9);

    // Every cell is an ordinary run: in the Runs view, queued or running.
    const runs = await api.runs.runs();
    for (const cell of sweep.cells) assert.ok(runs.some((r) => r.id === cell.runId), `run ${cell.runId} is not in the Runs view`);

    const done = await until(() => {
      const snap = api.sweepMonitor.snapshot(sweep.id);
      return snap && !snap.counts.queued && !snap.counts.running ? snap : undefined;
    }, 600000, 'every cell to finish');
    assert.equal(done.counts.completed, 6, JSON.stringify(done.cells.map((c) => [c.runId, c.status, c.reason])));

    // The Sweeps view: the sweep with its counts, expandable to its six runs.
    await new Promise((r) => setTimeout(r, 500));
    const nodes = await api.sweepsView.getChildren();
    const node = nodes.find((n) => n.sweepId === sweep.id)!;
    const item = api.sweepsView.getTreeItem(node);
    assert.match(String(item.description), /^6\/6 done/);
    assert.equal(item.contextValue, 'sweep.done');
    assert.equal((await api.sweepsView.getChildren(node)).length, 6);

    // The dashboard Start Sweep opened got the finished figure: accuracy against alpha with two seeds per point, the softmax band, alpha_low.
    const panel = await until(() => api.sweepDashboards.openPanels().find((p) => p.sweepId === sweep.id && p.sent && !p.sent.counts.running && !p.sent.counts.queued), 30000, 'the sweep dashboard to show the finished sweep');
    const figure = panel.sent!.figure;
    assert.equal(figure.xField, 'alpha');
    assert.deepEqual(figure.series[0].points.map((p) => [p.x, p.stats.accuracy?.n]), [[2, 2], [16, 2]]);
    assert.ok((figure.series[0].points[1].stats.accuracy?.mean ?? 0) > 0.4);
    assert.equal(figure.softmax[0].point.stats.accuracy?.n, 2);
    assert.ok(Math.abs((figure.alphaLow ?? 0) - Math.log(90)) < 1e-9);
    api.sweepDashboards.close(sweep.id);
  });

  it('Start Sweep on Slurm (when a cluster answers here, as in CI): checks the shared folder, submits one job array, records the job ids and follows it to completion', async function () {
    const ping = spawnSync('scontrol', ['ping'], { encoding: 'utf8' });
    if (ping.error || !/UP/.test(ping.stdout ?? '')) {
      console.log('      skipped: no Slurm controller answers on this machine (.ci/run starts test/slurm/cluster.sh)');
      return this.skip();
    }
    for (const [k, v] of Object.entries({ 'slurm.cpusPerTask': 1, 'slurm.maxParallel': 2 })) await config().update(k, v, vscode.ConfigurationTarget.Workspace);
    const prompts = answer({
      'Sweep: vary which setting?': (_o, items) => items?.find((i) => i.label === 'Alpha'),
      'Sweep: values of Alpha': () => '4, 16, softmax',
      'Sweep: also vary a second setting': (_o, items) => items?.find((i) => i.label === 'No second setting'),
      'Sweep: seeds per cell': () => '1',
      'Sweep: run 3 runs where?': (_o, items) => items?.find((i) => i.launcher === 'slurm'),
    });
    let sweep: SweepRecord;
    try {
      sweep = (await vscode.commands.executeCommand('l2softmax.startSweep')) as SweepRecord;
    } finally {
      prompts.restore();
      for (const k of ['slurm.cpusPerTask', 'slurm.maxParallel']) await config().update(k, undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.ok(sweep && sweep.id, `Start Sweep returned nothing (asked: ${prompts.asked.join(' | ')})`);
    assert.equal(sweep.launcher, 'slurm');
    assert.equal(sweep.submissions?.length, 1);
    const arrayId = sweep.submissions![0].jobId;
    assert.equal(sweep.base.workers, 1, 'a task trains on the CPUs Slurm gave it');
    const done = await until(() => {
      const snap = api.sweepMonitor.snapshot(sweep.id);
      return snap && !snap.counts.queued && !snap.counts.running ? snap : undefined;
    }, 600000, 'every Slurm task to finish');
    assert.equal(done.counts.completed, 3, JSON.stringify(done.cells.map((c) => [c.runId, c.status, c.reason])));
    for (const cell of done.cells) assert.equal(cell.jobId, `${arrayId}_${cell.index}`);
    api.sweepDashboards.close(sweep.id);
  });
});
