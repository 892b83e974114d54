// Serves the built dashboard bundle in a page that stands in for a VS Code webview
// (acquireVsCodeApi records what the page posts), opened in Debian's Chromium.

import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../..');
/** Runs recorded with their records (test/fixtures/records/make.ts). */
export const RECORDED_RUNS = path.join(ROOT, 'test', 'fixtures', 'records');

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('Chromium not found: run test/e2e/setup-code-server.sh (installs Debian\'s chromium) or set CHROMIUM_PATH.');
  return found;
}

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

const FILES: Record<string, [string, string]> = {
  '/webview.js': ['dist/webview.js', 'text/javascript'],
  '/dashboard.css': ['media/dashboard.css', 'text/css'],
  '/themes.css': ['test/browser/themes.css', 'text/css'],
};

function page(theme: string, state: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src http://127.0.0.1:*; script-src 'nonce-test'; img-src http://127.0.0.1:* data:">
<link rel="stylesheet" href="/themes.css"><link rel="stylesheet" href="/dashboard.css"></head>
<body class="${theme}"><div id="app" data-state='${state}'></div>
<script nonce="test">
window.posted = [];
window.savedState = undefined;
window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), setState: (s) => (window.savedState = s), getState: () => window.savedState });
</script>
<script nonce="test" src="/webview.js"></script></body></html>`;
}

export async function serve(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = FILES[url.pathname];
    if (file) {
      res.writeHead(200, { 'content-type': file[1] });
      res.end(readFileSync(path.join(ROOT, file[0])));
      return;
    }
    // Recorded runs' thumbnails, standing in for a webview's local resource roots (img-src as VS Code's cspSource).
    const thumb = /^\/records\/(softmax|l2)\/records\/thumbs\/(\d+)\.png$/.exec(url.pathname);
    if (thumb && existsSync(path.join(RECORDED_RUNS, thumb[1], 'records', 'thumbs', `${thumb[2]}.png`))) {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(readFileSync(path.join(RECORDED_RUNS, thumb[1], 'records', 'thumbs', `${thumb[2]}.png`)));
      return;
    }
    // Chromium asks for one after a page has been open a while: no console error for it.
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page(url.searchParams.get('theme') ?? 'vscode-dark', url.searchParams.get('state') ?? '{"mode":"run","runIds":["r1"]}'));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Delivers a host message the way VS Code does (a window message event). */
export async function send(p: Page, message: unknown): Promise<void> {
  await p.evaluate((m) => window.postMessage(m, '*'), message);
}
