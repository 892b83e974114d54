// Runs the integration suite (test/integration) inside a real VS Code:
// code-server 4.100.3 (see setup-code-server.sh) driven by Debian's Chromium.
// The suite writes mocha's JSON report to a file; this harness waits for it,
// prints the results, screenshots the window, and exits non-zero on failure.
//   npx tsx test/e2e/run-vscode.ts

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../browser/harness';

const ROOT = path.resolve(__dirname, '../..');
const CODE_SERVER = path.join(ROOT, '.cache/code-server/node_modules/.bin/code-server');
const SUITE = path.join(ROOT, 'out/integration');
const RESULTS_DIR = path.join(ROOT, 'test-results');
const TIMEOUT_MS = Number(process.env.L2SOFTMAX_E2E_TIMEOUT_MS ?? 20 * 60 * 1000);
/** L2SOFTMAX_E2E_ONLY=durable runs only the window-reload / killed-host / second-window checks, =first-hour only the first-hour checks (while working on them). */
const ONLY = process.env.L2SOFTMAX_E2E_ONLY;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitHttp(url: string, ms: number, server: ChildProcess): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (server.exitCode !== null) throw new Error(`code-server exited with code ${server.exitCode}`);
    try {
      const res = await fetch(url, { redirect: 'manual' });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`code-server did not answer at ${url} within ${ms} ms`);
}

interface MochaJson {
  stats: { tests: number; passes: number; failures: number; pending: number; duration: number };
  passes: { fullTitle: string; duration: number }[];
  failures: { fullTitle: string; err: { message?: string; stack?: string } }[];
}

/** Files under `dir` named `name`, or ending in `-name` (exports are named after their run). */
function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, name));
    else if (e.name === name || e.name.endsWith(`-${name}`)) out.push(p);
  }
  return out;
}

/**
 * Clicks Export CSV and a chart's PNG button inside the dashboard, accepts the
 * save dialog's proposed path (code-server's simple file dialog), and checks the files.
 */
async function exportsWriteFiles(page: import('playwright-core').Page, frame: import('playwright-core').Frame, workspace: string): Promise<boolean> {
  const save = async (click: () => Promise<void>, file: string): Promise<string | undefined> => {
    await click();
    await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input', { timeout: 15000 });
    await page.waitForTimeout(500);
    await page.keyboard.press('Enter');
    const t0 = Date.now();
    while (Date.now() - t0 < 15000) {
      const hit = findFiles(workspace, file)[0];
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 300));
    }
    return undefined;
  };
  try {
    const csv = await save(() => frame.click('#export-csv'), 'metrics.csv');
    const csvOk = !!csv && !csv.includes(`${path.sep}.l2softmax${path.sep}`) && readFileSync(csv, 'utf8').startsWith('run_id,run_name,loss,') && readFileSync(csv, 'utf8').trim().split('\n').length >= 2;
    console.log(`  ${csvOk ? '✔' : '✘'} Export CSV wrote ${csv ?? 'nothing'} (in the workspace, not the hidden run folder)`);
    const png = await save(() => frame.click('[data-chart=roc] h2 button.png-export'), 'roc.png');
    const pngOk = !!png && readFileSync(png).subarray(1, 4).toString('ascii') === 'PNG';
    console.log(`  ${pngOk ? '✔' : '✘'} PNG export of the ROC chart wrote ${png ?? 'nothing'}`);
    return csvOk && pngOk;
  } catch (err) {
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-export.png') });
    console.log(`  ✘ exporting from the dashboard failed: ${(err as Error).message.split('\n')[0]} (see test-results/vscode-export.png)`);
    return false;
  }
}

/**
 * Opens a finished run's dashboard from the palette in a window of its own (the suite's
 * window ends with its extension host), reloads that window the way a user does, and checks
 * that the panel serializer brings the dashboard back with its data; then exports from it.
 */
