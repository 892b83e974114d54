// Tooltip markdown from untrusted text (run.json, settings, folder names): rendered
// with markdown-it (HTML and autolinks on, as permissive as a renderer gets), hostile
// values must come out as their literal text: no links, images, headings, HTML or extra table cells.
import { strict as assert } from 'node:assert';
import MarkdownIt from 'markdown-it';
import { datasetTooltip, type DatasetSummary } from '../../src/core/dataset-summary';
import { runTooltip } from '../../src/core/format';
import { escapeMarkdown, markdown, markdownCode } from '../../src/core/markdown';
import type { RunRecord } from '../../src/core/run-store';
import { settingSpec, settingTooltip } from '../../src/core/settings';
import { DEFAULT_CONFIG, type RunConfig } from '../../src/shared/config';

const renderer = new MarkdownIt({ html: true, linkify: true });
const render = (text: string) => renderer.render(text);

export const HOSTILE = [
  '[x](http://evil)',
  '![](http://evil/x.png)',
  '[run](command:workbench.action.terminal.new)',
  'a`b``c`',
  'line one\n# heading',
  'first\r\n---\r\nsecond',
  '<img src=x onerror=alert(1)>',
  'a | b | c',
  'http://evil.example/path www.evil.com x@evil.com',
  '$(zap) *bold* _em_ ~~gone~~',
  '1. item',
  '> quote',
  '&lt;b&gt; &amp;',
  '\\[x\\](y)',
];

/** The text as markdown-it writes text into HTML. */
function asHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const oneLine = (text: string) => text.replace(/\r\n|[\r\n]/g, ' ');

/** No element a hostile value could have produced (the tooltips' own bold labels aside). */
function assertInert(html: string): void {
  assert.doesNotMatch(html, /<(a|img|h[1-6]|script|identity|ol|ul|li|blockquote|em|s|del|hr)\b/, html);
}

describe('markdown from untrusted text', () => {
  for (const hostile of HOSTILE) {
    it(`shows ${JSON.stringify(hostile)} literally, as text and as code`, () => {
      assert.equal(render(escapeMarkdown(hostile)), `<p>${asHtml(oneLine(hostile).trim())}</p>\n`);
      assert.equal(render(markdownCode(hostile)), `<p><code>${asHtml(oneLine(hostile))}</code></p>\n`);
    });
  }

  it('escapes the values of a markdown template, not its literal parts', () => {
    assert.equal(render(markdown`**${'[x](http://evil)'}** — ${'<b>'}`), '<p><strong>[x](http://evil)</strong> — &lt;b&gt;</p>\n');
  });

  it('keeps a hostile run.json out of the Runs view tooltip', () => {
    const config = {
      ...DEFAULT_CONFIG,
      '[key](http://evil)': '![](http://evil/x.png)',
      loss: 'a | b | c\n# heading',
      dataset: { ...DEFAULT_CONFIG.dataset, path: '/data/<img src=x>', pairsFile: '`code` [x](http://evil)' },
    } as unknown as RunConfig;
    const record = {
      id: 'r',
      name: '![](http://evil/x.png) [click](http://evil)',
      status: 'failed\n# heading',
      reason: '<img src=x onerror=alert(1)>\n\n[x](command:evil)',
      backend: { name: 'wasm', gpu: false, description: 'www.evil.com `x`' },
      config,
      createdAt: '2026-01-01T00:00:00Z',
    } as unknown as RunRecord;
    const html = render(runTooltip(record));
    assertInert(html);
    assert.ok(html.includes('![](http://evil/x.png) [click](http://evil)'), 'the name is shown as text');
    const rows = html.split('<tr>').slice(2);
    assert.ok(rows.length > 10);
    for (const row of rows) assert.equal(row.split('<td>').length - 1, 2, `a row with other than 2 cells: ${row}`);
    assert.ok(html.includes('<td>[key](http://evil)</td>'));
  });

  it('keeps hostile setting values and dataset statistics out of the Settings view tooltips', () => {
    const html = render(settingTooltip(settingSpec('datasetFolder')!, '`` [x](http://evil) ``\n# h <img src=x>'));
    assertInert(html);
    assert.ok(html.includes('<code>`` [x](http://evil) `` # h &lt;img src=x&gt;</code>'));
    const summary: DatasetSummary = { classes: 10, images: 40, perIdentity: { min: 2, median: 4, max: 6 }, skipped: 1, source: '[faces](http://evil)' };
    const config = { ...DEFAULT_CONFIG, dataset: { ...DEFAULT_CONFIG.dataset, path: '/x' } };
    const last = { pairs: '[p](http://evil)', pairsSource: '![](http://evil/y.png)', imageSizes: [{ width: '<img src=x>', height: 1, count: 1 }] } as never;
    assertInert(render(datasetTooltip(summary, config, last)));
    assertInert(render(datasetTooltip({ ...summary, error: 'cannot read [x](http://evil)\n# h' }, config)));
  });
});
