// Entry point of the training child process.
//   node dist/trainer.js --config <run-config.json> --out <run-folder>
// Events go to the parent over the IPC channel when forked, otherwise as JSON
// lines on stdout. A {type:"stop"} message, SIGTERM or SIGINT stops gracefully:
// the current step finishes, a checkpoint is written, `finished` says "stopped".

import { promises as fs } from 'node:fs';
import { formatErrors, resolveConfig } from '../shared/config';
import { PROTOCOL_VERSION, isTrainerCommand, type EventBody, type TrainerEvent } from '../shared/events';
import { consoleToStderr } from './quiet';
import { train } from './train';

consoleToStderr();

function send(event: TrainerEvent): Promise<void> {
  if (process.send && process.connected) {
    return new Promise((resolve) => process.send!(event, undefined, {}, () => resolve()));
  }
  return new Promise((resolve) => process.stdout.write(JSON.stringify(event) + '\n', () => resolve()));
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  let pending: Promise<void> = Promise.resolve();
  const emit = (body: EventBody) => {
    const event = { v: PROTOCOL_VERSION, time: Date.now(), ...body } as TrainerEvent;
    pending = send(event);
  };
  const fail = (message: string) => {
    emit({ type: 'error', code: 'invalid-config', message });
    emit({
      type: 'finished',
      status: 'failed',
      code: 'invalid-config',
      reason: message,
      summary: { epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null },
    });
    return 2;
  };
  const configPath = arg('--config');
  const outDir = arg('--out');
  if (!outDir) return fail('missing --out <run folder>');
  let raw: unknown = {};
  if (configPath) {
    try {
      raw = JSON.parse(await fs.readFile(configPath, 'utf8'));
    } catch (err) {
      return fail(`cannot read the run config ${configPath}: ${(err as Error).message}`);
    }
  }
  const resolved = resolveConfig(raw);
  if (!resolved.ok) return fail(`invalid run config: ${formatErrors(resolved.errors)}`);
  let stop = false;
  process.on('message', (m) => {
    if (isTrainerCommand(m)) stop = true;
  });
  process.on('SIGTERM', () => (stop = true));
  process.on('SIGINT', () => (stop = true));
  // A parent that dies without telling us must not leave us training forever.
  process.on('disconnect', () => (stop = true));
  const status = await train({ config: resolved.config, outDir, emit, shouldStop: () => stop });
  await pending;
  return status === 'completed' ? 0 : status === 'stopped' ? 3 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    if (process.connected) process.disconnect();
  },
  (err) => {
    process.stderr.write(`trainer crashed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
    if (process.connected) process.disconnect();
  },
);
