// Short texts shown in the Runs view, status bar and tooltips (no vscode here, so they are unit-tested).

import { alphaLowerBound, type RunConfig } from '../shared/config';
import { formatDuration, pct, secondsLeft, tarAtFar, tarText } from '../shared/format';
import { bestOnTestText, reportedResult } from '../shared/summary';
import { markdown } from './markdown';
import type { RunRecord } from './run-store';
import { provenanceFacts } from '../shared/run';

export { formatDuration, pct } from '../shared/format';

/** TAR at `far` of the run's result (its reported epoch). */
export function tarAt(record: RunRecord, far: number): number | undefined {
  return tarAtFar(reportedResult(record.summary)?.verification, far);
}

/** A finished run's result in a sentence: its reported epoch's accuracy and TAR@FAR=1e-3, then the best on the test pairs as such. */
export function resultLine(record: RunRecord): string {
  const r = reportedResult(record.summary);
  if (!r) return 'no verified epoch';
  const best = bestOnTestText(record.summary);
  return `10-fold accuracy ${pct(r.verification.accuracy)} (${r.label}), TAR@FAR=1e-3 ${tarText(r.verification, 1e-3)}${best && record.summary?.bestEpoch !== r.epoch ? `; ${best}` : ''}`;
}

/** One line for the Runs view: progress while running, results when done, the reason when not. */
export function runDescription(record: RunRecord): string {
  const p = record.progress;
  switch (record.status) {
    case 'queued':
      return 'queued';
    case 'running':
      if (!p) return 'starting…';
      return `epoch ${Math.max(p.epoch, 1)}/${p.epochs}${p.loss !== null ? ` · loss ${p.loss.toFixed(3)}` : ''}`;
    default: {
      const r = reportedResult(record.summary);
      if (r) return `acc ${pct(r.verification.accuracy)} (${r.label}) · TAR@1e-3 ${tarText(r.verification, 1e-3)}`;
      return record.status;
    }
  }
}

/** Seconds left: the trainer's smoothed estimate (src/shared/eta.ts), else from the recent images/s (older trainers); undefined until known. */
export function eta(record: RunRecord): number | undefined {
  const p = record.progress;
  if (!p) return undefined;
  return p.eta ?? secondsLeft(p.step, p.epochs * p.stepsPerEpoch, record.config.batchSize, p.imagesPerSec);
}

export function statusText(record: RunRecord): string {
  const p = record.progress;
  if (!p) return 'starting…';
  const left = eta(record);
  return `epoch ${Math.max(p.epoch, 1)}/${p.epochs}${p.loss !== null ? ` · loss ${p.loss.toFixed(3)}` : ''}${left !== undefined ? ` · ETA ${formatDuration(left)}` : ''}`;
}

/** The config as markdown table rows (field | value), nested fields flattened. */
export function configRows(config: RunConfig): [string, string][] {
  const rows: [string, string][] = [];
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (v && typeof v === 'object') walk(v as Record<string, unknown>, `${prefix}${k}.`);
      else rows.push([`${prefix}${k}`, v === '' ? '(empty)' : String(v)]);
    }
  };
  walk(config as unknown as Record<string, unknown>, '');
  if (!config.dataset.path) return rows.filter(([k]) => !FOLDER_ONLY.has(k));
  return rows.filter(([k]) => !k.startsWith('dataset.synthetic.'));
}

/** Config fields that mean nothing for the built-in synthetic faces. */
const FOLDER_ONLY = new Set(['dataset.pairsFile', 'dataset.pairsImages', 'dataset.minImagesPerIdentity', 'dataset.strictData', 'dataset.allowPairsOutsideFolder']);

/**
 * The Runs view's tooltip of a run, as markdown. Everything in it comes from
 * run.json, which anyone can commit, so every value is escaped.
 */
export function runTooltip(record: RunRecord): string {
  const parts = [markdown`**${record.name}** — ${record.status}${record.pinned ? ' (pinned)' : ''}`];
  if (record.tags?.length) parts.push(record.tags.map((t) => markdown`#${t}`).join(' '));
  if (record.note) parts.push(markdown`Note: ${record.note}`);
  if (record.reason) parts.push(markdown`${record.reason}`);
  const r = reportedResult(record.summary);
  if (r) {
    const v = r.verification;
    const best = bestOnTestText(record.summary);
    parts.push(
      markdown`10-fold accuracy ${pct(v.accuracy)} (${r.label}); AUC ${Number(v.auc).toFixed(4)}, EER ${pct(v.eer)}, TAR@FAR=1e-3 ${tarText(v, 1e-3)}` +
        (best ? markdown`; ${best}` : ''),
    );
  }
  const provenance = provenanceFacts(record).filter(([label]) => label !== 'backend');
  if (provenance.length) parts.push(provenance.map(([label, value]) => markdown`${label}: ${value}`).join('  \n'));
  if (record.backend) parts.push(markdown`Backend: ${record.backend.description}`);
  parts.push(markdown`Started ${new Date(record.startedAt ?? record.createdAt).toLocaleString()}`);
  const rows = configRows(record.config).map(([k, v]) => markdown`| ${k} | ${v} |`);
  parts.push(['| setting | value |', '|---|---|', ...rows].join('\n'));
  return parts.join('\n\n') + '\n';
}

/** The alpha a user should start from: 25% above the paper's bound at p = 0.9, rounded up. */
export function suggestAlpha(classes: number): { alpha: number; alphaLow: number } {
  const alphaLow = alphaLowerBound(classes, 0.9);
  return { alpha: Math.max(1, Math.ceil(alphaLow * 1.25)), alphaLow };
}
