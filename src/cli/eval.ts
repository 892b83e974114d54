// `l2softmax eval`: verifies a run's checkpoint on a pairs file (or on the run's
// own pairs) and stores the result in the run as an `evaluation` event (see
// src/core/evaluations.ts), then prints it (or the event, with --json).

import { parseArgs } from 'node:util';
import { EvaluationRefused, appendEvaluation, evaluableRun } from '../core/evaluations';
import { FAR_TARGETS, stampEvent, type EvaluationEvent } from '../shared/events';
import { pct, plural, tarText } from '../shared/format';
import { TrainerError } from '../trainer/errors';
import { EXIT } from '../trainer/session';
import { evaluateCheckpoint } from '../trainer/verify/evaluate';
import { UsageError, joinNegativeValues, usageErrorText } from './args';

export const EVAL_USAGE = `Usage: node dist/cli.js eval --run DIR [--pairs FILE] [--images DIR] [--allow-pairs-outside-folder] [--flip] [--checkpoint NAME] [--json]

Verifies a trained run's checkpoint on LFW-style pairs (10-fold accuracy, TAR@FAR,
AUC, EER) and stores the result in the run, where its dashboard and Compare Runs
show it.

Options:
  --run DIR              the run folder (.l2softmax/runs/<id>)
  --pairs FILE           LFW pairs.txt or CSV path1,path2,same; default: the run's own verification pairs
  --images DIR           folder of the pairs' images; default: next to the pairs file, then the run's dataset
  --allow-pairs-outside-folder
                         let the pairs file name images outside that folder (as the run's own
                         setting allowPairsOutsideFolder does)
  --flip                 describe each image by the sum of its and its mirror image's embeddings
  --checkpoint NAME      a folder under checkpoints/ (default: the newest complete end-of-epoch one)
  --json                 print the evaluation event (JSON) instead of the report
  -h, --help             this help

Exit code: 0 when the evaluation was stored, 1 when it failed, 2 for bad arguments.`;

export interface EvalCliOptions {
  run: string;
  pairs?: string;
  images?: string;
  /** Pairs may name images outside their images folder (besides the run's own setting). */
  allowPairsOutsideFolder: boolean;
  flip: boolean;
  checkpoint?: string;
  json: boolean;
}

const EVAL_OPTIONS = {
  run: { type: 'string' },
  pairs: { type: 'string' },
  images: { type: 'string' },
  'allow-pairs-outside-folder': { type: 'boolean' },
  flip: { type: 'boolean' },
  checkpoint: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseEvalCli(argv: string[]): EvalCliOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args: joinNegativeValues(argv, EVAL_OPTIONS), strict: true, options: EVAL_OPTIONS }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (!values.run?.trim()) throw new UsageError('--run needs a run folder');
  if (values.images !== undefined && values.pairs === undefined) throw new UsageError('--images applies to --pairs');
  if (values['allow-pairs-outside-folder'] && values.pairs === undefined) throw new UsageError('--allow-pairs-outside-folder applies to --pairs');
  return {
    run: values.run,
    pairs: values.pairs,
    images: values.images,
    allowPairsOutsideFolder: Boolean(values['allow-pairs-outside-folder']),
    flip: Boolean(values.flip),
    checkpoint: values.checkpoint,
    json: Boolean(values.json),
  };
}

export function formatEvaluation(e: EvaluationEvent): string {
  const v = e.verification;
  return [
    `Evaluated ${e.checkpoint.name} (epoch ${e.checkpoint.epoch}) on ${e.pairsSource}${e.flip ? ', with flip' : ''}: ${plural(v.pairs, 'pair')} over ${plural(e.images, 'image')} in ${e.seconds.toFixed(1)} s`,
    `10-fold accuracy ${pct(v.accuracy, 2)} ± ${pct(v.accuracyStd, 2)}  AUC ${v.auc.toFixed(4)}  EER ${pct(v.eer, 2)}  ` + FAR_TARGETS.map((f) => `TAR@${f.toExponential()} ${tarText(v, f, 2)}`).join('  '),
  ].join('\n');
}

export async function evalMain(argv: string[]): Promise<number> {
  let opts: EvalCliOptions | 'help';
  try {
    opts = parseEvalCli(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('eval', argv, err.message, EVAL_USAGE));
    return EXIT.usage;
  }
  if (opts === 'help') {
    process.stdout.write(EVAL_USAGE + '\n');
    return EXIT.completed;
  }
  try {
    await evaluableRun(opts.run);
    const body = await evaluateCheckpoint({
      runDir: opts.run,
      pairsFile: opts.pairs,
      imagesFolder: opts.images,
      allowPairsOutsideFolder: opts.allowPairsOutsideFolder,
      flip: opts.flip,
      checkpoint: opts.checkpoint,
      log: (m) => process.stderr.write(`${m}\n`),
    });
    // The folder may have been taken by a resumed trainer while we computed.
    await evaluableRun(opts.run);
    const event = stampEvent(body) as EvaluationEvent;
    appendEvaluation(opts.run, event);
    process.stdout.write((opts.json ? JSON.stringify(event) : formatEvaluation(event)) + '\n');
    return EXIT.completed;
  } catch (err) {
    if (!(err instanceof EvaluationRefused || err instanceof TrainerError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return EXIT.failed;
  }
}
