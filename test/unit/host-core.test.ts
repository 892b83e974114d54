import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { metricsCsv, neutralizeFormula, CSV_COLUMNS } from '../../src/core/export';
import { configRows, eta, runDescription, statusText, suggestAlpha } from '../../src/core/format';
import type { RunRecord } from '../../src/core/run-store';
import { RuntimeError, findOnPath, resolveRuntime } from '../../src/core/runtime';
import { SETTINGS, SettingReader, checkSetting, configFromSettings, parseNumberInput, settingSpec, validSetting } from '../../src/core/settings';
import { DEFAULT_CONFIG, alphaLowerBound, getField } from '../../src/shared/config';
import { parseWebviewMessage, snapshotFromEvents } from '../../src/shared/dashboard';
import { parseEventLine, type TrainerEvent } from '../../src/shared/events';

const ROOT = path.resolve(__dirname, '../..');
const events = readFileSync(path.join(ROOT, 'test/fixtures/events/l2-trainable.jsonl'), 'utf8')
  .split('\n')
  .map((l) => parseEventLine(l))
  .filter((e): e is TrainerEvent => !!e);

function record(overrides: Partial<RunRecord> = {}): RunRecord {
  return { id: 'r', name: 'run', status: 'running', config: DEFAULT_CONFIG, createdAt: '2026-01-01T00:00:00Z', ...overrides };
}

describe('settings table and package.json', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties as Record<string, { type: string; default: unknown; enum?: unknown[] }>;

  it('contributes every setting with the default of the run config', () => {
    for (const spec of SETTINGS) {
      const p = props[`l2softmax.${spec.key}`];
      assert.ok(p, `l2softmax.${spec.key} is not contributed`);
      assert.deepEqual(p.default, spec.default, spec.key);
      if (spec.field) assert.deepEqual(p.default, getField(DEFAULT_CONFIG, spec.field), `${spec.key} default differs from DEFAULT_CONFIG`);
      if (spec.options) assert.deepEqual(p.enum, spec.options);
    }
  });

  it("lets only the user's machine settings choose the Node.js a run starts, never a workspace", () => {
    assert.equal((props['l2softmax.nodePath'] as { scope?: string }).scope, 'machine');
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('l2softmax.nodePath'));
  });

  it('every menu entry names a contributed command; every command is in the palette, Stop only while something runs', () => {
    const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    for (const [where, entries] of Object.entries(pkg.contributes.menus as Record<string, { command: string }[]>)) {
      for (const e of entries) assert.ok(commands.has(e.command), `${where} names unknown ${e.command}`);
    }
    const palette = new Map<string, string>(pkg.contributes.menus.commandPalette.map((m: { command: string; when: string }) => [m.command, m.when]));
    for (const id of commands) assert.notEqual(palette.get(id as string), 'false', `${id} is hidden from the palette`);
    assert.equal(palette.get('l2softmax.stopRun'), 'l2softmax.activeRuns');
    // A disabled command is hidden from the palette: Start must stay there in Restricted Mode and say why it cannot run.
    assert.ok(!pkg.contributes.commands.some((c: { enablement?: string }) => c.enablement), 'a command has an enablement clause');
  });

  it('offers Check GPU Setup in the palette, running the gpu-check script', () => {
    const check = pkg.contributes.commands.find((c: { command: string }) => c.command === 'l2softmax.checkGpu');
    // Titles are localized: package.json names them, package.nls.json holds the English.
    const nls = JSON.parse(readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
    assert.equal(nls[check?.title.replace(/^%|%$/g, '')], 'Check GPU Setup');
    assert.ok(!pkg.contributes.menus.commandPalette.some((m: { command: string }) => m.command === 'l2softmax.checkGpu'));
    assert.equal(pkg.scripts['gpu-check'], 'node --single-threaded dist/cli.js gpu-check');
  });

  it('snapshots settings into a run config and names the setting when one is bad', () => {
    const values: Record<string, unknown> = { alpha: 24, loss: 'softmax', datasetFolder: '/data' };
    const ok = configFromSettings((k) => values[k]);
    assert.ok(ok.ok);
    if (ok.ok) {
      assert.equal(ok.config.alpha, 24);
      assert.equal(ok.config.loss, 'softmax');
      assert.equal(ok.config.dataset.path, '/data');
    }
    const bad = configFromSettings((k) => ({ alpha: 0, epochs: 2.5 })[k as 'alpha']);
    assert.ok(!bad.ok);
    if (!bad.ok) assert.deepEqual(bad.errors.map((e) => `${e.field}: ${e.message}`), ['l2softmax.alpha: must be greater than 0, got 0', 'l2softmax.epochs: must be a whole number, got 2.5']);
  });

  it('validates what users type into the Settings tree', () => {
    const alpha = settingSpec('alpha')!;
    assert.deepEqual(parseNumberInput(alpha, ' 32 '), { value: 32 });
    assert.match(parseNumberInput(alpha, '0').error ?? '', /Alpha must be greater than 0/);
    assert.match(parseNumberInput(alpha, 'abc').error ?? '', /not a finite number/);
    assert.match(parseNumberInput(alpha, '').error ?? '', /Enter a number/);
    assert.match(parseNumberInput(settingSpec('epochs')!, '2.5').error ?? '', /whole number/);
    assert.equal(checkSetting(settingSpec('device')!, 'tpu'), 'must be one of "auto", "gpu", "webgpu", "cpu", got "tpu"');
    assert.match(parseNumberInput(settingSpec('scaleLearningRate')!, '0').error ?? '', /must be greater than 0/);
    assert.equal(checkSetting(settingSpec('maxConcurrentRuns')!, 0), 'must be at least 1, got 0');
  });
});

