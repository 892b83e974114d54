// Verification-metrics benchmark (not a test): 10-fold accuracy, ROC, AUC, EER
// and TAR@FAR (verify()) on 1 million pairs, against the implementation before
// the one-sort rewrite (test/fixtures/metrics-reference.ts), and on an
// IJB-C-sized set of 15 million pairs: seconds (best of a few runs) and the
// process's peak resident memory.
//   npx tsx bench/metrics.ts [--pairs 15000000] [--runs 3] [--no-reference]

import { Rng } from '../src/trainer/data/rng';
import { verify } from '../src/trainer/verify/metrics';
import { verify as referenceVerify } from '../test/fixtures/metrics-reference';

const MB = 1024 * 1024;
const MILLION = 1_000_000;
const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
const LARGE = arg('pairs', 15 * MILLION);
const RUNS = arg('runs', 3);
const FOLDS = 10;

/** Cosine-like scores, 40% matched, folds 0..9: distinct float64 scores, as embeddings give. */
function pairs(n: number) {
  const rng = new Rng(7);
  const same = new Uint8Array(n);
  const scores = new Float64Array(n);
  const folds = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    same[i] = rng.next() < 0.4 ? 1 : 0;
    scores[i] = Math.max(-1, Math.min(1, rng.normal() * 0.2 + (same[i] ? 0.5 : 0.05)));
    folds[i] = i % FOLDS;
  }
  return { scores, same, folds };
}

function best(runs: number, f: () => void): number {
  let fastest = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    f();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return fastest;
}

/** Peak resident memory of this process so far (the kernel's high-water mark), in MB. */
const peakRss = () => process.resourceUsage().maxRSS / 1024;

const million = pairs(MILLION);
const fast = best(RUNS, () => verify({ scores: million.scores, same: million.same }, million.folds));
console.log(`1M pairs: verify() ${fast.toFixed(3)} s (best of ${RUNS})`);
if (!process.argv.includes('--no-reference')) {
  const slow = best(1, () => referenceVerify({ scores: million.scores, same: million.same }, million.folds));
  console.log(`1M pairs: before the rewrite ${slow.toFixed(3)} s: ${(slow / fast).toFixed(1)}x faster now`);
}

const large = pairs(LARGE);
const inputs = (large.scores.byteLength + large.same.byteLength + large.folds.byteLength) / MB;
const rssBefore = peakRss();
const seconds = best(1, () => {
  if (!(verify({ scores: large.scores, same: large.same }, large.folds).accuracy > 0.5)) throw new Error('implausible accuracy');
});
console.log(
  `${(LARGE / MILLION).toFixed(0)}M pairs: verify() ${seconds.toFixed(2)} s; inputs ${inputs.toFixed(0)} MB; ` +
    `peak RSS ${peakRss().toFixed(0)} MB (${rssBefore.toFixed(0)} MB before: the 1M runs and the inputs)`,
);
