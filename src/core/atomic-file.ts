// Durable file writes: replace a file atomically (temp file, fsync, rename,
// fsync of the folder) so a reader sees the old or the new content, never half
// of one, and a crash or a full disk leaves no temp file behind. Also the
// user-only permissions that files and folders holding a user's data get, and
// the small questions asked of the file system around them.

import { closeSync, fstatSync, fsyncSync, openSync, readSync, readdirSync, promises as fs, renameSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/** User-only permissions for files and folders that hold a user's data (where the OS has them). */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** errno codes that mean the disk (not the program) is the problem: full, over quota, read-only, failing, file too large. */
export const DISK_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EFBIG']);

function tempName(target: string): string {
  return `${target}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
}

/** Flushes a folder's entry list (a rename is durable only then); some filesystems refuse, which is harmless. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported here (Windows, some network filesystems)
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempName(target);
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(path.dirname(target));
}

export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempName(target);
  try {
    const h = await fs.open(tmp, 'w', mode);
    try {
      await h.writeFile(data);
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(path.dirname(target));
}

/** Creates `dir` (and missing parents) user-only, and narrows an existing one to that. */
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

/** True when a file does not end with a newline: a writer killed mid-line left half of one (the next line must start fresh). */
export function endsMidLine(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** Whether `p` exists (any kind of entry). */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Removes the temp files a killed writer left in `dir` (a SIGKILL between write and rename); only for a folder's new sole writer. */
export function removeTempFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (/\.\d+\.[a-z0-9]+\.tmp$/.test(name)) rmSync(path.join(dir, name), { force: true });
}
