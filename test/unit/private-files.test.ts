// What a run and the decode cache write is the user's only (0o700 folders,
// 0o600 files) where the OS has such permissions, and cache files are replaced
// durably (no temp file left, old content intact when a write fails).
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../../src/core/run-store';
import { DEFAULT_CONFIG } from '../../src/shared/config';
import { makePrivateDir, PRIVATE_FILE_MODE, writeFileAtomic } from '../../src/core/atomic-file';

describe('private, durable files', function () {
  let tmp: string;
  before(function () {
    if (process.platform === 'win32') this.skip();
    tmp = mkdtempSync(path.join(tmpdir(), 'l2sm-private-'));
  });
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('run folders are created user-only', async () => {
    const store = new RunStore(path.join(tmp, 'runs'));
    const record = await store.create(DEFAULT_CONFIG, 'private');
    assert.equal(statSync(store.dir(record.id)).mode & 0o777, 0o700);
  });

  it('a private folder is created user-only, and an existing one narrowed to that', async () => {
    const open = path.join(tmp, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    await makePrivateDir(open);
    assert.equal(statSync(open).mode & 0o777, 0o700);
    await makePrivateDir(path.join(tmp, 'a', 'b'));
    assert.equal(statSync(path.join(tmp, 'a')).mode & 0o777, 0o700);
  });

  it('replaces a file user-only, and leaves no temp file behind when the write fails', async () => {
    const file = path.join(tmp, 'index.json');
    writeFileSync(file, 'old');
    await writeFileAtomic(file, 'new', PRIVATE_FILE_MODE);
    assert.equal(readFileSync(file, 'utf8'), 'new');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const blocked = path.join(tmp, 'blocked');
    mkdirSync(path.join(blocked, 'in-the-way'), { recursive: true });
    await assert.rejects(writeFileAtomic(blocked, 'x', PRIVATE_FILE_MODE));
    assert.deepEqual(readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
  });
});
