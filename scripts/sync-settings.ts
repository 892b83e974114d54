// Regenerates contributes.configuration in package.json from the settings table (src/core/settings.ts).
//   npx tsx scripts/sync-settings.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { SETTINGS } from '../src/core/settings';
import { SLURM_SETTINGS } from '../src/core/slurm';
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const properties: Record<string, unknown> = {};
SETTINGS.forEach((s, i) => {
  const p: Record<string, unknown> = {
    type: s.kind === 'integer' ? 'integer' : s.kind === 'number' ? 'number' : s.kind === 'boolean' ? 'boolean' : s.kind === 'enum' ? typeof s.options![0] === 'number' ? 'integer' : 'string' : 'string',
    default: s.default,
    markdownDescription: s.description,
    order: i,
  };
  if (s.options) p.enum = s.options;
  if (s.optionDescriptions) p.enumDescriptions = s.optionDescriptions;
  if (s.min !== undefined) { if (s.exclusiveMin) p.exclusiveMinimum = s.min; else p.minimum = s.min; }
  if (s.max !== undefined) p.maximum = s.max;
  // nodePath picks the executable a run starts: only the user's own (machine) settings may set it, never a workspace's.
  if (s.kind === 'folder' || s.kind === 'file') p.scope = s.key === 'nodePath' ? 'machine' : 'resource';
  properties[`l2softmax.${s.key}`] = p;
});
SLURM_SETTINGS.forEach((s, i) => {
  const p: Record<string, unknown> = { type: s.type, default: s.default, markdownDescription: s.description, order: SETTINGS.length + i };
  if (s.minimum !== undefined) p.minimum = s.minimum;
  if (s.option === 'setup') p.editPresentation = 'multilineText';
  // Where Node.js and the modules are differs per machine (a login node over Remote-SSH).
  if (s.option === 'nodePath' || s.option === 'setup') p.scope = 'machine-overridable';
  properties[`l2softmax.${s.key}`] = p;
});
pkg.contributes.configuration = { title: 'L2-Softmax Lab', properties };
writeFileSync('package.json', JSON.stringify(pkg, null, 2) + '\n');
