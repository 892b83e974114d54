// The images a run leaves out because they cannot be read or decoded: each
// folder's are named in a `skipped-images` warning and counted for the dataset
// statistics, or, with strict data, the first folder that has any ends the run.

import * as path from 'node:path';
import { SKIPPED_IMAGES_WARNING, type SkippedImages } from '../../shared/events';
import { TrainerError, type TrainerLog } from '../errors';
import { describeFailures, type DecodeFailure } from './decode-cache';

/** Undecodable images named in the dataset statistics (the warning names as many per folder). */
const SKIPPED_EXAMPLES = 5;

export class SkipReport {
  private count = 0;
  private readonly examples: string[] = [];

  constructor(
    private readonly strict: boolean,
    private readonly log: TrainerLog,
  ) {}

  add(folder: string, failed: DecodeFailure[]): void {
    if (!failed.length) return;
    if (this.strict) throw new TrainerError('dataset', `${describeFailures(folder, failed)}. Remove or replace them (strict data is on; turn it off to skip such images instead).`);
    this.count += failed.length;
    for (const f of failed.slice(0, SKIPPED_EXAMPLES - this.examples.length)) this.examples.push(path.relative(folder, f.file) || f.file);
    this.log.warn(SKIPPED_IMAGES_WARNING, `${describeFailures(folder, failed)}. Skipped them; turn on strict data to stop the run instead.`);
  }

  stats(): { skippedImages?: SkippedImages } {
    return this.count ? { skippedImages: { count: this.count, examples: this.examples } } : {};
  }
}
