// Stores an evaluation (`node dist/cli.js eval`, "Evaluate Run on Pairs...") in a
// run that has ended: one `evaluation` event appended to its events.jsonl, so
// its dashboard, Compare Runs and every follower pick it up as they pick up the
// trainer's events, and a resume keeps it. Only a run no trainer owns (not
// queued or running, judged by its heartbeat as the Runs view does) takes one:
// the evaluating process is the folder's writer for that moment. The line goes
// out in one write after a newline if a killed writer left half a line.

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import type { EvaluationEvent } from '../shared/events';
import { ACTIVE_STATUSES, RUN_FILES, type RunRecord } from '../shared/run';
import { endsMidLine } from './atomic-file';
import { RunStore } from './run-store';

/** The run folder cannot take an evaluation now (not a run, or a trainer owns it). */
export class EvaluationRefused extends Error {}

/** The record of the run in `dir` when no trainer owns it; throws EvaluationRefused otherwise. */
export async function evaluableRun(dir: string): Promise<RunRecord> {
  const record = await new RunStore(path.dirname(path.resolve(dir))).view(path.basename(path.resolve(dir)));
  if (!record) throw new EvaluationRefused(`${dir} is not a run folder (no readable run.json).`);
  if (ACTIVE_STATUSES.has(record.status)) throw new EvaluationRefused(`run "${record.name}" is ${record.status}: evaluate it once its trainer has ended (or stop it).`);
  return record;
}

/** Appends the event as one line of the run's events.jsonl and syncs it. */
export function appendEvaluation(dir: string, event: EvaluationEvent): void {
  const file = path.join(dir, RUN_FILES.events);
  const fd = openSync(file, 'a+', 0o600);
  try {
    const line = Buffer.from((endsMidLine(file) ? '\n' : '') + JSON.stringify(event) + '\n', 'utf8');
    for (let off = 0; off < line.length; ) off += writeSync(fd, line, off, line.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
