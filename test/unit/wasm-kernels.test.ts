import { strict as assert } from 'node:assert';
import * as tf from '../../src/trainer/tf';
import { Rng } from '../../src/trainer/rng';
import { selfCheck } from '../../src/trainer/backend';

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

describe('composed Conv2D gradient kernels on wasm', () => {
  after(() => tf.setBackend('wasm'));

  it('match the cpu backend on random shapes, strides 1 and 2, same and valid padding', async () => {
    const rng = new Rng(5);
    const seen = new Set<string>();
    for (let trial = 0; trial < 48; trial++) {
      const c: Case = {
        n: 1 + rng.int(3),
        h: 4 + rng.int(9),
        w: 4 + rng.int(9),
        cin: 1 + rng.int(4),
        cout: 1 + rng.int(5),
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
