// Takes the README screenshot: a real VS Code (code-server) with the extension loaded,
// the Runs view open and a run's dashboard opened through the command palette.
//   npx tsx scripts/screenshot.ts <run folder> [<run folder>...] [--out media/screenshots/dashboard.png]
// (scripts/walkthrough-shots.ts takes it too, with the walkthrough's images)

import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../test/browser/harness';

const ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: 'media/screenshots/dashboard.png' }, theme: { type: 'string', default: 'Default Dark Modern' } } });
  const tmp = mkdtempSync(path.join(tmpdir(), 'l2sm-shot-'));
  const workspace = path.join(tmp, 'workspace');
  const runs = path.join(workspace, '.l2softmax', 'runs');
  mkdirSync(runs, { recursive: true });
  for (const dir of positionals) cpSync(dir, path.join(runs, path.basename(dir)), { recursive: true, filter: (src) => !src.includes(`${path.sep}checkpoints`) });
  const userData = path.join(tmp, 'user');
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'workbench.colorTheme': values.theme, 'workbench.tips.enabled': false }));
  const port = 18000 + Math.floor(Math.random() * 1000);
  const server = spawn(path.join(ROOT, '.cache/code-server/node_modules/.bin/code-server'), ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--user-data-dir', userData, '--extensions-dir', path.join(tmp, 'ext'), workspace], { stdio: 'ignore', detached: true });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  try {
    await new Promise((r) => setTimeout(r, 4000));
    const page = await browser.newPage({ viewport: { width: 1500, height: 940 } });
    const payload = [['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${ROOT}`]];
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await page.waitForTimeout(5000);
    await page.locator('.activitybar [aria-label^="L2-Softmax"]').first().click();
    await page.waitForTimeout(2000);
    await page.keyboard.press('F1');
    await page.keyboard.type('L2-Softmax: Open Dashboard');
    await page.waitForTimeout(800);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1000);
    await page.keyboard.press('Enter'); // the newest run in the quick pick
    await page.waitForTimeout(6000);
    await page.screenshot({ path: path.resolve(values.out as string) });
    console.log(`wrote ${values.out}`);
  } finally {
    await browser.close();
    process.kill(-(server.pid as number), 'SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
