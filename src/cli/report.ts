// Human-readable progress for the CLI: one line per epoch and a final table.

import type { EpochEvent, FinishedEvent, StartedEvent, TrainerEvent } from '../shared/events';
import { minMax, pct, tarAtFar } from '../shared/format';

export function formatStarted(e: StartedEvent): string {
  const c = e.config;
  const d = e.dataset;
  const loss = c.loss === 'l2-softmax' ? `L2-softmax, alpha ${c.alpha}${c.alphaTrainable ? ' (trainable)' : ''}` : 'softmax (baseline)';
  return [
    `Backend   ${e.backend.description}${e.workers && e.workers > 1 ? `, data-parallel on ${e.workers} threads` : ''}`,
    `Data      ${d.source}: ${d.identities} identities, ${d.images} images (${d.imagesPerIdentity.min}-${d.imagesPerIdentity.max} per identity, median ${d.imagesPerIdentity.median})` +
      `${d.validationImages ? `, ${d.validationImages} held out for validation` : ''}${d.skippedIdentities ? `, ${d.skippedIdentities} identities skipped (too few images)` : ''}` +
      `${d.skippedImages ? `, ${d.skippedImages.count} undecodable images skipped (${d.skippedImages.examples.join(', ')}${d.skippedImages.count > d.skippedImages.examples.length ? ', ...' : ''})` : ''}`,
    `Verify    ${d.pairs} pairs (${d.matchedPairs} matched) in ${d.folds} folds over ${d.verifyImages} images of ${d.verifyIdentities} identities, from ${d.pairsSource ?? 'held-out identities'}` +
      `${d.imageSizes?.length ? `; source image sizes ${d.imageSizes.map((s) => `${s.width}x${s.height} (${s.count})`).join(', ')}${(d.distinctImageSizes ?? 0) > d.imageSizes.length ? ', ...' : ''}` : ''}`,
    `Model     ${loss}; ${c.imageSize}x${c.imageSize}x${c.channels} input, width ${c.width}, ${c.embeddingSize}-d embedding, ${e.parameters.toLocaleString('en-US')} parameters`,
    `Training  ${c.epochs} epochs x ${e.stepsPerEpoch} steps, batch ${c.batchSize}, ${c.optimizer} lr ${c.learningRate}, seed ${c.seed}; alpha_low(p=0.9) = ${e.alphaLow.toFixed(2)}`,
  ].join('\n');
}

export function tarAt(e: { verification: EpochEvent['verification'] }, far: number): number {
  return tarAtFar(e.verification, far) ?? NaN;
}

export function formatEpoch(e: EpochEvent): string {
  const v = e.verification;
  const alpha = e.alpha === null ? '' : `  alpha ${e.alpha.toFixed(2)}`;
  return (
    `epoch ${String(e.epoch).padStart(String(e.epochs).length)}/${e.epochs}  loss ${e.trainLoss.toFixed(3)}  train acc ${pct(e.trainAccuracy)}` +
    `${e.validation ? `  val acc ${pct(e.validation.accuracy)}` : ''}${alpha}` +
    `  |f| ${e.featureNorm.mean.toFixed(1)}  | 10-fold acc ${pct(v.accuracy)} ± ${pct(v.accuracyStd)}  TAR@FAR=1e-3 ${pct(tarAt(e, 1e-3))}` +
    `  AUC ${v.auc.toFixed(4)}  EER ${pct(v.eer)}  | ${Math.round(e.imagesPerSec)} img/s, ${e.seconds.toFixed(1)} s`
  );
}

export function formatSummary(events: TrainerEvent[], finished: FinishedEvent): string {
  const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
  const rows = [['epoch', 'loss', 'train acc', 'val acc', 'alpha', '10-fold acc', 'std', 'AUC', 'EER', 'TAR@1e-4', 'TAR@1e-3', 'TAR@1e-2', 'TAR@1e-1']];
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
      ...[1e-4, 1e-3, 1e-2, 1e-1].map((f) => pct(tarAt(e, f))),
    ]);
  }
  const widths = rows[0].map((_, i) => minMax(rows.map((r) => r[i].length)).max);
  const table = rows.map((r) => r.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n');
  const s = finished.summary;
  const head =
    `Run ${finished.status}` +
    (finished.reason ? ` (${finished.reason})` : '') +
    ` in ${s.seconds.toFixed(1)} s, ${s.steps} steps, ${Math.round(s.imagesPerSec)} images/s while training` +
    (s.bestAccuracy !== null ? `; best 10-fold accuracy ${pct(s.bestAccuracy)} at epoch ${s.bestEpoch}` : '');
  return epochs.length ? `${head}\n\n${table}` : head;
}
