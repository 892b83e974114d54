// The Runs view: every run of the runs folder as the RunMonitor sees it (runs of
// this window, other windows, the CLI and cluster jobs alike), filtered by the
// filter language of src/core/run-filter.ts, pinned runs first, sorted by start
// time, name or best accuracy, optionally grouped by sweep or tag. The filter,
// sort and grouping are kept per workspace.

import * as vscode from 'vscode';
import { runDescription, runTooltip } from '../core/format';
import { parseFilter, type ParsedFilter } from '../core/run-filter';
import { GROUP_KEYS, SORT_KEYS, groupRuns, sortRuns, type GroupKey, type RunGroup, type SortKey } from '../core/run-order';
import type { RunMonitor } from '../core/run-monitor';
import type { RunRecord, RunStatus } from '../core/run-store';
import type { SweepMonitor } from '../core/sweep-monitor';
import { untrustedMarkdown } from './tooltip';

const ICONS: Record<RunStatus, [string, string | undefined]> = {
  queued: ['clock', undefined],
  running: ['sync~spin', 'charts.blue'],
  completed: ['pass', 'testing.iconPassed'],
  stopped: ['debug-stop', 'charts.yellow'],
  failed: ['error', 'testing.iconFailed'],
  interrupted: ['warning', 'charts.orange'],
};

/** Step events change live runs several times a second: redraws are coalesced to this. */
const REDRAW_MS = 250;
/** workspaceState key of the view's filter, sort and grouping. */
const STATE_KEY = 'l2softmax.runsView';

export interface GroupNode {
  kind: 'group';
  group: RunGroup;
}

/** A run as a row of a group: a run with two tags sits in two groups, and a tree's ids must be unique. */
export type RunNode = RunRecord & { groupId?: string };

export type RunsNode = RunNode | GroupNode;

export function isGroup(node: RunsNode): node is GroupNode {
  return (node as GroupNode).kind === 'group';
}

interface ViewState {
  filter: string;
  sort: SortKey;
  group: GroupKey;
}

