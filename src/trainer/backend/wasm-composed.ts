// Training kernels for the WebAssembly backend composed from kernels it does have
// (Transpose, Reverse, PadV2, Slice, Conv2D on XNNPACK), and plain loops on its
// heap: the fallbacks where our SIMD kernels (wasm-kernels.ts) do not apply or
// could not be loaded.
//
// tfjs-backend-wasm 4.22 ships no Conv2DBackpropFilter (tfjs issue 8474), so
// training any conv net fails there, and its Conv2DBackpropInput is a naive loop.
// Both gradients are themselves convolutions:
// - filter gradient: correlate x, transposed to [Cin, H, W, N] (batch becomes
//   channels), with dy transposed to [OH, OW, N, Cout] used as the filter, at
//   stride 1 and dilation = the forward stride; result [Cin, FH, FW, Cout]
//   transposed to [FH, FW, Cin, Cout] (the identity behind torch's conv2d_weight);
// - input gradient: correlate dy with zeros inserted between its rows/columns
//   (stride - 1 of them) with the spatially reversed filter whose in/out
//   channels are swapped, padded by (filter - 1 - forward padding).

import * as tf from '../tf';

export type Info = tf.TensorInfo;
export type Backend = tf.KernelBackend & {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array;
  getMemoryOffset(dataId: object): number;
  incRef(dataId: object): void;
};

export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export class Scope {
  private readonly temps: Info[] = [];
  constructor(private readonly backend: Backend) {}

  run(kernel: string, inputs: Record<string, Info>, attrs: Record<string, unknown>): Info {
    const config = tf.getKernel(kernel, 'wasm');
    if (!config) throw new Error(`wasm backend has no ${kernel} kernel`);
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as Info;
    this.temps.push(out);
    return out;
  }

  /** A view with another shape over the same data (row-major, so free). */
  reshape(x: Info, shape: number[]): Info {
    return { dataId: x.dataId, shape, dtype: x.dtype };
  }

  /** Frees every intermediate except `keep`. */
  finish(keep: Info): Info {
    for (const t of this.temps) if (t !== keep && t.dataId !== keep.dataId) this.backend.disposeData(t.dataId);
    return keep;
  }
}

export function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs) {
  if (attrs.dataFormat && attrs.dataFormat !== 'NHWC') throw new Error('only NHWC convolutions are supported');
  const dil = attrs.dilations ?? 1;
  if ((Array.isArray(dil) ? dil : [dil, dil]).some((d) => d !== 1)) throw new Error('dilated convolution gradients are not supported');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Conv2DBackpropFilter composed from the backend's own kernels. */
export function composedFilterGrad(x: Info, dy: Info, info: tf.backend_util.Conv2DInfo, backend: Backend): Info {
  const s = new Scope(backend);
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const [n, h, w, cin] = x.shape;
  const [, oh, ow] = dy.shape;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows/columns past what the last output reads contribute nothing: drop them,
  // or pad so the correlation yields exactly fh x fw.
  let bottom = fh + (oh - 1) * sh - h - top;
  let right = fw + (ow - 1) * sw - w - left;
  let xs = x;
  if (bottom < 0 || right < 0) {
    xs = s.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [n, h + Math.min(bottom, 0), w + Math.min(right, 0), cin] });
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const xt = s.run('Transpose', { x: xs }, { perm: [3, 1, 2, 0] }); // [Cin, H, W, N]
  const dyt = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, N, Cout]
  const g = s.run(
    'Conv2D',
    { x: xt, filter: dyt },
    {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined,
    },
  ); // [Cin, FH, FW, Cout]
  return s.finish(s.run('Transpose', { x: g }, { perm: [1, 2, 0, 3] }));
}

/** Conv2DBackpropInput composed from the backend's own kernels. */
export function composedInputGrad(dy: Info, filter: Info, inputShape: number[], info: tf.backend_util.Conv2DInfo, backend: Backend): Info {
  const s = new Scope(backend);
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const [n, h, w] = inputShape;
  const [, oh, ow, cout] = dy.shape;
  let d = dy;
  if (sh > 1 || sw > 1) {
    // Insert stride-1 zeros after every row/column, then drop the trailing ones.
    const padded = s.run(
      'PadV2',
      { x: s.reshape(dy, [n, oh, 1, ow, 1, cout]) },
      { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 },
    );
    d = s.run('Slice', { x: s.reshape(padded, [n, oh * sh, ow * sw, cout]) }, {
      begin: [0, 0, 0, 0],
      size: [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, cout],
    });
  }
  const dh = (oh - 1) * sh + 1;
  const dw = (ow - 1) * sw + 1;
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const bottom = h + fh - 1 - dh - top;
  const right = w + fw - 1 - dw - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) throw new Error('unsupported padding for the composed input gradient');
  const reversed = s.run('Reverse', { x: filter }, { dims: [0, 1] });
  const flipped = s.run('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] }); // [FH, FW, Cout, Cin]
  return s.finish(
    s.run(
      'Conv2D',
      { x: d, filter: flipped },
      {
        strides: [1, 1],
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
        dataFormat: 'NHWC',
        dilations: [1, 1],
        dimRoundingMode: undefined,
      },
    ),
  );
}

