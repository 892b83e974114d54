import { strict as assert } from 'node:assert';
import { generatePairs } from '../../src/trainer/data/draw-pairs';
import { formatPairs, lfwImagePath, parsePairs } from '../../src/trainer/data/lfw-pairs';
import { parsePairsCsv } from '../../src/trainer/data/pairs-file';
import { Rng } from '../../src/trainer/data/rng';

const LFW_SAMPLE = `2\t2
Abel_Pacheco\t1\t4
Akhmed_Zakayev\t1\t3
Abdel_Madi_Shabneh\t1\tDean_Barker\t1
Abdel_Madi_Shabneh\t1\tGiancarlo_Fisichella\t1
Aaron_Peirsol\t1\t2
Aaron_Sorkin\t1\t2
AJ_Cook\t1\tMarsha_Thomason\t1
Aaron_Sorkin\t2\tFrank_Solich\t5
`;

describe('LFW pairs files', () => {
  it('parses pairs.txt: folds, matched then mismatched lines per fold', () => {
    const f = parsePairs(LFW_SAMPLE);
    assert.equal(f.folds, 2);
    assert.equal(f.perFold, 2);
    assert.equal(f.pairs.length, 8);
    assert.deepEqual(f.pairs[0], { a: { name: 'Abel_Pacheco', index: 1 }, b: { name: 'Abel_Pacheco', index: 4 }, same: true, fold: 0 });
    assert.deepEqual(f.pairs[3], { a: { name: 'Abdel_Madi_Shabneh', index: 1 }, b: { name: 'Giancarlo_Fisichella', index: 1 }, same: false, fold: 0 });
    assert.equal(f.pairs[7].fold, 1);
    assert.equal(f.pairs[7].same, false);
    assert.equal(lfwImagePath(f.pairs[7].b), 'Frank_Solich/Frank_Solich_0005.jpg');
  });

  it('parses the header-less pairsDevTrain form (a single count line)', () => {
    const f = parsePairs('1\nA 1 2\nA 1 B 1\n', 'pairsDevTrain.txt');
    assert.equal(f.folds, 1);
    assert.equal(f.pairs.length, 2);
  });

  it('round-trips generated pairs through pairs.txt', () => {
    const ids = Array.from({ length: 40 }, (_, i) => ({ name: `Person_${i}`, count: 2 + (i % 5) }));
    const file = generatePairs(ids, 10, 12, new Rng(1));
    const back = parsePairs(formatPairs(file));
    assert.deepEqual(back, file);
    assert.ok(formatPairs(file).startsWith('10\t12\n'));
  });

  it('generates balanced, identity-disjoint folds without repeated pairs', () => {
    const ids = Array.from({ length: 60 }, (_, i) => ({ name: `P${i}`, count: 10 }));
    const file = generatePairs(ids, 10, 30, new Rng(2));
    const keys = new Set(file.pairs.map((p) => [`${p.a.name}/${p.a.index}`, `${p.b.name}/${p.b.index}`].sort().join('|')));
    assert.equal(keys.size, file.pairs.length);
    const foldOf = new Map<string, number>();
    for (const p of file.pairs) {
      if (p.same) assert.notEqual(p.a.index, p.b.index);
      else assert.notEqual(p.a.name, p.b.name);
      for (const name of [p.a.name, p.b.name]) {
        if (foldOf.has(name)) assert.equal(foldOf.get(name), p.fold, `${name} appears in two folds`);
        foldOf.set(name, p.fold);
      }
    }
    for (let f = 0; f < 10; f++) {
      assert.equal(file.pairs.filter((p) => p.fold === f && p.same).length, 30);
      assert.equal(file.pairs.filter((p) => p.fold === f && !p.same).length, 30);
    }
  });

  it('names the line and the problem for malformed files', () => {
    assert.throws(() => parsePairs(''), /the file is empty/);
    assert.throws(() => parsePairs('ten 300\n'), /line 1: expected a header "<folds> <pairs per fold>"/);
    assert.throws(() => parsePairs('1 1\nA 1 2\n'), /header promises 1 fold\(s\) of 1 matched \+ 1 mismatched pairs \(2 lines\) but 1 pair lines follow/);
    assert.throws(() => parsePairs('1 1\nA 1 2 3\nA 1 B 1\n'), /line 2: a matched pair needs 3 fields/);
    assert.throws(() => parsePairs('1 1\nA 1 2\nA 1 B\n'), /line 3: a mismatched pair needs 4 fields/);
    assert.throws(() => parsePairs('1 1\nA 0 2\nA 1 B 1\n'), /line 2: "0" is not an image number/);
  });

  describe('CSV pairs', () => {
    const rows = (n: number, same: (k: number) => boolean, fold?: (k: number) => number) =>
      Array.from({ length: n }, (_, k) => `p${k}/a.png,p${k}/b.png,${same(k) ? 1 : 0}${fold ? `,${fold(k)}` : ''}`);
    const count = (pairs: { same: boolean; fold: number }[], fold: number, same: boolean) => pairs.filter((p) => p.fold === fold && p.same === same).length;

    it('stratifies the ten folds: a file sorted by label gives every fold a tenth of each kind', () => {
      const pairs = parsePairsCsv(['path1,path2,same', ...rows(100, (k) => k < 40)].join('\n'), 'sorted.csv');
      for (let f = 0; f < 10; f++) {
        assert.equal(count(pairs, f, true), 4, `fold ${f} matched`);
        assert.equal(count(pairs, f, false), 6, `fold ${f} mismatched`);
      }
    });

    it('takes the folds from a fourth column when there is one', () => {
      const pairs = parsePairsCsv(['path1,path2,same,fold', ...rows(12, (k) => k % 2 === 0, (k) => Math.floor(k / 4))].join('\n'), 'folds.csv');
      assert.deepEqual(pairs.map((p) => p.fold), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
      const noHeader = parsePairsCsv(rows(4, (k) => k < 2, (k) => (k % 2) + 5).join('\n'), 'folds.csv');
      assert.deepEqual(noHeader.map((p) => p.fold), [5, 6, 5, 6]);
    });

    it('refuses a fold column with one fold, a fold that is not a whole number, and rows of mixed widths', () => {
      assert.throws(() => parsePairsCsv(rows(4, (k) => k < 2, () => 0).join('\n'), 'one.csv'), /one\.csv: the fold column names one fold/);
      assert.throws(() => parsePairsCsv(rows(4, (k) => k < 2, (k) => (k ? 1.5 : 0)).join('\n'), 'bad.csv'), /bad\.csv, line 2: the fold must be a whole number, got "1\.5"/);
      assert.throws(() => parsePairsCsv([...rows(2, () => true, () => 1), 'x/a.png,x/b.png,0'].join('\n'), 'mixed.csv'), /mixed\.csv, line 3: a pair needs 3 fields .* as many as the first pair \(4\); got 3/);
    });
  });
});
