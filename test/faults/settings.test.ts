// Fault: settings of the wrong type in a committed settings.json
// ("maxConcurrentRuns": "two" kept the queue from ever draining; "runsFolder": 5
// made activation throw). Read through the settings table, each falls back to
// its default and is reported once, naming the setting and the value; the other
// settings in the same file keep their values.
import { strict as assert } from 'node:assert';
import { SettingReader, configFromSettings } from '../../src/core/settings';

const SETTINGS_JSON: Record<string, unknown> = {
  maxConcurrentRuns: 'two',
  runsFolder: 5,
  nodePath: { path: '/usr/bin/node' },
  openDashboardOnStart: 'no',
  alpha: 24,
  epochs: '20',
};

describe('fault: wrong-typed settings', () => {
  it('host settings: defaults used, each problem reported once however often it is read', () => {
    const problems: string[] = [];
    const reader = new SettingReader((p) => problems.push(p));
    for (let read = 0; read < 50; read++) {
      assert.equal(reader.read('maxConcurrentRuns', SETTINGS_JSON.maxConcurrentRuns), 1);
      assert.equal(reader.read('runsFolder', SETTINGS_JSON.runsFolder), '');
      assert.equal(reader.read('nodePath', SETTINGS_JSON.nodePath), '');
      assert.equal(reader.read('openDashboardOnStart', SETTINGS_JSON.openDashboardOnStart), true);
    }
    assert.deepEqual(problems, [
      'l2softmax.maxConcurrentRuns must be a finite number, got "two": using the default, 1.',
      'l2softmax.runsFolder must be a text value, got 5: using the default, "".',
      'l2softmax.nodePath must be a text value, got an object: using the default, "".',
      'l2softmax.openDashboardOnStart must be true or false, got "no": using the default, true.',
    ]);
    assert.equal(reader.read('maxConcurrentRuns', 3), 3, 'a corrected value is used at once');
  });

  it('run settings: the run does not start, and the message names the setting; the valid ones are kept', () => {
    const bad = configFromSettings((key) => SETTINGS_JSON[key]);
    assert.ok(!bad.ok);
    assert.deepEqual(bad.errors.map((e) => `${e.field}: ${e.message}`), ['l2softmax.epochs: must be a finite number, got "20"']);
    const fixed = configFromSettings((key) => (key === 'epochs' ? 20 : SETTINGS_JSON[key]));
    assert.ok(fixed.ok && fixed.config.alpha === 24 && fixed.config.epochs === 20);
  });
});
