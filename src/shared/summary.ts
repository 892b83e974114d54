// What a run reports as its result, and how it is shown: the one home of the
// rule. The reported epoch is the final one, or (config.reportEpoch) the one
// with the best validation accuracy, which uses training identities only. The
// best 10-fold accuracy over epochs is chosen on the verification pairs
// themselves, so it is never the headline: it is shown, labelled "best on the
// test pairs", next to it. The trainer, the run record, the Runs view, the
// notifications, the CLI, sweeps and the dashboard all go through here.

import type { ReportEpoch } from './config';
import type { EpochEvent, ReportedEpoch, RunSummary, Verification } from './events';
import { pct } from './format';

/** An epoch as the summary needs it. */
export type EpochResult = Pick<EpochEvent, 'epoch' | 'verification'> & { validation?: EpochEvent['validation'] };

function reportedOf(e: EpochResult, rule: ReportEpoch): ReportedEpoch {
  return { epoch: e.epoch, rule, validationAccuracy: e.validation?.accuracy ?? null, verification: e.verification };
}

/**
 * Whether `e` replaces `current` as the reported epoch: every later epoch under
 * "final"; under "best-validation", one whose validation accuracy is higher
 * (ties keep the earlier one). An epoch without validation images counts as
 * final: there is nothing else to choose by.
 */
export function replacesReported(current: ReportedEpoch | null | undefined, e: EpochResult, rule: ReportEpoch): boolean {
  if (!current) return true;
  if (rule === 'final') return e.epoch >= current.epoch;
  const acc = e.validation?.accuracy;
  if (acc === undefined) return current.validationAccuracy === null && e.epoch >= current.epoch;
  return current.validationAccuracy === null || acc > current.validationAccuracy;
}

/** Folds one verified epoch into the summary: the final verification, the reported epoch, the best on the test pairs. */
export function addEpochToSummary(summary: RunSummary, e: EpochResult, rule: ReportEpoch): void {
  summary.epochs = e.epoch;
  summary.final = e.verification;
  if (summary.bestAccuracy === null || e.verification.accuracy > summary.bestAccuracy) {
    summary.bestAccuracy = e.verification.accuracy;
    summary.bestEpoch = e.epoch;
  }
  if (replacesReported(summary.reported, e, rule)) summary.reported = reportedOf(e, rule);
}

/** The reported epoch of a list of epochs (the dashboard holds them all). */
export function reportedEpoch<E extends EpochResult>(epochs: readonly E[], rule: ReportEpoch): E | undefined {
  let chosen: E | undefined;
  let current: ReportedEpoch | undefined;
  for (const e of epochs) {
    if (replacesReported(current, e, rule)) {
      chosen = e;
      current = reportedOf(e, rule);
    }
  }
  return chosen;
}

/** The run's result: its reported epoch, or for a summary written before there was one, its final epoch. */
export function reportedResult(summary: RunSummary | null | undefined): { epoch: number; verification: Verification; label: string } | undefined {
  if (!summary) return undefined;
  if (summary.reported) return { epoch: summary.reported.epoch, verification: summary.reported.verification, label: reportLabel(summary.reported.rule, summary.reported.epoch) };
  return summary.final ? { epoch: summary.epochs, verification: summary.final, label: reportLabel('final', summary.epochs) } : undefined;
}

/** "final epoch 10", "best validation, epoch 7". */
export function reportLabel(rule: ReportEpoch, epoch: number): string {
  return rule === 'final' ? `final epoch ${epoch}` : `best validation, epoch ${epoch}`;
}

/** "best on the test pairs 96.1% (epoch 8)": shown only as such, never as the result. */
export function bestOnTestText(summary: RunSummary | null | undefined, digits = 1): string | undefined {
  if (!summary || summary.bestAccuracy === null || summary.bestEpoch === null) return undefined;
  return `best on the test pairs ${pct(summary.bestAccuracy, digits)} (epoch ${summary.bestEpoch})`;
}

/** "10-fold accuracy 95.3% (final epoch 10); best on the test pairs 96.1% (epoch 8)" */
export function resultText(summary: RunSummary | null | undefined, digits = 1): string | undefined {
  const r = reportedResult(summary);
  if (!r) return undefined;
  const best = bestOnTestText(summary, digits);
  return `10-fold accuracy ${pct(r.verification.accuracy, digits)} (${r.label})${best && summary?.bestEpoch !== r.epoch ? `; ${best}` : ''}`;
}
