// The first hour of a new user, checked inside VS Code: Restricted Mode says why
// Start cannot run, default names are distinct, a run refused before start says
// what to fix with actions and marks the setting, a scale below its bound is
// warned about, the dataset tooltip shows its layout.

import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { Api } from '../../src/extension/main';
import { activate, recorder, withStubs, type Shown } from './helpers';

describe('the first hour', () => {
  let api: Api;
  const config = () => vscode.workspace.getConfiguration('l2softmax');

  before(async () => {
    api = await activate();
    for (const [k, v] of Object.entries({ imageSize: 16, width: 4, embeddingSize: 16, epochs: 1, openDashboardOnStart: false })) await config().update(k, v, vscode.ConfigurationTarget.Workspace);
  });

  it('in Restricted Mode, Start says why it cannot run and offers Manage Workspace Trust', async () => {
    const shown: Shown[] = [];
    const before = (await api.store.list()).length;
    const own = Object.getOwnPropertyDescriptor(vscode.workspace, 'isTrusted');
    Object.defineProperty(vscode.workspace, 'isTrusted', { get: () => false, configurable: true });
    try {
      await withStubs({ showErrorMessage: recorder(shown) as typeof vscode.window.showErrorMessage }, async () => {
        assert.equal(await vscode.commands.executeCommand('l2softmax.startRun'), undefined);
      });
    } finally {
      if (own) Object.defineProperty(vscode.workspace, 'isTrusted', own);
      else delete (vscode.workspace as { isTrusted?: boolean }).isTrusted;
    }
    assert.equal(vscode.workspace.isTrusted, true);
    assert.equal((await api.store.list()).length, before, 'a run was created in Restricted Mode');
    assert.match(shown[0]?.message ?? '', /Restricted Mode.*needs a trusted workspace/);
    assert.deepEqual(shown[0].items, ['Manage Workspace Trust']);
    const start = vscode.extensions.getExtension('l2-softmax-lab.l2-softmax-lab')!.packageJSON.contributes.commands.find((c: { command: string }) => c.command === 'l2softmax.startRun');
    assert.equal(start.enablement, undefined, 'a disabled command disappears from the palette');
  });

  it('gives runs of the same settings distinct names', async () => {
    const names = api.monitor.records().map((r) => r.name);
    assert.ok(names.length >= 3, `only ${names.length} runs to look at`);
    assert.equal(new Set(names).size, names.length, `repeated names: ${names.join(', ')}`);
  });

  it('refuses a missing dataset folder with the whole reason, Open Settings and Clear, and marks the setting', async () => {
    await config().update('datasetFolder', '/no/such/faces', vscode.ConfigurationTarget.Workspace);
    const shown: Shown[] = [];
    try {
      const spec = api.settings.getChildren().find((s) => s.key === 'datasetFolder')!;
      assert.equal((api.settings.getTreeItem(spec).iconPath as vscode.ThemeIcon).id, 'error');
      assert.match((await api.settings.tooltip(spec)).value, /does not exist/);
      await withStubs({ showErrorMessage: recorder(shown, 'Clear') as typeof vscode.window.showErrorMessage }, async () => {
        assert.equal(await vscode.commands.executeCommand('l2softmax.startRun'), undefined);
      });
      assert.match(shown[0]?.message ?? '', /Dataset folder: \/no\/such\/faces does not exist\. Clear it to train on the built-in synthetic faces\./);
      assert.deepEqual(shown[0].items, ['Open Settings', 'Clear']);
      assert.equal(config().get('datasetFolder'), '', 'Clear did not clear the setting');
    } finally {
      await config().update('datasetFolder', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('warns before starting with alpha below alpha_low, and in the alpha input box with the number', async () => {
    await config().update('alpha', 4, vscode.ConfigurationTarget.Workspace);
    const shown: Shown[] = [];
    let validation: unknown;
    let prompt = '';
    try {
      await withStubs({ showWarningMessage: recorder(shown, undefined) as typeof vscode.window.showWarningMessage }, async () => {
        assert.equal(await vscode.commands.executeCommand('l2softmax.startRun'), undefined);
      });
      assert.match(shown[0]?.message ?? '', /alpha = 4 is below alpha_low = 7\.89 for the 300 training classes/);
      assert.deepEqual(shown[0].items, ['Start Anyway', 'Suggest Alpha']);
      await withStubs(
        {
          showInputBox: (async (options: vscode.InputBoxOptions) => {
            prompt = options.prompt ?? '';
            validation = await options.validateInput?.('3');
            return undefined;
          }) as typeof vscode.window.showInputBox,
        },
        async () => vscode.commands.executeCommand('l2softmax.editSetting', 'alpha'),
      );
      assert.match(prompt, /alpha_low = 7\.89 \(C = 300 classes\)/);
      assert.equal((validation as vscode.InputBoxValidationMessage).severity, vscode.InputBoxValidationSeverity.Warning);
      const alpha = api.settings.getChildren().find((s) => s.key === 'alpha')!;
      assert.equal((api.settings.getTreeItem(alpha).iconPath as vscode.ThemeIcon).id, 'warning');
      // Markdown escapes (alpha\_low, 7\.89) taken out.
      const tooltip = (await api.settings.tooltip(alpha)).value.replace(/\\/g, '');
      assert.match(tooltip, /alpha = 4 is below alpha_low = 7\.89/, 'the tooltip does not warn');
      assert.match(tooltip, /\*\*7\.89\*\*/, 'the tooltip does not give alpha_low for the dataset');
    } finally {
      await config().update('alpha', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('shows the dataset layout root/<identity>/<image> in the tooltip', async () => {
    const tooltip = await api.settings.tooltip(api.settings.getChildren().find((s) => s.key === 'datasetFolder')!);
    assert.match(tooltip.value, /root\/&lt;identity&gt;\/&lt;image&gt;/);
  });
});