export type PoolAttrs = { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

export function poolInfo(x: Info, attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

/** The common 2x2, stride-2 pool tiling its input exactly: every input is in one window. */
export function tiles2x2(info: tf.backend_util.Conv2DInfo): boolean {
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  return fh === 2 && fw === 2 && sh === 2 && sw === 2 && info.padInfo.top === 0 && info.padInfo.left === 0 && h === 2 * oh && w === 2 * ow;
}

/**
 * Max-pool gradient straight on the wasm heap: each output's upstream gradient
 * goes to the first maximum of its window (as on the cpu backend). The inner loop
 * runs over contiguous channels; the backend's own kernel is several times slower.
 */
export function heapMaxPoolGrad(dy: Info, x: Info, info: tf.backend_util.Conv2DInfo, backend: Backend): Info {
  const out = backend.makeOutput(x.shape, 'float32');
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Views after allocating: growing the heap detaches older ones.
  const xs = backend.typedArrayFromHeap(x);
  const g = backend.typedArrayFromHeap(dy);
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  if (tiles2x2(info)) {
    pool2x2Grad(xs, g, dx, batchSize, oh, ow, c);
    return out;
  }
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        best.fill(-Infinity);
        where.fill(-1);
        for (let i = 0; i < fh; i++) {
          const y = r * sh - top + i;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < fw; j++) {
            const xx = q * sw - left + j;
            if (xx < 0 || xx >= w) continue;
            const base = ((b * h + y) * w + xx) * c;
            for (let k = 0; k < c; k++) {
              const v = xs[base + k];
              if (v > best[k] || where[k] < 0) {
                best[k] = v;
                where[k] = base + k;
              }
            }
          }
        }
        const go = ((b * oh + r) * ow + q) * c;
        for (let k = 0; k < c; k++) if (where[k] >= 0) dx[where[k]] += g[go + k];
      }
    }
  }
  return out;
}

function pool2x2Grad(xs: Float32Array, g: Float32Array, dx: Float32Array, n: number, oh: number, ow: number, c: number): void {
  const row = 2 * ow * c;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        const p00 = ((b * 2 * oh + 2 * r) * 2 * ow + 2 * q) * c;
        const p01 = p00 + c;
        const p10 = p00 + row;
        const p11 = p10 + c;
        const go = ((b * oh + r) * ow + q) * c;
        for (let k = 0; k < c; k++) {
          // First maximum in window order (row-major), as the reference kernel.
          let at = p00 + k;
          let best = xs[at];
          if (xs[p01 + k] > best) best = xs[(at = p01 + k)];
          if (xs[p10 + k] > best) best = xs[(at = p10 + k)];
          if (xs[p11 + k] > best) at = p11 + k;
          dx[at] = g[go + k];
        }
      }
    }
  }
}

/**
 * A single matrix product (plus a bias row) as a 1x1 convolution on XNNPACK: the
 * backend's own BatchMatMul is slow with transposed operands, which is every
 * dense layer's backward pass.
 */
export function composedMatMul(a: Info, b: Info, transposeA: boolean, transposeB: boolean, outShape: number[], backend: Backend, bias?: Info): Info {
  const s = new Scope(backend);
  const as2 = s.reshape(a, a.shape.slice(-2));
  const bs2 = s.reshape(b, b.shape.slice(-2));
  const a2 = transposeA ? s.run('Transpose', { x: as2 }, { perm: [1, 0] }) : as2;
  const b2 = transposeB ? s.run('Transpose', { x: bs2 }, { perm: [1, 0] }) : bs2;
  const [m, k] = a2.shape;
  const n = b2.shape[1];
  const y = s.run(
    'Conv2D',
    { x: s.reshape(a2, [1, 1, m, k]), filter: s.reshape(b2, [1, 1, k, n]) },
    { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined },
  );
  // The bias added separately: the stock _FusedMatMul misplaces it when an operand is transposed.
  const out = bias ? s.run('Add', { a: y, b: bias }, {}) : y;
  s.finish(out);
  return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
}
