// Fault: a run.json committed by someone else, crafted to turn the Runs view
// tooltip (shown even in Restricted Mode) into links, remote images, headings,
// HTML or a broken table. At the tooltip helper's level (no vscode): rendered
// with markdown-it, HTML and autolinks on, it must show every value as text.
import { strict as assert } from 'node:assert';
import MarkdownIt from 'markdown-it';
import { runTooltip } from '../../src/core/format';
import type { RunRecord } from '../../src/core/run-store';
import { DEFAULT_CONFIG } from '../../src/shared/config';

const HOSTILE_RUN_JSON = JSON.stringify({
  id: '20260101-0000-evil',
  name: 'fast run ![](https://evil.example/track.png) [docs](https://evil.example)',
  status: 'completed\n# You have been hacked',
  reason: '<img src=x onerror=alert(1)>\r\n[Run this](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D)',
  backend: { name: 'wasm', gpu: false, description: 'www.evil.example ``code`` | extra | cells' },
  config: {
    ...DEFAULT_CONFIG,
    'x](https://evil.example) [y': 'z',
    dataset: { ...DEFAULT_CONFIG.dataset, path: '/data/faces | injected | row\n| a | b |', pairsFile: '<script>alert(1)</script>' },
  },
  createdAt: '2026-01-01T00:00:00Z',
});

describe('fault: hostile run.json in the Runs view tooltip', () => {
  const record = JSON.parse(HOSTILE_RUN_JSON) as RunRecord;
  const html = new MarkdownIt({ html: true, linkify: true }).render(runTooltip(record));

  it('renders no link, image, heading, script or raw HTML', () => {
    assert.doesNotMatch(html, /<(a|img|h[1-6]|script)\b/, html);
  });

  it('keeps the settings table to two cells a row, one row per setting', () => {
    const rows = html.split('<tr>').slice(2);
    for (const row of rows) assert.equal(row.split('<td>').length - 1, 2, row);
    assert.ok(rows.some((r) => r.includes('<td>x](https://evil.example) [y</td>')), 'the hostile key is shown as text');
  });

  it('loses nothing: the name, status, reason and backend still show, as text', () => {
    for (const text of ['fast run ![](https://evil.example/track.png) [docs](https://evil.example)', 'completed # You have been hacked', '&lt;img src=x onerror=alert(1)&gt;', 'www.evil.example ``code`` | extra | cells']) {
      assert.ok(html.includes(text), `missing ${text}`);
    }
  });
});