export class RunsView implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly stateChanged = new vscode.EventEmitter<void>();
  /** The filter, sort or grouping changed. */
  readonly onDidChangeState = this.stateChanged.event;
  private timer?: NodeJS.Timeout;
  private readonly subscriptions: { dispose(): void }[] = [];
  private state: ViewState;
  private parsed: ParsedFilter & { ok: true };

  constructor(
    private readonly monitor: RunMonitor,
    private readonly sweeps: SweepMonitor,
    private readonly memento: vscode.Memento,
  ) {
    const saved = memento.get<Partial<ViewState>>(STATE_KEY, {});
    this.state = {
      filter: typeof saved.filter === 'string' ? saved.filter : '',
      sort: SORT_KEYS.includes(saved.sort as SortKey) ? (saved.sort as SortKey) : 'started',
      group: GROUP_KEYS.includes(saved.group as GroupKey) ? (saved.group as GroupKey) : 'none',
    };
    const parsed = this.parse(this.state.filter);
    this.parsed = parsed.ok ? parsed : (this.parse('') as ParsedFilter & { ok: true });
    this.subscriptions.push(
      this.changed,
      this.stateChanged,
      monitor.onDidChange(() => this.redraw()),
      monitor.onDidRemove(() => this.redraw()),
      sweeps.onDidChange(() => this.state.group === 'sweep' && this.redraw()),
    );
  }

  private parse(text: string): ParsedFilter {
    return parseFilter(text, { sweepOf: (id) => this.sweepName(id) });
  }

  private sweepName(runId: string): string | undefined {
    const id = this.sweeps.sweepOf(runId);
    return id ? (this.sweeps.get(id)?.name ?? id) : undefined;
  }

  private redraw(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed.fire(undefined);
    }, REDRAW_MS);
  }

  /** Redraws now (after a command changed a run). */
  refresh(): void {
    this.changed.fire(undefined);
  }

  get filter(): string {
    return this.state.filter;
  }

  get sort(): SortKey {
    return this.state.sort;
  }

  get group(): GroupKey {
    return this.state.group;
  }

  /** Applies a filter; returns why it cannot be, leaving the current one in place. */
  setFilter(text: string): string | undefined {
    const parsed = this.parse(text);
    if (!parsed.ok) return parsed.error;
    this.parsed = parsed;
    this.update({ filter: text.trim() });
    return undefined;
  }

  setSort(sort: SortKey): void {
    this.update({ sort });
  }

  setGroup(group: GroupKey): void {
    this.update({ group });
  }

  private update(change: Partial<ViewState>): void {
    this.state = { ...this.state, ...change };
    void this.memento.update(STATE_KEY, this.state);
    this.stateChanged.fire();
    this.refresh();
  }

  /** What the view's title says besides its name: the filter and how many runs pass it. */
  describe(): string | undefined {
    if (!this.state.filter) return undefined;
    return `${this.visible().length} of ${this.monitor.records().length} · ${this.state.filter}`;
  }

  /** Every run, newest first, whatever the filter. */
  all(): RunRecord[] {
    return this.monitor.records();
  }

  /** The runs the filter lets through, in the view's order. */
  visible(): RunRecord[] {
    const now = Date.now();
    return sortRuns(
      this.monitor.records().filter((r) => this.parsed.matches(r, now)),
      this.state.sort,
    );
  }

  find(id: string): RunRecord | undefined {
    return this.monitor.get(id);
  }

  async getChildren(element?: RunsNode): Promise<RunsNode[]> {
    if (element && !isGroup(element)) return [];
    if (element) return element.group.runs.map((r) => ({ ...r, groupId: element.group.id }));
    await this.monitor.ready();
    const runs = this.visible();
    if (this.state.group === 'none') return runs;
    const sweepOf = (runId: string) => {
      const id = this.sweeps.sweepOf(runId);
      return id ? { id, name: this.sweeps.get(id)?.name ?? id } : undefined;
    };
    return groupRuns(runs, this.state.group, sweepOf).map((group) => ({ kind: 'group', group }));
  }

  /** The runs shown, whatever the grouping (commands pick from these). */
  async runs(): Promise<RunRecord[]> {
    await this.monitor.ready();
    return this.visible();
  }

  getParent(): undefined {
    return undefined;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (isGroup(node)) return groupItem(node.group);
    const record = node;
    const item = new vscode.TreeItem(record.name, vscode.TreeItemCollapsibleState.None);
    item.id = record.groupId ? `${record.groupId}/${record.id}` : record.id;
    item.description = [record.pinned ? '★' : '', ...(record.tags ?? []).map((t) => `#${t}`), runDescription(record)].filter(Boolean).join(' ');
    const [icon, color] = ICONS[record.status] ?? ['circle-outline', undefined];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = `run.${record.status}${record.pinned ? '.pinned' : ''}`;
    item.tooltip = tooltip(record);
    item.command = { command: 'l2softmax.openDashboard', title: vscode.l10n.t('Open Dashboard'), arguments: [record] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.subscriptions.forEach((d) => d.dispose());
  }
}

function groupItem(group: RunGroup): vscode.TreeItem {
  const item = new vscode.TreeItem(group.label, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `group:${group.id}`;
  item.description = `${group.runs.length} run${group.runs.length === 1 ? '' : 's'}`;
  item.iconPath = new vscode.ThemeIcon(group.id.startsWith('tag:') ? 'tag' : group.id.startsWith('sweep:') ? 'beaker' : 'list-unordered');
  item.contextValue = 'runGroup';
  return item;
}

/** Everything shown comes from run.json, which anyone can commit: escaped (runTooltip), in an untrusted MarkdownString. */
function tooltip(record: RunRecord): vscode.MarkdownString {
  return untrustedMarkdown(runTooltip(record));
}
