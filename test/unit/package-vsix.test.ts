import { strict as assert } from 'node:assert';
import { DAWN_FOLDERS, ignoreRules } from '../../scripts/package-vsix';

describe('platform VSIX (scripts/package-vsix.ts)', () => {
  const base = '**\n!package.json\n!node_modules/webgpu/package.json\n!node_modules/webgpu/index.js\n';
  const dawnLines = (rules: string) => rules.split('\n').filter((l) => l.startsWith('!node_modules/webgpu/dist/'));

  it("carries only the target's own dawn.node folder", () => {
    assert.deepEqual(dawnLines(ignoreRules(base, 'linux-x64')), ['!node_modules/webgpu/dist/linux-x64/**']);
    assert.deepEqual(dawnLines(ignoreRules(base, 'darwin-arm64')), ['!node_modules/webgpu/dist/darwin-universal/**']);
    assert.deepEqual(dawnLines(ignoreRules(base, 'win32-x64')), ['!node_modules/webgpu/dist/win32-x64/**']);
  });

  it('adds none for a target Dawn has no build for', () => {
    assert.equal(ignoreRules(base, 'alpine-x64'), base);
    assert.equal(DAWN_FOLDERS['alpine-x64'], undefined);
  });
});
