import { strict as assert } from 'node:assert';
import * as tf from '../../src/trainer/tf';
import { Rng } from '../../src/trainer/data/rng';
import { selfCheck } from '../../src/trainer/backend/select';
import { disableSimdKernels, enableSimdKernels, simdKernelsEnabled } from '../../src/trainer/backend/wasm-kernels';

// Every wasm test runs twice: with our SIMD kernels (the default) and with the
// composed fallbacks used where those cannot load or the shapes do not suit them.
const MODES = [
  { name: 'SIMD kernels', enter: () => enableSimdKernels() },
  { name: 'composed kernels', enter: () => disableSimdKernels() },
];

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  fh: number;
  fw: number;
  stride: 1 | 2;
  pad: 'same' | 'valid';
}

async function grads(backend: string, c: Case, xv: Float32Array, fv: Float32Array, dyScale: Float32Array | null) {
  await tf.setBackend(backend);
  const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.cin]);
  const f = tf.tensor4d(fv, [c.fh, c.fw, c.cin, c.cout]);
  const g = tf.grads((a, b) => {
    const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
    // A random upstream gradient, so every output position is weighted differently.
    return tf.sum(tf.mul(y, dyScale ? tf.tensor(dyScale, y.shape) : tf.onesLike(y)));
  });
  const [gx, gf] = g([x, f]);
  const out = [await gx.data(), await gf.data()] as Float32Array[];
  tf.dispose([x, f, gx, gf]);
  return out;
}

function outSize(c: Case, size: number, filter: number): number {
  return c.pad === 'same' ? Math.ceil(size / c.stride) : Math.floor((size - filter) / c.stride) + 1;
}

