import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { epochInsight, exportRecords, loadEpochRecords, npy, recordedEpochs } from '../../src/core/records';
import type { EpochEvent, EventBody } from '../../src/shared/events';
import { isTrainerEvent, stampEvent } from '../../src/shared/events';
import { DEGRADATIONS } from '../../src/shared/quality';
import { M, RECORDS_SET, RecordsFormatError, T, decodeRecords, encodeRecords, f32, i32, metaList, recordsEpochFile, tensor, u8 } from '../../src/shared/records';
import { faceQuality, renderFace, drawIdentity } from '../../src/trainer/data/face-renderer';
import { syntheticFacts } from '../../src/trainer/data/image-facts';
import { laplacianVariance, measureProxies, proxyScore, rmsContrast } from '../../src/trainer/data/quality-proxy';
import { Rng, hashSeed } from '../../src/trainer/data/rng';
import { train } from '../../src/trainer/train/run';
import { tinyConfig } from '../fixtures/trainer';

describe('records of the embedding', function () {
  this.timeout(300000);

  describe('the file format (safetensors)', () => {
    it('round-trips tensors of each dtype, their shapes and the metadata, aligned for their type', () => {
      const bytes = encodeRecords(
        { flags: u8(Uint8Array.from([1, 0, 1])), xy: f32(Float32Array.from([1.5, -2, 3, 4.25]), [2, 2]), ids: i32(Int32Array.from([7, -1, 2 ** 30])) },
        { [M.format]: 'test', [M.names]: JSON.stringify(['a', 'b']) },
      );
      const back = decodeRecords(bytes);
      assert.deepEqual(Array.from(tensor(back, 'xy', 'F32') ?? []), [1.5, -2, 3, 4.25]);
      assert.deepEqual(back.tensors.get('xy')?.shape, [2, 2]);
      assert.deepEqual(Array.from(tensor(back, 'ids', 'I32') ?? []), [7, -1, 2 ** 30]);
      assert.deepEqual(Array.from(tensor(back, 'flags', 'U8') ?? []), [1, 0, 1]);
      assert.deepEqual(metaList(back, M.names), ['a', 'b']);
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      assert.equal((8 + headerLength) % 8, 0, 'the data starts 8-byte aligned');
      assert.throws(() => tensor(back, 'xy', 'I32'), /is F32, expected I32/);
    });

    it('refuses files that lie about their tensors', () => {
      const good = encodeRecords({ x: f32(new Float32Array(4)) }, {});
      assert.throws(() => decodeRecords(good.subarray(0, good.length - 4)), RecordsFormatError);
      const header = (h: unknown) => {
        const json = new TextEncoder().encode(JSON.stringify(h));
        const out = new Uint8Array(8 + json.length + 16);
        new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
        out.set(json, 8);
        return out;
      };
      assert.throws(() => decodeRecords(header({ x: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } })), /dtype F64/);
      assert.throws(() => decodeRecords(header({ x: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } })), /do not hold a 5 F32 tensor/);
      assert.throws(() => decodeRecords(header({ x: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } })), /do not hold/);
      assert.throws(() => decodeRecords(Uint8Array.from([255, 255, 255, 255, 0, 0, 0, 0, 1])), /does not fit/);
    });

    it('writes .npy files numpy reads: magic, a 64-byte aligned header, the values', () => {
      const file = npy(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
      assert.equal(file.subarray(0, 6).toString('latin1'), '\x93NUMPY');
      const headerLength = file.readUInt16LE(8);
      assert.equal((10 + headerLength) % 64, 0);
      assert.match(file.subarray(10, 10 + headerLength).toString('latin1'), /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 2\), \} *\n$/);
      assert.deepEqual(Array.from(new Float32Array(file.buffer.slice(file.byteOffset + 10 + headerLength, file.byteOffset + file.length))), [1, 2, 3, 4, 5, 6]);
      assert.match(npy(new Uint8Array(2), [2]).toString('latin1'), /'descr': '\|u1'.*'shape': \(2,\)/);
    });
  });

  describe('quality', () => {
    /** A 96x96 gray image with edges and texture, blurred by `sigma` (0: sharp). */
    async function gray(sigma: number, contrast = 1): Promise<Uint8Array> {
      const size = 96;
      const raw = Buffer.alloc(size * size);
      const rng = new Rng(3);
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) raw[y * size + x] = Math.round(128 + contrast * (((x >> 3) + (y >> 3)) % 2 ? 60 : -60) + contrast * 20 * (rng.next() - 0.5));
      let img = sharp(raw, { raw: { width: size, height: size, channels: 1 } });
      if (sigma) img = img.blur(sigma);
      return new Uint8Array(await img.raw().toBuffer());
    }

    it('sharpness (variance of the Laplacian) falls as the blur grows', async () => {
      const values = [];
      for (const sigma of [0, 0.8, 1.5, 3, 6]) values.push(laplacianVariance(await gray(sigma), 96, 96));
      for (let k = 1; k < values.length; k++) assert.ok(values[k] < values[k - 1], `sharpness ${values.join(' > ')}`);
      assert.ok(values[0] > 20 * values[values.length - 1]);
    });

    it('RMS contrast follows the contrast; the score ranks a blurred or flat image below a sharp one', async () => {
      const sharpImage = await gray(0);
      const flat = await gray(0, 0.2);
      assert.ok(Math.abs(rmsContrast(sharpImage) / rmsContrast(flat) - 5) < 0.5);
      const score = (img: Uint8Array) => proxyScore(measureProxies(img, 96, 96));
      assert.ok(score(sharpImage) > score(await gray(3)));
      assert.ok(score(sharpImage) > score(flat));
      assert.ok(score(sharpImage) <= 1 && score(await gray(6)) >= 0);
    });

    it('a synthetic face\'s quality is replayed from its seed: the same draws as rendering it, hard faces below easy ones', () => {
      for (let i = 0; i < 40; i++) {
        const id = drawIdentity(new Rng(hashSeed(5, 1, i)));
        const hard = i % 2 === 0;
        const drawn = new Rng(hashSeed(5, 11, i));
        const replayed = new Rng(hashSeed(5, 11, i));
        renderFace(id, drawn, { size: 16, channels: 3, hard });
        const q = faceQuality(replayed, { size: 16, channels: 3, hard });
        assert.equal(replayed.next(), drawn.next(), 'the replay consumes exactly the renderer\'s draws');
        if (hard) assert.ok(q.score <= 0.5 && q.degradations > 0 && q.degradations < 1 << DEGRADATIONS.length, JSON.stringify(q));
        else assert.ok(q.score >= 0.7 && q.degradations === 0, JSON.stringify(q));
      }
      const facts = syntheticFacts(tinyConfig({ dataset: { synthetic: { hardShare: 0.5 } } }));
      assert.ok(facts.verify.degradations?.some((d) => d > 0));
      assert.equal(facts.verify.names[0], 'Held_00001/1');
    });
  });

  describe('the dashboard\'s view of handmade records', () => {
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

    /** A run folder with records of four images (a/1, a/2, b/1, b/2) and two training images at epoch 1; every pair is image 0 against image 2. */
    function handmadeRun(pairs: { fold: number[]; same: number[]; score: number[] }, extra: { set?: Record<string, string>; verification?: object; trainNorm?: number[] } = {}): string {
      const dir = mkdtempSync(path.join(tmpdir(), 'l2sm-handmade-'));
      dirs.push(dir);
      mkdirSync(path.join(dir, 'records'));
      const n = pairs.fold.length;
      const set = {
        [T.imageIdentity]: i32(Int32Array.from([0, 0, 1, 1])),
        [T.imageQuality]: f32(Float32Array.from([0.2, 0.4, 0.6, 0.8])),
        [T.pairA]: i32(new Int32Array(n)),
        [T.pairB]: i32(new Int32Array(n).fill(2)),
        [T.pairSame]: u8(Uint8Array.from(pairs.same)),
        [T.pairFold]: i32(Int32Array.from(pairs.fold)),
        [T.trainImage]: i32(Int32Array.from([5, 9])),
        [T.trainQuality]: f32(Float32Array.from([0.3, 0.7])),
      };
      writeFileSync(path.join(dir, RECORDS_SET), encodeRecords(set, { [M.names]: JSON.stringify(['a/1', 'a/2', 'b/1', 'b/2']), [M.identities]: JSON.stringify(['a', 'b']), [M.trainNames]: JSON.stringify(['t/5', 't/9']), ...extra.set }));
      const epoch = { [T.imageNorm]: f32(Float32Array.from([1, 2, 3, 4])), [T.imageXy]: f32(new Float32Array(8), [4, 2]), [T.pairScore]: f32(Float32Array.from(pairs.score)), [T.trainNorm]: f32(Float32Array.from(extra.trainNorm ?? [1.5, 2.5])) };
      writeFileSync(path.join(dir, recordsEpochFile(1)), encodeRecords(epoch, { [M.verification]: JSON.stringify({ tarAtFar: [], threshold: 0.5, ...extra.verification }) }));
      return dir;
    }

    it('judges sampled pairs at their fold\'s threshold, numbered by all pairs\' folds, when the sample lacks a fold', async () => {
      // Folds 0, 1 and 2 over all pairs (thresholds 0.1, 0.5, 0.9); the recorded sample holds folds 0 and 2 only.
      const dir = handmadeRun({ fold: [0, 2, 2], same: [1, 0, 1], score: [0, 0.6, 0.7] }, { set: { [M.foldLabels]: '[0,1,2]' }, verification: { foldThresholds: [0.1, 0.5, 0.9] } });
      const g = (await epochInsight(dir, 1, { kind: 'tenfold' }, () => undefined))!.gallery;
      assert.deepEqual(g.counts, { falseAccepts: 0, falseRejects: 2 });
      assert.deepEqual(g.falseRejects.map((f) => [f.fold, f.threshold]), [[2, 0.9], [0, 0.1]]);
    });

    it('parses the set\'s name lists once per gallery, however many failures it shows', async () => {
      const parses = async (failures: number) => {
        const dir = handmadeRun({ fold: Array.from({ length: failures }, (_, k) => k % 2), same: new Array(failures).fill(1), score: new Array(failures).fill(0) }, { verification: { foldThresholds: [0.5, 0.5] } });
        const parse = JSON.parse;
        let calls = 0;
        JSON.parse = (...args: Parameters<typeof parse>) => (calls++, parse(...args));
        try {
          assert.equal((await epochInsight(dir, 1, { kind: 'tenfold' }, () => undefined))?.gallery.falseRejects.length, failures);
        } finally {
          JSON.parse = parse;
        }
        return calls;
      };
      assert.equal(await parses(20), await parses(2));
    });

    it('reads an unchanged set file once, a replaced one again', async () => {
      const dir = handmadeRun({ fold: [0, 1], same: [1, 0], score: [0.5, 0.2] });
      const first = await loadEpochRecords(dir, 1);
      assert.equal((await loadEpochRecords(dir, 1)).set, first.set);
      const file = path.join(dir, RECORDS_SET);
      const replaced = decodeRecords(readFileSync(file));
      writeFileSync(file, encodeRecords(Object.fromEntries(replaced.tensors), { ...Object.fromEntries(replaced.metadata), [M.names]: JSON.stringify(['w', 'x', 'y', 'z']) }));
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      assert.deepEqual(metaList((await loadEpochRecords(dir, 1)).set, M.names), ['w', 'x', 'y', 'z']);
    });

    it('exports the training sample\'s norms only when the epoch recorded them for the same sample', async () => {
      const trainSample = async (dir: string) => {
        const out = `${dir}-csv`; // beside the run folder: only its trainer writes inside it
        dirs.push(out);
        await exportRecords(dir, out, 'csv');
        return readFileSync(path.join(out, 'train_sample.csv'), 'utf8').trim().split('\n');
      };
      const pairs = { fold: [0, 1], same: [1, 0], score: [0.5, 0.2] };
      assert.deepEqual(await trainSample(handmadeRun(pairs)), ['train_image,name,identity,quality,norm', '5,t/5,,0.30000001192092896,1.5', '9,t/9,,0.699999988079071,2.5']);
      // An epoch written with a sample of three (a resume across versions): no norm column rather than norms of other images.
      assert.deepEqual(await trainSample(handmadeRun(pairs, { trainNorm: [1, 2, 3] })), ['train_image,name,identity,quality', '5,t/5,,0.30000001192092896', '9,t/9,,0.699999988079071']);
    });
  });

  describe('a run writes them at every verification', () => {
    let out: string;
    let events: EventBody[];
    before(async () => {
      out = mkdtempSync(path.join(tmpdir(), 'l2sm-records-'));
      events = [];
      const cfg = tinyConfig({ epochs: 2, dataset: { synthetic: { identities: 8, imagesPerIdentity: 12, verifyIdentities: 20, verifyImagesPerIdentity: 4, pairsPerFold: 10, hardShare: 0.4 } } });
      const status = await train({ config: cfg, outDir: out, emit: (e) => events.push(e), shouldStop: () => false });
      assert.equal(status, 'completed');
    });
    after(() => rmSync(out, { recursive: true, force: true }));

    it('names them in each epoch event (valid protocol), after they are on disk', () => {
      const epochs = events.filter((e): e is EventBody<EpochEvent> => e.type === 'epoch');
      assert.equal(epochs.length, 2);
      for (const e of epochs) {
        assert.ok(isTrainerEvent(stampEvent(e)));
        const r = e.records!;
        assert.equal(r.epoch, recordsEpochFile(e.epoch));
        assert.ok(existsSync(path.join(out, r.epoch)) && existsSync(path.join(out, r.set)));
        assert.equal(r.images, 80);
        assert.equal(r.pairs, 200);
        assert.equal(r.recordedPairs, 200);
        assert.equal(r.buckets.length, 3);
        assert.ok(r.normQuality.verify.pearson !== null && Math.abs(r.normQuality.verify.pearson) <= 1);
      }
      assert.equal(readdirSync(path.join(out, 'records', 'thumbs')).length, 80);
    });

    it('keeps per image its identity, quality and norm, per pair its score, label, fold and images, and the last embeddings', async () => {
      const set = decodeRecords(readFileSync(path.join(out, RECORDS_SET)));
      const last = decodeRecords(readFileSync(path.join(out, recordsEpochFile(2))));
      assert.equal(tensor(set, T.imageIdentity, 'I32')?.length, 80);
      assert.equal(tensor(set, T.imageQuality, 'F32')?.length, 80);
      assert.equal(tensor(set, T.pairFold, 'I32')?.length, 200);
      assert.equal(JSON.parse(set.metadata.get(M.foldLabels) ?? '[]').length, 10, 'the fold labels of all pairs');
      assert.equal(tensor(last, T.imageNorm, 'F32')?.length, 80);
      assert.equal(tensor(last, T.imageXy, 'F32')?.length, 160);
      const scores = tensor(last, T.pairScore, 'F32') as Float32Array;
      assert.ok(scores.every((s) => s >= -1.0001 && s <= 1.0001));
      const embeddings = decodeRecords(readFileSync(path.join(out, 'records', 'embeddings.safetensors')));
      assert.deepEqual(embeddings.tensors.get(T.embedding)?.shape, [80, 16]);
      assert.equal(embeddings.metadata.get(M.epoch), '2');
      assert.deepEqual(await recordedEpochs(out), [1, 2]);
    });

    it('builds the dashboard\'s view and exports CSV and .npy that agree with the records', async () => {
      const insight = await epochInsight(out, 1, { kind: 'tenfold' }, (i, file) => file ?? `thumb:${i}`);
      assert.equal(insight?.epoch, 1);
      assert.deepEqual(insight?.epochs, [1, 2]);
      assert.equal(insight?.verify.thirds.length, 3);
      assert.equal(insight?.verify.thirds.reduce((n, h) => n + h.counts.reduce((a, b) => a + b, 0), 0), 80);
      const matched = insight!.scores.matched.counts.reduce((a, b) => a + b, 0);
      assert.equal(matched + insight!.scores.mismatched.counts.reduce((a, b) => a + b, 0), 200);
      assert.equal(insight?.scores.foldThresholds.length, 10);
      const g = insight!.gallery;
      for (let k = 1; k < g.falseAccepts.length; k++) assert.ok(g.falseAccepts[k].margin <= g.falseAccepts[k - 1].margin);
      assert.ok(g.falseRejects.every((f) => f.score < f.threshold && f.a.src?.startsWith('thumb:')));
      // Exports go outside the run folder (only its trainer writes there).
      const exports = mkdtempSync(path.join(tmpdir(), 'l2sm-records-export-'));
      const csvDir = path.join(exports, 'csv');
      const csv = await exportRecords(out, csvDir, 'csv', 2);
      assert.deepEqual(csv.files.map((f) => path.basename(f)), ['images.csv', 'pairs.csv', 'train_sample.csv']);
      const pairs = readFileSync(path.join(csvDir, 'pairs.csv'), 'utf8').trim().split('\n');
      assert.equal(pairs.length, 201);
      assert.equal(pairs[0], 'pair,a,b,name_a,name_b,same,fold,score');
      const npyDir = path.join(exports, 'npy');
      const exported = await exportRecords(out, npyDir, 'npy');
      assert.ok(exported.files.some((f) => f.endsWith('embedding.npy')), 'the last epoch exports its embeddings too');
      assert.ok(!(await exportRecords(out, path.join(exports, 'npy-1'), 'npy', 1)).files.some((f) => f.endsWith('embedding.npy')), 'an older epoch does not');
      await assert.rejects(exportRecords(out, path.join(exports, 'x'), 'csv', 7), /epoch 7 has no records \(recorded: 1, 2\)/);
      rmSync(exports, { recursive: true, force: true });
    });
  });
});