async function reloadRestoresDashboard(page: Page, url: string, workspace: string): Promise<boolean> {
  try {
    await page.goto(url);
    await page.waitForSelector('.monaco-workbench', { timeout: 90000 });
    await showRunsView(page);
    const runs = diskRuns(workspace).filter((r) => r.status === 'completed' && r.summary?.final);
    // A name no other run's name contains, so the picker's first match is this run.
    const run = runs.find((r) => diskRuns(workspace).every((o) => o.id === r.id || !o.name.includes(r.name)));
    if (!run) throw new Error('the suite left no completed run with a verification to open');
    await palette(page, 'L2-Softmax: Open Dashboard');
    await answer(page, run.name);
    if (!(await dashboardShows(page, run.id, 'completed'))) throw new Error(`the dashboard of "${run.name}" did not open from the palette`);
    await reloadWindow(page);
    if (!(await dashboardShows(page, run.id, 'completed'))) throw new Error(`after a window reload the dashboard of "${run.name}" is not back`);
    const frame = await findDashboardFrame(page, run.id);
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-reloaded.png') });
    console.log(`  ✔ after a window reload the dashboard of "${run.name}" (completed) is restored with its data`);
    return await exportsWriteFiles(page, frame, workspace);
  } catch (err) {
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-reloaded.png') });
    console.log(`  ✘ ${(err as Error).message.split('\n')[0]} (see test-results/vscode-reloaded.png)`);
    return false;
  }
}

/** The dashboard frame whose state names run `id`. */
async function findDashboardFrame(page: Page, id: string): Promise<import('playwright-core').Frame> {
  return waitUntil(`the dashboard frame of ${id}`, 30000, async () => {
    for (const frame of page.frames()) {
      const state = await frame.$eval('#app', (el) => (el as HTMLElement).dataset.state ?? '').catch(() => '');
      if (state.includes(`"${id}"`)) return frame;
    }
    return undefined;
  });
}

type Page = import('playwright-core').Page;

interface DiskRun {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  owner?: { pid: number };
  progress?: { step: number; epoch: number };
  summary?: { epochs: number; final?: unknown };
}

/** The runs of the workspace as their run.json files say (what the trainer wrote). */
function diskRuns(workspace: string): DiskRun[] {
  const root = path.join(workspace, '.l2softmax', 'runs');
  if (!existsSync(root)) return [];
  const out: DiskRun[] = [];
  for (const id of readdirSync(root)) {
    try {
      out.push(JSON.parse(readFileSync(path.join(root, id, 'run.json'), 'utf8')));
    } catch {
      // being replaced, or not a run
    }
  }
  return out;
}

async function waitUntil<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Runs a command from the palette, the way a user does (F1, its title, Enter), once the palette lists it. */
async function palette(page: Page, title: string): Promise<void> {
  const input = '.quick-input-widget:not([style*="display: none"]) input';
  const first = '.quick-input-widget:not([style*="display: none"]) .monaco-list-row:first-child';
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    await page.waitForSelector(input, { timeout: 15000 });
    await page.fill(input, `>${title}`);
    await page.waitForTimeout(800);
    const label = await page.$eval(first, (el) => el.textContent ?? '').catch(() => '');
    if (label.includes(title.split(': ').pop() as string)) break;
    await page.keyboard.press('Escape');
    if (attempt >= 30) throw new Error(`the palette does not list "${title}" (first entry: "${label}")`);
    await page.waitForTimeout(1000);
  }
  await page.keyboard.press('Enter');
}

/** Starts a run from the palette and returns it once its trainer has taken a step. */
async function startFromPalette(page: Page, workspace: string): Promise<DiskRun> {
  const before = new Set(diskRuns(workspace).map((r) => r.id));
  await palette(page, 'L2-Softmax: Start L2-Softmax Run');
  return waitUntil('a new run to take its first step', 120000, () => diskRuns(workspace).find((r) => !before.has(r.id) && r.status === 'running' && (r.progress?.step ?? 0) > 0));
}

/** Waits for the dashboard frame of run `id` to show `status` (and, when given, the epoch text). */
async function dashboardShows(page: Page, id: string, status: string, epoch?: string): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < 60000) {
    for (const frame of page.frames()) {
      const [state, st, ep] = await Promise.all([
        frame.$eval('#app', (el) => (el as HTMLElement).dataset.state ?? '').catch(() => ''),
        ...['#run-status', '#epoch'].map((sel) => frame.$eval(sel, (el) => el.textContent ?? '').catch(() => '')),
      ]);
      if (state.includes(`"${id}"`) && st === status && (!epoch || ep === epoch)) return true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Reloads the window the way a user does (Developer: Reload Window), which saves the open editors first. */
async function reloadWindow(page: Page): Promise<void> {
  const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 60000 });
  await palette(page, 'Developer: Reload Window');
  await navigated;
  await page.waitForSelector('.monaco-workbench', { timeout: 90000 });
}

