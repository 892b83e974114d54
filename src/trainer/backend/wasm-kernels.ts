// Our training kernels on the WebAssembly backend: the SIMD kernels of
// simd/kernels.ts where the shapes suit them, else the composed fallbacks of
// wasm-composed.ts (also used everywhere when the SIMD module cannot load).
// Registered over the backend's own kernels, which still serve what ours decline.

import * as tf from '../tf';
import { instantiateSimdKernels, type SimdKernels } from './simd-module';
import {
  type Backend,
  type ConvAttrs,
  type Info,
  type PoolAttrs,
  composedFilterGrad,
  composedInputGrad,
  composedMatMul,
  convInfo,
  heapMaxPoolGrad,
  poolInfo,
  tiles2x2,
} from './wasm-composed';

let simd: SimdKernels | undefined;

/** Loads the SIMD kernels into the active wasm backend's memory. Throws with the reason when it cannot. */
export function enableSimdKernels(): void {
  const memory = (tf.backend() as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) throw new Error('the wasm backend does not expose its memory');
  simd = instantiateSimdKernels(memory);
}

/** Back to the composed kernels only (tests compare both). */
export function disableSimdKernels(): void {
  simd = undefined;
}

export function simdKernelsEnabled(): boolean {
  return simd !== undefined;
}

const offset = (backend: Backend, t: Info) => backend.getMemoryOffset(t.dataId);