describe('texts for the Runs view and status bar', () => {
  it('describes running, finished and failed runs', () => {
    assert.equal(runDescription(record({ status: 'queued' })), 'queued');
    assert.equal(runDescription(record()), 'starting…');
    const progress = { epoch: 3, epochs: 10, step: 100, stepsPerEpoch: 50, loss: 2.3456, imagesPerSec: 320 };
    assert.equal(runDescription(record({ progress })), 'epoch 3/10 · loss 2.346');
    const final = (events.filter((e) => e.type === 'epoch').pop() as Extract<TrainerEvent, { type: 'epoch' }>).verification;
    const done = record({ status: 'completed', summary: { epochs: 3, steps: 1, seconds: 1, imagesPerSec: 1, finalLoss: 1, alpha: 8, bestEpoch: 3, bestAccuracy: 0.9031, final } });
    // The result is the final epoch's, not the best on the test pairs (bestAccuracy).
    assert.equal(runDescription(done), `acc ${(final.accuracy * 100).toFixed(1)}% (final epoch 3) · TAR@1e-3 ${(final.tarAtFar[1].tar * 100).toFixed(1)}%`);
    assert.equal(runDescription(record({ status: 'failed' })), 'failed');
  });

  it('estimates the time left from the recent images/s', () => {
    const r = record({ progress: { epoch: 1, epochs: 2, step: 10, stepsPerEpoch: 20, loss: 1, imagesPerSec: 64 } });
    assert.equal(eta(r), 30); // 30 steps x 64 images / 64 per second
    assert.equal(statusText(r), 'epoch 1/2 · loss 1.000 · ETA 0:30');
    assert.equal(eta(record()), undefined);
  });

  it('suggests alpha 25% above the bound, rounded up', () => {
    const { alpha, alphaLow } = suggestAlpha(300);
    assert.ok(Math.abs(alphaLow - alphaLowerBound(300)) < 1e-12);
    assert.equal(alpha, Math.ceil(alphaLowerBound(300) * 1.25));
    assert.ok(alpha > alphaLow);
  });

  it('shows only the dataset fields that apply', () => {
    const synthetic = configRows(DEFAULT_CONFIG).map(([k]) => k);
    assert.ok(synthetic.includes('dataset.synthetic.identities'));
    assert.ok(!synthetic.includes('dataset.pairsFile'));
    const folder = configRows({ ...DEFAULT_CONFIG, dataset: { ...DEFAULT_CONFIG.dataset, path: '/d' } }).map(([k]) => k);
    assert.ok(folder.includes('dataset.pairsFile'));
    assert.ok(!folder.some((k) => k.startsWith('dataset.synthetic')));
  });
});