/** Waits for the Runs view to list a run named `name` with the codicon of its status (e.g. "pass" for completed). */
async function runsViewShows(page: Page, name: string, icon: string): Promise<boolean> {
  await showRunsView(page);
  const t0 = Date.now();
  while (Date.now() - t0 < 60000) {
    const found = await page
      .$$eval('.monaco-list-row', (rows, [n, i]) => rows.some((r) => (r.textContent ?? '').includes(n) && !!r.querySelector(`.codicon-${i}`)), [name, icon])
      .catch(() => false);
    if (found) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Extension hosts started by this harness's code-server (not another one running on the machine). */
function extensionHostPids(serverPid: number): number[] {
  const rows = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => !!m)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] }));
  const ours = new Set([serverPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (!ours.has(r.ppid) || ours.has(r.pid)) continue;
      ours.add(r.pid);
      grew = true;
    }
  }
  return rows.filter((r) => ours.has(r.pid) && r.args.includes('--type=extensionHost')).map((r) => r.pid);
}

function check(ok: boolean, what: string): boolean {
  console.log(`  ${ok ? '✔' : '✘'} ${what}`);
  return ok;
}

/**
 * Runs outlive the window: a run started from the palette keeps training
 * through a window reload and through a SIGKILLed extension host, and a second
 * window can stop it.
 */
async function durableRuns(browser: import('playwright-core').Browser, page: Page, url: string, workspace: string, serverPid: number): Promise<boolean> {
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')) : {};
  const write = (extra: Record<string, unknown>) => {
    mkdirSync(path.dirname(settingsFile), { recursive: true });
    writeFileSync(settingsFile, JSON.stringify({ ...settings, 'l2softmax.imageSize': 16, 'l2softmax.width': 4, 'l2softmax.embeddingSize': 16, 'l2softmax.openDashboardOnStart': true, ...extra }, null, 2));
  };
  let ok = true;
  try {
    write({ 'l2softmax.epochs': 6 });
    await page.waitForTimeout(1500);
    const run = await startFromPalette(page, workspace);
    await reloadWindow(page);
    const stepAtReload = diskRuns(workspace).find((r) => r.id === run.id)?.progress?.step ?? 0;
    const training = await waitUntil('the run to go on training after the reload', 60000, () =>
      diskRuns(workspace).find((r) => r.id === run.id && ((r.progress?.step ?? 0) > stepAtReload || r.status === 'completed')),
    );
    ok = check(training.owner?.pid === run.owner?.pid, `"${run.name}" keeps training through a window reload (same trainer, pid ${run.owner?.pid}; step ${stepAtReload} at reload)`) && ok;
    const done = await waitUntil('the reloaded run to finish', 240000, () => diskRuns(workspace).find((r) => r.id === run.id && r.status !== 'running'));
    ok = check(done.status === 'completed' && done.summary?.epochs === 6, `it completes all 6 epochs (${done.status}, ${done.summary?.epochs} epochs)`) && ok;
    ok = check(await dashboardShows(page, run.id, 'completed', '6/6'), 'its restored dashboard shows it completed at epoch 6/6') && ok;
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-durable-reload.png') });

    // A name of its own, so the Runs view check below cannot see another run.
    write({ 'l2softmax.epochs': 6, 'l2softmax.alpha': 20 });
    await page.waitForTimeout(1500);
    const second = await startFromPalette(page, workspace);
    const hosts = extensionHostPids(serverPid);
    for (const pid of hosts) process.kill(pid, 'SIGKILL');
    ok = check(hosts.length > 0, `killed the extension host (SIGKILL, pid ${hosts.join(', ')}) while "${second.name}" trains`) && ok;
    const orphan = await waitUntil('the orphaned run to finish', 240000, () => diskRuns(workspace).find((r) => r.id === second.id && r.status !== 'running'));
    ok = check(orphan.status === 'completed' && orphan.summary?.epochs === 6, `the run still completes without an editor (${orphan.status}, ${orphan.summary?.epochs} epochs)`) && ok;
    await reloadWindow(page);
    ok = check(await runsViewShows(page, second.name, 'pass'), `after reconnecting, the Runs view shows "${second.name}" completed`) && ok;
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-durable-killed-host.png') });

    write({ 'l2softmax.epochs': 200 });
    await page.waitForTimeout(1500);
    const long = await startFromPalette(page, workspace);
    const other = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await other.goto(url);
      await other.waitForSelector('.monaco-workbench', { timeout: 90000 });
      // A user looks at the Runs view first; the extension also activates on a folder that holds runs.
      await showRunsView(other);
      await other.waitForTimeout(5000);
      await palette(other, 'L2-Softmax: Stop Run');
      const stopped = await waitUntil('the run to stop', 60000, () => diskRuns(workspace).find((r) => r.id === long.id && r.status !== 'running'));
      ok = check(stopped.status === 'stopped', `Stop from a second window stops "${long.name}" (${stopped.status})`) && ok;
      ok = check(await dashboardShows(page, long.id, 'stopped'), 'the first window\'s dashboard shows it stopped') && ok;
    } finally {
      await other.close();
    }
  } catch (err) {
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-durable.png') });
    console.log(`  ✘ durable runs: ${(err as Error).message.split('\n')[0]} (see test-results/vscode-durable.png)`);
    ok = false;
  }
  return ok;
}

