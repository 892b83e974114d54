// Human-readable progress for the CLI: one line per epoch and a final table.

import { HEAD_NAMES, headParameters } from '../shared/config';
import { FAR_TARGETS, type EpochEvent, type FinishedEvent, type StartedEvent, type TrainerEvent } from '../shared/events';
import { mismatchedNeeded, minMax, pct, plural, protocolText, tarAtFar, tarMeasurable, tarText } from '../shared/format';
import { resultText } from '../shared/summary';

export function formatStarted(e: StartedEvent): string {
  const c = e.config;
  const d = e.dataset;
  const params = headParameters(c);
  const loss = `${HEAD_NAMES[c.loss]}${params ? ` ${params}` : ' (baseline)'}`;
  return [
    `Backend   ${e.backend.description}${e.workers && e.workers > 1 ? `, data-parallel on ${e.workers} threads` : ''}`,
    `Data      ${d.source}: ${plural(d.identities, 'identity', 'identities')}, ${plural(d.images, 'image')} (${d.imagesPerIdentity.min}-${d.imagesPerIdentity.max} per identity, median ${d.imagesPerIdentity.median})` +
      `${d.validationImages ? `, ${d.validationImages} held out for validation` : ''}${d.skippedIdentities ? `, ${plural(d.skippedIdentities, 'identity', 'identities')} skipped (too few images)` : ''}` +
      `${d.skippedImages ? `, ${plural(d.skippedImages.count, 'undecodable image')} skipped (${d.skippedImages.examples.join(', ')}${d.skippedImages.count > d.skippedImages.examples.length ? ', ...' : ''})` : ''}`,
    `Verify    ${plural(d.pairs, 'pair')} (${d.matchedPairs} matched) in ${plural(d.folds, 'fold')} over ${plural(d.verifyImages, 'image')} of ${plural(d.verifyIdentities, 'identity', 'identities')}, from ${d.pairsSource ?? 'held-out identities'}` +
      `${d.imageSizes?.length ? `; source image sizes ${d.imageSizes.map((s) => `${s.width}x${s.height} (${s.count})`).join(', ')}${(d.distinctImageSizes ?? 0) > d.imageSizes.length ? ', ...' : ''}` : ''}`,
    ...(d.overlap ? [`Protocol  ${protocolText(d.overlap)}`] : []),
    `Model     ${loss}; ${c.imageSize}x${c.imageSize}x${c.channels} input, width ${c.width}, ${c.embeddingSize}-d embedding, ${e.parameters.toLocaleString('en-US')} parameters`,
    `Training  ${plural(c.epochs, 'epoch')} x ${plural(e.stepsPerEpoch, 'step')}, batch ${c.batchSize}, ${c.optimizer} lr ${c.learningRate}${c.lrSchedule === 'constant' ? '' : ` (${c.lrSchedule})`}, weight decay ${c.weightDecay}, seed ${c.seed}; ${c.loss === 'l2-softmax' || c.loss === 'softmax' ? 'alpha_low' : 's_low'}(p=0.9) = ${e.alphaLow.toFixed(2)}`,
  ].join('\n');
}

export function formatEpoch(e: EpochEvent): string {
  const v = e.verification;
  const alpha = e.alpha === null ? '' : `  alpha ${e.alpha.toFixed(2)}`;
  return (
    `epoch ${String(e.epoch).padStart(String(e.epochs).length)}/${e.epochs}  loss ${e.trainLoss.toFixed(3)}  train acc ${pct(e.trainAccuracy)}` +
    `${e.validation ? `  val acc ${pct(e.validation.accuracy)}` : ''}${alpha}` +
    `  |f| ${e.featureNorm.mean.toFixed(1)}  | 10-fold acc ${pct(v.accuracy)} ± ${pct(v.accuracyStd)}  TAR@FAR=1e-3 ${tarText(v, 1e-3)}` +
    `  AUC ${v.auc.toFixed(4)}  EER ${pct(v.eer)}  | ${Math.round(e.imagesPerSec)} img/s, ${e.seconds.toFixed(1)} s`
  );
}

/** The run's report: its result, then a row per epoch (an epoch trained again after a resume shows its last result). */
export function formatSummary(events: TrainerEvent[], finished: FinishedEvent): string {
  const byEpoch = new Map<number, EpochEvent>();
  for (const e of events) if (e.type === 'epoch') byEpoch.set(e.epoch, e);
  const epochs = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  const rows = [['epoch', 'loss', 'train acc', 'val acc', 'alpha', '10-fold acc', 'std', 'AUC', 'EER', ...FAR_TARGETS.map((f) => `TAR@${f.toExponential()}`)]];
  for (const e of epochs) {
    const v = e.verification;
    rows.push([
      String(e.epoch),
      e.trainLoss.toFixed(3),
      pct(e.trainAccuracy),
      e.validation ? pct(e.validation.accuracy) : '-',
      e.alpha === null ? '-' : e.alpha.toFixed(2),
      pct(v.accuracy),
      pct(v.accuracyStd),
      v.auc.toFixed(4),
      pct(v.eer),
      ...FAR_TARGETS.map((f) => (tarMeasurable(v, f) ? pct(tarAtFar(v, f)) : 'n/a')),
    ]);
  }
  const widths = rows[0].map((_, i) => minMax(rows.map((r) => r[i].length)).max);
  const table = rows.map((r) => r.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n');
  const s = finished.summary;
  const head =
    `Run ${finished.status}` +
    (finished.reason ? ` (${finished.reason})` : '') +
    ` in ${s.seconds.toFixed(1)} s, ${plural(s.steps, 'step')}, ${Math.round(s.imagesPerSec)} images/s while training` +
    (resultText(s) ? `; ${resultText(s)}` : '');
  return epochs.length ? `${head}\n\n${table}${unmeasurableNote(epochs)}` : head;
}

/** Why a TAR column reads n/a: its FAR needs more mismatched pairs than the protocol has. */
function unmeasurableNote(epochs: EpochEvent[]): string {
  const v = epochs[epochs.length - 1].verification;
  const fars = FAR_TARGETS.filter((f) => !tarMeasurable(v, f));
  if (!fars.length) return '';
  const needs = fars.map((f) => `TAR@${f.toExponential()} needs ${mismatchedNeeded(f).toLocaleString('en-US')}`).join(', ');
  return `\n\nn/a: ${needs} mismatched pairs; these pairs have ${(v.mismatched ?? 0).toLocaleString('en-US')}.`;
}