export function conv2dBackpropFilter(x: Info, dy: Info, filterShape: number[], attrs: ConvAttrs, backend: Backend): Info {
  const info = convInfo(x.shape, filterShape, attrs);
  const cout = filterShape[3];
  const [n, h, w, cin] = x.shape;
  const { outHeight: oh, outWidth: ow } = info;
  if (simd && winogradFits(info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, oh, ow, cin, cout)) {
    return winogradFilterGrad(x, dy, info, backend);
  }
  if (simd && cout % 4 === 0) {
    const out = backend.makeOutput(filterShape, 'float32');
    simd.convFilterGrad(offset(backend, x), offset(backend, dy), offset(backend, out), n, h, w, cin, oh, ow, cout, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
    return out;
  }
  return composedFilterGrad(x, dy, info, backend);
}

/** The filter gradient of a 3x3 stride-1 convolution by the same Winograd transform. */
function winogradFilterGrad(x: Info, dy: Info, info: tf.backend_util.Conv2DInfo, backend: Backend): Info {
  const kernels = simd as SimdKernels;
  const [n, , , cin] = x.shape;
  const { outHeight: oh, outWidth: ow, outChannels: cout } = info;
  const xp = padTo(x, oh + 2, ow + 2, info.padInfo.top, info.padInfo.left, backend);
  const chunk = tileChunk(cin, cout);
  const v = backend.makeOutput([16 * chunk * cin], 'float32');
  const m = backend.makeOutput([16 * chunk * cout], 'float32');
  const du = backend.makeOutput([16, cin, cout], 'float32');
  const dw = backend.makeOutput([3, 3, cin, cout], 'float32');
  kernels.winogradFilterGrad(offset(backend, xp), offset(backend, dy), offset(backend, dw), offset(backend, v), offset(backend, m), offset(backend, du), n, cin, oh, ow, cout, chunk);
  for (const t of xp === x ? [v, m, du] : [v, m, du, xp]) backend.disposeData(t.dataId);
  return dw;
}

/** x zero-padded (or cropped) to ph x pw with its origin at (top, left); x itself when that changes nothing. */
function padTo(x: Info, ph: number, pw: number, top: number, left: number, backend: Backend): Info {
  const [n, h, w, c] = x.shape;
  if (top === 0 && left === 0 && ph === h && pw === w) return x;
  const xp = backend.makeOutput([n, ph, pw, c], 'float32');
  (simd as SimdKernels).padInput(offset(backend, x), offset(backend, xp), n, h, w, c, ph, pw, top, left);
  return xp;
}

/**
 * Our direct convolution: x zero-padded into a scratch tensor when the padding
 * asks for it, then blocks of pixels x output channels on SIMD. Undefined for
 * dilated convolutions (the stock XNNPACK kernel runs then). Also avoids a stock
 * bug: XNNPACK's result is wrong for 1 x N filters at stride 2 with 'same' padding.
 */
export function conv2d(x: Info, filter: Info, attrs: ConvAttrs, backend: Backend): Info | undefined {
  if (!simd || (attrs.dataFormat && attrs.dataFormat !== 'NHWC')) return undefined;
  const dil = attrs.dilations ?? 1;
  if ((Array.isArray(dil) ? dil : [dil, dil]).some((d) => d !== 1)) return undefined;
  const info = convInfo(x.shape, filter.shape, attrs);
  return convPadded(x, filter, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, backend);
}

function convPadded(x: Info, filter: Info, oh: number, ow: number, sh: number, sw: number, top: number, left: number, backend: Backend): Info {
  const kernels = simd as SimdKernels;
  const [n, , , cin] = x.shape;
  const [fh, fw, , cout] = filter.shape;
  const ph = (oh - 1) * sh + fh;
  const pw = (ow - 1) * sw + fw;
  const xp = padTo(x, ph, pw, top, left, backend);
  const y = backend.makeOutput([n, oh, ow, cout], 'float32');
  if (winogradFits(fh, fw, sh, sw, oh, ow, cin, cout)) {
    winograd(xp, filter, y, backend);
  } else {
    kernels.conv2d(offset(backend, xp), offset(backend, filter), offset(backend, y), n, ph, pw, cin, oh, ow, cout, fh, fw, sh, sw);
  }
  if (xp !== x) backend.disposeData(xp.dataId);
  return y;
}

/** Our Winograd kernels take 3x3 stride-1 convolutions with even output sizes and channels in fours. */
const winogradFits = (fh: number, fw: number, sh: number, sw: number, oh: number, ow: number, cin: number, cout: number) =>
  fh === 3 && fw === 3 && sh === 1 && sw === 1 && oh % 2 === 0 && ow % 2 === 0 && cin % 4 === 0 && cout % 4 === 0;

/** Tiles per Winograd chunk: a chunk's transformed inputs and products fit in about 256 KiB. */
const tileChunk = (cin: number, cout: number) => Math.max(4, Math.floor(4096 / (cin + cout) / 4) * 4);

/** 3x3 stride-1 convolution by Winograd F(2x2, 3x3) (see simd/kernels.ts); xp is padded, y allocated. */
function winograd(xp: Info, filter: Info, y: Info, backend: Backend): void {
  const kernels = simd as SimdKernels;
  const [n, oh, ow, cout] = y.shape;
  const cin = xp.shape[3];
  const chunk = tileChunk(cin, cout);
  const u = backend.makeOutput([16, cin, cout], 'float32');
  const v = backend.makeOutput([16 * chunk * cin], 'float32');
  const m = backend.makeOutput([16 * chunk * cout], 'float32');
  kernels.winogradFilter(offset(backend, filter), offset(backend, u), cin, cout);
  kernels.winogradConv(offset(backend, xp), offset(backend, u), offset(backend, y), offset(backend, v), offset(backend, m), n, cin, oh, ow, cout, chunk);
  for (const t of [u, v, m]) backend.disposeData(t.dataId);
}

export function conv2dBackpropInput(dy: Info, filter: Info, inputShape: number[], attrs: ConvAttrs, backend: Backend): Info {
  const info = convInfo(inputShape, filter.shape, attrs);
  const [fh, fw, cin, cout] = filter.shape;
  if (simd && info.strideHeight === 1 && info.strideWidth === 1 && cin % 4 === 0) {
    // Stride 1: correlate dy, padded by (filter - 1 - forward padding), with the flipped filter.
    const g = backend.makeOutput([fh, fw, cout, cin], 'float32');
    simd.flipFilter(offset(backend, filter), offset(backend, g), fh, fw, cin, cout);
    const dx = convPadded(dy, g, inputShape[1], inputShape[2], 1, 1, fh - 1 - info.padInfo.top, fw - 1 - info.padInfo.left, backend);
    backend.disposeData(g.dataId);
    return dx;
  }
  return composedInputGrad(dy, filter, inputShape, info, backend);
}

/** Our pooling kernels take 2x2 windows tiling the input at stride 2, channels in fours. */
const simdPool = (info: tf.backend_util.Conv2DInfo) => tiles2x2(info) && info.inChannels % 4 === 0;

/**
 * Max-pool gradient: each output's upstream gradient goes to the first maximum of
 * its window (as on the cpu backend); the backend's own kernel is several times slower.
 */
export function maxPoolGrad(dy: Info, x: Info, attrs: PoolAttrs, backend: Backend): Info {
  const info = poolInfo(x, attrs);
  const { batchSize, inChannels: c, outHeight: oh, outWidth: ow } = info;
  if (!simd || !simdPool(info)) return heapMaxPoolGrad(dy, x, info, backend);
  const out = backend.makeOutput(x.shape, 'float32');
  simd.maxPool2x2Grad(offset(backend, x), offset(backend, dy), offset(backend, out), batchSize, oh, ow, c);
  return out;
}

const single = (t: Info) => t.shape.length === 2 || (t.shape.length === 3 && t.shape[0] === 1);

/**
 * A single (unbatched) matrix product, plus a bias row when given: the dense
 * layers, with operands transposed first where asked.
 */
export function matMul(a: Info, b: Info, transposeA: boolean, transposeB: boolean, backend: Backend, bias?: Info): Info | undefined {
  if (!single(a) || !single(b) || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)];
  const cols = b.shape[b.shape.length - (transposeB ? 2 : 1)];
  const outShape = a.shape.length === 3 || b.shape.length === 3 ? [1, rows, cols] : [rows, cols];
  if (!simd) return composedMatMul(a, b, transposeA, transposeB, outShape, backend, bias);
  const kernels = simd;
  const temps: Info[] = [];
  const flipped = (t: Info, on: boolean): [Info, number, number] => {
    const [r, c] = t.shape.slice(-2);
    if (!on) return [t, r, c];
    const out = backend.makeOutput([c, r], 'float32');
    kernels.transpose(offset(backend, t), offset(backend, out), r, c);
    temps.push(out);
    return [out, c, r];
  };
  const [a2, m, k] = flipped(a, transposeA);
  const [b2, , n] = flipped(b, transposeB);
  const y = backend.makeOutput(outShape, 'float32');
  kernels.matmul(offset(backend, a2), offset(backend, b2), offset(backend, y), m, k, n);
  for (const t of temps) backend.disposeData(t.dataId);
  if (!bias) return y;
  if (tf.util.sizeFromShape(bias.shape) === n) {
    kernels.addBias(offset(backend, y), offset(backend, bias), offset(backend, y), m, n);
    return y;
  }
  // A broadcast bias (one value): the Add kernel broadcasts.
  const out = (tf.getKernel('Add', 'wasm') as tf.KernelConfig).kernelFunc({ inputs: { a: y, b: bias }, backend, attrs: {} }) as Info;
  backend.disposeData(y.dataId);
  return out;
}