for (const mode of MODES) {
  describe(`Conv2D gradients on wasm, ${mode.name}`, () => {
    before(mode.enter);
    after(() => tf.setBackend('wasm'));

    it('match the cpu backend on random shapes, strides 1 and 2, same and valid padding', async () => {
      const rng = new Rng(5);
      const seen = new Set<string>();
      for (let trial = 0; trial < 64; trial++) {
        const c: Case = {
          n: 1 + rng.int(3),
          h: 4 + rng.int(9),
          w: 4 + rng.int(9),
          // Channel counts the SIMD kernels take (multiples of 4, in blocks of 4 and 8) and ones they leave to the fallbacks.
          cin: (trial >> 2) % 2 ? 4 * (1 + rng.int(3)) : 1 + rng.int(9),
          cout: trial % 3 ? 4 * (1 + rng.int(4)) : 1 + rng.int(5),
          fh: 1,
          fw: 1,
          stride: trial % 2 ? 2 : 1,
          pad: trial % 4 < 2 ? 'same' : 'valid',
        };
        c.fh = 1 + rng.int(Math.min(c.h, 5));
        c.fw = 1 + rng.int(Math.min(c.w, 5));
        seen.add(`${c.stride}/${c.pad}`);
        const xv = Float32Array.from({ length: c.n * c.h * c.w * c.cin }, () => rng.normal());
        const fv = Float32Array.from({ length: c.fh * c.fw * c.cin * c.cout }, () => rng.normal());
        const dy = Float32Array.from({ length: c.n * outSize(c, c.h, c.fh) * outSize(c, c.w, c.fw) * c.cout }, () => rng.normal());
        const want = await grads('cpu', c, xv, fv, dy);
        const got = await grads('wasm', c, xv, fv, dy);
        for (let k = 0; k < 2; k++) {
          assert.equal(got[k].length, want[k].length);
          for (let i = 0; i < want[k].length; i++) {
            const err = Math.abs(got[k][i] - want[k][i]) / (1 + Math.abs(want[k][i]));
            assert.ok(err < 1e-4, `${k ? 'filter' : 'input'} gradient differs (${err}) for ${JSON.stringify(c)}`);
          }
        }
      }
      assert.equal(seen.size, 4);
    });

    it('free their intermediate buffers', async () => {
      await tf.setBackend('wasm');
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const run = () => {
        const x = tf.randomNormal([2, 9, 9, 3]) as tf.Tensor4D;
        const f = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
        const [gx, gf] = tf.grads((a, b) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, f]);
        tf.dispose([x, f, gx, gf]);
      };
      run();
      const before = backend.numDataIds();
      for (let i = 0; i < 5; i++) run();
      assert.equal(backend.numDataIds(), before);
    });

    it('pass the startup self-check', async () => {
      await tf.setBackend('wasm');
      assert.ok((await selfCheck()) < 1e-4);
      assert.equal(tf.getBackend(), 'wasm');
    });
  });

  describe(`wasm kernels match the cpu backend, ${mode.name}`, () => {
    before(mode.enter);
    after(() => tf.setBackend('wasm'));

    async function onBoth<T extends tf.Tensor[]>(f: () => T): Promise<[Float32Array[], Float32Array[]]> {
      const out: Float32Array[][] = [];
      for (const b of ['cpu', 'wasm']) {
        await tf.setBackend(b);
        const ts = f();
        out.push(await Promise.all(ts.map(async (t) => (await t.data()) as Float32Array)));
        tf.dispose(ts);
      }
      return [out[0], out[1]];
    }

    function close(a: Float32Array[], b: Float32Array[], what: string, tol = 1e-4) {
      a.forEach((x, k) => {
        assert.equal(x.length, b[k].length);
        x.forEach((v, i) => assert.ok(Math.abs(v - b[k][i]) <= tol * (1 + Math.abs(v)), `${what}[${k}][${i}]: ${v} vs ${b[k][i]}`));
      });
    }

    it('MaxPoolGrad: random shapes, windows 2 and 3, strides 1 and 2, both paddings, tied maxima', async () => {
      const rng = new Rng(21);
      for (let trial = 0; trial < 32; trial++) {
        // The last eight are the exact 2x2 / stride-2 tiling the nets use (its own fast path).
        const tiling = trial >= 24;
        const [n, h, w, c] = tiling ? [2, 2 * (2 + rng.int(4)), 2 * (2 + rng.int(4)), 1 + rng.int(12)] : [1 + rng.int(3), 3 + rng.int(8), 3 + rng.int(8), 1 + rng.int(6)];
        const size = tiling ? 2 : 2 + (trial % 2);
        const stride = tiling ? 2 : 1 + ((trial >> 1) % 2);
        const pad = tiling ? (trial % 2 ? 'valid' : 'same') : trial % 8 < 4 ? 'valid' : 'same';
        // Whole numbers in a narrow range: many windows hold tied maxima, which must go to the first one.
        const xv = Float32Array.from({ length: n * h * w * c }, () => Math.round(rng.normal() * 1.5));
        const [want, got] = await onBoth(() => {
          const x = tf.tensor4d(xv, [n, h, w, c]);
          const g = tf.grad((t: tf.Tensor) => {
            const y = tf.maxPool(t as tf.Tensor4D, size, stride, pad);
            const weights = tf.reshape(tf.range(1, 1 + y.size), y.shape);
            return tf.sum(tf.mul(y, weights));
          });
          return [g(x)];
        });
        close(want, got, `maxPoolGrad ${JSON.stringify({ n, h, w, c, size, stride, pad })}`);
      }
    });

    it('matrix products (dense layers) with every transpose combination, with and without a bias', async () => {
      const rng = new Rng(22);
      for (const [ta, tb, wide] of [false, true].flatMap((w) => [[false, false, w], [true, false, w], [false, true, w], [true, true, w]] as const)) {
        const [m, k, n] = [1 + rng.int(40), 1 + rng.int(70), wide ? 4 * (1 + rng.int(8)) : 1 + rng.int(30)];
        const av = Float32Array.from({ length: m * k }, () => rng.normal());
        const bv = Float32Array.from({ length: k * n }, () => rng.normal());
        const [want, got] = await onBoth(() => {
          const a = tf.tensor2d(av, ta ? [k, m] : [m, k]);
          const b = tf.tensor2d(bv, tb ? [n, k] : [k, n]);
          const batched = tf.matMul(tf.expandDims(a, 0), tf.expandDims(b, 0), ta, tb);
          const bias = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => Math.cos(i)));
          const scalarBias = tf.tensor1d([0.5]);
          return [tf.matMul(a, b, ta, tb), batched, tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias }), tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias: scalarBias })];
        });
        close(want, got, `matMul ta=${ta} tb=${tb}`);
      }
    });

    // Without our kernels this is the stock XNNPACK Conv2D, which is wrong for
    // 1 x N filters at stride 2 with 'same' padding (the first case below).
    (mode.name === 'SIMD kernels' ? it : it.skip)('Conv2D forward: random shapes and filters, strides 1 and 2, both paddings, row lengths not a multiple of 4', async () => {
      const rng = new Rng(23);
      for (let trial = 0; trial < 32; trial++) {
        const [n, h, w, cin] = trial ? [1 + rng.int(3), 3 + rng.int(10), 3 + rng.int(10), 1 + rng.int(9)] : [2, 6, 10, 1];
        const cout = trial % 4 ? 4 * (1 + rng.int(4)) : 1 + rng.int(6);
        const [fh, fw] = trial ? [1 + rng.int(Math.min(h, 4)), 1 + rng.int(Math.min(w, 4))] : [1, 4];
        const stride = trial % 2 || !trial ? 2 : 1;
        const pad = trial % 3 || !trial ? 'same' : 'valid';
        const xv = Float32Array.from({ length: n * h * w * cin }, () => rng.normal());
        const fv = Float32Array.from({ length: fh * fw * cin * cout }, () => rng.normal());
        const [want, got] = await onBoth(() => [tf.conv2d(tf.tensor4d(xv, [n, h, w, cin]), tf.tensor4d(fv, [fh, fw, cin, cout]), stride, pad)]);
        close(want, got, `conv2d ${JSON.stringify({ n, h, w, cin, cout, fh, fw, stride, pad })}`);
      }
    });

    it('3x3 stride-1 convolutions on even sizes (Winograd with our kernels) and their gradients', async () => {
      const rng = new Rng(25);
      for (let trial = 0; trial < 12; trial++) {
        const [n, h, w] = [1 + rng.int(3), 2 * (1 + rng.int(6)) + (trial % 4 === 3 ? 2 : 0), 2 * (1 + rng.int(6)) + (trial % 4 === 3 ? 2 : 0)];
        const [cin, cout] = [4 * (1 + rng.int(4)), 4 * (1 + rng.int(5))];
        const pad = trial % 4 === 3 ? 'valid' : 'same';
        const xv = Float32Array.from({ length: n * h * w * cin }, () => rng.normal());
        const fv = Float32Array.from({ length: 9 * cin * cout }, () => rng.normal());
        const [want, got] = await onBoth(() => {
          const x = tf.tensor4d(xv, [n, h, w, cin]);
          const f = tf.tensor4d(fv, [3, 3, cin, cout]);
          const y = tf.conv2d(x, f, 1, pad);
          const weights = tf.sin(tf.reshape(tf.range(0, y.size), y.shape));
          const [gx, gf] = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad), weights)))([x, f]);
          return [y, gx, gf];
        });
        close(want, got, `3x3 conv ${JSON.stringify({ n, h, w, cin, cout, pad })}`, 2e-4);
      }
    });

    it('Sum over leading axes (bias gradients), with and without keepDims, and over other axes', async () => {
      const rng = new Rng(24);
      for (const [shape, axis, keepDims] of [
        [[5, 7, 3, 16], [0, 1, 2], false],
        [[4, 6, 6, 20], [2, 1, 0], true],
        [[33, 12], 0, false],
        [[9, 5, 7], [0, 1], false],
        [[6, 5, 8], [1, 2], false],
        [[6, 5, 8], [0, 2], true],
        [[6, 5, 8], undefined, false],
      ] as [number[], number | number[] | undefined, boolean][]) {
        const xv = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
        const [want, got] = await onBoth(() => {
          const s = tf.sum(tf.tensor(xv, shape), axis, keepDims);
          return [s, tf.tensor(s.shape)];
        });
        close(want, got, `sum ${JSON.stringify({ shape, axis, keepDims })}`, 1e-5);
      }
    });

    it(`runs with the ${mode.name}`, () => {
      assert.equal(simdKernelsEnabled(), mode.name === 'SIMD kernels');
    });
  });
}

after(() => enableSimdKernels());
