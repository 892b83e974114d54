import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UsageError, joinNegativeValues, parseCli } from '../../src/cli/args';
import { parseEvalCli, type EvalCliOptions } from '../../src/cli/eval';
import { parseExportCli } from '../../src/cli/export';
import { parseSweepCli } from '../../src/cli/sweep-args';
import { DEFAULT_CONFIG } from '../../src/shared/config';

const noFile = () => {
  throw new Error('no config file expected');
};

describe('CLI arguments', () => {
  it('defaults to training L2-softmax on the synthetic faces', () => {
    const o = parseCli(['train'], noFile);
    assert.deepEqual(o.config, DEFAULT_CONFIG);
    assert.equal(o.json, false);
    assert.deepEqual(parseCli([], noFile).config, DEFAULT_CONFIG);
  });

  it('maps every flag onto the run config', () => {
    const o = parseCli(
      ['train', '--loss', 'softmax', '--alpha', '32', '--alpha-trainable', '--dataset', '/data/casia', '--pairs', '/data/pairs.txt', '--epochs', '3', '--batch-size', '16', '--lr', '0.01', '--optimizer', 'sgd', '--image-size', '64', '--device', 'cpu', '--seed', '7', '--out', 'x', '--json'],
      noFile,
    );
    const c = o.config;
    assert.deepEqual(
      [c.loss, c.alpha, c.alphaTrainable, c.dataset.path, c.dataset.pairsFile, c.epochs, c.batchSize, c.learningRate, c.optimizer, c.imageSize, c.device, c.seed],
      ['softmax', 32, true, '/data/casia', '/data/pairs.txt', 3, 16, 0.01, 'sgd', 64, 'cpu', 7],
    );
    assert.equal(o.out, 'x');
    assert.equal(o.json, true);
    const d = parseCli(['train', '--pairs', 'p.txt', '--pairs-images', '/data/lfw', '--min-images', '5'], noFile).config.dataset;
    assert.deepEqual([d.pairsImages, d.minImagesPerIdentity], ['/data/lfw', 5]);
    assert.throws(() => parseCli(['train', '--min-images', '0'], noFile), /minImagesPerIdentity/);
  });

  it('skips undecodable images unless --strict-data; keeps pairs in their folder unless --allow-pairs-outside-folder', () => {
    const plain = parseCli(['train'], noFile).config.dataset;
    assert.deepEqual([plain.strictData, plain.allowPairsOutsideFolder], [false, false]);
    const strict = parseCli(['train', '--strict-data', '--allow-pairs-outside-folder'], noFile).config.dataset;
    assert.deepEqual([strict.strictData, strict.allowPairsOutsideFolder], [true, true]);
    assert.equal(parseCli(['--config', 'run.json'], () => ({ dataset: { strictData: true } })).config.dataset.strictData, true);
  });

  it('layers flags over a --config file', () => {
    const o = parseCli(['--config', 'run.json', '--epochs', '2'], () => ({ alpha: 8, epochs: 50 }));
    assert.equal(o.config.alpha, 8);
    assert.equal(o.config.epochs, 2);
  });

  it('sets the heads\' hyperparameters, weight decay, the scale learning rate and the schedule', () => {
    const arc = parseCli(['train', '--loss', 'arcface', '--scale', '16', '--scale-trainable', '--margin', '0.3', '--weight-decay', '0', '--scale-lr', '0.1', '--lr-schedule', 'cosine'], noFile).config;
    assert.deepEqual([arc.loss, arc.scale, arc.scaleTrainable, arc.arcfaceMargin, arc.cosfaceMargin, arc.weightDecay, arc.scaleLearningRate, arc.lrSchedule], ['arcface', 16, true, 0.3, 0.35, 0, 0.1, 'cosine']);
    assert.equal(parseCli(['--loss', 'cosface', '--margin', '0.2'], noFile).config.cosfaceMargin, 0.2);
  });

  it('rejects bad values and unknown flags with a usage error', () => {
    assert.throws(() => parseCli(['--alpha', 'x'], noFile), (e: Error) => e instanceof UsageError && /--alpha must be a number, got "x"/.test(e.message));
    assert.throws(() => parseCli(['--alpha=-1'], noFile), /alpha: must be greater than 0/);
    assert.throws(() => parseCli(['--loss', 'sphereface'], noFile), /loss: must be one of/);
    assert.throws(() => parseCli(['--loss', 'normface', '--margin', '0.3'], noFile), /--margin applies to --loss cosface or arcface/);
    assert.throws(() => parseCli(['--loss', 'arcface', '--margin', '2'], noFile), /arcfaceMargin: must be at most 1.5/);
    assert.throws(() => parseCli(['--nope'], noFile), UsageError);
    assert.throws(() => parseCli(['fit'], noFile), /unknown command "fit"/);
    assert.throws(() => parseCli(['--config', 'c.json'], () => ({ alhpa: 1 })), /c\.json: alhpa: unknown setting/);
  });
});

