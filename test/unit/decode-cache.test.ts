// The decode cache keeps what it has decoded correct: damaged or missing
// pixels are decoded again, a failed index write is reported, not fatal, and
// only the user can read it.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cacheDir, cacheImages, checksum, decodeImage, type DecodeOptions } from '../../src/trainer/data/decode-cache';
import type { TrainerLog } from '../../src/trainer/errors';
import { encodePng } from '../../src/trainer/data/png';
import { createHash } from 'node:crypto';
import sharp from 'sharp';

const SIZE = 8;
const LENGTH = SIZE * SIZE * 3;

/** A log that keeps the warnings it gets, as "code: message". */
function recordingLog(): TrainerLog & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (code, message) => warnings.push(`${code}: ${message}`) };
}

function writeImages(root: string, count: number): string[] {
  mkdirSync(root, { recursive: true });
  return Array.from({ length: count }, (_, k) => {
    const file = path.join(root, `img_${k}.png`);
    writeFileSync(file, encodePng(Float32Array.from({ length: 12 * 12 * 3 }, (_, i) => ((i * 31 + k * 97) % 255) / 255), 12, 12, 3));
    return file;
  });
}

describe('decode cache', () => {
  let tmp: string;
  let files: string[];
  let opts: DecodeOptions & { log: ReturnType<typeof recordingLog> };
  let dir: string;

  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'l2sm-cache-'));
    files = writeImages(path.join(tmp, 'faces'), 6);
    opts = { cacheRoot: path.join(tmp, 'cache'), folder: path.join(tmp, 'faces'), imageSize: SIZE, channels: 3, log: recordingLog() };
    dir = cacheDir(opts.cacheRoot, opts.folder, SIZE, 3);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  async function load(): Promise<Float32Array> {
    const images = await cacheImages(files, opts);
    try {
      return await images.batch(files.map((_, i) => i));
    } finally {
      await images.close();
    }
  }

  it('checks every slot against its checksum as it reads it, and decodes a damaged one again', async () => {
    const fresh = await load();
    // Slots are handed out as decodes finish: ask the index which one img_0 got.
    const slot = (JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { entries: Record<string, { slot: number }> }).entries[files[0]].slot;
    const fd = openSync(path.join(dir, 'pixels.bin'), 'r+');
    writeSync(fd, Buffer.alloc(LENGTH, 7), 0, LENGTH, slot * LENGTH); // someone else's pixels over img_0's slot
    closeSync(fd);
    assert.deepEqual(await load(), fresh);
    assert.equal(opts.log.warnings.length, 1);
    assert.match(opts.log.warnings[0], /^cache-damaged: .*img_0\.png; decoded it again/);
    assert.deepEqual(await load(), fresh);
    assert.equal(opts.log.warnings.length, 1, 'the slot was repaired on disk');
  });

  it('decodes again what a truncated pixels file lost', async () => {
    const fresh = await load();
    truncateSync(path.join(dir, 'pixels.bin'), LENGTH * 2);
    const images = await cacheImages(files, opts);
    assert.deepEqual([images.decoded, images.reused], [4, 2]);
    assert.deepEqual(await images.batch(files.map((_, i) => i)), fresh);
    await images.close();
  });

  it('reports a failed index write, naming the file, and still serves the images', async () => {
    mkdirSync(path.join(dir, 'index.json', 'in-the-way'), { recursive: true });
    const pixels = await load();
    assert.equal(pixels.length, files.length * LENGTH);
    assert.equal(opts.log.warnings.length, 1);
    assert.match(opts.log.warnings[0], /^cache-index: Could not save the decode-cache index .*index\.json: .*The next run decodes these images again/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind');
  });

  it('lists undecodable files instead of failing, and serves the others', async () => {
    writeFileSync(files[2], 'not an image');
    const images = await cacheImages(files, opts);
    assert.deepEqual(images.failed.map((f) => path.basename(f.file)), ['img_2.png']);
    assert.match(images.failed[0].reason, /unsupported image format/);
    const expected = await decodeImage(files[3], SIZE, 3);
    const got = await images.batch([3]);
    assert.deepEqual(Array.from(got, (v) => Math.round((v + 1) * 127.5)), Array.from(expected.pixels));
    await assert.rejects(images.batch([2]), /could not be decoded/);
    await images.close();
  });

  it('is readable by the user only', async function () {
    if (process.platform === 'win32') this.skip();
    await load();
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(opts.cacheRoot).mode & 0o777, 0o700);
    for (const f of ['pixels.bin', 'index.json']) assert.equal(statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
  });

  it('checksums are FNV-1a', () => {
    assert.equal(checksum(Buffer.from('')), 0x811c9dc5);
    assert.equal(checksum(Buffer.from('a')), 0xe40c292c);
    assert.equal(checksum(Buffer.from('foobar')), 0xbf9cf968);
  });

  it('measures each image once: its file\'s SHA-1 and quality proxies, kept in the index for the next run', async () => {
    const checker = Buffer.from(Array.from({ length: 64 * 64 }, (_, i) => ((i % 64 >> 2) + (i >> 8)) % 2 ? 200 : 40));
    const sharpFile = path.join(opts.folder, 'sharp.png');
    const blurredFile = path.join(opts.folder, 'blurred.png');
    writeFileSync(sharpFile, await sharp(checker, { raw: { width: 64, height: 64, channels: 1 } }).png().toBuffer());
    writeFileSync(blurredFile, await sharp(checker, { raw: { width: 64, height: 64, channels: 1 } }).blur(4).png().toBuffer());
    const first = await cacheImages([sharpFile, blurredFile], opts);
    await first.close();
    const [a, b] = first.measures;
    assert.equal(a?.sha1, createHash('sha1').update(readFileSync(sharpFile)).digest('hex'));
    assert.ok((a?.sharpness ?? 0) > 10 * (b?.sharpness ?? Infinity), `${a?.sharpness} vs ${b?.sharpness}`);
    const second = await cacheImages([sharpFile, blurredFile], opts);
    await second.close();
    assert.equal(second.decoded, 0);
    assert.deepEqual(second.measures, first.measures);
  });
});
