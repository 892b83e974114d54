// Writes a small real-format face dataset from the synthetic generator:
//   <out>/train/<identity>/<identity>_0001.png   (an ImageFolder to train on)
//   <out>/lfw/<identity>/...  and  <out>/lfw/pairs.txt   (disjoint identities, LFW pairs)
// Usage: npx tsx scripts/make-dataset.ts --out data/faces [--identities 200] [--images 16]
//        [--verify-identities 60] [--verify-images 8] [--pairs-per-fold 60] [--size 64] [--seed 1]

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFaceFolder, writePairsTxt } from '../src/trainer/data/write-face-folder';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'data/faces' },
      identities: { type: 'string', default: '200' },
      images: { type: 'string', default: '16' },
      'verify-identities': { type: 'string', default: '60' },
      'verify-images': { type: 'string', default: '8' },
      'pairs-per-fold': { type: 'string', default: '60' },
      size: { type: 'string', default: '64' },
      seed: { type: 'string', default: '1' },
    },
  });
  const out = path.resolve(values.out as string);
  const num = (k: keyof typeof values) => Number(values[k]);
  const t0 = Date.now();
  await writeFaceFolder(path.join(out, 'train'), { identities: num('identities'), images: num('images'), size: num('size'), seed: num('seed') });
  const held = await writeFaceFolder(path.join(out, 'lfw'), {
    identities: num('verify-identities'),
    images: num('verify-images'),
    size: num('size'),
    seed: num('seed') + 1000,
    name: (i) => `Held_Out_${String(i + 1).padStart(4, '0')}`,
  });
  const pairs = await writePairsTxt(path.join(out, 'lfw'), held, num('pairs-per-fold'), num('seed'));
  console.log(`wrote ${out}/train (${num('identities') * num('images')} images), ${out}/lfw (${num('verify-identities') * num('verify-images')} images) and ${pairs} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
