// Faults in the decode cache shared by every run on a folder: several cold
// runs filling it at once, and a lock left behind by a process that is gone
// (its pid since reused by another live process).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LOCK_STALE_MS, cacheDir, cacheImages } from '../../src/trainer/data/decode-cache';
import type { TrainerLog } from '../../src/trainer/errors';
import { FAULT_IMAGE_SIZE, cacheMismatches, writeFolder } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const CHILD = path.join(__dirname, 'fill-cache.ts');
const PROCESSES = 4;

/** Runs fill-cache.ts children that start decoding together; resolves with their outputs. */
async function fillTogether(cacheRoot: string, folder: string, orders: string[][], work: string): Promise<string[]> {
  const barrier = path.join(work, 'barrier');
  mkdirSync(barrier, { recursive: true });
  const children = orders.map((files, n) => {
    const list = path.join(work, `files-${n}.json`);
    writeFileSync(list, JSON.stringify(files));
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', CHILD, cacheRoot, folder, list, barrier, String(n)], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    return new Promise<string>((resolve, reject) =>
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child ${n} exited with ${code}: ${out}`)))),
    );
  });
  while (orders.some((_, n) => !existsSync(path.join(barrier, `ready-${n}`)))) await new Promise((r) => setTimeout(r, 20));
  writeFileSync(path.join(barrier, 'go'), '');
  return Promise.all(children);
}

/** Each child sees the files in its own order, as runs with other splits or pairs files would. */
function rotations(files: string[], count: number): string[][] {
  return Array.from({ length: count }, (_, n) => {
    const shift = Math.floor((n * files.length) / count);
    const order = [...files.slice(shift), ...files.slice(0, shift)];
    return n % 2 ? order.reverse() : order;
  });
}

describe('fault: decode cache', function () {
  let work: string;
  beforeEach(() => (work = mkdtempSync(path.join(tmpdir(), 'l2sm-fault-cache-'))));
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it(`${PROCESSES} cold runs on one dataset at once: every cached image equals a fresh decode`, async () => {
    const folder = path.join(work, 'faces');
    const files = writeFolder(folder, 40, 5);
    const cacheRoot = path.join(work, 'cache');
    const outputs = await fillTogether(cacheRoot, folder, rotations(files, PROCESSES), work);
    const { files: cached, mismatched } = await cacheMismatches(cacheDir(cacheRoot, folder, FAULT_IMAGE_SIZE, 3));
    assert.deepEqual(mismatched, [], 'slots that do not hold their image');
    assert.equal(cached.length, files.length, 'every decoded image is in the index');
    const decoded = outputs.map((o) => Number(/decoded=(\d+)/.exec(o)?.[1]));
    assert.equal(decoded.reduce((a, b) => a + b, 0), files.length, `each image decoded once: ${decoded}`);
    assert.ok(outputs.some((o) => /Waiting for (process \d+ on .*|another process), which is decoding images into the cache .*writer\.lock/.test(o)), `a waiting run says what it waits for:\n${outputs.join('\n')}`);
  });

  it('a lock taken a moment ago (its owner not yet written) is waited for, not deleted', async () => {
    const folder = path.join(work, 'faces');
    const files = writeFolder(folder, 4, 3);
    const cacheRoot = path.join(work, 'cache');
    const dir = cacheDir(cacheRoot, folder, FAULT_IMAGE_SIZE, 3);
    mkdirSync(path.join(dir, 'writer.lock'), { recursive: true });
    const infos: string[] = [];
    let released = 0;
    setTimeout(() => {
      released = Date.now();
      rmSync(path.join(dir, 'writer.lock'), { recursive: true });
    }, 1000);
    const images = await cacheImages(files, { cacheRoot, folder, imageSize: FAULT_IMAGE_SIZE, channels: 3, log: { info: (m) => infos.push(m), warn: (c, m) => infos.push(`${c}: ${m}`) } });
    await images.close();
    assert.ok(released > 0, 'it did not wait for the lock');
    assert.equal(images.decoded, files.length);
    assert.match(infos[0], /^Waiting for another process, which is decoding images into the cache .*writer\.lock, refreshed 0 s ago/);
  });

  it('a stale lock whose pid now belongs to another live process (pid 1) is taken over in bounded time, saying so', async () => {
    const folder = path.join(work, 'faces');
    const files = writeFolder(folder, 10, 3);
    const cacheRoot = path.join(work, 'cache');
    const quiet: TrainerLog = { info: () => undefined, warn: () => undefined };
    await (await cacheImages(files, { cacheRoot, folder, imageSize: FAULT_IMAGE_SIZE, channels: 3, log: quiet })).close();
    // The holder died without unlocking; its pid was reused by init, which is alive and not ours.
    const dir = cacheDir(cacheRoot, folder, FAULT_IMAGE_SIZE, 3);
    mkdirSync(path.join(dir, 'writer.lock'));
    writeFileSync(path.join(dir, 'writer.owner'), '1 on this host');
    const abandoned = new Date(Date.now() - LOCK_STALE_MS - 60_000);
    utimesSync(path.join(dir, 'writer.lock'), abandoned, abandoned);
    const warnings: string[] = [];
    const t0 = Date.now();
    const images = await cacheImages(files, { cacheRoot, folder, imageSize: FAULT_IMAGE_SIZE, channels: 3, log: { info: () => undefined, warn: (code, m) => warnings.push(`${code}: ${m}`) } });
    await images.close();
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assert.deepEqual([images.decoded, images.reused], [0, files.length], 'nothing cached before was lost');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^stale-cache-lock: Taking over the decode-cache lock .*writer\.lock: process 1 on this host has not refreshed it for \d+ s/);
    assert.ok(!existsSync(path.join(dir, 'writer.lock')), 'the lock was released');
  });
});
