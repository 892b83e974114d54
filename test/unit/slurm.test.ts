import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../../src/core/run-store';
import {
  DEFAULT_SLURM,
  SLURM_SETTINGS,
  SlurmLauncher,
  arraySpec,
  checkCluster,
  commandError,
  jobOutcome,
  jobPhase,
  parseJobId,
  parseSacct,
  parseScontrol,
  sbatchArgs,
  shellQuote,
  slurmOptionsFrom,
  slurmScript,
  splitArgs,
  type CommandResult,
  type CommandRunner,
} from '../../src/core/slurm';
import { SweepStore, sweepsRootFor } from '../../src/core/sweep-store';
import { DEFAULT_CONFIG } from '../../src/shared/config';

/** A fake Slurm: records every call and answers from a table of handlers. */
function fakeSlurm(answer: (file: string, args: string[]) => Partial<CommandResult> | undefined) {
  const calls: string[][] = [];
  const exec: CommandRunner = async (file, args) => {
    calls.push([file, ...args]);
    return { code: 0, stdout: '', stderr: '', ...answer(file, args) };
  };
  return { exec, calls };
}

describe('Slurm script and arguments', () => {
  it('compresses task indexes into an --array value with the parallel limit', () => {
    assert.equal(arraySpec([0, 1, 2, 3, 4, 5, 6, 7], 0), '0-7');
    assert.equal(arraySpec([7, 1, 3, 4, 5, 9], 2), '1,3-5,7,9%2');
    assert.equal(arraySpec([4], 0), '4');
  });

  it('builds sbatch arguments as an array: job, resources, GPUs as gres, the extra arguments, then the script', () => {
    const o = { ...DEFAULT_SLURM, partition: 'gpu', account: 'lab', timeLimit: '02:00:00', cpusPerTask: 8, gpusPerTask: 1, extraArgs: ['--mem=32G', '--qos=high'] };
    assert.deepEqual(sbatchArgs(o, { name: 'l2sm-s', array: '0-23%4', output: '/r/slurm/%A_%a.out', chdir: '/r', script: '/r/sweep.sbatch' }), [
      '--parsable', '--job-name=l2sm-s', '--array=0-23%4', '--output=/r/slurm/%A_%a.out', '--chdir=/r',
      '--partition=gpu', '--account=lab', '--time=02:00:00', '--cpus-per-task=8', '--gres=gpu:1', '--mem=32G', '--qos=high', '/r/sweep.sbatch',
    ]);
    assert.deepEqual(sbatchArgs(DEFAULT_SLURM, { name: 'n', output: 'o', chdir: 'c', script: 's' }), ['--parsable', '--job-name=n', '--output=o', '--chdir=c', '--cpus-per-task=2', 's']);
  });

  it('splits the extra-arguments setting like a shell would, without one', () => {
    assert.deepEqual(splitArgs(`--mem=8G  --comment="two words" --x='it''s' a\\ b ""`), ['--mem=8G', '--comment=two words', '--x=its', 'a b', '']);
    assert.throws(() => splitArgs('--comment="open'), /unbalanced/);
  });

  it('writes a job script where task i trains cell i, resuming the cells asked for, into the run\'s trainer.log', () => {
    const script = slurmScript({
      sweep: { id: 'sweep-1', name: 'α sweep' },
      runDirs: ["/shared/runs/a", "/shared/it's/b"],
      resume: new Set([1]),
      trainerScript: '/ext/dist/trainer.js',
      options: { setup: 'module load nodejs/20', nodePath: '' },
    });
    assert.match(script, /^#!\/bin\/bash\n/);
    assert.ok(script.includes(`RUNS=(\n  '/shared/runs/a'\n  ${shellQuote("/shared/it's/b")}\n)`));
    assert.ok(script.includes('RESUME=(0 1)'));
    assert.ok(script.includes('RUN="${RUNS[$TASK]}"'));
    assert.ok(script.includes('exec >>"$RUN/trainer.log" 2>&1'));
    assert.ok(script.indexOf('module load nodejs/20') > script.indexOf('exec >>'), 'setup errors land in the run log');
    assert.ok(script.includes(`ARGS=('--single-threaded' '/ext/dist/trainer.js' --run "$RUN" --launcher slurm)`));
    assert.ok(script.includes('exec node "${ARGS[@]}"'));
    assert.ok(slurmScript({ sweep: { id: 's', name: 'n' }, runDirs: ['/a'], resume: new Set(), trainerScript: '/t.js', options: { setup: '', nodePath: '/opt/node 20/bin/node' } }).includes(`exec '/opt/node 20/bin/node' "\${ARGS[@]}"`));
  });

  it('reads the job id sbatch --parsable prints', () => {
    assert.equal(parseJobId('1234\n'), '1234');
    assert.equal(parseJobId('1234;cluster-a\n'), '1234');
    assert.throws(() => parseJobId('Submitted batch job 12'), /no job id/);
  });

  it('passes a command\'s own error output on verbatim, and says where sbatch must be when it is missing', () => {
    const msg = commandError('sbatch', ['--partition=nope', 's'], { code: 1, stdout: '', stderr: 'sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n' });
    assert.equal(msg, 'sbatch --partition=nope s failed (exit code 1): sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified');
    assert.match(commandError('sbatch', [], { code: null, stdout: '', stderr: '', spawnError: 'ENOENT' }), /sbatch was not found on PATH.*login node/);
  });
});

describe('Slurm settings', () => {
  it('contributes every l2softmax.slurm.* setting with its default, and reads them into sbatch options', () => {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
    const props = pkg.contributes.configuration.properties as Record<string, { default: unknown }>;
    for (const s of SLURM_SETTINGS) assert.deepEqual(props[`l2softmax.${s.key}`]?.default, s.default, s.key);
    assert.deepEqual(pkg.extensionKind, ['workspace'], 'runs where the folder is: a login node over Remote-SSH');
    const values: Record<string, unknown> = { 'slurm.partition': ' gpu ', 'slurm.gpusPerTask': 1, 'slurm.maxParallel': 4, 'slurm.extraArgs': '--mem=16G --comment="a b"', 'slurm.setup': 'module load nodejs' };
    const o = slurmOptionsFrom((k) => values[k]);
    assert.deepEqual(o, { ...DEFAULT_SLURM, partition: 'gpu', gpusPerTask: 1, maxParallel: 4, extraArgs: ['--mem=16G', '--comment=a b'], setup: 'module load nodejs' });
  });
});

describe('Slurm job states', () => {
  it('parses sacct, expanding array tasks that have not started', () => {
    const jobs = parseSacct('12_0|COMPLETED|None|0:0|node1\n12_1|TIMEOUT|TimeLimit|0:15|node2\n12_2|CANCELLED by 1000|None|0:15|node1\n12_[3-4,6%2]|PENDING|Priority|0:0|None assigned\n');
    assert.deepEqual(jobs.map((j) => `${j.jobId} ${j.state} ${j.detail}`), ['12_0 COMPLETED None', '12_1 TIMEOUT TimeLimit', '12_2 CANCELLED by 1000', '12_3 PENDING Priority', '12_4 PENDING Priority', '12_6 PENDING Priority']);
  });

  it('parses scontrol show job -o for array tasks', () => {
    const out = [
      'JobId=13 ArrayJobId=12 ArrayTaskId=1 JobName=l2sm UserId=root(0) JobState=RUNNING Reason=None Dependency=(null) ExitCode=0:0 NodeList=vm',
      'JobId=12 ArrayJobId=12 ArrayTaskId=2-3%1 JobName=l2sm JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0 NodeList=(null)',
    ].join('\n');
    assert.deepEqual(parseScontrol(out).map((j) => `${j.jobId} ${j.state} ${j.detail}`), ['12_1 RUNNING None', '12_2 PENDING JobArrayTaskLimit', '12_3 PENDING JobArrayTaskLimit']);
  });

  it('maps states onto run statuses: Slurm\'s kills are interrupted (resumable) with the reason, a stop asked for is stopped', () => {
    assert.equal(jobPhase('PENDING'), 'pending');
    assert.equal(jobPhase('RUNNING'), 'active');
    assert.equal(jobPhase('COMPLETING'), 'active');
    assert.equal(jobPhase('TIMEOUT'), 'ended');
    const timeout = jobOutcome({ jobId: '12_1', state: 'TIMEOUT', detail: 'None', exitCode: '0:0', nodes: 'node2' }, false);
    assert.equal(timeout.status, 'interrupted');
    assert.equal(timeout.code, 'interrupted');
    assert.match(timeout.reason, /^Slurm job 12_1 on node2 reached its time limit \(TIMEOUT\)\. Resume continues/);
    assert.match(jobOutcome({ jobId: '1', state: 'PREEMPTED' }, false).reason, /was preempted \(PREEMPTED\)/);
    assert.equal(jobOutcome({ jobId: '1', state: 'NODE_FAIL' }, false).status, 'interrupted');
    const killed = jobOutcome({ jobId: '1', state: 'FAILED', exitCode: '0:9' }, false);
    assert.equal(killed.status, 'interrupted');
    assert.match(killed.reason, /killed by signal 9/);
    assert.equal(jobOutcome({ jobId: '1', state: 'FAILED', exitCode: '137:0' }, false).status, 'interrupted');
    const failed = jobOutcome({ jobId: '1', state: 'FAILED', exitCode: '127:0' }, false);
    assert.deepEqual([failed.status, failed.code], ['failed', 'exit']);
    assert.equal(jobOutcome({ jobId: '1', state: 'OUT_OF_MEMORY' }, false).status, 'failed');
    assert.equal(jobOutcome({ jobId: '1', state: 'COMPLETED' }, false).status, 'failed');
    const cancelled = jobOutcome({ jobId: '1', state: 'CANCELLED', detail: 'by 0' }, true);
    assert.equal(cancelled.status, 'stopped');
    assert.match(cancelled.reason, /was cancelled \(CANCELLED by 0\)/);
    assert.equal(jobOutcome({ jobId: '1', state: 'CANCELLED', detail: 'by 0' }, false).status, 'interrupted');
  });
});

describe('Slurm launcher (fake Slurm)', () => {
  let root: string;
  let runs: RunStore;
  let sweeps: SweepStore;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'l2sm-slurm-'));
    runs = new RunStore(path.join(root, 'runs'));
    sweeps = new SweepStore(sweepsRootFor(runs.root));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  async function slurmSweep() {
    return sweeps.create(
      { base: DEFAULT_CONFIG, axes: [{ field: 'alpha', values: [4, 16] }], withSoftmax: true, withLearned: false, seeds: 1, launcher: 'slurm', slurm: { ...DEFAULT_SLURM, partition: 'debug', maxParallel: 2 } },
      runs,
    );
  }

  it('submits a sweep as one job array and records the job in sweep.json and each run', async () => {
    const sweep = await slurmSweep();
    const { exec, calls } = fakeSlurm((file) => (file === 'sbatch' ? { stdout: '77\n' } : undefined));
    const launcher = new SlurmLauncher({ store: runs, sweeps, trainerScript: '/ext/dist/trainer.js', exec });
    assert.equal(await launcher.submit(sweep, [0, 1, 2]), '77');
    assert.equal(calls.length, 1);
    assert.ok(calls[0].includes('--array=0-2%2'));
    assert.ok(calls[0].includes('--partition=debug'));
    const script = calls[0][calls[0].length - 1];
    assert.equal(script, sweeps.file(sweep.id, 'sweep.sbatch'));
    assert.match(readFileSync(script, 'utf8'), new RegExp(runs.dir(sweep.cells[2].runId).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.deepEqual((await sweeps.get(sweep.id))?.submissions?.map((s) => [s.jobId, s.cells]), [['77', [0, 1, 2]]]);
    const r = await runs.get(sweep.cells[1].runId);
    assert.equal(r?.status, 'queued');
    assert.equal(r?.job?.jobId, '77_1');
  });

  it('an sbatch refusal reaches the caller verbatim and nothing is recorded as submitted', async () => {
    const sweep = await slurmSweep();
    const { exec } = fakeSlurm(() => ({ code: 1, stderr: 'sbatch: error: Batch job submission failed: Invalid partition name specified\n' }));
    const launcher = new SlurmLauncher({ store: runs, sweeps, trainerScript: '/t.js', exec });
    await assert.rejects(launcher.submit(sweep, [0]), /failed \(exit code 1\): sbatch: error: Batch job submission failed: Invalid partition name specified$/);
    assert.equal((await sweeps.get(sweep.id))?.submissions, undefined);
  });

  it('a sweep sbatch refused keeps its record: its cells fail with sbatch\'s words, ready to run again', async () => {
    const sweep = await slurmSweep();
    const refusal = 'sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified';
    const { exec } = fakeSlurm(() => ({ code: 1, stderr: `${refusal}\n` }));
    const launcher = new SlurmLauncher({ store: runs, sweeps, trainerScript: '/t.js', exec });
    const err = await launcher.submit(sweep, [0, 1, 2]).catch((e: Error) => e);
    await launcher.abandon(sweep, (err as Error).message);
    assert.ok(await sweeps.get(sweep.id), 'sweep.json stays');
    for (const cell of sweep.cells) {
      const r = await runs.get(cell.runId);
      assert.equal(r?.status, 'failed');
      assert.equal(r?.code, 'spawn');
      assert.ok(r?.reason?.endsWith(refusal), r?.reason);
    }
  });

  it('launch submits queued cells without a job (resumed ones with --resume); queue holders leave cells being submitted alone', async () => {
    const sweep = await slurmSweep();
    const { exec, calls } = fakeSlurm((file) => (file === 'sbatch' ? { stdout: '80' } : undefined));
    const launcher = new SlurmLauncher({ store: runs, sweeps, trainerScript: '/t.js', exec });
    await launcher.launch(await runs.list());
    assert.equal(calls.length, 0, 'cells marked "being submitted" belong to whoever creates them');
    const resumed = (await runs.get(sweep.cells[1].runId))!;
    delete resumed.job;
    resumed.resumeRequested = true;
    await runs.save(resumed);
    await launcher.launch((await runs.list()).filter((r) => r.id === resumed.id));
    assert.equal(calls.length, 1);
    assert.ok(calls[0].includes('--array=1%2'));
    assert.match(readFileSync(sweeps.file(sweep.id, 'sweep.sbatch'), 'utf8'), /RESUME=\(0 1 0\)/);
    assert.equal((await runs.get(resumed.id))?.job?.resume, true);
  });

  it('reconcile: a job Slurm ended (TIMEOUT) whose trainer wrote nothing becomes interrupted with Slurm\'s reason; pending ones get their state', async () => {
    const sweep = await slurmSweep();
    const { exec, calls } = fakeSlurm((file) => {
      if (file === 'sbatch') return { stdout: '90' };
      if (file === 'sacct') return { code: 1, stderr: 'Slurm accounting storage is disabled\n' };
      if (file === 'scontrol') return { stdout: 'JobId=91 ArrayJobId=90 ArrayTaskId=0 JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15 NodeList=n1\nJobId=90 ArrayJobId=90 ArrayTaskId=1-2 JobState=PENDING Reason=Priority ExitCode=0:0 NodeList=(null)\n' };
      return undefined;
    });
    const launcher = new SlurmLauncher({ store: runs, sweeps, trainerScript: '/t.js', exec, pollMs: 0 });
    await launcher.submit(sweep, [0, 1, 2]);
    // The trainer of cell 0 started (its record says running), then Slurm killed it at the time limit.
    const r0 = (await runs.get(sweep.cells[0].runId))!;
    Object.assign(r0, { status: 'running', launchedAt: new Date().toISOString(), owner: { host: 'n1', pid: 4242, jobId: '91' } });
    await runs.save(r0);
    const shown = (await runs.list()).map((r) => (r.id === r0.id ? { ...r, status: 'interrupted' as const, code: 'interrupted' as const } : r));
    await launcher.reconcile(shown);
    assert.deepEqual(calls.slice(1).map((c) => c[0]), ['sacct', 'scontrol']);
    const ended = await runs.get(r0.id);
    assert.equal(ended?.status, 'interrupted');
    assert.match(ended?.reason ?? '', /^Slurm job 90_0 on n1 reached its time limit \(TIMEOUT TimeLimit, exit code 0:15\)\. Resume continues/);
    assert.equal(ended?.job?.state, 'TIMEOUT (TimeLimit)');
    const pending = await runs.get(sweep.cells[1].runId);
    assert.equal(pending?.status, 'queued');
    assert.equal(pending?.job?.state, 'PENDING (Priority)');
  });

  it('cancel calls scancel with the run\'s job; an already finished job is not an error', async () => {
    const sweep = await slurmSweep();
    const { exec, calls } = fakeSlurm((file) => (file === 'sbatch' ? { stdout: '95' } : file === 'scancel' ? { code: 1, stderr: 'scancel: error: Kill job error on job id 95_0: Job/step already completing or completed\n' } : undefined));
    const launcher = new SlurmLauncher({ store: runs, sweeps, trainerScript: '/t.js', exec });
    await launcher.submit(sweep, [0]);
    await launcher.cancel((await runs.get(sweep.cells[0].runId))!);
    assert.deepEqual(calls[1], ['scancel', '95_0']);
  });
});

describe('shared runs folder check (fake Slurm)', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'l2sm-probe-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('passes when the job\'s marker appears, and remembers it', async () => {
    const { exec, calls } = fakeSlurm((file, args) => {
      if (file === 'sbatch' && args[0] === '--version') return { stdout: 'slurm 22.05.8' };
      if (file === 'sbatch') {
        const script = readFileSync(args[args.length - 1], 'utf8');
        const marker = /> '([^']+)\.tmp'/.exec(script)![1];
        writeFileSync(marker, 'host node7\nnode v20.1.0\ntrainer ok\n');
        return { stdout: '5' };
      }
      return undefined;
    });
    await checkCluster({ folder: root, trainerScript: '/t.js', options: DEFAULT_SLURM, exec, pollMs: 5 });
    await checkCluster({ folder: root, trainerScript: '/t.js', options: DEFAULT_SLURM, exec, pollMs: 5 });
    assert.equal(calls.filter((c) => c[0] === 'sbatch' && c[1] !== '--version').length, 1, 'the second check is remembered');
  });

  it('says the folder is not shared when the job ended and its marker never showed up', async () => {
    const { exec } = fakeSlurm((file) => {
      if (file === 'sbatch') return { stdout: '6' };
      if (file === 'sacct') return { stdout: '6|COMPLETED|None|0:0|node3\n' };
      return undefined;
    });
    await assert.rejects(checkCluster({ folder: root, trainerScript: '/t.js', options: DEFAULT_SLURM, exec, pollMs: 5, graceMs: 30 }), /is not shared with the compute nodes: check job 6 ended \(COMPLETED on node3\)/);
  });

  it('says where Node.js is missing on the node, and when sbatch is not installed', async () => {
    const { exec } = fakeSlurm((file, args) => {
      if (file === 'sbatch' && args[0] !== '--version') {
        const marker = /> '([^']+)\.tmp'/.exec(readFileSync(args[args.length - 1], 'utf8'))![1];
        writeFileSync(marker, 'host node7\nnode bash: node: command not found\ntrainer ok\n');
        return { stdout: '7' };
      }
      return undefined;
    });
    await assert.rejects(checkCluster({ folder: root, trainerScript: '/t.js', options: DEFAULT_SLURM, exec, pollMs: 5 }), /ran on node7 but Node\.js did not start there \(bash: node: command not found\)/);
    const missing: CommandRunner = async () => ({ code: null, stdout: '', stderr: '', spawnError: 'ENOENT' });
    await assert.rejects(checkCluster({ folder: root, trainerScript: '/t.js', options: DEFAULT_SLURM, exec: missing }), /sbatch was not found on PATH/);
  });
});
