// The Runs view's filter language: space-separated terms, all of which a run
// must match.
//   word            name, tags or note contain it (case-insensitive; "quoted words" keep their spaces)
//   tag:paper       has that tag             status:completed   in that status
//   name:baseline   name contains it         note:lfw           note contains it
//   alpha>=8        a setting compared (any run-config field or setting key: alpha, lr, epochs,
//                   loss=cosface, dataset.path:casia, datasetFolder:casia, ...)
//   acc>=0.9        a result (acc, auc, eer: its reported epoch's 10-fold accuracy, AUC and EER)
//   since:7d        created in the last 7 days (h, d, w); created>=2026-11-23 compares the date
//   -tag:old        any term negated
// Operators: `:` (contains, or equals for numbers), `=`, `!=`, `>`, `>=`, `<`, `<=`.

import { CONFIG_FIELDS, getField } from '../shared/config';
import type { RunRecord } from '../shared/run';
import { reportedResult } from '../shared/summary';
import { SETTINGS } from './settings';

export type Operator = ':' | '=' | '!=' | '>' | '>=' | '<' | '<=';

export interface FilterTerm {
  negate: boolean;
  /** Undefined for a bare word. */
  key?: string;
  op?: Operator;
  value: string;
}

export type ParsedFilter = { ok: true; terms: FilterTerm[]; matches: (run: RunRecord, now?: number) => boolean } | { ok: false; error: string };

const MS_PER: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Word keys that are not settings. */
const WORD_KEYS = ['tag', 'status', 'name', 'note', 'since', 'created', 'acc', 'auc', 'eer', 'pinned', 'sweep'] as const;

/** Short names people type for run-config fields. */
const ALIASES: Record<string, string> = { lr: 'learningRate', head: 'loss', s: 'scale', dataset: 'dataset.path', pairs: 'dataset.pairsFile' };

/** The run-config field a key names: a field path, a setting key, an alias or a field's last segment. */
export function fieldOf(key: string): string | undefined {
  const k = ALIASES[key] ?? key;
  if (CONFIG_FIELDS.includes(k)) return k;
  const setting = SETTINGS.find((s) => s.key === k && s.field);
  if (setting) return setting.field;
  const bySegment = CONFIG_FIELDS.filter((f) => f.split('.').pop() === k);
  return bySegment.length === 1 ? bySegment[0] : undefined;
}

