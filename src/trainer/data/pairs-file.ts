// Verification pairs from a user's file, resolved to image files on disk:
// LFW pairs.txt (and the header-less pairsDevTrain/pairsDevTest form), whose
// "name 3" means <images>/name/name_0003.<ext>, or a CSV "path1,path2,same[,fold]".

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TrainerError } from '../errors';
import { isImageFile } from './image-folder';
import { isInside } from './paths';
import { PairsFormatError, parsePairs, type PairsFile } from './lfw-pairs';

export interface ResolvedPairs {
  /** Every image the pairs use, once. */
  files: string[];
  a: Int32Array;
  b: Int32Array;
  same: Uint8Array;
  fold: Int32Array;
  folds: number;
  /** The folder the images were found in. */
  imagesRoot: string;
  /** The pairs in LFW form (CSV pairs are written with their paths as names). */
  lfw?: PairsFile;
}

interface RawPair {
  a: string | { name: string; index: number };
  b: string | { name: string; index: number };
  same: boolean;
  fold: number;
  line: number;
}

const TRUE = new Set(['1', 'true', 'yes', 'same', 'match', 'matched']);
const FALSE = new Set(['0', 'false', 'no', 'different', 'mismatch', 'mismatched']);
export const CSV_FOLDS = 10;

function fail(message: string): never {
  throw new TrainerError('dataset', message);
}

/**
 * CSV rows "path1,path2,same[,fold]" (an optional header line). A fourth column
 * gives each pair's fold (whole numbers). Without it the folds are stratified:
 * matched and mismatched pairs are each dealt round-robin into ten folds, so
 * every fold holds a tenth of each whatever the row order (a file sorted by
 * label would otherwise give folds of one kind).
 */
