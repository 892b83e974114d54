// Organizing runs: tags, a note and a pin per run (stored in run.json, through
// control.json while a trainer owns the folder: RunManager.annotate), and the
// Runs view's filter (typed live into an input box, errors shown as you type),
// sort order and grouping.

import * as vscode from 'vscode';
import { GROUP_KEYS, GROUP_LABELS, SORT_KEYS, SORT_LABELS } from '../core/run-order';
import type { RunRecord } from '../core/run-store';
import { ANNOTATION_LIMITS } from '../shared/run';
import type { Services } from './commands';
import { isGroup } from './runs-view';

/** What the filter box says it takes. */
const FILTER_HELP = 'Words match names, tags and notes; tag:paper status:completed alpha>=8 loss=cosface acc>=0.9 since:7d created>=2026-11-23; -term negates.';

type RunArg = RunRecord | string | undefined;
type PickRun = (arg: RunArg, title: string) => Promise<RunRecord | undefined>;

export function registerOrganizeCommands(s: Services, reg: (id: string, fn: (...args: never[]) => unknown) => vscode.Disposable, pickRun: PickRun): vscode.Disposable[] {
  const showState = () => {
    s.runsTree.description = s.runs.describe();
    void vscode.commands.executeCommand('setContext', 'l2softmax.runsFiltered', !!s.runs.filter);
  };
  showState();
  return [
    s.runs.onDidChangeState(showState),
    s.runs.onDidChangeTreeData(() => s.runs.filter && (s.runsTree.description = s.runs.describe())),
    reg('l2softmax.editTags', async (arg: RunArg) => {
      const run = await pickRun(arg, 'Tag which run?');
      if (run) await editTags(s, run);
    }),
    reg('l2softmax.editNote', async (arg: RunArg) => {
      const run = await pickRun(arg, 'Write a note on which run?');
      if (run) await editNote(s, run);
    }),
    reg('l2softmax.pinRun', async (arg: RunArg) => {
      const run = await pickRun(arg, 'Pin which run?');
      if (run) await s.manager.annotate(run.id, { pinned: true });
    }),
    reg('l2softmax.unpinRun', async (arg: RunArg) => {
      const run = await pickRun(arg, 'Unpin which run?');
      if (run) await s.manager.annotate(run.id, { pinned: false });
    }),
    reg('l2softmax.filterRuns', (text?: string) => (typeof text === 'string' ? applyFilter(s, text) : askFilter(s))),
    reg('l2softmax.clearRunFilter', () => applyFilter(s, '')),
    reg('l2softmax.sortRuns', async () => {
      const pick = await vscode.window.showQuickPick(
        SORT_KEYS.map((key) => ({ label: vscode.l10n.t('Sort by {0}', SORT_LABELS[key]), description: key === s.runs.sort ? 'current' : undefined, key })),
        { title: vscode.l10n.t('Sort runs (pinned runs stay first)') },
      );
      if (pick) s.runs.setSort(pick.key);
    }),
    reg('l2softmax.groupRuns', async () => {
      const pick = await vscode.window.showQuickPick(
        GROUP_KEYS.map((key) => ({ label: key === 'none' ? 'No groups' : `Group by ${GROUP_LABELS[key]}`, description: key === s.runs.group ? 'current' : undefined, key })),
        { title: vscode.l10n.t('Group runs') },
      );
      if (pick) s.runs.setGroup(pick.key);
    }),
  ];
}

/** Sets the filter from a command argument; a bad one is reported, not applied. */
function applyFilter(s: Services, text: string): boolean {
  const error = s.runs.setFilter(text);
  if (error) void vscode.window.showErrorMessage(vscode.l10n.t('L2-Softmax: {0}', error));
  return !error;
}

/** The filter box: the view follows what is typed; errors show under it; Escape goes back to the filter there was. */
function askFilter(s: Services): Promise<void> {
  const before = s.runs.filter;
  const box = vscode.window.createInputBox();
  box.title = 'Filter runs';
  box.placeholder = 'alpha>=8 tag:paper';
  box.prompt = FILTER_HELP;
  box.value = before;
  let accepted = false;
  return new Promise((resolve) => {
    box.onDidChangeValue((text) => {
      const error = s.runs.setFilter(text);
      box.validationMessage = error;
      if (!error) box.prompt = `${s.runs.visible().length} of ${s.runs.all().length} runs. ${FILTER_HELP}`;
    });
    box.onDidAccept(() => {
      if (box.validationMessage) return;
      accepted = true;
      box.hide();
    });
    box.onDidHide(() => {
      if (!accepted) s.runs.setFilter(before);
      box.dispose();
      resolve();
    });
    box.show();
  });
}

/** Tags from what the user typed: commas or spaces separate them; a leading # is dropped. */
export function parseTags(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((t) => t.replace(/^#/, '').trim())
    .filter(Boolean);
}

async function editTags(s: Services, run: RunRecord): Promise<void> {
  const text = await vscode.window.showInputBox({
    title: vscode.l10n.t('Tags of "{0}"', run.name),
    prompt: vscode.l10n.t('Separated by commas or spaces; filter with tag:name. At most {0}.', ANNOTATION_LIMITS.tags),
    value: (run.tags ?? []).join(', '),
    validateInput: (t) => (parseTags(t).length > ANNOTATION_LIMITS.tags ? `At most ${ANNOTATION_LIMITS.tags} tags.` : undefined),
  });
  if (text === undefined) return;
  await s.manager.annotate(run.id, { tags: parseTags(text) });
  s.runs.refresh();
}

async function editNote(s: Services, run: RunRecord): Promise<void> {
  const text = await vscode.window.showInputBox({
    title: vscode.l10n.t('Note on "{0}"', run.name),
    prompt: vscode.l10n.t('Free text, shown in the dashboard header and the run\'s tooltip; words in it match the filter. Empty removes it.'),
    value: run.note ?? '',
    validateInput: (t) => (t.length > ANNOTATION_LIMITS.note ? `At most ${ANNOTATION_LIMITS.note} characters.` : undefined),
  });
  if (text === undefined) return;
  await s.manager.annotate(run.id, { note: text.trim() });
  s.runs.refresh();
}

/** The runs selected in the view (groups left out). */
export function selectedRuns(s: Services): RunRecord[] {
  return s.runsTree.selection.filter((n) => !isGroup(n)) as RunRecord[];
}
