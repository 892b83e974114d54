// Organizing runs inside VS Code: tags and a note from the Runs view's commands,
// the filter language in the view, pinning, grouping by tag.

import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { Api } from '../../src/extension/main';
import { isGroup } from '../../src/extension/runs-view';
import { activate, recorder, until, withStubs, type Shown } from './helpers';

describe('organizing runs', () => {
  let api: Api;

  before(async () => {
    api = await activate();
  });

  after(async () => {
    await vscode.commands.executeCommand('l2softmax.clearRunFilter');
    api.runs.setGroup('none');
  });

  it('adds tags and a note to a run from its commands, kept in run.json and shown in the view', async () => {
    const [run] = (await api.runs.runs()).filter((r) => r.status === 'completed');
    assert.ok(run, 'no completed run to tag');
    await withStubs({ showInputBox: (async () => 'paper, #lfw') as typeof vscode.window.showInputBox }, async () => vscode.commands.executeCommand('l2softmax.editTags', run.id));
    await withStubs({ showInputBox: (async () => 'the run for the paper') as typeof vscode.window.showInputBox }, async () => vscode.commands.executeCommand('l2softmax.editNote', run.id));
    const saved = await api.store.get(run.id);
    assert.deepEqual(saved?.tags, ['paper', 'lfw']);
    assert.equal(saved?.note, 'the run for the paper');
    const item = await until(() => {
      const r = api.runs.find(run.id);
      return r?.tags?.length ? api.runs.getTreeItem(r) : undefined;
    }, 10000, 'the view to show the tags');
    assert.match(String(item.description), /#paper #lfw/);
    assert.match((item.tooltip as vscode.MarkdownString).value, /the run for the paper/);
  });

  it('filters by tag and by alpha>=8, and says what is wrong with a bad filter', async () => {
    assert.equal(await vscode.commands.executeCommand('l2softmax.filterRuns', 'tag:paper'), true);
    const tagged = await api.runs.runs();
    assert.ok(tagged.length >= 1 && tagged.every((r) => r.tags?.includes('paper')), 'tag:paper let through an untagged run');
    await vscode.commands.executeCommand('l2softmax.filterRuns', 'alpha>=8');
    const shown = await api.runs.runs();
    const expected = api.runs.all().filter((r) => r.config.alpha >= 8);
    assert.deepEqual(shown.map((r) => r.id).sort(), expected.map((r) => r.id).sort());
    assert.ok(shown.length > 0);
    const shownErrors: Shown[] = [];
    await withStubs({ showErrorMessage: recorder(shownErrors) as typeof vscode.window.showErrorMessage }, async () => {
      assert.equal(await vscode.commands.executeCommand('l2softmax.filterRuns', 'alpha>=high'), false);
    });
    assert.match(shownErrors[0]?.message ?? '', /compares numbers/);
    assert.equal(api.runs.filter, 'alpha>=8', 'a bad filter replaced the good one');
    await vscode.commands.executeCommand('l2softmax.clearRunFilter');
    assert.equal((await api.runs.runs()).length, api.runs.all().length);
  });

  it('pins a run to the top and groups runs by tag', async () => {
    const runs = await api.runs.runs();
    const last = runs[runs.length - 1];
    await vscode.commands.executeCommand('l2softmax.pinRun', last.id);
    await until(async () => ((await api.runs.runs())[0]?.id === last.id ? true : undefined), 10000, 'the pinned run to come first');
    await vscode.commands.executeCommand('l2softmax.unpinRun', last.id);
    api.runs.setGroup('tag');
    const groups = (await api.runs.getChildren()).filter(isGroup);
    assert.deepEqual(groups.map((g) => g.group.label).slice(0, 2), ['#paper', '#lfw']);
    assert.equal(groups[groups.length - 1].group.label, 'Untagged');
    // A run tagged twice is a row of both groups; VS Code refuses a tree whose ids repeat.
    const rows = (await Promise.all(groups.map((g) => api.runs.getChildren(g)))).flat();
    const ids = rows.map((r) => api.runs.getTreeItem(r).id);
    assert.ok(rows.length > api.runs.all().length, 'no run sits in two groups: the test lost its point');
    assert.equal(new Set(ids).size, ids.length, `repeated tree ids: ${ids.join(', ')}`);
  });
});
