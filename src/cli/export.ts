// `l2softmax export`: writes a run's records of one epoch (src/core/records.ts)
// as CSV tables (images, pairs, training sample) or as .npy arrays (every
// tensor, the embeddings of the last epoch, the names as JSON), for sklearn or
// a notebook. Reads the run folder only; writes only into --out.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { exportRecords, placeInRunFolder, recordedEpochs } from '../core/records';
import { EXIT } from '../trainer/session';
import { UsageError, joinNegativeValues, usageErrorText } from './args';

export const EXPORT_USAGE = `Usage: node dist/cli.js export --run DIR [--epoch N] [--format csv|npy] [--out DIR]

Writes what a run recorded at one epoch's verification: per image its name,
identity, quality, feature norm and 2-D position; per pair its images, label,
fold and cosine score; the training sample's norms; and, as .npy, the last
epoch's embeddings.

Options:
  --run DIR              the run folder (.l2softmax/runs/<id>)
  --epoch N              the epoch (default: the latest with records)
  --format csv|npy       CSV tables (images.csv, pairs.csv, train_sample.csv) or one .npy per
                         tensor plus names.json (default csv)
  --out DIR              where to write (default: ./<run id>-epoch-N-<format>; never the run folder)
  -h, --help             this help

Exit code: 0 when written, 1 when the folder is no run or the run has no such records (it says
why), 2 for bad arguments (an --out inside the run folder included).`;

export interface ExportCliOptions {
  run: string;
  epoch?: number;
  format: 'csv' | 'npy';
  out?: string;
}

const EXPORT_OPTIONS = { run: { type: 'string' }, epoch: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export function parseExportCli(argv: string[]): ExportCliOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args: joinNegativeValues(argv, EXPORT_OPTIONS), strict: true, options: EXPORT_OPTIONS }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (!values.run?.trim()) throw new UsageError('--run needs a run folder');
  const format = values.format ?? 'csv';
  if (format !== 'csv' && format !== 'npy') throw new UsageError(`--format must be csv or npy, got "${format}"`);
  let epoch: number | undefined;
  if (values.epoch !== undefined) {
    epoch = Number(values.epoch);
    if (!Number.isInteger(epoch) || epoch < 1) throw new UsageError(`--epoch must be a positive whole number, got "${values.epoch}"`);
  }
  return { run: values.run, epoch, format, out: values.out };
}

export async function exportMain(argv: string[]): Promise<number> {
  let opts: ExportCliOptions | 'help';
  try {
    opts = parseExportCli(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('export', argv, err.message, EXPORT_USAGE));
    return EXIT.usage;
  }
  if (opts === 'help') {
    process.stdout.write(EXPORT_USAGE + '\n');
    return EXIT.completed;
  }
  const run = path.resolve(opts.run);
  try {
    const epochs = await recordedEpochs(run);
    const epoch = opts.epoch ?? epochs[epochs.length - 1] ?? 0;
    const out = opts.out ? path.resolve(opts.out) : path.resolve(`${path.basename(run)}-epoch-${epoch}-${opts.format}`);
    // A folder without records is refused below, saying why.
    const place = epochs.length ? await placeInRunFolder(run, out) : undefined;
    if (place) {
      const which = opts.out ? `--out ${opts.out}` : `the default folder ${out}`;
      process.stderr.write(`error: ${which} is ${place} ${run}, which only its trainer writes; give --out a folder outside it\n`);
      return EXIT.usage;
    }
    const result = await exportRecords(run, out, opts.format, opts.epoch);
    process.stdout.write(`Exported epoch ${result.epoch} of ${run}:\n${result.files.map((f) => `  ${f}`).join('\n')}\n`);
    return EXIT.completed;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}
