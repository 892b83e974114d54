// Whether a run's trainer is still alive, judged from its folder alone
// (run.json and heartbeat.json), so every window on every machine that shares
// the folder comes to the same answer. Pure apart from the optional pid probe.

import { readFileSync } from 'node:fs';
import { HEARTBEAT_STALE_MS, type Heartbeat, type RunRecord } from '../shared/run';

export interface Liveness {
  live: boolean;
  /** Time of the newest heartbeat, ms since the epoch. */
  lastBeat?: number;
  /** Why a running run is not live, in words for the user. */
  reason?: string;
}

/**
 * False only when the process is known to be gone: ESRCH, or (Linux) a zombie, a process that has
 * exited and waits for its parent to collect its status (kill(pid, 0) still succeeds on it). EPERM
 * means it exists under another user.
 */
export function pidMayBeAlive(pid: number): boolean {
  // kill(0) and kill(-n) address process groups: such pids prove nothing.
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  return !hasExited(pid);
}

/** True when /proc says `pid` has exited (state Z, zombie, or X, dead); false where there is no /proc or it cannot tell. */
function hasExited(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": the command name may hold spaces and parentheses, the state follows the last ")".
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** Folders written before heartbeats existed (format 1) are judged by their pid alone. */
const FIRST_HEARTBEAT_FORMAT = 2;

function launchTime(record: RunRecord): number | undefined {
  const t = Date.parse(record.launchedAt ?? record.startedAt ?? record.createdAt);
  return Number.isFinite(t) ? t : undefined;
}

/** "2026-11-30 10:32:05" in local time. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * A running run is live while its heartbeat (or, before the first beat, its
 * launch) is at most HEARTBEAT_STALE_MS old, unless its trainer ran on this host
 * and its pid is gone. Runs in any other status have no live trainer.
 */
export function liveness(record: RunRecord, heartbeat: Heartbeat | undefined, now: number, thisHost: string, isPidAlive: (pid: number) => boolean = pidMayBeAlive): Liveness {
  if (record.status !== 'running') return { live: false };
  const launched = launchTime(record);
  // A heartbeat older than the launch is the previous trainer's (a resume).
  const beat = heartbeat && (launched === undefined || heartbeat.time >= launched) ? heartbeat : undefined;
  const lastBeat = heartbeat?.time;
  const host = beat?.host ?? record.owner?.host;
  const pid = beat?.pid ?? record.owner?.pid ?? record.pid;
  if (!beat && (record.format ?? 1) < FIRST_HEARTBEAT_FORMAT) {
    const live = pid !== undefined && isPidAlive(pid);
    return { live, lastBeat, reason: live ? undefined : 'The trainer of this run is no longer running.' };
  }
  const who = `host ${host ?? 'unknown'}${pid !== undefined ? ` (pid ${pid})` : ''}`;
  const last = beat ? `last heartbeat ${formatTime(beat.time)} from ${who}` : `launched ${launched === undefined ? 'at an unknown time' : formatTime(launched)} on ${who}, no heartbeat since`;
  if (host === thisHost && pid !== undefined && !isPidAlive(pid)) return { live: false, lastBeat, reason: `The trainer exited without finishing; ${last}.` };
  const since = Math.max(beat?.time ?? -Infinity, launched ?? -Infinity);
  if (now - since <= HEARTBEAT_STALE_MS) return { live: true, lastBeat };
  return { live: false, lastBeat, reason: `The trainer stopped responding; ${last}.` };
}

/** The record as a reader should show it: a running run whose trainer is gone is interrupted. Returns `record` itself when nothing changes. */
export function effectiveStatus(record: RunRecord, heartbeat: Heartbeat | undefined, now: number, thisHost: string, isPidAlive?: (pid: number) => boolean): RunRecord {
  if (record.status !== 'running') return record;
  const l = liveness(record, heartbeat, now, thisHost, isPidAlive);
  return l.live ? record : { ...record, status: 'interrupted', reason: l.reason, code: 'interrupted' };
}