describe('CSV export', () => {
  it('writes a row per epoch of every run, quoting names', () => {
    const base = { id: 'a', name: 'L2, "fast"', status: 'completed' as const, config: DEFAULT_CONFIG, createdAt: '' };
    const snap = snapshotFromEvents(base, events);
    const csv = metricsCsv([snap, { ...snap, id: 'b', name: 'plain' }]).trim().split('\n');
    assert.equal(csv[0], CSV_COLUMNS.join(','));
    assert.ok(csv[0].includes('tar_at_far_1e-3'));
    assert.equal(csv.length, 1 + 2 * snap.epochs.length);
    assert.ok(csv[1].startsWith('a,"L2, ""fast""",l2-softmax,16,false,1,'));
    const cols = csv[1].match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.length - 1;
    assert.equal(cols, CSV_COLUMNS.length);
  });
});

describe('CSV export of untrusted run names', () => {
  it('neutralizes cells a spreadsheet would run as formulas, keeping numbers numeric', () => {
    const base = { id: 'a', name: '=HYPERLINK("http://evil","x")', status: 'completed' as const, config: DEFAULT_CONFIG, createdAt: '' };
    const snap = snapshotFromEvents(base, events);
    const rows = ['=1+1', '+A1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'].map((name) => metricsCsv([{ ...snap, name }]).split('\n')[1].split(',')[1]);
    assert.deepEqual(rows, ["'=1+1", "'+A1", "'-2+3", "'@SUM(A1)", "'\tcmd", `"'\rcmd"`]);
    assert.ok(metricsCsv([snap]).split('\n')[1].startsWith(`a,"'=HYPERLINK(""http://evil"",""x"")",`));
    for (const plain of ['-0.5', '+3', '1e-3', 'run 1']) assert.equal(neutralizeFormula(plain), plain);
    const negative = metricsCsv([{ ...snap, name: 'plain', epochs: snap.epochs.map((e) => ({ ...e, trainLoss: -0.5 })) }]).split('\n')[1];
    assert.equal(negative.split(',')[CSV_COLUMNS.indexOf('train_loss')], '-0.5');
  });
});

describe('dashboard protocol', () => {
  it('accepts only well-formed webview messages', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'stop', runId: '20260101-a' }), { type: 'stop', runId: '20260101-a' });
    for (const bad of [null, 'ready', { type: 'eval', code: '1' }, { type: 'stop', runId: '../x' }, { type: 'exportPng', chart: 'roc', dataUrl: 'javascript:alert(1)' }, { type: 'exportPng', chart: 'evil', dataUrl: 'data:image/png;base64,AA' }]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });

  it('folds an event history into columns', () => {
    const snap = snapshotFromEvents({ id: 'a', name: 'a', status: 'completed', config: DEFAULT_CONFIG, createdAt: '' }, events);
    const steps = events.filter((e) => e.type === 'step');
    assert.equal(snap.steps.step.length, steps.length);
    assert.equal(snap.epochs.length, events.filter((e) => e.type === 'epoch').length);
    assert.ok(snap.started && snap.finished);
  });
});