/** Types into the open quick input and accepts it (after Ctrl+A, so it replaces what is there). */
async function answer(page: Page, text: string): Promise<void> {
  const input = '.quick-input-widget:not([style*="display: none"]) input';
  await page.waitForSelector(input, { timeout: 15000 });
  await page.waitForTimeout(400);
  await page.fill(input, text);
  await page.waitForTimeout(600);
  await page.keyboard.press('Enter');
}

/** Selects the Runs view's first two rows (click, Ctrl+click) and looks for Compare Runs among the view's title actions. */
/** Opens the L2-Softmax side bar unless it is open already (clicking its icon again would close it). */
async function showRunsView(page: Page): Promise<void> {
  if (await page.isVisible('[id="workbench.view.extension.l2softmax"]').catch(() => false)) return;
  await page.click('.activitybar [aria-label^="L2-Softmax"]').catch(() => undefined);
  await page.waitForSelector('[id="workbench.view.extension.l2softmax"]', { timeout: 10000 }).catch(() => undefined);
}

async function compareInViewTitle(page: Page): Promise<boolean> {
  await showRunsView(page);
  const rows = page.locator('[id="workbench.view.extension.l2softmax"] .monaco-list-row');
  await rows.nth(0).click();
  await rows.nth(1).click({ modifiers: ['Control'] });
  await page.waitForTimeout(1500);
  const action = await page.$('[id="workbench.view.extension.l2softmax"] .pane-header .actions-container [aria-label="Compare Runs"]');
  await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-compare-title.png') });
  await page.keyboard.press('Escape');
  return !!action;
}

/**
 * A run refused by its trainer (a dataset with one identity) fails; its dashboard,
 * open since the start, comes back after a window reload; renaming it from the
 * palette reaches that dashboard's header; selecting two runs offers Compare in
 * the Runs view's title.
 */
async function firstHour(page: Page, workspace: string): Promise<boolean> {
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')) : {};
  const one = path.join(workspace, 'one-identity', 'Alice');
  mkdirSync(one, { recursive: true });
  for (let i = 1; i <= 3; i++) copyFileSync(path.join(ROOT, 'media', 'icon.png'), path.join(one, `Alice_000${i}.png`));
  mkdirSync(path.dirname(settingsFile), { recursive: true });
  let ok = true;
  try {
    writeFileSync(settingsFile, JSON.stringify({ ...settings, 'l2softmax.datasetFolder': path.dirname(one), 'l2softmax.openDashboardOnStart': true }, null, 2));
    await page.waitForTimeout(3000);
    const startFailing = async () => {
      const before = new Set(diskRuns(workspace).map((r) => r.id));
      await palette(page, 'L2-Softmax: Start L2-Softmax Run');
      return waitUntil('the one-identity run to fail', 120000, () => diskRuns(workspace).find((r) => !before.has(r.id) && r.status === 'failed'));
    };
    // Two runs at least, to select two.
    if (diskRuns(workspace).length < 1) await startFailing();
    const failed = await startFailing();
    ok = check(await dashboardShows(page, failed.id, 'failed'), `the dashboard of "${failed.name}" shows it failed`) && ok;
    await reloadWindow(page);
    ok = check(await dashboardShows(page, failed.id, 'failed'), 'after a window reload the failed run\'s dashboard is back') && ok;
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-failed-restored.png') });
    await palette(page, 'L2-Softmax: Rename Run');
    await answer(page, failed.name);
    await answer(page, 'renamed from the palette');
    ok = check(await headerShows(page, failed.id, 'renamed from the palette'), 'renaming it reaches its open dashboard\'s header') && ok;
    ok = check(await compareInViewTitle(page), 'selecting two runs shows Compare Runs in the Runs view title') && ok;
  } catch (err) {
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-first-hour.png') });
    console.log(`  ✘ first-hour checks: ${(err as Error).message.split('\n')[0]} (see test-results/vscode-first-hour.png)`);
    ok = false;
  } finally {
    writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  }
  return ok;
}

