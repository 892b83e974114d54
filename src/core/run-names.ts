// Default names of new runs: what a run trains (describeConfig) and when it was
// created, so runs of the same settings read apart in the Runs view, the editor
// tabs and the delete dialog; a name already taken gets a number.

import { describeConfig, type RunConfig } from '../shared/config';

/** "14:05" in local time. */
function clock(at: Date): string {
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
}

/** `base`, or `base (2)`, `base (3)`, ... whichever is not taken yet. */
export function uniqueName(base: string, taken: Iterable<string>): string {
  const names = new Set(taken);
  if (!names.has(base)) return base;
  for (let n = 2; ; n++) if (!names.has(`${base} (${n})`)) return `${base} (${n})`;
}

/** e.g. "L2 α=32 · synthetic · 14:05", numbered when that is taken. */
export function defaultRunName(config: RunConfig, at: Date, taken: Iterable<string>): string {
  return uniqueName(`${describeConfig(config)} · ${clock(at)}`, taken);
}

/** The name of a rerun of `name`: "x (rerun)", then "x (rerun 2)", ... */
export function rerunName(name: string, taken: Iterable<string>): string {
  const base = name.replace(/ \(rerun( \d+)?\)$/, '');
  const names = new Set(taken);
  if (!names.has(`${base} (rerun)`)) return `${base} (rerun)`;
  for (let n = 2; ; n++) if (!names.has(`${base} (rerun ${n})`)) return `${base} (rerun ${n})`;
}