describe('trainer runtime', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'l2sm-rt-'));
  /** A "node" that prints `version` for --version. */
  function fakeNode(name: string, version: string): string {
    const file = path.join(dir, name, 'node');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `#!/bin/sh\necho ${version}\n`);
    chmodSync(file, 0o755);
    return file;
  }
  const node20 = fakeNode('v20', 'v20.11.1');

  it('uses the nodePath setting, and says what to fix when it is wrong', () => {
    assert.equal(resolveRuntime(node20).execPath, node20);
    assert.match(resolveRuntime(node20).description, /Node\.js v20\.11\.1 from l2softmax\.nodePath/);
    assert.throws(() => resolveRuntime('/no/such/node'), (e: Error) => e instanceof RuntimeError && /l2softmax\.nodePath points to "\/no\/such\/node", which is not a file/.test(e.message));
    assert.throws(() => resolveRuntime(dir), RuntimeError);
  });

  it('refuses a nodePath older than Node.js 18.17, or one that is not Node.js, saying why', function () {
    if (process.platform === 'win32') this.skip(); // the fakes are shell scripts
    const old = fakeNode('v16', 'v16.0.0');
    assert.throws(() => resolveRuntime(old), (e: Error) => e instanceof RuntimeError && e.message.includes(`l2softmax.nodePath (${old}) is Node.js v16.0.0, but the trainer needs Node.js 18.17 or newer`));
    assert.throws(() => resolveRuntime(fakeNode('v18.16', 'v18.16.9')), /is Node\.js v18\.16\.9, but the trainer needs Node\.js 18\.17/);
    assert.equal(resolveRuntime(fakeNode('v18.17', 'v18.17.0')).execArgv[0], '--single-threaded');
    assert.throws(() => resolveRuntime(fakeNode('python', 'Python 3.11.2')), /is not Node\.js: "--version" printed "Python 3\.11\.2"/);
    const broken = path.join(dir, 'broken-node');
    writeFileSync(broken, '#!/bin/sh\nexit 3\n');
    chmodSync(broken, 0o755);
    assert.throws(() => resolveRuntime(broken), /did not run as Node\.js \("--version" failed/);
  });

  it('else finds node on PATH, else runs the host runtime as Node', () => {
    const onPath = path.dirname(node20);
    assert.equal(findOnPath('node', { PATH: `/nonexistent${path.delimiter}${onPath}` }, 'linux'), node20);
    assert.equal(resolveRuntime('', { PATH: onPath }).execPath, node20);
    assert.deepEqual(resolveRuntime('', { PATH: onPath }).execArgv, ['--single-threaded']);
    const host = resolveRuntime('', { PATH: '/nonexistent' }, '/opt/Code/code');
    assert.equal(host.execPath, '/opt/Code/code');
    assert.deepEqual(host.env, { ELECTRON_RUN_AS_NODE: '1' });
    assert.deepEqual(host.execArgv, []);
  });

  it('passes over a too old node on PATH for the host runtime, saying why', function () {
    if (process.platform === 'win32') this.skip();
    const old = resolveRuntime('', { PATH: path.dirname(fakeNode('path-v16', 'v16.0.0')) }, '/opt/Code/code');
    assert.equal(old.execPath, '/opt/Code/code');
    assert.match(old.description, /node on PATH \(.*\) is Node\.js v16\.0\.0, but the trainer needs Node\.js 18\.17 or newer/);
  });
});

describe('host settings read through the settings table', () => {
  it('uses the default for a value of the wrong type or range, and reports it once per setting and value', () => {
    const problems: string[] = [];
    const reader = new SettingReader((p) => problems.push(p));
    assert.equal(reader.read('maxConcurrentRuns', 'two'), 1);
    assert.equal(reader.read('maxConcurrentRuns', 'two'), 1);
    assert.equal(reader.read('maxConcurrentRuns', 0), 1);
    assert.equal(reader.read('maxConcurrentRuns', 3), 3);
    assert.equal(reader.read('runsFolder', 5), '');
    assert.equal(reader.read('nodePath', ['node']), '');
    assert.equal(reader.read('openDashboardOnStart', 'yes'), true);
    assert.equal(reader.read('openDashboardOnStart', undefined), true);
    assert.equal(reader.read('runsFolder', 'runs'), 'runs');
    assert.deepEqual(problems, [
      'l2softmax.maxConcurrentRuns must be a finite number, got "two": using the default, 1.',
      'l2softmax.maxConcurrentRuns must be at least 1, got 0: using the default, 1.',
      'l2softmax.runsFolder must be a text value, got 5: using the default, "".',
      'l2softmax.nodePath must be a text value, got a list: using the default, "".',
      'l2softmax.openDashboardOnStart must be true or false, got "yes": using the default, true.',
    ]);
  });

  it('every host setting the extension reads is in the table', () => {
    for (const key of ['nodePath', 'runsFolder', 'maxConcurrentRuns', 'openDashboardOnStart']) assert.ok(settingSpec(key), key);
    assert.deepEqual(validSetting(settingSpec('maxConcurrentRuns')!, 4), { value: 4 });
  });
});
