// Sweeps through a real Slurm: a single-node cluster on this machine
// (test/slurm/cluster.sh, Debian's slurm-wlm 22.05), the real trainer
// (dist/trainer.js) in each array task. Needs root to start the cluster;
// skipped with the reason otherwise. The cluster is shut down afterwards when
// this suite started it.
//   npm run test:slurm

import { strict as assert } from 'node:assert';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunManager } from '../../src/core/run-manager';
import { RunMonitor } from '../../src/core/run-monitor';
import { RunStore, type RunRecord } from '../../src/core/run-store';
import { TRAINER_NODE_FLAGS } from '../../src/core/runtime';
import { DEFAULT_SLURM, SlurmLauncher, queryJobs, runCommand } from '../../src/core/slurm';
import { SweepStore, sweepsRootFor } from '../../src/core/sweep-store';
import { tinyConfig } from '../fixtures/trainer';

const ROOT = path.resolve(__dirname, '../..');
const CLUSTER = path.join(ROOT, 'test/slurm/cluster.sh');
const TRAINER = path.join(ROOT, 'dist/trainer.js');
const CLI = path.join(ROOT, 'dist/cli.js');
const SLURM = { ...DEFAULT_SLURM, cpusPerTask: 1 };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

function sh(file: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => execFile(file, args, { cwd: ROOT, maxBuffer: 16 << 20 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` })));
}

describe('sweeps on a real Slurm (single-node cluster)', function () {
  let startedHere = false;
  let dir: string;
  let store: RunStore;
  let sweeps: SweepStore;
  let monitor: RunMonitor | undefined;
  let manager: RunManager | undefined;

  before(async function () {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) {
      console.log('    skipped: starting a Slurm cluster needs root on Linux (CI runs as root)');
      return this.skip();
    }
    const wasUp = spawnSync('scontrol', ['ping']).stdout?.toString().includes('UP');
    const start = spawnSync('bash', [CLUSTER, 'start'], { encoding: 'utf8' });
    if (start.status !== 0) {
      console.log(`    skipped: the single-node Slurm did not start: ${(start.stderr || start.stdout).trim()}`);
      return this.skip();
    }
    startedHere = !wasUp;
    execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, L2SOFTMAX_WEBVIEW: '0' } });
  });

  after(() => {
    if (startedHere) spawnSync('bash', [CLUSTER, 'stop'], { stdio: 'inherit' });
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'l2sm-slurm-e2e-'));
    store = new RunStore(path.join(dir, '.l2softmax', 'runs'));
    sweeps = new SweepStore(sweepsRootFor(store.root));
  });

  afterEach(async () => {
    manager?.dispose();
    monitor?.dispose();
    manager = monitor = undefined;
    const jobs = (await sweeps.list()).flatMap((s) => (s.submissions ?? []).map((j) => j.jobId));
    if (jobs.length) await runCommand('scancel', jobs);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A window's view of the folder: monitor, queue and the Slurm launcher, polling fast. */
  async function host(): Promise<{ monitor: RunMonitor; manager: RunManager; slurm: SlurmLauncher }> {
    monitor = new RunMonitor(store, { activePollMs: 200, sweepMs: 500 });
    await monitor.ready();
    const slurm = new SlurmLauncher({ store, sweeps, trainerScript: TRAINER, pollMs: 500 });
    manager = new RunManager({
      store,
      monitor,
      trainerScript: TRAINER,
      runtime: () => ({ execPath: process.execPath, execArgv: TRAINER_NODE_FLAGS, env: {}, description: 'test node' }),
      maxConcurrent: () => 1,
      queuePollMs: 200,
      stopGraceMs: 60000,
      launchers: [slurm],
    });
    return { monitor, manager, slurm };
  }

  async function ended(id: string, ms: number): Promise<RunRecord> {
    return waitFor(async () => {
      const r = monitor?.get(id) ?? (await store.view(id));
      return r && r.status !== 'running' && r.status !== 'queued' ? r : undefined;
    }, ms, `run ${id} to end`);
  }

  it('the CLI checks the shared folder, submits 4 tiny cells as one job array and follows them to completion', async () => {
    const config = path.join(dir, 'tiny.json');
    writeFileSync(config, JSON.stringify({ ...tinyConfig({ epochs: 2, workers: 1 }) }));
    const { code, out } = await sh(process.execPath, [CLI, 'sweep', '--launcher', 'slurm', '--cpus-per-task', '1', '--max-parallel', '2', '--config', config, '--vary', 'alpha=4,16', '--with-softmax', '--with-learned', '--seeds', '1', '--runs', store.root]);
    assert.equal(code, 0, out);
    assert.match(out, /Checking that the Slurm nodes see /);
    assert.match(out, /submitted as Slurm job array (\d+)/);
    const [sweep] = await sweeps.list();
    assert.equal(sweep.cells.length, 4);
    assert.equal(sweep.submissions?.length, 1);
    const arrayId = sweep.submissions![0].jobId;
    assert.match(readFileSync(sweeps.file(sweep.id, 'sweep.sbatch'), 'utf8'), /--launcher slurm/);
    for (const cell of sweep.cells) {
      const r = await store.get(cell.runId);
      assert.equal(r?.status, 'completed', `${cell.runId}: ${r?.reason}`);
      assert.equal(r?.launcher, 'slurm');
      assert.equal(r?.job?.jobId, `${arrayId}_${cell.index}`);
      assert.ok(r?.owner?.jobId, 'the trainer records SLURM_JOB_ID');
      assert.match(readFileSync(store.file(cell.runId, 'trainer.log'), 'utf8'), new RegExp(`\\[slurm\\] job ${arrayId}_${cell.index} `));
    }
    assert.match(out, /alpha 4 +1 /);
    assert.match(out, /softmax +1 /);
    const jobs = await queryJobs(runCommand, [`${arrayId}_0`]);
    assert.equal(jobs.get(`${arrayId}_0`)?.state, 'COMPLETED');
  });

  it('an sbatch refusal (bad partition) is reported before anything is submitted', async () => {
    const config = path.join(dir, 'tiny.json');
    writeFileSync(config, JSON.stringify(tinyConfig({ epochs: 1, workers: 1 })));
    const { code, out } = await sh(process.execPath, [CLI, 'sweep', '--launcher', 'slurm', '--partition', 'nope', '--config', config, '--vary', 'alpha=4', '--seeds', '1', '--runs', store.root]);
    assert.equal(code, 1, out);
    assert.match(out, /error: sbatch .*--partition=nope.* failed \(exit code 1\): sbatch: error: invalid partition specified: nope/);
    assert.deepEqual(await sweeps.list(), [], 'no sweep was created');
  });

  it('Stop cancels a running sweep through scancel; its cells stop with a checkpoint', async () => {
    const { manager: m, slurm } = await host();
    const sweep = await sweeps.create({ base: tinyConfig({ epochs: 500, workers: 1 }), axes: [{ field: 'alpha', values: [4, 16] }], withSoftmax: false, withLearned: false, seeds: 1, launcher: 'slurm', slurm: SLURM }, store);
    const jobId = await slurm.submit(sweep, [0, 1]);
    for (const cell of sweep.cells) await waitFor(() => monitor?.get(cell.runId)?.progress?.step, 90000, `${cell.runId} to train`);
    await Promise.all(sweep.cells.map((c) => m.stop(c.runId)));
    for (const cell of sweep.cells) {
      const r = await ended(cell.runId, 60000);
      assert.equal(r.status, 'stopped', r.reason);
      assert.ok(r.checkpoint, 'a checkpoint was written on the way out');
    }
    const jobs = await waitFor(async () => {
      const j = await queryJobs(runCommand, [`${jobId}_0`, `${jobId}_1`]);
      return [...j.values()].every((x) => x.state !== 'RUNNING' && x.state !== 'COMPLETING') ? j : undefined;
    }, 60000, 'the jobs to end');
    assert.ok([...jobs.values()].every((j) => /CANCELLED|COMPLETED|FAILED/.test(j.state)), JSON.stringify([...jobs.values()]));
  });

  it('a job killed with scancel --signal=KILL shows interrupted with Slurm\'s state, and Resume resubmits it from its checkpoint', async () => {
    const { manager: m, slurm } = await host();
    const sweep = await sweeps.create({ base: tinyConfig({ epochs: 40, workers: 1 }), axes: [{ field: 'alpha', values: [16] }], withSoftmax: false, withLearned: false, seeds: 1, launcher: 'slurm', slurm: SLURM }, store);
    const jobId = await slurm.submit(sweep, [0]);
    const runId = sweep.cells[0].runId;
    await waitFor(() => monitor?.get(runId)?.checkpoint, 120000, 'a first checkpoint');
    await slurm.scancel([`${jobId}_0`], 'KILL');
    const r = await ended(runId, 90000);
    assert.equal(r.status, 'interrupted', r.reason);
    const record = await waitFor(async () => {
      const raw = await store.get(runId);
      return raw?.status === 'interrupted' ? raw : undefined;
    }, 30000, 'the launcher to record what Slurm did');
    assert.match(record.reason ?? '', new RegExp(`^Slurm job ${jobId}_0 on \\S+ failed \\(FAILED[^)]*exit code 0:9\\), killed by signal 9\\. Resume continues from its newest checkpoint`));
    const from = record.checkpoint?.epoch ?? 0;
    await m.resume(runId, from + 2);
    const done = await ended(runId, 180000);
    assert.equal(done.status, 'completed', done.reason);
    assert.equal(done.resumes, 1);
    assert.notEqual(done.job?.jobId, `${jobId}_0`, 'the resume ran as a new job');
    assert.match(readFileSync(sweeps.file(sweep.id, 'sweep.sbatch'), 'utf8'), /RESUME=\(1\)/);
    assert.equal((await sweeps.get(sweep.id))?.submissions?.length, 2, 'one job for the run, one for its resume');
  });
});
