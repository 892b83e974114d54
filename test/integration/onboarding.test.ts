// The palette and onboarding inside VS Code: every contributed command is
// registered, choice settings describe their choices, Start and Open Dashboard
// have keys, and the walkthrough opens with its images in place.

import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, until } from './helpers';

describe('palette and onboarding', () => {
  const ext = () => vscode.extensions.getExtension(EXTENSION_ID)!;

  it('registers every command it contributes', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of ext().packageJSON.contributes.commands as { command: string }[]) assert.ok(registered.has(c.command), `${c.command} is contributed but not registered`);
  });

  it('describes every choice of every choice setting, and binds keys to Start and Open Dashboard', () => {
    const props = ext().packageJSON.contributes.configuration.properties as Record<string, { enum?: unknown[]; enumDescriptions?: string[] }>;
    for (const [key, p] of Object.entries(props)) {
      if (!p.enum) continue;
      assert.equal(p.enumDescriptions?.length, p.enum.length, `${key} lacks enumDescriptions`);
      assert.ok(p.enumDescriptions?.every((d) => d.length > 3), key);
    }
    const keys = (ext().packageJSON.contributes.keybindings as { command: string }[]).map((k) => k.command);
    assert.ok(keys.includes('l2softmax.startRun') && keys.includes('l2softmax.openDashboard'));
  });

  it('opens the walkthrough, whose steps show images of the real UI', async () => {
    const [walkthrough] = ext().packageJSON.contributes.walkthroughs as { id: string; steps: { id: string; media: { image: string } }[] }[];
    assert.deepEqual(walkthrough.steps.map((s) => s.id), ['startRun', 'readDashboard', 'chooseAlpha', 'ownData', 'compareRuns']);
    for (const step of walkthrough.steps) assert.ok(existsSync(path.join(ext().extensionPath, step.media.image)), `${step.media.image} is missing`);
    await vscode.commands.executeCommand('l2softmax.openWalkthrough');
    const tab = await until(() => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => /welcome|walkthrough|get started/i.test(t.label)), 15000, 'the walkthrough editor');
    // Only the walkthrough's tab goes: the dashboards the suite left open are the window reload check's.
    await vscode.window.tabGroups.close(tab);
  });
});