/** Waits for the dashboard frame of run `id` to show `name` in its header. */
async function headerShows(page: Page, id: string, name: string): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < 30000) {
    for (const frame of page.frames()) {
      const [state, shown] = await Promise.all([
        frame.$eval('#app', (el) => (el as HTMLElement).dataset.state ?? '').catch(() => ''),
        frame.$eval('#run-name', (el) => el.textContent ?? '').catch(() => ''),
      ]);
      if (state.includes(`"${id}"`) && shown === name) return true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

async function main(): Promise<number> {
  if (!existsSync(CODE_SERVER)) throw new Error('code-server is not installed: run test/e2e/setup-code-server.sh');
  if (!existsSync(path.join(SUITE, 'index.js'))) throw new Error('the integration suite is not built: run npm run build:tests');
  if (!existsSync(path.join(ROOT, 'dist/extension.js'))) throw new Error('the extension is not built: run npm run build');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const tmp = mkdtempSync(path.join(tmpdir(), 'l2sm-e2e-'));
  const userData = path.join(tmp, 'user-data');
  const workspace = path.join(tmp, 'workspace');
  const results = path.join(tmp, 'results.json');
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  // The workspace settings file exists from the start: the window watches it, so later edits apply at once.
  mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  writeFileSync(path.join(workspace, '.vscode', 'settings.json'), '{}');
  // Without these the trust dialog blocks the window and Restricted Mode disables the extension.
  writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'workbench.colorTheme': 'Default Dark Modern' }),
  );
  const port = await freePort();
  const log = createWriteStream(path.join(RESULTS_DIR, 'code-server.log'));
  const server = spawn(
    CODE_SERVER,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--user-data-dir', userData, '--extensions-dir', path.join(tmp, 'extensions'), workspace],
    { env: { ...process.env, L2SOFTMAX_TEST_OUT: results }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  server.stdout?.pipe(log);
  server.stderr?.pipe(log);
  const base = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  try {
    await waitHttp(`${base}/healthz`, 60000, server);
    const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(ROOT)],
      ['extensionTestsPath', remote(SUITE)],
    ];
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (e) => log.write(`[page] ${e.message}\n`));
    const windowUrl = `${base}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload.slice(0, 1)))}`;
    if (ONLY === 'durable' || ONLY === 'first-hour') {
      await page.goto(windowUrl);
      await page.waitForSelector('.monaco-workbench', { timeout: 90000 });
      await page.waitForTimeout(5000);
      const ok = ONLY === 'durable' ? await durableRuns(browser, page, windowUrl, workspace, server.pid as number) : await firstHour(page, workspace);
      return ok ? 0 : 1;
    }
    await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    console.log(`e2e: VS Code (code-server) at ${base}, workspace ${workspace}`);
    const t0 = Date.now();
    let shot = false;
    while (!existsSync(results)) {
      if (server.exitCode !== null) throw new Error(`code-server exited (code ${server.exitCode}); see test-results/code-server.log`);
      if (Date.now() - t0 > TIMEOUT_MS) {
        await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-timeout.png') });
        throw new Error(`the integration suite did not finish within ${TIMEOUT_MS / 60000} minutes; see test-results/vscode-timeout.png and code-server.log`);
      }
      if (!shot && Date.now() - t0 > 20000) {
        const title = await page.title();
        if (!/Extension Development Host/.test(title)) console.log(`e2e: window title is "${title}" (waiting for the Extension Development Host)`);
        shot = true;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await page.screenshot({ path: path.join(RESULTS_DIR, 'vscode-window.png') });
    const report = JSON.parse(readFileSync(results, 'utf8')) as MochaJson;
    for (const p of report.passes) console.log(`  ✔ ${p.fullTitle} (${p.duration} ms)`);
    for (const f of report.failures) console.log(`  ✘ ${f.fullTitle}\n      ${(f.err.stack ?? f.err.message ?? '').split('\n').slice(0, 6).join('\n      ')}`);
    console.log(`e2e: ${report.stats.passes} passing, ${report.stats.failures} failing, ${report.stats.pending} pending in ${(report.stats.duration / 1000).toFixed(1)} s`);
    const restored = await reloadRestoresDashboard(page, windowUrl, workspace);
    const durable = await durableRuns(browser, page, windowUrl, workspace, server.pid as number);
    const firstHourOk = await firstHour(page, workspace);
    return report.stats.failures === 0 && report.stats.passes > 0 && restored && durable && firstHourOk ? 0 : 1;
  } finally {
    await browser.close().catch(() => undefined);
    try {
      process.kill(-(server.pid as number), 'SIGTERM');
    } catch {
      server.kill('SIGTERM');
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`e2e: ${(err as Error).message}`);
    process.exit(1);
  },
);
