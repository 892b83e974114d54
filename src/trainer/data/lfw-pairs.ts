// LFW pairs files.
// pairs.txt (View 2): a header "<folds> <n>", then per fold n matched lines
// "name i j" followed by n mismatched lines "name1 i name2 j" (tab or space
// separated, 1-based image numbers; images live at name/name_%04d.jpg).
// pairsDevTrain.txt / pairsDevTest.txt: a single count line "n", then n matched
// and n mismatched lines (one fold).

export interface ImageRef {
  name: string;
  /** 1-based image number, as in LFW. */
  index: number;
}

export interface Pair {
  a: ImageRef;
  b: ImageRef;
  same: boolean;
  fold: number;
}

export interface PairsFile {
  folds: number;
  perFold: number;
  pairs: Pair[];
}

export class PairsFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}${line ? `, line ${line}` : ''}: ${message}`);
    this.name = 'PairsFormatError';
  }
}

/** LFW's file name of image `index` of `name`. */
export function lfwImagePath(ref: ImageRef, ext = '.jpg'): string {
  return `${ref.name}/${ref.name}_${String(ref.index).padStart(4, '0')}${ext}`;
}

function parseIndex(token: string, file: string, line: number): number {
  if (!/^\d+$/.test(token) || Number(token) < 1) {
    throw new PairsFormatError(file, line, `"${token}" is not an image number (expected a whole number from 1)`);
  }
  return Number(token);
}

export function parsePairs(text: string, file = 'pairs.txt'): PairsFile {
  const lines = text.split(/\r?\n/).map((l, i) => ({ no: i + 1, fields: l.trim().split(/\s+/).filter(Boolean) }));
  const body = lines.filter((l) => l.fields.length > 0);
  if (body.length === 0) throw new PairsFormatError(file, 0, 'the file is empty');
  const head = body[0];
  let folds: number;
  let perFold: number;
  const isCount = (s: string) => /^\d+$/.test(s) && Number(s) > 0;
  if (head.fields.length === 2 && isCount(head.fields[0]) && isCount(head.fields[1])) {
    folds = Number(head.fields[0]);
    perFold = Number(head.fields[1]);
  } else if (head.fields.length === 1 && isCount(head.fields[0])) {
    folds = 1;
    perFold = Number(head.fields[0]);
  } else {
    throw new PairsFormatError(
      file,
      head.no,
      `expected a header "<folds> <pairs per fold>" (LFW pairs.txt, e.g. "10 300") or "<pairs>" (pairsDevTrain.txt), got "${head.fields.join(' ')}"`,
    );
  }
  const expected = folds * perFold * 2;
  const rows = body.slice(1);
  if (rows.length !== expected) {
    throw new PairsFormatError(
      file,
      head.no,
      `the header promises ${folds} fold(s) of ${perFold} matched + ${perFold} mismatched pairs (${expected} lines) but ${rows.length} pair lines follow`,
    );
  }
  const pairs: Pair[] = rows.map((row, k) => {
    const fold = Math.floor(k / (2 * perFold));
    const matched = k % (2 * perFold) < perFold;
    const f = row.fields;
    if (matched) {
      if (f.length !== 3) {
        throw new PairsFormatError(file, row.no, `a matched pair needs 3 fields "name n1 n2", got ${f.length}: "${f.join(' ')}"`);
      }
      return { a: { name: f[0], index: parseIndex(f[1], file, row.no) }, b: { name: f[0], index: parseIndex(f[2], file, row.no) }, same: true, fold };
    }
    if (f.length !== 4) {
      throw new PairsFormatError(file, row.no, `a mismatched pair needs 4 fields "name1 n1 name2 n2", got ${f.length}: "${f.join(' ')}"`);
    }
    return { a: { name: f[0], index: parseIndex(f[1], file, row.no) }, b: { name: f[2], index: parseIndex(f[3], file, row.no) }, same: false, fold };
  });
  return { folds, perFold, pairs };
}

/** Writes pairs.txt; `pairs` must hold, per fold in order, perFold matched then perFold mismatched. */
export function formatPairs(file: PairsFile): string {
  const lines = [`${file.folds}\t${file.perFold}`];
  for (const p of file.pairs) {
    lines.push(p.same ? `${p.a.name}\t${p.a.index}\t${p.b.index}` : `${p.a.name}\t${p.a.index}\t${p.b.name}\t${p.b.index}`);
  }
  return lines.join('\n') + '\n';
}