export function parsePairsCsv(text: string, file: string): RawPair[] {
  const rows = text
    .split(/\r?\n/)
    .map((l, i) => ({ line: i + 1, fields: l.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1')) }))
    .filter((r) => r.fields.some((f) => f));
  if (!rows.length) fail(`${file}: the file is empty`);
  // A header names columns, not image files.
  if (CSV_COLUMNS.includes(rows[0].fields.length) && !isImageFile(path.basename(rows[0].fields[0]))) rows.shift();
  if (!rows.length) fail(`${file}: the file has a header but no pairs`);
  const columns = rows[0].fields.length;
  const pairs = rows.map((r) => {
    if (r.fields.length !== columns || !CSV_COLUMNS.includes(columns)) {
      fail(`${file}, line ${r.line}: a pair needs 3 fields "path1,path2,same", or 4 with a fold, as many as the first pair (${columns}); got ${r.fields.length}`);
    }
    const flag = r.fields[2].toLowerCase();
    if (!TRUE.has(flag) && !FALSE.has(flag)) fail(`${file}, line ${r.line}: the third field must be 1/0 (or true/false), got "${r.fields[2]}"`);
    const fold = columns === 4 ? foldField(r.fields[3], file, r.line) : 0;
    return { a: r.fields[0], b: r.fields[1], same: TRUE.has(flag), fold, line: r.line };
  });
  if (columns === 3) stratifyFolds(pairs, CSV_FOLDS);
  else if (new Set(pairs.map((p) => p.fold)).size < 2) fail(`${file}: the fold column names one fold; the 10-fold protocol needs at least two`);
  return pairs;
}

/** A CSV row has 3 fields (path1, path2, same) or 4 (and fold). */
const CSV_COLUMNS = [3, 4];

function foldField(text: string, file: string, line: number): number {
  if (!/^\d+$/.test(text)) fail(`${file}, line ${line}: the fold must be a whole number, got "${text}"`);
  return Number(text);
}

/** Deals matched and mismatched pairs, each in file order, round-robin into `folds` folds. */
export function stratifyFolds(pairs: { same: boolean; fold: number }[], folds: number): void {
  let matched = 0;
  let mismatched = 0;
  for (const p of pairs) p.fold = (p.same ? matched++ : mismatched++) % folds;
}

/** name_0003 -> file, per identity folder, listed on first use. */
class LfwLookup {
  private readonly dirs = new Map<string, Map<string, string> | null>();
  constructor(readonly root: string) {}

  async find(name: string, index: number): Promise<{ file?: string; why?: string }> {
    let files = this.dirs.get(name);
    if (files === undefined) {
      files = null;
      try {
        const list = (await fs.readdir(path.join(this.root, name))).filter(isImageFile);
        files = new Map(list.map((f) => [path.basename(f, path.extname(f)), path.join(this.root, name, f)]));
      } catch {
        // no such identity folder
      }
      this.dirs.set(name, files);
    }
    const stem = `${name}_${String(index).padStart(4, '0')}`;
    if (!files) return { why: `${name}/ (no such identity folder)` };
    const hit = files.get(stem);
    if (hit) return { file: hit };
    return { why: files.size < index ? `${name}/${stem} (image ${index} is out of range: ${name} has ${files.size} image(s))` : `${name}/${stem}.* (missing)` };
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** An LFW identity name must name one folder: no separators, not "." or "..". */
function isFolderName(name: string): boolean {
  return name !== '.' && name !== '..' && !/[\\/]/.test(name);
}

interface Resolution {
  paths: [string, string][];
  /** "line N: what" for images that do not exist. */
  missing: string[];
  /** "line N: what" for images outside the folder (unless allowed). */
  outside: string[];
}

async function resolveIn(root: string, raw: RawPair[], allowOutside: boolean): Promise<Resolution> {
  const lookup = new LfwLookup(root);
  const realRoot = await fs.realpath(root).catch(() => root);
  const missing: string[] = [];
  const outside: string[] = [];
  const paths: [string, string][] = [];
  /** Where an existing image really is, when that is outside the folder (a link leading out). */
  const leadsOut = async (p: string): Promise<string | undefined> => {
    if (allowOutside) return undefined;
    const real = await fs.realpath(p).catch(() => p);
    return isInside(realRoot, real) ? undefined : real;
  };
  const one = async (ref: RawPair['a'], line: number): Promise<string> => {
    let p: string | undefined;
    if (typeof ref === 'string') {
      p = path.resolve(root, ref);
      if (!allowOutside && !isInside(root, p)) {
        outside.push(`line ${line}: ${ref}`);
        return '';
      }
      if (!(await exists(p))) {
        missing.push(`line ${line}: ${ref}`);
        return '';
      }
    } else {
      if (!allowOutside && !isFolderName(ref.name)) {
        outside.push(`line ${line}: ${ref.name} (not a folder name)`);
        return '';
      }
      const r = await lookup.find(ref.name, ref.index);
      if (!r.file) {
        missing.push(`line ${line}: ${r.why}`);
        return '';
      }
      p = r.file;
    }
    const real = await leadsOut(p);
    if (real) {
      outside.push(`line ${line}: ${path.relative(root, p)} (a link to ${real})`);
      return '';
    }
    return p;
  };
  for (const p of raw) paths.push([await one(p.a, p.line), await one(p.b, p.line)]);
  return { paths, missing, outside };
}

/** "line 2: x; line 5: y; and 3 more" */
function listSome(items: string[], shown = 5): string {
  return `${items.slice(0, shown).join('; ')}${items.length > shown ? `; and ${items.length - shown} more` : ''}`;
}

export interface PairsOptions {
  /** Let pairs name images outside the images folder (absolute paths, "..", links leading out). */
  allowOutside?: boolean;
}

/**
 * Reads and resolves a pairs file. Images are looked up in `imagesFolder` when
 * given, else in the pairs file's folder, then in the training folder.
 */
export async function loadPairsFile(file: string, imagesFolder: string, trainingFolder: string, options: PairsOptions = {}): Promise<ResolvedPairs> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`Pairs file ${file} does not exist. Set the pairs file to an LFW pairs.txt (or a CSV path1,path2,same), or clear it to draw pairs from held-out identities.`);
    if (code === 'EISDIR') fail(`Pairs file ${file} is a folder; point it at the pairs.txt file.`);
    fail(`Pairs file ${file} cannot be read: ${(err as Error).message}`);
  }
  let raw: RawPair[];
  let lfw: PairsFile | undefined;
  const name = path.basename(file);
  const csv = path.extname(file).toLowerCase() === '.csv' || /^[^\n]*,[^\n]*,/.test(text);
  if (csv) raw = parsePairsCsv(text, name);
  else {
    try {
      lfw = parsePairs(text, name);
    } catch (err) {
      if (err instanceof PairsFormatError) fail(`Pairs file ${err.message}`);
      throw err;
    }
    const bodyLines = text.split(/\r?\n/).map((l, i) => ({ l, i: i + 1 })).filter((x) => x.l.trim()).slice(1);
    raw = lfw.pairs.map((p, k) => ({ a: p.a, b: p.b, same: p.same, fold: p.fold, line: bodyLines[k].i }));
  }
  const roots = imagesFolder ? [imagesFolder] : [...new Set([path.dirname(path.resolve(file)), trainingFolder].filter(Boolean))];
  let best: (Resolution & { root: string }) | undefined;
  const failures = (r: Resolution) => r.missing.length + r.outside.length;
  for (const root of roots) {
    const r = await resolveIn(root, raw, options.allowOutside ?? false);
    if (!best || failures(r) < failures(best)) best = { root, ...r };
    if (!failures(r)) break;
  }
  if (!best) fail(`Pairs file ${file}: no folder to look for its images in; set the pairs images folder (setting l2softmax.pairsImagesFolder, --pairs-images).`);
  if (best.outside.length) {
    fail(
      `Pairs file ${name}: ${best.outside.length} image reference(s) lead outside the pairs images folder ${best.root}: ${listSome(best.outside)}. ` +
        'Keep the pairs\' images inside that folder, or allow this with the setting l2softmax.allowPairsOutsideFolder (--allow-pairs-outside-folder).',
    );
  }
  if (best.missing.length) {
    const pairsMissing = new Set(best.missing.map((m) => m.split(':')[0])).size;
    fail(
      `Pairs file ${name}: ${pairsMissing} of ${raw.length} pairs name images that are not in ${best.root}: ` +
        `${listSome(best.missing)}. ` +
        'Set the pairs images folder to where those images are (setting l2softmax.pairsImagesFolder, --pairs-images).',
    );
  }
  const files: string[] = [];
  const at = new Map<string, number>();
  const idx = (p: string) => {
    let i = at.get(p);
    if (i === undefined) {
      i = files.length;
      files.push(p);
      at.set(p, i);
    }
    return i;
  };
  const n = raw.length;
  const out: ResolvedPairs = { files, a: new Int32Array(n), b: new Int32Array(n), same: new Uint8Array(n), fold: new Int32Array(n), folds: 0, imagesRoot: best.root, lfw };
  best.paths.forEach(([pa, pb], k) => {
    out.a[k] = idx(pa);
    out.b[k] = idx(pb);
    out.same[k] = raw[k].same ? 1 : 0;
    out.fold[k] = raw[k].fold;
  });
  out.folds = new Set(raw.map((r) => r.fold)).size;
  if (out.folds < 2) {
    // One block (pairsDevTest-style): stratified folds, as for CSV pairs.
    stratifyFolds(raw, CSV_FOLDS);
    raw.forEach((r, k) => (out.fold[k] = r.fold));
    out.folds = new Set(out.fold).size;
  }
  if (!raw.some((r) => r.same) || !raw.some((r) => !r.same)) fail(`Pairs file ${name} needs both matched and mismatched pairs.`);
  return out;
}
