// Containment checks for paths that come from files anyone can commit (pairs
// files, symbolic links inside a dataset): they must stay inside the folder
// the user chose.

import * as path from 'node:path';

/** True when `p` is `root` or lies below it (both absolute; compares the paths as given, links unresolved). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