/** Splits the text into terms; quotes group words ("my run"). */
function tokens(text: string): string[] {
  return [...text.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((m) => m[0]);
}

function parseTerm(token: string): FilterTerm | string {
  const negate = token.startsWith('-') && token.length > 1 && !/^-\d/.test(token);
  const body = negate ? token.slice(1) : token;
  const keyMatch = /^([A-Za-z][\w.]*)(>=|<=|!=|>|<|=|:)(.*)$/.exec(body);
  if (!keyMatch) return { negate, value: unquote(body) };
  const [, key, op, rawValue] = keyMatch;
  const value = unquote(rawValue);
  if (!value) return `"${token}" needs a value after ${op}`;
  const lower = key.toLowerCase();
  if (!(WORD_KEYS as readonly string[]).includes(lower) && !fieldOf(key)) {
    return `unknown key "${key}" in "${token}": use tag, status, name, note, since, created, acc, auc, eer, pinned, sweep or a setting such as alpha, epochs, loss`;
  }
  const term: FilterTerm = { negate, key: (WORD_KEYS as readonly string[]).includes(lower) ? lower : key, op: op as Operator, value };
  return checkTerm(term, token) ?? term;
}

function unquote(text: string): string {
  return text.replace(/"/g, '');
}

/** Why a term cannot be evaluated, or undefined. */
function checkTerm(t: FilterTerm, token: string): string | undefined {
  const ordered = t.op === '>' || t.op === '>=' || t.op === '<' || t.op === '<=';
  if (t.key === 'since') {
    if (t.op !== ':' && t.op !== '=') return `"${token}": write since:7d (h, d or w)`;
    if (!/^\d+(\.\d+)?[hdw]$/.test(t.value)) return `"${token}": since takes a number and h, d or w, e.g. since:7d`;
    return undefined;
  }
  if (t.key === 'created') return Number.isFinite(Date.parse(t.value)) ? undefined : `"${token}": created takes a date, e.g. created>=2026-11-23`;
  if (t.key === 'acc' || t.key === 'auc' || t.key === 'eer') return Number.isFinite(Number(t.value)) ? undefined : `"${token}": ${t.key} is compared with a number, e.g. ${t.key}>=0.9`;
  if (ordered && (t.key === 'tag' || t.key === 'status' || t.key === 'name' || t.key === 'note' || t.key === 'pinned' || t.key === 'sweep')) return `"${token}": ${t.key} takes : = or !=, not ${t.op}`;
  if (ordered && !Number.isFinite(Number(t.value))) return `"${token}": ${t.op} compares numbers, and "${t.value}" is not one`;
  return undefined;
}

function compare(actual: unknown, op: Operator, expected: string): boolean {
  if (actual === undefined || actual === null) return op === '!=';
  if (typeof actual === 'number') {
    const n = Number(expected);
    if (!Number.isFinite(n)) return op === '!=';
    switch (op) {
      case ':':
      case '=':
        return actual === n;
      case '!=':
        return actual !== n;
      case '>':
        return actual > n;
      case '>=':
        return actual >= n;
      case '<':
        return actual < n;
      case '<=':
        return actual <= n;
    }
  }
  const text = String(actual).toLowerCase();
  const want = expected.toLowerCase();
  if (op === ':') return text.includes(want);
  if (op === '=') return text === want;
  if (op === '!=') return text !== want;
  return false;
}

/** Extra facts a term can ask about that run.json does not hold (the sweep a run belongs to). */
export interface FilterContext {
  sweepOf?(runId: string): string | undefined;
  now?: number;
}

function termMatches(t: FilterTerm, run: RunRecord, ctx: FilterContext): boolean {
  const tags = run.tags ?? [];
  switch (t.key) {
    case undefined: {
      const w = t.value.toLowerCase();
      return run.name.toLowerCase().includes(w) || tags.some((tag) => tag.toLowerCase().includes(w)) || (run.note ?? '').toLowerCase().includes(w);
    }
    case 'tag':
      return t.op === '!=' ? !tags.some((tag) => tag.toLowerCase() === t.value.toLowerCase()) : tags.some((tag) => compare(tag, t.op === ':' ? '=' : (t.op as Operator), t.value));
    case 'status':
      return compare(run.status, t.op === ':' ? '=' : (t.op as Operator), t.value);
    case 'name':
      return compare(run.name, t.op as Operator, t.value);
    case 'note':
      return compare(run.note ?? '', t.op as Operator, t.value);
    case 'pinned':
      return compare(String(!!run.pinned), t.op === ':' ? '=' : (t.op as Operator), t.value);
    case 'sweep':
      return compare(ctx.sweepOf?.(run.id) ?? '', t.op as Operator, t.value);
    case 'since':
      return Date.parse(run.createdAt) >= (ctx.now ?? Date.now()) - parseFloat(t.value) * MS_PER[t.value.slice(-1)];
    case 'created':
      return compareDates(Date.parse(run.createdAt), t.op as Operator, t.value);
    case 'acc':
      return compare(reportedResult(run.summary)?.verification.accuracy, t.op as Operator, t.value);
    case 'auc':
      return compare(reportedResult(run.summary)?.verification.auc, t.op as Operator, t.value);
    case 'eer':
      return compare(reportedResult(run.summary)?.verification.eer, t.op as Operator, t.value);
    default:
      return compare(getField(run.config, fieldOf(t.key) as string), t.op as Operator, t.value);
  }
}

/** Dates compare by day when the term names a day (created=2026-11-23 is the whole day), else by the instant. */
function compareDates(created: number, op: Operator, value: string): boolean {
  const start = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value);
  const end = /^\d{4}-\d{2}-\d{2}$/.test(value) ? start + MS_PER.d : start;
  switch (op) {
    case ':':
    case '=':
      return created >= start && created < Math.max(end, start + 1);
    case '!=':
      return created < start || created >= Math.max(end, start + 1);
    case '>':
      return created >= end;
    case '>=':
      return created >= start;
    case '<':
      return created < start;
    case '<=':
      return created < Math.max(end, start + 1);
  }
}

/** Parses a filter; an empty text matches every run. */
export function parseFilter(text: string, ctx: FilterContext = {}): ParsedFilter {
  const terms: FilterTerm[] = [];
  for (const token of tokens(text.trim())) {
    const term = parseTerm(token);
    if (typeof term === 'string') return { ok: false, error: term };
    terms.push(term);
  }
  return {
    ok: true,
    terms,
    matches: (run, now) => terms.every((t) => termMatches(t, run, { ...ctx, now: now ?? ctx.now }) !== t.negate),
  };
}
