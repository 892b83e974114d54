// Entry point of the training process, detached from whoever launched it:
//   node dist/trainer.js --run <run folder> [--resume] [--epochs N] [--launcher local|slurm]
// It owns the run folder (see src/shared/run.ts) and outlives the editor window:
// no IPC, stdio goes to trainer.log. SIGTERM, SIGINT or a stop request in
// control.json stop it gracefully: the step finishes, a checkpoint is written,
// `finished` says "stopped". Exit codes: see EXIT in session.ts.

import { parseArgs } from 'node:util';
import { consoleToStderr } from './quiet';
import { EXIT, trainInFolder } from './session';

consoleToStderr();

const USAGE = 'usage: node dist/trainer.js --run <run folder> [--resume] [--epochs N] [--launcher local|slurm]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { run: { type: 'string' }, resume: { type: 'boolean' }, epochs: { type: 'string' }, launcher: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  const launcher = values.launcher ?? 'local';
  if (!values.run || (epochs !== undefined && !(Number.isInteger(epochs) && epochs > 0)) || (launcher !== 'local' && launcher !== 'slurm')) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  process.on('SIGINT', () => (stop = true));
  // A closing terminal or session must not end a run that is meant to outlive it.
  process.on('SIGHUP', () => undefined);
  return trainInFolder({ dir: values.run, launcher, jobId: process.env.SLURM_JOB_ID, resume: values.resume, epochs, shouldStop: () => stop });
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`trainer crashed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = EXIT.failed;
  },
);
