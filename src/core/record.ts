// How each trainer event changes a run's record (shared by the run manager and the CLI).

import type { TrainerEvent } from '../shared/events';
import { addEpochToSummary } from '../shared/summary';
import type { RunRecord } from './run-store';

/** Applies `event` to `record`; returns true when the change is worth saving at once (not a step). */
export function applyToRecord(record: RunRecord, event: TrainerEvent): boolean {
  switch (event.type) {
    case 'started':
      record.backend = event.backend;
      record.dataset = event.dataset;
      record.alphaLow = event.alphaLow;
      record.progress = { epoch: 0, epochs: event.config.epochs, step: 0, stepsPerEpoch: event.stepsPerEpoch, loss: null, imagesPerSec: null };
      return true;
    case 'step':
      if (record.progress) {
        record.progress = { ...record.progress, epoch: event.epoch, step: event.step, loss: event.loss, imagesPerSec: event.imagesPerSec, eta: event.eta };
      }
      return false;
    case 'epoch': {
      if (record.progress) record.progress = { ...record.progress, epoch: event.epoch, loss: event.trainLoss };
      const previous = record.summary;
      record.summary = {
        epochs: event.epoch,
        steps: record.progress?.step ?? 0,
        seconds: 0,
        imagesPerSec: event.imagesPerSec,
        finalLoss: event.trainLoss,
        alpha: event.alpha,
        bestEpoch: previous?.bestEpoch ?? null,
        bestAccuracy: previous?.bestAccuracy ?? null,
        final: null,
        reported: previous?.reported ?? null,
      };
      addEpochToSummary(record.summary, event, record.config.reportEpoch ?? 'final');
      return true;
    }
    case 'error':
      record.reason = event.message;
      record.code = event.code;
      return true;
    case 'finished':
      record.status = event.status;
      record.summary = event.summary;
      if (event.reason) record.reason = event.reason;
      if (event.code) record.code = event.code;
      return true;
    default:
      return false;
  }
}
