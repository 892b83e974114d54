import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { BUNDLE, bundleText } from '../../scripts/l10n-bundle';

const ROOT = path.resolve(__dirname, '../..');

describe('localization', () => {
  it('names every text of package.json in package.nls.json', () => {
    const manifest = readFileSync(path.join(ROOT, 'package.json'), 'utf8');
    const nls = JSON.parse(readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;
    const keys = [...manifest.matchAll(/"%([^%"]+)%"/g)].map((m) => m[1]);
    assert.ok(keys.length > 100);
    for (const key of keys) assert.ok(typeof nls[key] === 'string' && nls[key].length > 0, `package.nls.json lacks ${key}`);
    const pkg = JSON.parse(manifest);
    // The palette's entry point keeps its name in the manifest itself: the project's standing rule is a
    // command titled "Start L2-Softmax Run" (the palette finds English titles in every language anyway).
    const start = pkg.contributes.commands.find((c: { command: string }) => c.command === 'l2softmax.startRun');
    assert.equal(start?.title, 'Start L2-Softmax Run');
    for (const c of pkg.contributes.commands) if (c !== start) assert.match(c.title, /^%.+%$/, `${c.command}'s title is not localizable`);
    for (const [key, p] of Object.entries(pkg.contributes.configuration.properties as Record<string, { markdownDescription: string }>)) assert.match(p.markdownDescription, /^%.+%$/, key);
  });

  it('keeps l10n/bundle.l10n.json in step with the messages of src/extension', () => {
    assert.equal(readFileSync(BUNDLE, 'utf8'), bundleText(), 'run npx tsx scripts/l10n-bundle.ts');
  });

  it('shows no message, button or dialog text to the user that does not go through vscode.l10n', () => {
    const dir = path.join(ROOT, 'src', 'extension');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const m of text.matchAll(/\.show(?:Information|Warning|Error)Message\(\s*([^\s])/g)) {
        assert.ok(!/['"`]/.test(m[1]), `${file}: a message is not localized (${text.slice(m.index, (m.index ?? 0) + 80)})`);
      }
      for (const m of text.matchAll(/\b(?:title|openLabel|saveLabel|prompt|placeHolder):\s*['"`]/g)) {
        assert.fail(`${file}: a dialog's text is not localized (${text.slice(m.index, (m.index ?? 0) + 80)})`);
      }
    }
  });
});