describe('negative numbers after an option', () => {
  it('read as the option\'s value in train, eval, export and sweep alike, so its own check says what range it takes', () => {
    assert.throws(() => parseCli(['--alpha', '-1'], noFile), /alpha: must be greater than 0/);
    assert.throws(() => parseCli(['train', '--lr', '-1e-3'], noFile), /learningRate: must be greater than 0/);
    assert.throws(() => parseCli(['--resume', 'runs/x', '--epochs', '-2'], noFile), /--epochs must be a positive integer, got "-2"/);
    assert.throws(() => parseExportCli(['--run', 'r', '--epoch', '-1']), /--epoch must be a positive whole number, got "-1"/);
    assert.throws(() => parseSweepCli(['--vary', 'alpha', '--seeds', '-2'], noFile), /--seeds must be a whole number of at least 1, got "-2"/);
    assert.throws(() => parseSweepCli(['--vary', 'alpha', '--alpha', '-1'], noFile), /alpha: must be greater than 0/);
    assert.equal((parseEvalCli(['--run', '-1']) as EvalCliOptions).run, '-1', 'a string option takes it too');
  });

  it('joins only a value option and a number, and nothing after "--"', () => {
    const options = { alpha: { type: 'string' }, 'alpha-trainable': { type: 'boolean' }, pairs: { type: 'string' } } as const;
    assert.deepEqual(joinNegativeValues(['--alpha', '-0.5', '--alpha-trainable', '--pairs', '-x.csv', '--alpha=-2', '--', '--alpha', '-1'], options), [
      '--alpha=-0.5',
      '--alpha-trainable',
      '--pairs',
      '-x.csv',
      '--alpha=-2',
      '--',
      '--alpha',
      '-1',
    ]);
    assert.deepEqual(joinNegativeValues(['--alpha-trainable', '-1', '--alpha', '-.5', '--alpha', '-1e-3', '--alpha'], options), ['--alpha-trainable', '-1', '--alpha=-.5', '--alpha=-1e-3', '--alpha']);
  });
});

describe('CLI usage errors (dist/cli.js)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.resolve(__dirname, '../../dist/cli.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  const hint = (command: string) => `Run \`node dist/cli.js ${command} --help\` for the options.`;

  it('print the error and where the options are, not the whole help, for every command', () => {
    for (const [command, args, error] of [
      ['train', ['train', '--alpha', 'x'], 'error: --alpha must be a number, got "x"'],
      ['train', ['train', '--resume', path.join(tmpdir(), 'l2sm-no-such-run')], 'error: --resume'],
      ['eval', ['eval', '--run', tmpdir(), '--nope'], "error: Unknown option '--nope'"],
      ['export', ['export', '--run', tmpdir(), '--format', 'xls'], 'error: --format must be csv or npy, got "xls"'],
      ['sweep', ['sweep', '--vary', 'alpha', '--seeds', 'x'], 'error: --seeds must be a whole number'],
      ['gpu-check', ['gpu-check', '--seconds', '0'], 'error: --seconds 0'],
    ] as const) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.deepEqual([lines.length, lines[0].startsWith(error), lines[1]], [2, true, hint(command)], r.stderr);
      assert.doesNotMatch(r.stderr, /Usage:/);
    }
  });

  it('refuse a dataset path that cannot be read before a run folder exists', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'l2sm-cli-paths-'));
    try {
      const run = (...args: string[]) => spawnSync(process.execPath, [path.resolve(__dirname, '../../dist/cli.js'), ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
      const missing = run('train', '--dataset', 'no-such-folder');
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /^error: --dataset no-such-folder does not exist\n/);
      assert.match(run('train', '--pairs', cwd).stderr, /^error: --pairs .* is a folder, not a file\n/);
      assert.equal(existsSync(path.join(cwd, '.l2softmax')), false, 'a refused run left a run folder behind');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('keep the whole help for --help and for a command given no arguments', () => {
    const help = cli('train', '--help');
    assert.deepEqual([help.status, help.stdout.startsWith('Usage: node dist/cli.js train')], [0, true]);
    const bare = cli('eval');
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /^error: --run needs a run folder\n\nUsage: node dist\/cli\.js eval/);
  });
});

