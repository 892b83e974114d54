// The backend chain around WebGPU, through the command line in child processes:
// when the webgpu package fails to load or Dawn finds no adapter, the run's log
// says so in one line and training goes on with the next backend; device
// "webgpu" then fails with gpu-unavailable; "auto" never trains on a software
// adapter such as lavapipe.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LogEvent, StartedEvent, TrainerEvent } from '../../src/shared/events';
import { loadDawn, probeAdapter } from '../../src/trainer/backend/webgpu';
import { tinyConfigFile } from '../fixtures/webgpu';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const NO_DAWN = path.join(__dirname, 'fixtures', 'no-dawn.mjs');
/** A Vulkan loader pointed at a driver list that does not exist finds no device. */
const NO_VULKAN_DRIVER = { VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' };

interface CliRun {
  code: number;
  events: TrainerEvent[];
}

describe('backend chain around WebGPU', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(path.join(tmpdir(), 'l2sm-fallback-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  /** One tiny epoch with `device`, one thread; the run folder's events. */
  function train(device: string, opts: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Promise<CliRun> {
    const dir = path.join(out, 'run');
    const args = [...(opts.nodeArgs ?? []), CLI, 'train', '--config', tinyConfigFile(out, { workers: 1 }), '--device', device, '--epochs', '1', '--out', dir];
    return new Promise((resolve) => {
      execFile(process.execPath, args, { cwd: out, env: { ...process.env, ...opts.env }, maxBuffer: 1 << 24 }, (err) => {
        const lines = readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, events: lines.map((l) => JSON.parse(l) as TrainerEvent) });
      });
    });
  }

  const webGpuLine = (r: CliRun) => r.events.filter((e): e is LogEvent & TrainerEvent => e.type === 'log' && e.message.startsWith('WebGPU is not usable:')).map((e) => e.message);
  const started = (r: CliRun) => r.events.find((e) => e.type === 'started') as (StartedEvent & TrainerEvent) | undefined;

  it('the webgpu package fails to load: one log line, then training on the next backend', async () => {
    const r = await train('auto', { nodeArgs: ['--import', NO_DAWN] });
    assert.equal(r.code, 0);
    assert.equal(webGpuLine(r).length, 1);
    assert.match(webGpuLine(r)[0], /the webgpu package \(Dawn\) did not load: Cannot find package 'webgpu'/);
    assert.equal(started(r)?.backend.name, 'wasm');
  });

  it('Dawn finds no adapter: one log line, then training on the next backend', async () => {
    const r = await train('auto', { env: NO_VULKAN_DRIVER });
    assert.equal(r.code, 0);
    assert.deepEqual(webGpuLine(r).length, 1);
    assert.match(webGpuLine(r)[0], /Dawn found no adapter/);
    assert.equal(started(r)?.backend.name, 'wasm');
  });

  it('device "webgpu" without an adapter fails with gpu-unavailable after the log line', async () => {
    const r = await train('webgpu', { env: NO_VULKAN_DRIVER });
    assert.notEqual(r.code, 0);
    assert.equal(webGpuLine(r).length, 1);
    const error = r.events.find((e) => e.type === 'error');
    assert.ok(error?.type === 'error' && error.code === 'gpu-unavailable', JSON.stringify(error));
    assert.equal(started(r), undefined);
  });

  it('device "auto" trains on a software adapter never, on a hardware one first', async () => {
    const adapter = await probeAdapter(await loadDawn());
    const r = await train('auto');
    assert.equal(r.code, 0);
    if (adapter?.hardware) {
      assert.ok(['tensorflow-gpu', 'webgpu'].includes(started(r)?.backend.name ?? ''), 'a GPU backend');
      return;
    }
    assert.match(webGpuLine(r)[0] ?? '', /the only adapter is a software one .*set device to "webgpu" to use it anyway/);
    assert.equal(started(r)?.backend.name, 'wasm');
  });
});
