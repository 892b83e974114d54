// The l2softmax command line: trains in this process and prints a report
// (or raw protocol events with --json). Ctrl+C stops gracefully; twice, at once.

import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type EventBody, type FinishedEvent, type TrainerEvent } from '../shared/events';
import { consoleToStderr } from '../trainer/quiet';
import { train } from '../trainer/train';
import { USAGE, UsageError, parseCli } from './args';
import { formatEpoch, formatStarted, formatSummary } from './report';

function defaultOut(loss: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return path.join('.l2softmax', 'runs', `${stamp}-${loss}-${process.pid}`);
}

async function main(): Promise<number> {
  consoleToStderr();
  let opts;
  try {
    opts = parseCli(process.argv.slice(2), (file) => {
      try {
        return JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new UsageError(`cannot read --config ${file}: ${(err as Error).message}`);
      }
    });
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const out = path.resolve(opts.out ?? defaultOut(opts.config.loss));
  mkdirSync(out, { recursive: true });
  const eventsFile = path.join(out, 'events.jsonl');
  const events: TrainerEvent[] = [];
  let stops = 0;
  process.on('SIGINT', () => {
    if (++stops > 1) process.exit(130);
    process.stderr.write('\nStopping after this step (Ctrl+C again to quit at once)...\n');
  });
  const print = (line: string) => process.stdout.write(line + '\n');
  const emit = (body: EventBody) => {
    const event = { v: PROTOCOL_VERSION, time: Date.now(), ...body } as TrainerEvent;
    if (event.type !== 'step') events.push(event);
    appendFileSync(eventsFile, JSON.stringify(event) + '\n');
    if (opts.json) return print(JSON.stringify(event));
    switch (event.type) {
      case 'started':
        return print(formatStarted(event) + `\nOutput    ${out}\n`);
      case 'epoch':
        return print(formatEpoch(event));
      case 'warning':
        return process.stderr.write(`warning: ${event.message}\n`);
      case 'error':
        return process.stderr.write(`error: ${event.message}\n`);
      case 'log':
        if (event.level === 'info') process.stderr.write(`${event.message}\n`);
        return;
      case 'finished':
        return print('\n' + formatSummary(events, event as FinishedEvent));
    }
  };
  const status = await train({ config: opts.config, outDir: out, emit, shouldStop: () => stops > 0 });
  return status === 'completed' ? 0 : status === 'stopped' ? 3 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`l2softmax crashed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
