// The l2softmax command line: trains in this process, in a run folder written
// through the same RunWriter as the extension's trainer (so the run shows up in
// the Runs view of a window open on the folder), and prints a report (or raw
// protocol events with --json). Ctrl+C stops gracefully; twice, at once.

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkResume } from '../core/resume';
import { RunFollower } from '../core/run-follower';
import { datasetPathProblem } from '../core/setting-checks';
import { gitStateFromCli, hostProvenance } from '../core/provenance';
import { defaultRunName } from '../core/run-names';
import { RunStore, isRunId } from '../core/run-store';
import type { RunConfig } from '../shared/config';
import type { FinishedEvent, TrainerEvent } from '../shared/events';
import { RUN_FILES, type RunRecord } from '../shared/run';
import { listedTrainImages } from '../trainer/data/folder-dataset';
import { consoleToStderr } from '../trainer/quiet';
import { EXIT, trainInFolder } from '../trainer/session';
import { PATH_FLAGS, USAGE, UsageError, parseCli, readConfigFile, usageErrorText, type CliOptions } from './args';
import { evalMain } from './eval';
import { exportMain } from './export';
import { gpuCheckMain } from './gpu-check';
import { formatEpoch, formatStarted, formatSummary } from './report';
import { sweepMain } from './sweep';

/** Creates the run folder: `.l2softmax/runs/<id>` by default, or --out (its name must be a valid run id). */
async function createRun(out: string | undefined, config: RunConfig): Promise<string> {
  // A path that cannot be read is refused before a run folder exists (it would only hold a failure).
  const bad = datasetPathProblem(config, process.cwd());
  if (bad) throw new UsageError(`${PATH_FLAGS[bad.spec.field as string] ?? bad.spec.label} ${bad.problem.message}`);
  const named = async (store: RunStore) => defaultRunName(config, new Date(), (await store.list()).map((r) => r.name));
  const provenance = async (store: RunStore) => hostProvenance('CLI', await gitStateFromCli(process.cwd(), [store.root]));
  if (!out) {
    const store = new RunStore(path.resolve('.l2softmax', 'runs'));
    return store.dir((await store.create(config, await named(store), { launcher: 'cli', provenance: await provenance(store) })).id);
  }
  const dir = path.resolve(out);
  if (!isRunId(path.basename(dir))) throw new UsageError(`--out ${out}: the folder name must be letters, digits, ".", "_" or "-" (it becomes the run id)`);
  if (existsSync(path.join(dir, RUN_FILES.record))) throw new UsageError(`--out ${out} already holds a run; use --resume ${out} to continue it`);
  const store = new RunStore(path.dirname(dir));
  await store.create(config, await named(store), { id: path.basename(dir), launcher: 'cli', provenance: await provenance(store) });
  return dir;
}

/** Checks a run folder before resuming it; returns its folder or throws a UsageError that says why not. */
async function prepareResume(resume: NonNullable<CliOptions['resume']>): Promise<string> {
  const dir = path.resolve(resume.dir);
  let record: RunRecord;
  try {
    record = JSON.parse(readFileSync(path.join(dir, RUN_FILES.record), 'utf8')) as RunRecord;
  } catch (err) {
    throw new UsageError(`--resume ${resume.dir}: not a run folder (${(err as Error).message})`);
  }
  const store = new RunStore(path.dirname(dir));
  const status = (await store.view(path.basename(dir)))?.status ?? record.status;
  const check = await checkResume(dir, record, status, resume.epochs, listedTrainImages);
  if (check.refusal) throw new UsageError(`cannot resume: ${check.refusal}`);
  if (check.changes.length && !resume.force) throw new UsageError(`since the run started, ${check.changes.join('; ')}. Resume anyway with --force.`);
  return dir;
}

async function main(): Promise<number> {
  consoleToStderr();
  if (process.argv[2] === 'sweep') return sweepMain(process.argv.slice(3));
  if (process.argv[2] === 'eval') return evalMain(process.argv.slice(3));
  if (process.argv[2] === 'export') return exportMain(process.argv.slice(3));
  if (process.argv[2] === 'gpu-check') return gpuCheckMain(process.argv.slice(3));
  let opts: CliOptions;
  let dir: string;
  try {
    opts = parseCli(process.argv.slice(2), readConfigFile);
    if (opts.help) {
      process.stdout.write(USAGE + '\n');
      return EXIT.completed;
    }
    dir = opts.resume ? await prepareResume(opts.resume) : await createRun(opts.out, opts.config);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(usageErrorText('train', process.argv.slice(2), err.message, USAGE));
      return EXIT.usage;
    }
    throw err;
  }
  let stops = 0;
  process.on('SIGINT', () => {
    if (++stops > 1) process.exit(130);
    process.stderr.write('\nStopping after this step (Ctrl+C again to quit at once)...\n');
  });
  process.on('SIGTERM', () => stops++);
  return trainInFolder({
    dir,
    launcher: 'cli',
    resume: !!opts.resume,
    epochs: opts.resume?.epochs,
    shouldStop: () => stops > 0,
    onEvent: opts.json ? (event) => process.stdout.write(JSON.stringify(event) + '\n') : reporter(dir, opts.resume ? await earlierEpochs(dir) : []),
  });
}

/** The epoch events a run folder holds already (a resumed run's final table shows every epoch). */
async function earlierEpochs(dir: string): Promise<TrainerEvent[]> {
  const follower = new RunFollower(dir);
  const epochs: TrainerEvent[] = [];
  try {
    await follower.poll((events) => void epochs.push(...events.filter((e) => e.type === 'epoch')));
  } finally {
    follower.dispose();
  }
  return epochs;
}

/** Prints the human report: header, a line per epoch, the final table (after `history`, the epochs before this session). */
function reporter(dir: string, history: TrainerEvent[]): (event: TrainerEvent) => void {
  const events: TrainerEvent[] = [...history];
  const print = (line: string) => process.stdout.write(line + '\n');
  return (event) => {
    if (event.type !== 'step') events.push(event);
    switch (event.type) {
      case 'started':
        return print(formatStarted(event) + `\nOutput    ${dir}\n`);
      case 'resumed':
        return print(`Resumed   from epoch ${event.fromEpoch} (step ${event.fromStep}), training to epoch ${event.epochs}\n`);
      case 'epoch':
        return print(formatEpoch(event));
      case 'warning':
        return void process.stderr.write(`warning: ${event.message}\n`);
      case 'error':
        return void process.stderr.write(`error: ${event.message}\n`);
      case 'log':
        if (event.level === 'info') process.stderr.write(`${event.message}\n`);
        return;
      case 'finished':
        return print('\n' + formatSummary(events, event as FinishedEvent));
    }
  };
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`l2softmax crashed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = EXIT.failed;
  },
);
