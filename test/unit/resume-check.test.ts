import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fingerprintDataset } from '../../src/core/fingerprint';
import { latestCheckpoint } from '../../src/core/checkpoints';
import { checkResume } from '../../src/core/resume';
import { TRAINER_VERSION } from '../../src/core/version';
import { listedTrainImages } from '../../src/trainer/data/folder-dataset';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import type { RunRecord } from '../../src/shared/run';

describe('resume check', () => {
  let dir: string;
  let data: string;
  const record = (over: Partial<RunRecord> = {}): RunRecord => ({
    id: 'r',
    name: 'run',
    status: 'stopped',
    createdAt: new Date().toISOString(),
    config: { ...DEFAULT_CONFIG, epochs: 4, dataset: { ...DEFAULT_CONFIG.dataset, path: data } },
    trainerVersion: TRAINER_VERSION,
    ...over,
  });
  const checkpoint = (name: string, meta: object | string) => {
    const at = path.join(dir, 'checkpoints', name);
    mkdirSync(at, { recursive: true });
    for (const f of ['model.json', 'weights.bin', 'optimizer.json', 'optimizer.bin', 'config.json']) writeFileSync(path.join(at, f), '');
    writeFileSync(path.join(at, 'checkpoint.json'), typeof meta === 'string' ? meta : JSON.stringify(meta));
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'l2sm-resume-'));
    data = path.join(dir, 'faces');
    for (const who of ['ann', 'bob']) {
      mkdirSync(path.join(data, who), { recursive: true });
      writeFileSync(path.join(data, who, '1.png'), 'x');
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('picks the newest complete checkpoint; half-written and temp folders never count', async () => {
    checkpoint('epoch-001', { epoch: 1, step: 10 });
    checkpoint('epoch-002-step-000015', { epoch: 2, step: 15, partial: true });
    checkpoint('epoch-002', '{"epoch": 2, "st');
    checkpoint('epoch-003.tmp', { epoch: 3, step: 30 });
    mkdirSync(path.join(dir, 'checkpoints', 'epoch-004'));
    const newest = await latestCheckpoint(dir);
    assert.equal(path.basename(newest!.dir), 'epoch-002-step-000015');
    assert.equal(newest!.meta.partial, true);
  });

  it('refuses what cannot be resumed, saying why', async () => {
    assert.match((await checkResume(dir, record(), 'stopped')).refusal ?? '', /no complete checkpoint/);
    checkpoint('epoch-004', { epoch: 4, step: 40 });
    assert.match((await checkResume(dir, record({ status: 'completed' }), 'completed')).refusal ?? '', /completed all its 4 epochs/);
    const one = record({ status: 'completed', config: { ...record().config, epochs: 1 } });
    assert.match((await checkResume(dir, one, 'completed')).refusal ?? '', /completed all its 1 epoch;/);
    assert.match((await checkResume(dir, one, 'stopped')).refusal ?? '', /already at epoch 4; give more than 4 epochs/);
    assert.equal((await checkResume(dir, record({ status: 'completed' }), 'completed', 6)).refusal, undefined);
    assert.match((await checkResume(dir, record(), 'running')).refusal ?? '', /is running; stop it first/);
  });

  it('lists what changed since the run started: the trainer, the dataset, the pairs file', async () => {
    checkpoint('epoch-001', { epoch: 1, step: 10 });
    const pairs = path.join(dir, 'pairs.txt');
    writeFileSync(pairs, 'ann 1 bob 1\n');
    const config = { ...record().config, dataset: { ...record().config.dataset, pairsFile: pairs } };
    const fingerprint = await fingerprintDataset(config);
    assert.deepEqual((await checkResume(dir, record({ config, fingerprint }), 'stopped')).changes, []);
    writeFileSync(path.join(data, 'bob', '2.png'), 'more');
    writeFileSync(pairs, 'ann 1 bob 2\n');
    const check = await checkResume(dir, record({ config, fingerprint, trainerVersion: '0.0.1' }), 'stopped');
    assert.equal(check.refusal, undefined);
    assert.equal(check.changes.length, 3, check.changes.join('; '));
    assert.match(check.changes[0], /the trainer changed \(version 0\.0\.1 then/);
    assert.match(check.changes[1], /the dataset changed \(2 files, .* then; 3 files/);
    assert.match(check.changes[2], /the pairs file changed/);
  });

  it('refuses up front, even when forced, a changed dataset whose training set no longer has the checkpoint\'s size', async () => {
    const pairs = path.join(dir, 'pairs.txt');
    writeFileSync(pairs, 'ann 1 bob 1\n');
    const config = { ...record().config, dataset: { ...record().config.dataset, pairsFile: pairs, minImagesPerIdentity: 1 } };
    assert.equal(await listedTrainImages(config), 2);
    checkpoint('epoch-001', { epoch: 1, step: 10, trainImages: 2 });
    const fingerprint = await fingerprintDataset(config);
    writeFileSync(path.join(data, 'ann', '1.png'), 'other bytes');
    const same = await checkResume(dir, record({ config, fingerprint }), 'stopped', undefined, listedTrainImages);
    assert.equal(same.refusal, undefined, 'the same number of images resumes (with a confirmation)');
    assert.equal(same.changes.length, 1);
    writeFileSync(path.join(data, 'bob', '2.png'), 'more');
    const grown = await checkResume(dir, record({ config, fingerprint }), 'stopped', undefined, listedTrainImages);
    assert.match(grown.refusal ?? '', /training set would have 3 images now and had 2 when its newest checkpoint was written.*even when forced/);
    assert.equal((await checkResume(dir, record({ config, fingerprint }), 'stopped')).refusal, undefined, 'without a counter it cannot tell');
    const skipped = record({ config, fingerprint, dataset: { skippedImages: { count: 1, examples: ['bob/0.png'] } } as RunRecord['dataset'] });
    assert.equal((await checkResume(dir, skipped, 'stopped', undefined, listedTrainImages)).refusal, undefined, 'images the trainer skipped make the listing\'s count no measure');
  });
});
