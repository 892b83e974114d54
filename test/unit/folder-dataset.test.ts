import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { resolveConfig, type RunConfig } from '../../src/shared/config';
import { SKIPPED_IMAGES_WARNING, type EpochEvent, type EventBody, type FinishedEvent, type StartedEvent } from '../../src/shared/events';
import { cacheImages } from '../../src/trainer/data/decode-cache';
import { writeFaceFolder, writePairsTxt } from '../../src/trainer/data/write-face-folder';
import { folderDataset } from '../../src/trainer/data/folder-dataset';
import { listImageFolder } from '../../src/trainer/data/image-folder';
import { loadPairsFile } from '../../src/trainer/data/pairs-file';
import { encodePng } from '../../src/trainer/data/png';
import type { TrainerLog } from '../../src/trainer/errors';
import { train } from '../../src/trainer/train/run';

const quiet: TrainerLog = { info: () => undefined, warn: () => undefined };

function config(dataset: Record<string, unknown>, overrides: Record<string, unknown> = {}): RunConfig {
  const r = resolveConfig({ imageSize: 16, width: 4, embeddingSize: 16, epochs: 1, batchSize: 16, learningRate: 0.003, dataset, ...overrides });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function run(cfg: RunConfig, out: string) {
  const events: EventBody[] = [];
  const status = await train({ config: cfg, outDir: out, emit: (e) => events.push(e), shouldStop: () => false });
  return { status, events, finished: events[events.length - 1] as FinishedEvent, started: events.find((e) => e.type === 'started') as StartedEvent | undefined };
}

const png = (size: number, channels: 1 | 3, seed = 1) => encodePng(Float32Array.from({ length: size * size * channels }, (_, i) => ((i * 7919 + seed * 104729) % 255) / 255), size, size, channels);

describe('image folder datasets', function () {
  this.timeout(300000);
  let tmp: string;
  let out: string;
  let faces: string;
  let lfw: string;
  let pairsTxt: string;
  let held: { name: string; count: number }[];

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'l2sm-folder-'));
    process.env.L2SOFTMAX_CACHE_DIR = path.join(tmp, 'cache');
    faces = path.join(tmp, 'faces');
    await writeFaceFolder(faces, { identities: 12, images: 8, size: 24, seed: 3 });
    lfw = path.join(tmp, 'lfw');
    held = await writeFaceFolder(lfw, { identities: 8, images: 4, size: 24, seed: 4, name: (i) => `Held_${i + 1}` });
    pairsTxt = await writePairsTxt(lfw, held, 6, 1);
  });
  after(() => {
    delete process.env.L2SOFTMAX_CACHE_DIR;
    rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => (out = mkdtempSync(path.join(tmp, 'run-'))));

  /** A fresh folder per case: root/<identity>/<files>. */
  function tree(name: string, layout: Record<string, Record<string, Buffer | string>>): string {
    const root = path.join(tmp, name);
    for (const [id, files] of Object.entries(layout)) {
      mkdirSync(path.join(root, id), { recursive: true });
      for (const [f, data] of Object.entries(files)) writeFileSync(path.join(root, id, f), data);
    }
    return root;
  }

  const good = (n: number, size = 16) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`img_${i + 1}.png`, png(size, 3, i)]));

  async function failsWith(cfg: RunConfig, pattern: RegExp) {
    const { status, finished, events } = await run(cfg, out);
    assert.equal(status, 'failed');
    assert.equal(finished.code, 'dataset', finished.reason);
    assert.match(finished.reason ?? '', pattern);
    assert.ok(!/\n\s+at /.test(finished.reason ?? ''), 'a bare stack trace reached the user');
    assert.ok(events.some((e) => e.type === 'error' && pattern.test(e.message)));
  }

  it('trains on an ImageFolder with an LFW pairs file in its own folder', async () => {
    const { status, started, events } = await run(config({ path: faces, pairsFile: pairsTxt }, { epochs: 2 }), out);
    assert.equal(status, 'completed');
    assert.equal(started?.dataset.source, faces);
    assert.equal(started?.dataset.identities, 12);
    assert.equal(started?.dataset.pairs, 120);
    assert.equal(started?.dataset.verifyIdentities, 8);
    assert.equal(started?.dataset.pairsSource, pairsTxt);
    assert.deepEqual(started?.dataset.imageSizes, [{ width: 24, height: 24, count: 96 + 32 }]);
    assert.ok((started?.dataset.validationImages ?? 0) > 0);
    const epoch = events.filter((e): e is EpochEvent => e.type === 'epoch').pop()!;
    assert.ok(epoch.validation && epoch.validation.images === started?.dataset.validationImages);
    assert.equal(epoch.verification.pairs, 120);
  });

  it('reads CSV pairs (path1,path2,same) and single-block pairsDevTest files, dealing them into ten folds', async () => {
    const csv = path.join(lfw, 'pairs.csv');
    const rows = ['path1,path2,same'];
    for (let k = 0; k < 20; k++) {
      const a = held[k % 8].name;
      const b = held[(k + 1) % 8].name;
      rows.push(k % 2 ? `${a}/${a}_0001.png,${a}/${a}_0002.png,1` : `${a}/${a}_0001.png,${b}/${b}_0003.png,0`);
    }
    writeFileSync(csv, rows.join('\n'));
    const fromCsv = await run(config({ path: faces, pairsFile: csv }), out);
    assert.equal(fromCsv.status, 'completed', fromCsv.finished.reason);
    assert.equal(fromCsv.started?.dataset.pairs, 20);
    assert.equal(fromCsv.started?.dataset.folds, 10);
    const dev = path.join(lfw, 'pairsDevTest.txt');
    writeFileSync(dev, ['10', ...held.flatMap((h, i) => (i < 5 ? [`${h.name}\t1\t2`, `${h.name}\t3\t4`] : [])), ...Array.from({ length: 10 }, (_, i) => `${held[i % 8].name}\t1\t${held[(i + 3) % 8].name}\t2`)].join('\n'));
    const fromDev = await run(config({ path: faces, pairsFile: dev }), mkdtempSync(path.join(tmp, 'run-')));
    assert.equal(fromDev.status, 'completed', fromDev.finished.reason);
    assert.equal(fromDev.started?.dataset.folds, 10);
  });

  it('without a pairs file holds out identities and draws LFW-style pairs from them', async () => {
    const { status, started } = await run(config({ path: faces }), out);
    assert.equal(status, 'completed');
    assert.equal(started!.dataset.identities + started!.dataset.verifyIdentities, 12);
    assert.equal(started!.dataset.verifyIdentities, 2);
    assert.equal(started!.dataset.folds, 10);
    assert.equal(started!.dataset.pairsSource, 'held-out identities');
    // 8 images each, one kept for validation: the header's per-identity range counts what `images` counts.
    const d = started!.dataset;
    assert.deepEqual([d.images, d.validationImages, d.imagesPerIdentity], [70, 10, { min: 7, median: 7, max: 7 }]);
    assert.ok(readdirSync(out).includes('verification-pairs.txt'));
  });

  it('decodes mixed sizes and channels, spaces and non-ASCII names; skips identities with one image', async () => {
    const rgba = await sharp(png(20, 3)).ensureAlpha().png().toBuffer();
    const gray = png(40, 1);
    const jpg = await sharp(png(32, 3)).jpeg().toBuffer();
    const webp = await sharp(png(18, 3)).webp().toBuffer();
    const root = tree('mixed folder ñ', {
      'Zoë Ångström': { 'a 1.png': rgba, 'b.png': gray, 'c.JPG': jpg, 'notes.txt': 'ignored' },
      'José Müller': { '1.webp': webp, '2.png': png(64, 3), '3.png': png(16, 1) },
      '李雷': good(3, 12),
      'Han Meimei': good(3, 50),
      'Lonely One': good(1),
      'Lonely Two': good(1),
    });
    const { status, started } = await run(config({ path: root }), out);
    assert.equal(status, 'completed', JSON.stringify(started));
    assert.equal(started!.dataset.skippedIdentities, 2);
    assert.ok((started!.dataset.distinctImageSizes ?? 0) >= 5);
    const rgb = await cacheImages([path.join(root, 'Zoë Ångström', 'b.png')], { cacheRoot: path.join(tmp, 'c2'), folder: root, imageSize: 8, channels: 3, log: quiet });
    assert.equal((await rgb.batch([0])).length, 8 * 8 * 3);
    await rgb.close();
  });

  it('caches decoded images: a second load decodes nothing, a changed file is decoded again', async () => {
    const root = tree('cached', { a: good(3), b: good(3), c: good(3), d: good(3) });
    const opts = { cacheRoot: path.join(tmp, 'cache-test'), folder: root, imageSize: 16, channels: 3 as const, log: quiet };
    const files = ['a', 'b', 'c', 'd'].flatMap((id) => [1, 2, 3].map((k) => path.join(root, id, `img_${k}.png`)));
    const first = await cacheImages(files, opts);
    const pixels = await first.batch([0, 5]);
    await first.close();
    assert.deepEqual([first.decoded, first.reused], [12, 0]);
    const second = await cacheImages(files, opts);
    assert.deepEqual([second.decoded, second.reused], [0, 12]);
    assert.deepEqual(await second.batch([0, 5]), pixels);
    await second.close();
    writeFileSync(files[0], png(16, 3, 99));
    utimesSync(files[0], new Date(), new Date(Date.now() + 5000));
    const third = await cacheImages(files, opts);
    assert.deepEqual([third.decoded, third.reused], [1, 11]);
    assert.notDeepEqual((await third.batch([0])).slice(0, 10), pixels.slice(0, 10));
    await third.close();
  });

  /** Three good identities and one whose third image is a JPEG cut in half. */
  async function truncatedTree(): Promise<string> {
    const root = path.join(tmp, 'truncated');
    if (existsSync(root)) return root;
    const jpg = await sharp(png(64, 3)).jpeg().toBuffer();
    return tree('truncated', { a: good(3), b: good(3), c: good(3), d: { ...good(2), 'cut.jpg': jpg.subarray(0, Math.floor(jpg.length / 2)) } });
  }

  it('skips an undecodable image by default, naming it in a warning and the dataset statistics', async () => {
    const { status, started, events, finished } = await run(config({ path: await truncatedTree() }), out);
    assert.equal(status, 'completed', finished.reason);
    assert.deepEqual(started!.dataset.skippedImages, { count: 1, examples: ['d/cut.jpg'] });
    assert.equal(started!.dataset.images + (started!.dataset.validationImages ?? 0) + started!.dataset.verifyImages, 11);
    assert.ok(events.some((e) => e.type === 'warning' && e.code === SKIPPED_IMAGES_WARNING && /Cannot decode 1 image\(s\) under .*truncated: d\/cut\.jpg .*Skipped them/.test(e.message)));
  });

  it('reports skipped images as a skipped-images warning', async () => {
    const warnings: [string, string][] = [];
    const data = await folderDataset(config({ path: await truncatedTree() }), { info: () => undefined, warn: (code, message) => warnings.push([code, message]) });
    await data.close?.();
    assert.deepEqual(warnings.map(([code]) => code), [SKIPPED_IMAGES_WARNING]);
    assert.match(warnings[0][1], /d\/cut\.jpg/);
  });

  it('follows links inside the dataset, and pairs outside their folder when allowed', async function () {
    if (process.platform === 'win32') this.skip();
    const root = tree('linked-in', { a: good(3), b: good(3), c: good(3) });
    symlinkSync(path.join(root, 'a'), path.join(root, 'a-again'));
    symlinkSync(path.join(root, 'b', 'img_1.png'), path.join(root, 'c', 'img_9.png'));
    const listing = await listImageFolder(root, 2);
    assert.deepEqual(listing.identities.map((i) => `${i.name}:${i.files.length}`), ['a:3', 'a-again:3', 'b:3', 'c:4']);
    const f = path.join(lfw, 'outside.csv');
    writeFileSync(f, `../faces/Person_00001/Person_00001_0001.png,../faces/Person_00001/Person_00001_0002.png,1\nHeld_1/Held_1_0001.png,Held_2/Held_2_0001.png,0\n`);
    const pairs = await loadPairsFile(f, lfw, faces, { allowOutside: true });
    assert.equal(pairs.files[0], path.join(faces, 'Person_00001', 'Person_00001_0001.png'));
    await assert.rejects(loadPairsFile(f, lfw, faces), /lead outside the pairs images folder/);
  });

  describe('bad inputs end the run with a message naming the file or field', () => {
    it('a path that does not exist', () => failsWith(config({ path: path.join(tmp, 'nope') }), /Dataset folder .*nope does not exist/));
    it('a file instead of a folder', () => failsWith(config({ path: pairsTxt }), /pairs\.txt is a file, not a folder/));
    it('an empty folder', () => {
      mkdirSync(path.join(tmp, 'empty'));
      return failsWith(config({ path: path.join(tmp, 'empty') }), /empty\b.*is empty: it needs one sub-folder per identity/);
    });
    it('folders without images', () => failsWith(config({ path: tree('noimages', { a: { 'x.txt': 'x' }, b: { 'y.csv': 'y' } }) }), /No images found under .*noimages: its 2 sub-folder\(s\) hold no/));
    it('images but no identity folders', () => {
      const root = path.join(tmp, 'flat');
      mkdirSync(root);
      writeFileSync(path.join(root, 'a.png'), png(8, 3));
      return failsWith(config({ path: root }), /holds 1 images but no identity sub-folders/);
    });
    it('a truncated JPEG, with strict data', async () => {
      await failsWith(config({ path: await truncatedTree(), strictData: true }), /Cannot decode 1 image\(s\) under .*truncated: d\/cut\.jpg \(.*\)\. Remove or replace them/);
    });
    it('a text file named .jpg, with strict data', () =>
      failsWith(config({ path: tree('textjpg', { a: good(3), b: good(3), c: good(3), d: { ...good(2), 'fake.jpg': 'this is not an image' } }), strictData: true }), /d\/fake\.jpg \(input file contains unsupported image format\)/));
    it('one identity only', () => failsWith(config({ path: tree('oneid', { solo: good(5) }) }), /only one identity \(solo\) with at least 2 image\(s\).*needs at least two identities/));
    it('only identities with a single image', () => failsWith(config({ path: tree('singles', { a: good(1), b: good(1), c: good(1) }) }), /has no identity with at least 2 image\(s\) \(3 identities have fewer and are skipped\)/));
    it('a pairs file that does not exist', () => failsWith(config({ path: faces, pairsFile: path.join(tmp, 'missing-pairs.txt') }), /Pairs file .*missing-pairs\.txt does not exist/));
    it('a pairs file with a wrong header', () => {
      const f = path.join(lfw, 'bad-header.txt');
      writeFileSync(f, 'pairs for LFW\nHeld_1 1 2\n');
      return failsWith(config({ path: faces, pairsFile: f }), /bad-header\.txt, line 1: expected a header "<folds> <pairs per fold>"/);
    });
    it('a pairs line with the wrong number of fields', () => {
      const f = path.join(lfw, 'bad-fields.txt');
      writeFileSync(f, '1\t1\nHeld_1\t1\t2\t3\nHeld_1\t1\tHeld_2\t1\n');
      return failsWith(config({ path: faces, pairsFile: f }), /bad-fields\.txt, line 2: a matched pair needs 3 fields "name n1 n2", got 4/);
    });
    it('pairs naming images that are missing', () => {
      const f = path.join(lfw, 'missing-images.txt');
      writeFileSync(f, '1\t1\nNobody_Here\t1\t2\nHeld_1\t1\tHeld_2\t1\n');
      return failsWith(config({ path: faces, pairsFile: f }), /1 of 2 pairs name images that are not in .*: line 2: Nobody_Here\/ \(no such identity folder\)/);
    });
    it('image numbers out of range', () => {
      const f = path.join(lfw, 'out-of-range.txt');
      writeFileSync(f, '1\t1\nHeld_1\t1\t9\nHeld_1\t1\tHeld_2\t1\n');
      return failsWith(config({ path: faces, pairsFile: f }), /line 2: Held_1\/Held_1_0009 \(image 9 is out of range: Held_1 has 4 image\(s\)\)/);
    });
    it('a symlink loop', function () {
      if (process.platform === 'win32') this.skip();
      const root = tree('loop', { a: good(3), b: good(3) });
      symlinkSync(path.join(root, 'self'), path.join(root, 'self'));
      return failsWith(config({ path: root }), /self is a symbolic link that points back into itself \(a symlink loop\)/);
    });
    it('an unreadable file (a dangling link)', function () {
      if (process.platform === 'win32') this.skip();
      const root = tree('dangling', { a: good(3), b: good(3), c: good(3) });
      symlinkSync(path.join(root, 'gone.png'), path.join(root, 'a', 'broken.png'));
      return failsWith(config({ path: root }), /a\/broken\.png does not exist \(a broken symbolic link\?\)/);
    });
    it('pairs naming images outside the pairs images folder (.., absolute paths, LFW names with a path)', () => {
      const f = path.join(lfw, 'escape.csv');
      writeFileSync(f, ['path1,path2,same', `Held_1/Held_1_0001.png,../faces/Person_00001/Person_00001_0001.png,0`, `${path.join(faces, 'Person_00002', 'Person_00002_0001.png')},Held_1/Held_1_0002.png,1`].join('\n'));
      return failsWith(
        config({ path: faces, pairsFile: f, pairsImages: lfw }),
        /escape\.csv: 2 image reference\(s\) lead outside the pairs images folder .*lfw: line 2: \.\.\/faces\/.*; line 3: \/.*Person_00002_0001\.png\. .*allowPairsOutsideFolder/,
      );
    });
    it('an LFW pairs line whose name is a path', () => {
      const f = path.join(lfw, 'escape.txt');
      writeFileSync(f, '1\t1\n../faces/Person_00001\t1\t2\nHeld_1\t1\tHeld_2\t1\n');
      return failsWith(config({ path: faces, pairsFile: f, pairsImages: lfw }), /line 2: \.\.\/faces\/Person_00001 \(not a folder name\)/);
    });
    it('a pairs image that is a link leading out of the pairs images folder', function () {
      if (process.platform === 'win32') this.skip();
      const root = tree('linked-pairs', { Held_A: good(2), Held_B: good(2) });
      symlinkSync(path.join(faces, 'Person_00001', 'Person_00001_0001.png'), path.join(root, 'Held_A', 'Held_A_0003.png'));
      const f = path.join(root, 'pairs.csv');
      writeFileSync(f, 'Held_A/img_1.png,Held_A/Held_A_0003.png,1\nHeld_A/img_1.png,Held_B/img_2.png,0\n');
      return failsWith(config({ path: faces, pairsFile: f }), /line 1: Held_A\/Held_A_0003\.png \(a link to .*Person_00001_0001\.png\)/);
    });
    it('a dataset link leading out of the dataset folder', function () {
      if (process.platform === 'win32') this.skip();
      const root = tree('linked-out', { a: good(3), b: good(3) });
      symlinkSync(path.join(faces, 'Person_00001'), path.join(root, 'c'));
      return failsWith(config({ path: root }), /c is a symbolic link to .*Person_00001, outside the dataset folder .*linked-out: links are followed only inside it/);
    });
    it('a dataset link back to the dataset folder (a loop)', function () {
      if (process.platform === 'win32') this.skip();
      const root = tree('linked-loop', { a: good(3), b: good(3) });
      symlinkSync(root, path.join(root, 'z'));
      return failsWith(config({ path: root }), /z is a symbolic link back to the dataset folder .*linked-loop \(a loop\)/);
    });
    it('an unreadable file (no read permission)', function () {
      if (process.platform === 'win32' || process.getuid?.() === 0) this.skip(); // root reads anything
      const root = tree('noperm', { a: good(3), b: good(3), c: good(3), d: good(3) });
      chmodSync(path.join(root, 'a', 'img_1.png'), 0o000);
      return failsWith(config({ path: root, strictData: true }), /a\/img_1\.png \(permission denied\)/);
    });
  });

  it('20,000 identity folders load and stream batches with bounded memory', async function () {
    const root = path.join(tmp, 'many');
    const tiny = png(8, 3);
    // One image each, a second for every fifth: the held-out identities need matched pairs.
    for (let i = 0; i < 20000; i++) {
      const dir = path.join(root, `id_${String(i).padStart(5, '0')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, '1.png'), tiny);
      if (i % 5 === 0) writeFileSync(path.join(dir, '2.png'), tiny);
    }
    const before = process.memoryUsage().rss;
    const data = await folderDataset(config({ path: root, minImagesPerIdentity: 1 }, { imageSize: 8 }), quiet);
    assert.equal(data.stats.identities, 18000);
    assert.equal(data.stats.verifyIdentities, 2000);
    assert.deepEqual(data.stats.imagesPerIdentity, { min: 1, median: 1, max: 2 });
    let sum = 0;
    for (let k = 0; k < 50; k++) sum += (await data.train.batch(Array.from({ length: 64 }, (_, i) => (k * 64 + i) % data.train.count))).length;
    assert.equal(sum, 50 * 64 * 8 * 8 * 3);
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    assert.ok(grown < 400, `RSS grew by ${grown.toFixed(0)} MiB`);
    await data.close?.();
  });
});
