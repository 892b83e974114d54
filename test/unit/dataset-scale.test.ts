// Datasets with more identities than a function call takes arguments (about
// 125,000 in V8): listing, splitting and summarizing 300,000 identities in
// memory must not spread per-identity arrays into arguments.
import { strict as assert } from 'node:assert';
import { summaryFromCounts } from '../../src/core/dataset-summary';
import { heldOutIdentities } from '../../src/shared/config';
import { minMax, minMedianMax } from '../../src/shared/format';
import { splitIdentities, withoutUndecodable } from '../../src/trainer/data/folder-dataset';
import { selectIdentities, type Identity } from '../../src/trainer/data/image-folder';

export const MANY_IDENTITIES = 300_000;

/** Identity i has 1 + i % 3 images (so 1, 2 or 3). */
export function manyIdentities(n = MANY_IDENTITIES): Identity[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `id_${String(i).padStart(6, '0')}`;
    return { name, files: Array.from({ length: 1 + (i % 3) }, (_, k) => `/data/${name}/${k}.png`) };
  });
}

describe(`${MANY_IDENTITIES.toLocaleString('en-US')} identities`, () => {
  const all = manyIdentities();

  it('min, median and max of per-identity counts', () => {
    const counts = all.map((id) => id.files.length);
    assert.deepEqual(minMedianMax(counts), { min: 1, median: 2, max: 3 });
    assert.deepEqual(minMax(Float64Array.from(counts, (c, i) => c * (i === 77 ? -1 : 1))), { min: -3, max: 3 });
    assert.deepEqual(minMax([]), { min: 0, max: 0 });
  });

  it('listing: keeps those with enough images', () => {
    const listing = selectIdentities('/data', all, 2);
    assert.equal(listing.identities.length, 200_000);
    assert.equal(listing.skipped.length, 100_000);
  });

  it('split: holds out 10% for verification and keeps validation images', () => {
    const listing = selectIdentities('/data', all, 2);
    const split = splitIdentities(listing.identities, 42, true);
    assert.equal(split.held.length, heldOutIdentities(200_000));
    assert.equal(split.train.length + split.held.length, 200_000);
    assert.ok(split.validation.size > 0);
  });

  it('dropping undecodable images keeps the rest', () => {
    const listing = selectIdentities('/data', all, 2);
    const failed = listing.identities.slice(0, 1000).map((id) => ({ file: id.files[0], reason: 'truncated' }));
    const kept = withoutUndecodable(listing, failed, 2);
    assert.equal(kept.identities.length + kept.skipped.length, 300_000);
  });

  it('summary for the Settings view', () => {
    const counts = all.map((id) => id.files.length).filter((n) => n >= 2);
    const s = summaryFromCounts(counts, 100_000, '/data/casia', 2);
    assert.deepEqual(s, { classes: 200_000, images: 500_000, perIdentity: { min: 2, median: 2.5, max: 3 }, skipped: 100_000, source: 'casia', error: undefined });
  });
});
