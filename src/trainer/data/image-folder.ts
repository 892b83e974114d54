// Reads an ImageFolder tree: root/<identity>/<image>, the layout CASIA-WebFace,
// VGGFace2 and LFW are distributed in. Lists files only; decoding is decode-cache.ts.

import { promises as fs, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { IMAGE_EXTENSIONS, isImageFile } from '../../shared/images';
import { TrainerError } from '../errors';
import { isInside } from './paths';

// Files with other extensions (.txt, Thumbs.db) are ignored.
export { IMAGE_EXTENSIONS, isImageFile } from '../../shared/images';

export interface Identity {
  name: string;
  /** Absolute paths, sorted. */
  files: string[];
}

export interface FolderListing {
  root: string;
  identities: Identity[];
  /** Identities left out for having fewer than the minimum number of images. */
  skipped: Identity[];
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function fail(message: string): never {
  throw new TrainerError('dataset', message);
}

function describeFsError(err: unknown, what: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ELOOP':
      return `${what} is a symbolic link that points back into itself (a symlink loop); remove or fix the link`;
    case 'EACCES':
    case 'EPERM':
      return `${what} cannot be read (permission denied); fix its permissions or remove it`;
    case 'ENOENT':
      return `${what} does not exist (a broken symbolic link?)`;
    default:
      return `${what} cannot be read: ${(err as Error).message}`;
  }
}

/** Follows symlinks; a loop or an unreadable entry is an error naming the path. */
async function statEntry(p: string, rootForMessages: string): Promise<'dir' | 'file' | 'other'> {
  try {
    const st = await fs.stat(p);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (err) {
    fail(describeFsError(err, path.relative(rootForMessages, p) || p));
  }
}

/**
 * A symbolic link in a dataset is followed only inside the dataset folder
 * (`realRoot`, links resolved): a committed link must not pull in files from
 * elsewhere, and one back to the folder itself would list it as an identity.
 */
async function statLink(p: string, root: string, realRoot: string): Promise<'dir' | 'file' | 'other'> {
  const kind = await statEntry(p, root);
  const label = path.relative(root, p);
  const target = await fs.realpath(p).catch((err) => fail(describeFsError(err, label)));
  if (!isInside(realRoot, target)) {
    fail(`${label} is a symbolic link to ${target}, outside the dataset folder ${root}: links are followed only inside it. Move or copy what it points to into the dataset folder.`);
  }
  if (target === realRoot) fail(`${label} is a symbolic link back to the dataset folder ${root} (a loop); remove it.`);
  return kind;
}

async function readDir(dir: string, label: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    fail(describeFsError(err, label));
  }
}

/** Lists the identities of an ImageFolder root, in a stable (code point) order. */
export async function listImageFolder(root: string, minImages: number): Promise<FolderListing> {
  const abs = path.resolve(root);
  let st;
  try {
    st = await fs.stat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      fail(`Dataset folder ${abs} does not exist. Set the dataset folder to an ImageFolder root (root/<identity>/<image>), or clear it to train on the built-in synthetic faces.`);
    }
    fail(describeFsError(err, `Dataset folder ${abs}`));
  }
  if (!st.isDirectory()) fail(`Dataset folder ${abs} is a file, not a folder: point it at the folder that holds one sub-folder per identity.`);
  const realRoot = await fs.realpath(abs);
  const kindOf = (e: Dirent, p: string) => (e.isSymbolicLink() ? statLink(p, abs, realRoot) : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other');
  const entries = (await readDir(abs, `Dataset folder ${abs}`)).filter((e) => !e.name.startsWith('.'));
  if (!entries.length) fail(`Dataset folder ${abs} is empty: it needs one sub-folder per identity holding that identity's images (root/<identity>/<image>).`);
  const all: Identity[] = [];
  let looseImages = 0;
  for (const e of entries.sort((a, b) => byCodePoint(a.name, b.name))) {
    const p = path.join(abs, e.name);
    const kind = await kindOf(e, p);
    if (kind === 'file' && isImageFile(e.name)) looseImages++;
    if (kind !== 'dir') continue;
    const files: string[] = [];
    for (const f of (await readDir(p, `Identity folder ${path.relative(abs, p)}`)).sort((a, b) => byCodePoint(a.name, b.name))) {
      if (!isImageFile(f.name)) continue;
      const fp = path.join(p, f.name);
      if ((await kindOf(f, fp)) === 'file') files.push(fp);
    }
    all.push({ name: e.name, files });
  }
  return selectIdentities(abs, all, minImages, looseImages);
}

/**
 * Keeps the identities with at least `minImages` images; fails with a message
 * saying what the folder lacks when fewer than two are left. No file system
 * access, so it is tested with hundreds of thousands of identities in memory.
 */
export function selectIdentities(root: string, all: Identity[], minImages: number, looseImages = 0): FolderListing {
  if (!all.length) {
    fail(
      looseImages
        ? `Dataset folder ${root} holds ${looseImages} images but no identity sub-folders: put each identity's images in its own folder (root/<identity>/<image>).`
        : `Dataset folder ${root} has no identity sub-folders (expected root/<identity>/<image>).`,
    );
  }
  const withImages = all.filter((i) => i.files.length > 0);
  if (!withImages.length) {
    fail(`No images found under ${root}: its ${all.length} sub-folder(s) hold no ${IMAGE_EXTENSIONS.join('/')} files.`);
  }
  const identities = withImages.filter((i) => i.files.length >= minImages);
  const skipped = withImages.filter((i) => i.files.length < minImages);
  if (identities.length < 2) {
    const have = identities.length === 1 ? `only one identity (${identities[0].name})` : 'no identity';
    fail(
      `${root} has ${have} with at least ${minImages} image(s)${skipped.length ? ` (${skipped.length} identities have fewer and are skipped)` : ''}: ` +
        'training a classifier needs at least two identities. Add identities, or lower "min images per identity" (setting l2softmax.minImagesPerIdentity, --min-images).',
    );
  }
  return { root, identities, skipped };
}
