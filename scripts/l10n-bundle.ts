// Writes l10n/bundle.l10n.json: every message the extension passes to vscode.l10n.t
// (English, keyed by itself), the file a translator copies to bundle.l10n.<language>.json.
// package.json's own texts are in package.nls.json (scripts/sync-settings.ts keeps the settings').
//   npx tsx scripts/l10n-bundle.ts [--check]   (--check: exit 1 when the file is out of date)

import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
export const BUNDLE = path.join(ROOT, 'l10n', 'bundle.l10n.json');
/** A call with a literal message: vscode.l10n.t('...' or "...". */
const CALL = /vscode\.l10n\.t\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g;

/** The messages of src/extension, sorted, unescaped as JavaScript would. */
export function extensionMessages(): string[] {
  const dir = path.join(ROOT, 'src', 'extension');
  const found = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    for (const m of readFileSync(path.join(dir, file), 'utf8').matchAll(CALL)) found.add((m[1] ?? m[2]).replace(/\\(.)/g, '$1'));
  }
  return [...found].sort();
}

export function bundleText(): string {
  return JSON.stringify(Object.fromEntries(extensionMessages().map((m) => [m, m])), null, 2) + '\n';
}

if (require.main === module) {
  const text = bundleText();
  if (process.argv.includes('--check')) {
    const current = (() => {
      try {
        return readFileSync(BUNDLE, 'utf8');
      } catch {
        return '';
      }
    })();
    if (current !== text) {
      console.error(`${path.relative(ROOT, BUNDLE)} is out of date: npx tsx scripts/l10n-bundle.ts`);
      process.exit(1);
    }
  } else {
    mkdirSync(path.dirname(BUNDLE), { recursive: true });
    writeFileSync(BUNDLE, text);
    console.log(`wrote ${path.relative(ROOT, BUNDLE)} (${extensionMessages().length} messages)`);
  }
}