/**
 * Sum over leading axes (a bias gradient: every axis but the channels) as column
 * sums; the backend's own Sum first transposes the whole tensor to put the
 * reduced axes last. Undefined for any other reduction.
 */
export function leadingSum(x: Info, axis: number | number[], keepDims: boolean, backend: Backend): Info | undefined {
  if (!simd || x.dtype !== 'float32') return undefined;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return undefined;
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
  const cols = tf.util.sizeFromShape(x.shape.slice(k));
  if (rows === 0 || cols === 0) return undefined;
  const out = backend.makeOutput(x.shape.slice(k), 'float32');
  simd.columnSum(offset(backend, x), offset(backend, out), rows, cols);
  if (keepDims) out.shape = [...axes.map(() => 1), ...x.shape.slice(k)];
  return out;
}

/** Elementwise kernels with the same output shape as `x` (float32 only). */
function unary(x: Info, backend: Backend, run: (k: SimdKernels, out: Info) => void): Info | undefined {
  if (!simd || x.dtype !== 'float32') return undefined;
  const out = backend.makeOutput(x.shape, 'float32');
  run(simd, out);
  return out;
}

/** A tensor sharing x's data (as the cpu backend does); the stock wasm kernels copy. */
function share(x: Info, backend: Backend): Info {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function addBias(a: Info, b: Info, backend: Backend): Info | undefined {
  const c = a.shape[a.shape.length - 1];
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || b.shape.length !== 1 || b.shape[0] !== c) return undefined;
  return unary(a, backend, (k, out) => k.addBias(offset(backend, a), offset(backend, b), offset(backend, out), tf.util.sizeFromShape(a.shape) / c, c));
}

function maxPool(x: Info, attrs: PoolAttrs, backend: Backend): Info | undefined {
  const info = poolInfo(x, attrs);
  const { batchSize, inChannels: c, outHeight: oh, outWidth: ow } = info;
  if (!simd || !simdPool(info)) return undefined;
  const out = backend.makeOutput([batchSize, oh, ow, c], 'float32');
  simd.maxPool2x2(offset(backend, x), offset(backend, out), batchSize, oh, ow, c);
  return out;
}

const RELU_GRAD = 'L2SoftmaxLabReluGrad';
/** Fused Adam update of one variable: inputs w, m, v, g; outputs w', m', v' (see train/optimizer.ts). */
export const ADAM = 'L2SoftmaxLabAdam';

export interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  /** beta1^t and beta2^t after this step. */
  acc1: number;
  acc2: number;
}

