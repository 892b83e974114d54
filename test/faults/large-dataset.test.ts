// Fault: a dataset with 300,000 identities (more than a function call takes
// arguments): the per-identity statistics once crashed with a RangeError after
// the whole decode. The Settings view's summary and tooltip, and the run's
// dataset statistics, handle it and count every identity.
import { strict as assert } from 'node:assert';
import MarkdownIt from 'markdown-it';
import { datasetTooltip, summaryFromCounts } from '../../src/core/dataset-summary';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { minMedianMax } from '../../src/shared/format';
import { splitIdentities } from '../../src/trainer/data/folder-dataset';
import { selectIdentities } from '../../src/trainer/data/image-folder';

const IDENTITIES = 300_000;

describe('fault: 300,000 identities', () => {
  const all = Array.from({ length: IDENTITIES }, (_, i) => ({ name: `id_${i}`, files: Array.from({ length: 2 + (i % 5) }, (_, k) => `/casia/id_${i}/${k}.jpg`) }));

  it('the Settings view summary and tooltip count every identity', () => {
    const counts = all.map((id) => id.files.length);
    const summary = summaryFromCounts(counts, 0, '/casia', 2);
    assert.deepEqual([summary.classes, summary.images, summary.perIdentity], [IDENTITIES, 1_200_000, { min: 2, median: 4, max: 6 }]);
    const config = { ...DEFAULT_CONFIG, dataset: { ...DEFAULT_CONFIG.dataset, path: '/casia' } };
    const html = new MarkdownIt().render(datasetTooltip(summary, config));
    assert.match(html, /300,000 identities, 1,200,000 images, 2–6 per identity \(median 4\)/);
    assert.match(html, /30000 identities are held out for verification, leaving 270000 classes/);
  });

  it("the run's dataset statistics: listing, split, images per identity", () => {
    const listing = selectIdentities('/casia', all, 2);
    const split = splitIdentities(listing.identities, 7, true);
    assert.equal(split.train.length + split.held.length, IDENTITIES, 'no identity lost');
    assert.deepEqual(minMedianMax(split.train.map((id) => id.files.length)), { min: 2, median: 4, max: 6 });
  });
});
