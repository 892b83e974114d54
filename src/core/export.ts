// CSV export of per-epoch metrics, one row per epoch of every run. Text cells
// that a spreadsheet would run as formulas are neutralized.

import type { RunSnapshot } from '../shared/dashboard';
import { FAR_TARGETS } from '../shared/events';
import { tarAtFar } from '../shared/format';

export const CSV_COLUMNS = [
  'run_id',
  'run_name',
  'loss',
  'alpha_setting',
  'alpha_trainable',
  'epoch',
  'train_loss',
  'train_accuracy',
  'alpha',
  'feature_norm_mean',
  'feature_norm_min',
  'feature_norm_max',
  'verification_accuracy',
  'verification_accuracy_std',
  'auc',
  'eer',
  ...FAR_TARGETS.map((f) => `tar_at_far_${f.toExponential()}`),
  'threshold',
  'pairs',
  'epoch_seconds',
  'images_per_sec',
] as const;

/** A text cell a spreadsheet would run as a formula (OWASP "CSV injection"): = + - @, or a leading tab or CR. */
const FORMULA_START = /^[=+\-@\t\r]/;
/** Text that is just a number ("-0.5") stays a number. */
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Run names and settings come from run.json files anyone can commit: a formula-like text cell gets a leading '. */
export function neutralizeFormula(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
}

/** One CSV cell: empty for null, undefined and non-finite numbers, formula-like text neutralized, quoted when it must be. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : neutralizeFormula(String(value));
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function metricsCsv(runs: RunSnapshot[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const run of runs) {
    for (const e of run.epochs) {
      const v = e.verification;
      const row = [
        run.id,
        run.name,
        run.config.loss,
        run.config.loss === 'l2-softmax' ? run.config.alpha : '',
        run.config.loss === 'l2-softmax' ? run.config.alphaTrainable : '',
        e.epoch,
        e.trainLoss,
        e.trainAccuracy,
        e.alpha,
        e.featureNorm.mean,
        e.featureNorm.min,
        e.featureNorm.max,
        v.accuracy,
        v.accuracyStd,
        v.auc,
        v.eer,
        ...FAR_TARGETS.map((f) => tarAtFar(v, f)),
        v.threshold,
        v.pairs,
        e.seconds,
        e.imagesPerSec,
      ];
      lines.push(row.map(csvCell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