function adam(inputs: Record<string, Info>, a: AdamAttrs, backend: Backend): Info[] | undefined {
  const { w, m, v, g } = inputs;
  if (!simd || [w, m, v, g].some((t) => t.dtype !== 'float32')) return undefined;
  const out = [w, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  const p = (t: Info) => offset(backend, t);
  simd.adam(p(w), p(m), p(v), p(g), p(out[0]), p(out[1]), p(out[2]), tf.util.sizeFromShape(w.shape), a.beta1, a.beta2, a.epsilon, a.learningRate, a.acc1, a.acc2);
  return out;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Ours = (args: KernelArgs & { backend: Backend }) => Info | Info[] | undefined;

// The backend's own kernels, captured once so registering again does not wrap ours.
const stockKernels = new Map<string, tf.KernelConfig | undefined>();
let stockReluGrad: tf.GradConfig | undefined;

/** Registers `ours` for `name` on wasm, falling back to the backend's own kernel where `ours` declines. */
function override(name: string, ours: Ours): void {
  if (!stockKernels.has(name)) stockKernels.set(name, tf.getKernel(name, 'wasm'));
  const stock = stockKernels.get(name);
  if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    setupFunc: stock?.setupFunc,
    kernelFunc: (args) => {
      const out = ours(args as KernelArgs & { backend: Backend });
      if (out) return out;
      if (!stock) throw new Error(`no wasm kernel for ${name} with these inputs`);
      return stock.kernelFunc(args);
    },
  });
}

/** Registers (or replaces) our kernels on the wasm backend. */
export function registerWasmKernels(): void {
  override('Conv2D', ({ inputs, attrs, backend }) => conv2d(inputs.x as Info, inputs.filter as Info, attrs as unknown as ConvAttrs, backend));
  override('Conv2DBackpropFilter', ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    return conv2dBackpropFilter(inputs.x as Info, inputs.dy as Info, a.filterShape, a, backend);
  });
  override('Conv2DBackpropInput', ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    return conv2dBackpropInput(inputs.dy as Info, inputs.filter as Info, a.inputShape, a, backend);
  });
  override('MaxPool', ({ inputs, attrs, backend }) => maxPool(inputs.x as Info, attrs as unknown as PoolAttrs, backend));
  override('MaxPoolGrad', ({ inputs, attrs, backend }) => maxPoolGrad(inputs.dy as Info, inputs.input as Info, attrs as unknown as PoolAttrs, backend));
  override('BatchMatMul', ({ inputs, attrs, backend }) => {
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    return matMul(inputs.a as Info, inputs.b as Info, transposeA, transposeB, backend);
  });
  override('_FusedMatMul', ({ inputs, attrs, backend }) => {
    const { transposeA, transposeB, activation } = attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
    const bias = inputs.bias as Info | undefined;
    if ((activation && activation !== 'linear') || inputs.preluActivationWeights || (bias && (bias.shape.length !== 1 || bias.dtype !== 'float32'))) return undefined;
    return matMul(inputs.a as Info, inputs.b as Info, transposeA, transposeB, backend, bias);
  });
  override('Sum', ({ inputs, attrs, backend }) => {
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    return leadingSum(inputs.x as Info, axis, keepDims, backend);
  });
  override('Add', ({ inputs, backend }) => addBias(inputs.a as Info, inputs.b as Info, backend) ?? addBias(inputs.b as Info, inputs.a as Info, backend));
  override('Relu', ({ inputs, backend }) => {
    const x = inputs.x as Info;
    return unary(x, backend, (k, out) => k.relu(offset(backend, x), offset(backend, out), tf.util.sizeFromShape(x.shape)));
  });
  override(RELU_GRAD, ({ inputs, backend }) => {
    const { dy, x } = inputs as { dy: Info; x: Info };
    return unary(x, backend, (k, out) => k.reluGrad(offset(backend, dy), offset(backend, x), offset(backend, out), tf.util.sizeFromShape(x.shape)));
  });
  override(ADAM, ({ inputs, attrs, backend }) => adam(inputs as Record<string, Info>, attrs as unknown as AdamAttrs, backend));
  override('Identity', ({ inputs, backend }) => {
    const x = inputs.x as Info;
    return x.dtype === 'string' ? undefined : share(x, backend);
  });
  override('Cast', ({ inputs, attrs, backend }) => {
    const x = inputs.x as Info;
    return x.dtype === (attrs as { dtype: string }).dtype && x.dtype !== 'string' ? share(x, backend) : undefined;
  });
  // ReLU's gradient, dy * cast(step(x)) in tfjs, as one kernel while ours are on.
  stockReluGrad ??= tf.getGradient('Relu');
  const fallback = stockReluGrad;
  if (fallback) {
    tf.registerGradient({
      kernelName: 'Relu',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        if (!simd || tf.getBackend() !== 'wasm' || (dy as tf.Tensor).dtype !== 'float32') return fallback.gradFunc(dy, saved, attrs);
        const [x] = saved;
        return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor };
      },
    });
  }
}
