// Regenerates contributes.configuration in package.json from the settings table (src/core/settings.ts):
// package.json names each text (%config.<key>.description%, %config.<key>.enum.<choice>%) and
// package.nls.json holds the English (a translation is a package.nls.<language>.json).
//   npx tsx scripts/sync-settings.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { SETTINGS } from '../src/core/settings';
import { SLURM_SETTINGS } from '../src/core/slurm';
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const nls = JSON.parse(readFileSync('package.nls.json', 'utf8')) as Record<string, string>;
for (const key of Object.keys(nls)) if (key.startsWith('config.')) delete nls[key];
/** Puts `text` in package.nls.json under `key` and returns the placeholder package.json holds instead. */
const localized = (key: string, text: string) => ((nls[key] = text), `%${key}%`);
const properties: Record<string, unknown> = {};
SETTINGS.forEach((s, i) => {
  const p: Record<string, unknown> = {
    type: s.kind === 'integer' ? 'integer' : s.kind === 'number' ? 'number' : s.kind === 'boolean' ? 'boolean' : s.kind === 'enum' ? typeof s.options![0] === 'number' ? 'integer' : 'string' : 'string',
    default: s.default,
    markdownDescription: localized(`config.${s.key}.description`, s.description),
    order: i,
  };
  if (s.options) p.enum = s.options;
  if (s.optionDescriptions) p.enumDescriptions = s.optionDescriptions.map((d, k) => localized(`config.${s.key}.enum.${s.options?.[k]}`, d));
  if (s.min !== undefined) { if (s.exclusiveMin) p.exclusiveMinimum = s.min; else p.minimum = s.min; }
  if (s.max !== undefined) p.maximum = s.max;
  // nodePath picks the executable a run starts: only the user's own (machine) settings may set it, never a workspace's.
  if (s.kind === 'folder' || s.kind === 'file') p.scope = s.key === 'nodePath' ? 'machine' : 'resource';
  properties[`l2softmax.${s.key}`] = p;
});
SLURM_SETTINGS.forEach((s, i) => {
  const p: Record<string, unknown> = { type: s.type, default: s.default, markdownDescription: localized(`config.${s.key}.description`, s.description), order: SETTINGS.length + i };
  if (s.minimum !== undefined) p.minimum = s.minimum;
  if (s.option === 'setup') p.editPresentation = 'multilineText';
  // Where Node.js and the modules are differs per machine (a login node over Remote-SSH).
  if (s.option === 'nodePath' || s.option === 'setup') p.scope = 'machine-overridable';
  properties[`l2softmax.${s.key}`] = p;
});
pkg.contributes.configuration = { title: localized('configuration.title', 'L2-Softmax Lab'), properties };
writeFileSync('package.json', JSON.stringify(pkg, null, 2) + '\n');
writeFileSync('package.nls.json', JSON.stringify(nls, null, 2) + '\n');
