// The l2softmax command line: trains in this process and prints a report
// (or raw protocol events with --json). Ctrl+C stops gracefully; twice, at once.

import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { applyToRecord } from '../core/record';
import { RunStore, isRunId, type RunRecord } from '../core/run-store';
import { describeConfig } from '../shared/config';
import { PROTOCOL_VERSION, type EventBody, type FinishedEvent, type TrainerEvent } from '../shared/events';
import { consoleToStderr } from '../trainer/quiet';
import { train } from '../trainer/train';
import { USAGE, UsageError, parseCli } from './args';
import { formatEpoch, formatStarted, formatSummary } from './report';

/**
 * The run folder, with a run.json like the extension's, so CLI runs appear in its
 * Runs view: `.l2softmax/runs/<id>` by default, or --out (recorded when its name is a valid run id).
 */
async function openRun(out: string | undefined, config: RunRecord['config']): Promise<{ dir: string; store?: RunStore; record?: RunRecord }> {
  const name = describeConfig(config);
  if (!out) {
    const store = new RunStore(path.resolve('.l2softmax', 'runs'));
    const record = await store.create(config, name);
    return { dir: store.dir(record.id), store, record };
  }
  const dir = path.resolve(out);
  mkdirSync(dir, { recursive: true });
  if (!isRunId(path.basename(dir))) return { dir };
  const store = new RunStore(path.dirname(dir));
  return { dir, store, record: await store.create(config, name, new Date(), path.basename(dir)) };
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
  const { dir: out, store, record } = await openRun(opts.out, opts.config);
  if (store && record) {
    Object.assign(record, { status: 'running', startedAt: new Date().toISOString(), pid: process.pid });
    await store.save(record);
  }
  const eventsFile = path.join(out, 'events.jsonl');
  const events: TrainerEvent[] = [];
  let saving: Promise<void> = Promise.resolve();
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
    if (store && record && applyToRecord(record, event)) {
      if (event.type === 'finished') {
        record.endedAt = new Date().toISOString();
        delete record.pid;
      }
      saving = saving.then(() => store.save(record)).catch(() => undefined);
    }
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
  await saving;
  return status === 'completed' ? 0 : status === 'stopped' ? 3 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`l2softmax crashed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
