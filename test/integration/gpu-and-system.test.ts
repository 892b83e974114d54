// System readouts inside VS Code: Check GPU Setup explains, for this machine, why
// tfjs-node-gpu does not use a GPU and what to install; runs log system samples.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { Api } from '../../src/extension/main';
import { activate } from './helpers';

describe('system readouts and the GPU check', () => {
  let api: Api;

  before(async () => {
    api = await activate();
  });

  it('Check GPU Setup says there is no NVIDIA driver here, and what that means', async () => {
    const lines = (await vscode.commands.executeCommand('l2softmax.checkGpu', { bench: false })) as string[];
    const text = lines.join('\n');
    assert.match(text, /No NVIDIA driver \(nvidia-smi not found\): tfjs-node-gpu cannot use a GPU on this machine\./);
    assert.match(text, /@tensorflow\/tfjs-node-gpu: (not installed \(optional|installed)/);
    assert.match(text, /libcudart\.so\.11\.0: /);
    assert.match(text, /libcudnn\.so\.8: /);
    assert.match(text, /nothing to install unless this machine has an NVIDIA GPU \(then install its driver/);
  });

  it('logs what a run cost the machine as system events', async () => {
    const run = api.monitor.records().find((r) => r.status === 'completed' && (r.summary?.seconds ?? 0) > 10);
    assert.ok(run, 'no completed run of more than 10 s');
    const events = readFileSync(api.store.file(run.id, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const system = events.filter((e) => e.type === 'system');
    assert.ok(system.length >= 1, 'no system sample');
    assert.ok(system.every((e) => e.cpu >= 0 && e.rss > 0 && e.systemCpu >= 0));
    const loaded = await api.dashboards.load(run.id);
    loaded?.follower.dispose();
    assert.equal(loaded?.snapshot.system?.time.length, system.length);
  });
});
