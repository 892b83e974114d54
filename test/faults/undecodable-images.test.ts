// Fault: images that cannot be decoded (a JPEG cut short, a text file named
// .jpg) in a dataset. By default the run skips them and says which; with
// strict data it stops before training, naming them. Through the trainer and
// through the CLI.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { resolveConfig, type RunConfig } from '../../src/shared/config';
import { SKIPPED_IMAGES_WARNING, type EventBody, type FinishedEvent, type StartedEvent } from '../../src/shared/events';
import { train } from '../../src/trainer/train/run';
import { facePng, writeFolder } from './helpers';

const ROOT = path.resolve(__dirname, '../..');

function config(dataset: string, strictData: boolean): RunConfig {
  const r = resolveConfig({ imageSize: 16, width: 4, embeddingSize: 8, epochs: 1, batchSize: 16, dataset: { path: dataset, strictData } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function run(cfg: RunConfig, out: string) {
  const events: EventBody[] = [];
  const status = await train({ config: cfg, outDir: out, emit: (e) => events.push(e), shouldStop: () => false });
  return { status, events, finished: events[events.length - 1] as FinishedEvent, started: events.find((e): e is StartedEvent => e.type === 'started') };
}

describe('fault: undecodable images in the dataset', function () {
  let work: string;
  let dataset: string;
  let good: number;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'l2sm-fault-images-'));
    process.env.L2SOFTMAX_CACHE_DIR = path.join(work, 'cache');
    dataset = path.join(work, 'faces');
    good = writeFolder(dataset, 6, 4).length;
    const jpg = await sharp(facePng(0, 9, 48)).jpeg().toBuffer();
    writeFileSync(path.join(dataset, 'id_001', 'cut.jpg'), jpg.subarray(0, jpg.length >> 1));
    writeFileSync(path.join(dataset, 'id_004', 'notes.jpg'), 'not an image');
  });
  after(() => {
    delete process.env.L2SOFTMAX_CACHE_DIR;
    rmSync(work, { recursive: true, force: true });
  });

  it('skipped by default: the run trains on every other image and names the skipped ones', async () => {
    const { status, started, events, finished } = await run(config(dataset, false), mkdtempSync(path.join(work, 'run-')));
    assert.equal(status, 'completed', finished.reason);
    const d = started!.dataset;
    assert.equal(d.images + (d.validationImages ?? 0) + d.verifyImages, good, 'every decodable image was used');
    assert.deepEqual(d.skippedImages, { count: 2, examples: ['id_001/cut.jpg', 'id_004/notes.jpg'] });
    const said = events.filter((e) => e.type === 'warning' && e.code === SKIPPED_IMAGES_WARNING).map((e) => (e as { message: string }).message);
    assert.ok(said.some((m) => /Cannot decode 2 image\(s\) under .*faces: id_001\/cut\.jpg \(.+\); id_004\/notes\.jpg \(.+\)\. Skipped them/.test(m)), said.join('\n'));
  });

  it('strict data: the run fails before training, naming the images', async () => {
    const { status, finished, events } = await run(config(dataset, true), mkdtempSync(path.join(work, 'run-')));
    assert.equal(status, 'failed');
    assert.equal(finished.code, 'dataset');
    assert.match(finished.reason ?? '', /Cannot decode 2 image\(s\) under .*faces: id_001\/cut\.jpg .*id_004\/notes\.jpg .*strict data is on/);
    assert.ok(!events.some((e) => e.type === 'step'), 'no training step ran');
  });

  it('the CLI: --strict-data exits 1 naming the images; without it the header counts them', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'train', '--dataset', dataset, '--epochs', '1', '--image-size', '16', '--out', mkdtempSync(path.join(work, 'cli-')), ...args], {
        encoding: 'utf8',
        env: { ...process.env, L2SOFTMAX_CACHE_DIR: path.join(work, 'cache') },
      });
    const strict = cli('--strict-data');
    assert.equal(strict.status, 1, strict.stderr);
    assert.match(strict.stderr, /error: Cannot decode 2 image\(s\) under .*id_001\/cut\.jpg/);
    const lenient = cli();
    assert.equal(lenient.status, 0, lenient.stderr);
    assert.match(lenient.stdout, /2 undecodable images skipped \(id_001\/cut\.jpg, id_004\/notes\.jpg\)/);
  });
});
