// Takes the walkthrough's images and the README's hero screenshot from the real UI:
// a real VS Code (code-server, see test/e2e/setup-code-server.sh) with the
// extension loaded on a workspace holding the given run folders, driven by
// Chromium the way a user would (activity bar, tree rows, hovers, palette).
//   npx tsx scripts/walkthrough-shots.ts <run folder> <run folder> [...] [--out media]
// writes <out>/walkthrough/{start,dashboard,alpha,dataset,compare}.png and <out>/screenshots/dashboard.png.

import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../test/browser/harness';

const ROOT = path.resolve(__dirname, '..');
const VIEWPORT = { width: 1440, height: 900 };
/** The side bar's width in the shots that show only it. */
const SIDEBAR_WIDTH = 560;
const SETTLE_MS = 2500;

async function palette(page: Page, text: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.keyboard.type(text);
  await page.waitForTimeout(900);
  await page.keyboard.press('Enter');
}

/** Hovers a tree row whose text starts with `label` and waits for its tooltip. */
async function hoverRow(page: Page, label: string): Promise<void> {
  await page.locator('.monaco-list-row', { hasText: label }).first().hover();
  await page.waitForTimeout(2200);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: 'media' }, theme: { type: 'string', default: 'Default Dark Modern' } } });
  const out = path.resolve(values.out as string);
  mkdirSync(path.join(out, 'walkthrough'), { recursive: true });
  mkdirSync(path.join(out, 'screenshots'), { recursive: true });
  const tmp = mkdtempSync(path.join(tmpdir(), 'l2sm-walk-'));
  const workspace = path.join(tmp, 'workspace');
  const runs = path.join(workspace, '.l2softmax', 'runs');
  mkdirSync(runs, { recursive: true });
  for (const dir of positionals) cpSync(dir, path.join(runs, path.basename(dir)), { recursive: true, filter: (src) => !src.includes(`${path.sep}checkpoints`) });
  const userData = path.join(tmp, 'user');
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'workbench.colorTheme': values.theme, 'workbench.tips.enabled': false, 'l2softmax.notifyOnRunEnd': false }),
  );
  const port = 18000 + Math.floor(Math.random() * 1000);
  const server = spawn(path.join(ROOT, '.cache/code-server/node_modules/.bin/code-server'), ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--user-data-dir', userData, '--extensions-dir', path.join(tmp, 'ext'), workspace], { stdio: 'ignore', detached: true });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const shot = (page: Page, name: string, clip?: { x: number; y: number; width: number; height: number }) => page.screenshot({ path: path.join(out, name), clip });
  const sidebar = { x: 0, y: 0, width: SIDEBAR_WIDTH, height: VIEWPORT.height };
  const editor = { x: SIDEBAR_WIDTH - 260, y: 0, width: VIEWPORT.width - SIDEBAR_WIDTH + 260, height: VIEWPORT.height };
  try {
    await new Promise((r) => setTimeout(r, 4000));
    const page = await browser.newPage({ viewport: VIEWPORT });
    const payload = [['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${ROOT}`]];
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await page.waitForTimeout(6000);
    await page.locator('.activitybar [aria-label^="L2-Softmax"]').first().click();
    await page.waitForTimeout(SETTLE_MS);
    await page.locator('[id="workbench.view.extension.l2softmax"] .pane-header', { hasText: 'Runs' }).hover();
    await page.waitForTimeout(800);
    await shot(page, 'walkthrough/start.png', sidebar);

    await hoverRow(page, 'Alpha');
    await shot(page, 'walkthrough/alpha.png', { x: 0, y: 0, width: SIDEBAR_WIDTH + 420, height: VIEWPORT.height });
    await hoverRow(page, 'Dataset folder');
    await shot(page, 'walkthrough/dataset.png', { x: 0, y: 0, width: SIDEBAR_WIDTH + 420, height: VIEWPORT.height });

    // The newest L2-softmax run's dashboard (the quick pick lists runs newest first).
    await palette(page, 'L2-Softmax: Open Dashboard');
    await page.waitForTimeout(1200);
    await page.keyboard.type('L2 α');
    await page.waitForTimeout(600);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(7000);
    await shot(page, 'screenshots/dashboard.png');
    await shot(page, 'walkthrough/dashboard.png', editor);

    const rows = page.locator('[id="workbench.view.extension.l2softmax"] .monaco-list-row');
    await rows.nth(0).click();
    await rows.nth(1).click({ modifiers: ['Control'] });
    await page.waitForTimeout(800);
    await page.locator('[id="workbench.view.extension.l2softmax"] .pane-header .actions-container [aria-label="Compare Runs"]').click();
    await page.waitForTimeout(7000);
    await shot(page, 'walkthrough/compare.png', editor);
    console.log(`wrote the walkthrough images to ${path.join(out, 'walkthrough')} and the README screenshot to ${path.join(out, 'screenshots')}`);
  } finally {
    await browser.close();
    process.kill(-(server.pid as number), 'SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
