// Replaces a file so that a crash or power loss leaves either the old or the
// new content, never a torn mix: temp file, fsync, rename, fsync of the folder.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** User-only permissions for files that hold a user's data (where the OS has them). */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

export async function replaceFileDurably(file: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await fs.open(tmp, 'w', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncFolder(path.dirname(file));
}

/** Makes a rename in `dir` durable. Windows cannot open folders for fsync (NTFS journals renames itself). */
async function syncFolder(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` (and missing parents) readable by the user only, and narrows an existing one to that. */
export async function makePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (process.platform === 'win32') return;
  try {
    await fs.chmod(dir, PRIVATE_DIR_MODE);
  } catch (err) {
    // Someone else's folder (a shared cache set up on purpose): leave its permissions alone.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}
