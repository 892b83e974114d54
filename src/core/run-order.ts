// How the Runs view orders and groups runs: pinned runs first, then by start
// time (newest first), name, or 10-fold accuracy of the reported epoch (best
// first, never the best on the test pairs); groups by
// sweep or by tag (a run with two tags is in both groups).

import type { RunRecord } from '../shared/run';
import { reportedResult } from '../shared/summary';
import { newestFirst } from './run-store';

export const SORT_KEYS = ['started', 'name', 'accuracy'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const GROUP_KEYS = ['none', 'sweep', 'tag'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export const SORT_LABELS: Readonly<Record<SortKey, string>> = { started: 'start time (newest first)', name: 'name', accuracy: '10-fold accuracy (reported epoch)' };
export const GROUP_LABELS: Readonly<Record<GroupKey, string>> = { none: 'no groups', sweep: 'sweep', tag: 'tag' };

const byName = (a: RunRecord, b: RunRecord) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }) || newestFirst(a, b);
/** Runs without a verified epoch go last. */
const accuracyOf = (r: RunRecord) => reportedResult(r.summary)?.verification.accuracy ?? -1;
const byAccuracy = (a: RunRecord, b: RunRecord) => accuracyOf(b) - accuracyOf(a) || newestFirst(a, b);
const ORDERS: Record<SortKey, (a: RunRecord, b: RunRecord) => number> = { started: newestFirst, name: byName, accuracy: byAccuracy };

export function sortRuns(runs: readonly RunRecord[], by: SortKey): RunRecord[] {
  const order = ORDERS[by] ?? newestFirst;
  return [...runs].sort((a, b) => Number(!!b.pinned) - Number(!!a.pinned) || order(a, b));
}

export interface RunGroup {
  /** Stable: "sweep:<id>", "tag:<tag>", or "none:" for the runs in no group. */
  id: string;
  label: string;
  runs: RunRecord[];
}

/**
 * Groups sorted runs, keeping their order inside each group; groups in the
 * order their first run appears, the runs that fit none last.
 */
export function groupRuns(runs: readonly RunRecord[], by: GroupKey, sweepOf: (runId: string) => { id: string; name: string } | undefined): RunGroup[] {
  if (by === 'none') return [{ id: 'none:', label: 'Runs', runs: [...runs] }];
  const groups = new Map<string, RunGroup>();
  const rest: RunRecord[] = [];
  const add = (id: string, label: string, run: RunRecord) => {
    if (!groups.has(id)) groups.set(id, { id, label, runs: [] });
    groups.get(id)?.runs.push(run);
  };
  for (const run of runs) {
    if (by === 'sweep') {
      const sweep = sweepOf(run.id);
      if (sweep) add(`sweep:${sweep.id}`, sweep.name, run);
      else rest.push(run);
    } else if (run.tags?.length) {
      for (const tag of run.tags) add(`tag:${tag}`, `#${tag}`, run);
    } else rest.push(run);
  }
  const out = [...groups.values()];
  if (rest.length) out.push({ id: 'none:', label: by === 'sweep' ? 'Not in a sweep' : 'Untagged', runs: rest });
  return out;
}
