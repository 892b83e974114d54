import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunManager } from '../../src/core/run-manager';
import { RunMonitor } from '../../src/core/run-monitor';
import { RunStore } from '../../src/core/run-store';
import { RunWriter } from '../../src/core/run-writer';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { PROTOCOL_VERSION } from '../../src/shared/events';

describe('tags, notes and pins', () => {
  let root: string;
  let store: RunStore;
  let monitor: RunMonitor;
  let manager: RunManager;
  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-annot-'));
    store = new RunStore(root);
    monitor = new RunMonitor(store);
    await monitor.ready();
    manager = new RunManager({ store, monitor, trainerScript: '/nonexistent', runtime: () => ({ execPath: process.execPath, execArgv: [], env: {}, description: 'node' }), maxConcurrent: () => 0 });
  });
  afterEach(() => {
    manager.dispose();
    monitor.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('are written to run.json directly once a run has ended', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'ended');
    await store.save({ ...run, status: 'completed' });
    await manager.annotate(run.id, { tags: ['paper'], note: 'the baseline', pinned: true });
    const saved = await store.get(run.id);
    assert.deepEqual([saved?.tags, saved?.note, saved?.pinned], [['paper'], 'the baseline', true]);
  });

  it('go through control.json while a trainer owns the folder: shown at once, written by the trainer', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'live');
    const writer = RunWriter.open(store.dir(run.id), { launcher: 'local' });
    try {
      await monitor.poke(run.id);
      await manager.annotate(run.id, { tags: ['lfw'], note: 'asked while training' });
      assert.equal((await store.get(run.id))?.tags, undefined, 'the host wrote run.json under a live trainer');
      assert.deepEqual(monitor.get(run.id)?.tags, ['lfw'], 'readers do not show the request at once');
      // The trainer takes it at its next look at control.json, or at the latest when it finishes.
      const summary = { epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null };
      writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'finished', status: 'completed', summary });
      const saved = await store.get(run.id);
      assert.deepEqual([saved?.tags, saved?.note], [['lfw'], 'asked while training']);
    } finally {
      writer.close();
    }
  });

  it('reach run.json when the trainer finished after the view last looked', async () => {
    const run = await store.create(DEFAULT_CONFIG, 'just ended');
    const writer = RunWriter.open(store.dir(run.id), { launcher: 'local' });
    await monitor.poke(run.id);
    const summary = { epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null };
    writer.emit({ v: PROTOCOL_VERSION, time: Date.now(), type: 'finished', status: 'completed', summary });
    writer.close();
    assert.equal(monitor.get(run.id)?.status, 'running', 'the view was meant to be a poll behind');
    await manager.annotate(run.id, { note: 'tagged as it ended' });
    assert.equal((await store.get(run.id))?.note, 'tagged as it ended', 'the note went to a control.json no trainer will read');
  });
});
