// Picks the fastest TensorFlow.js backend that works here, never silently:
//   tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1) -> WebGPU on a hardware adapter (Dawn)
//   -> tfjs-node -> WebAssembly with our kernels -> pure-JS cpu.
// Native packages are optional dependencies whose install downloads libtensorflow;
// where that failed, require() throws and we move on, saying why. WebGPU's Dawn
// is optional too; a software adapter (lavapipe, SwiftShader) is used only when
// the device setting is "webgpu".

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '../tf';
import type { DeviceKind } from '../../shared/config';
import type { BackendInfo } from '../../shared/events';
import { TrainerError, type TrainerLog } from '../errors';
import { disableSimdKernels, enableSimdKernels, registerWasmKernels } from './wasm-kernels';
import { WEBGPU, adapterLine, openWebGpu, releaseWebGpu } from './webgpu';

type Loader = () => unknown;

// Literal requires so bundlers leave them alone (these packages are external).
const NATIVE: Record<'gpu' | 'cpu', { pkg: string; load: Loader }> = {
  gpu: { pkg: '@tensorflow/tfjs-node-gpu', load: () => require('@tensorflow/tfjs-node-gpu') },
  cpu: { pkg: '@tensorflow/tfjs-node', load: () => require('@tensorflow/tfjs-node') },
};

/** For tests and the bench: restrict the candidates, e.g. L2SOFTMAX_BACKENDS=wasm,cpu. */
function allowed(name: string): boolean {
  const only = process.env.L2SOFTMAX_BACKENDS;
  return !only || only.split(',').map((s) => s.trim()).includes(name);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** An optional package that is simply absent, as opposed to one that is there and fails to load (missing CUDA libraries, a broken build). */
function notInstalled(err: unknown, pkg: string): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' && firstLine(err).includes(`'${pkg}'`);
}

function gpuName(): string | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 3000, encoding: 'utf8' });
    return out.split('\n')[0].trim() || undefined;
  } catch {
    return undefined;
  }
}

async function tryNative(kind: 'gpu' | 'cpu', log: TrainerLog): Promise<BackendInfo | undefined> {
  const { pkg, load } = NATIVE[kind];
  if (!allowed(kind === 'gpu' ? 'tensorflow-gpu' : 'tensorflow')) return undefined;
  if (kind === 'gpu') process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= 'true';
  try {
    load();
    if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend did not initialize');
  } catch (err) {
    log.info(notInstalled(err, pkg) ? `${pkg}: not installed (optional)` : `${pkg} is not usable: ${firstLine(err)}`);
    return undefined;
  }
  const onGpu = Boolean((tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice);
  if (kind === 'gpu' && !onGpu) {
    return {
      name: 'tensorflow-gpu',
      gpu: false,
      description: 'TensorFlow native (tfjs-node-gpu) running on the CPU: no usable CUDA 11.2 / cuDNN 8.1 GPU found',
    };
  }
  const name = onGpu ? gpuName() : undefined;
  return {
    name: kind === 'gpu' ? 'tensorflow-gpu' : 'tensorflow',
    gpu: onGpu,
    gpuName: name,
    description: onGpu ? `TensorFlow native on GPU${name ? ` (${name})` : ''}` : 'TensorFlow native (tfjs-node) on the CPU, no GPU',
  };
}

/** WebGPU through Dawn; a software adapter only with `allowSoftware` (device "webgpu"). */
async function tryWebGpu(allowSoftware: boolean, log: TrainerLog): Promise<BackendInfo | undefined> {
  if (!allowed(WEBGPU)) return undefined;
  const opened = await openWebGpu(allowSoftware);
  if (!opened.ok) {
    log.info(`WebGPU is not usable: ${opened.reason}`);
    return undefined;
  }
  const { adapter } = opened;
  return {
    name: WEBGPU,
    gpu: adapter.hardware,
    gpuName: adapter.hardware ? adapter.description || adapter.device : undefined,
    adapter,
    description: `WebGPU (Dawn) on ${adapterLine(adapter)}`,
  };
}

async function tryWasm(log: TrainerLog): Promise<BackendInfo | undefined> {
  if (!allowed('wasm')) return undefined;
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + path.sep);
    registerWasmKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialize');
    await tf.ready();
  } catch (err) {
    log.info(`WebAssembly backend is not usable: ${firstLine(err)}`);
    return undefined;
  }
  let simd = true;
  try {
    enableSimdKernels();
  } catch (err) {
    simd = false;
    log.warn('simd-kernels', `Our SIMD training kernels could not be loaded (${firstLine(err)}); training uses slower composed kernels.`);
  }
  let error = await selfCheck();
  if (simd && error > 1e-3) {
    disableSimdKernels();
    simd = false;
    log.warn('simd-kernels', `Our SIMD training kernels disagree with the reference (relative error ${error.toExponential(2)}); training uses slower composed kernels.`);
    error = await selfCheck();
  }
  if (error > 1e-3) {
    log.warn('wasm-self-check', `WebAssembly conv gradients disagree with the reference (relative error ${error.toExponential(2)}); not using them.`);
    return undefined;
  }
  return { name: 'wasm', gpu: false, description: `WebAssembly (XNNPACK${simd ? ' + SIMD training kernels' : ', SIMD'}) on the CPU, no GPU` };
}

/**
 * Trains nothing: compares the gradients of two small conv blocks (conv, bias,
 * ReLU, a second 3x3 conv, 2x2 max-pool; and a stride-2 conv) on the active
 * backend against the pure-JS cpu backend, covering every path of our kernels
 * (direct, Winograd, strided). Returns the largest relative difference.
 */
export async function selfCheck(): Promise<number> {
  const active = tf.getBackend();
  const data = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + salt) * 0.5);
  const xv = data(2 * 8 * 6 * 3, 1);
  const fv = data(3 * 3 * 3 * 4, 2);
  const bv = data(4, 3);
  const f2v = data(3 * 3 * 4 * 8, 4);
  const run = async () => {
    const out: Float32Array[] = [];
    for (const [stride, pad] of [[1, 'same'], [2, 'valid']] as const) {
      const inputs = [tf.tensor4d(xv, [2, 8, 6, 3]), tf.tensor4d(fv, [3, 3, 3, 4]), tf.tensor1d(bv), tf.tensor4d(f2v, [3, 3, 4, 8])];
      const grads = tf.grads((a, w, c, w2) => {
        const y = tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad), c));
        if (stride !== 1) return tf.sum(tf.square(y));
        return tf.sum(tf.square(tf.maxPool(tf.conv2d(y as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same'), 2, 2, 'valid')));
      });
      const g = grads(stride === 1 ? inputs : inputs.slice(0, 3));
      for (const t of g) out.push((await t.data()) as Float32Array);
      tf.dispose([...inputs, ...g]);
    }
    return out;
  };
  const got = await run();
  await tf.setBackend('cpu');
  const want = await run();
  await tf.setBackend(active);
  let worst = 0;
  got.forEach((g, k) => g.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[k][i]) / (1 + Math.abs(want[k][i]))))));
  return worst;
}

async function useCpu(log: TrainerLog): Promise<BackendInfo> {
  await tf.setBackend('cpu');
  log.warn(
    'slow-backend',
    'Training on the pure-JavaScript cpu backend: this is very slow for conv nets (minutes per step on face-sized images). ' +
      'Install @tensorflow/tfjs-node (or -gpu), or make sure @tensorflow/tfjs-backend-wasm is installed.',
  );
  return { name: 'cpu', gpu: false, description: 'pure JavaScript on the CPU (slow), no GPU' };
}

const GPU_REQUIREMENTS =
  '@tensorflow/tfjs-node-gpu 4.22 needs Linux or Windows x64 with CUDA 11.2 and cuDNN 8.1 (libcudart.so.11.0 on the library path); ' +
  'WebGPU needs the webgpu package and a GPU with a Vulkan, Metal or D3D12 driver (on Linux: libvulkan.so.1 and the vendor\'s Vulkan ICD). ' +
  'Run `npm run gpu-check` to see what works here';

/** Selects and initializes the backend for `device`; throws a TrainerError when it cannot be honoured. */
export async function initBackend(device: DeviceKind, log: TrainerLog): Promise<BackendInfo> {
  // Silences tfjs's own console banners ("Hi, looks like you are running..."); we report the backend ourselves.
  tf.enableProdMode();
  if (device === 'webgpu') {
    const info = await tryWebGpu(true, log);
    if (!info) throw new TrainerError('gpu-unavailable', `device is "webgpu" but WebGPU cannot be used (see the log line above). ${GPU_REQUIREMENTS}.`);
    return info;
  }
  if (device === 'gpu') {
    const native = await tryNative('gpu', log);
    if (native?.gpu) return native;
    const webgpu = await tryWebGpu(false, log);
    if (webgpu) return webgpu;
    throw new TrainerError('gpu-unavailable', `device is "gpu" but no GPU can be used. ${GPU_REQUIREMENTS}, or set device to "auto" to train on the CPU.`);
  }
  if (device === 'auto') {
    const native = await tryNative('gpu', log);
    if (native?.gpu) return native;
    const webgpu = await tryWebGpu(false, log);
    if (webgpu) return webgpu;
    if (native) {
      await tf.setBackend('tensorflow');
      log.warn('gpu-not-used', `${native.description}. Training continues on the CPU.`);
      return native;
    }
  }
  const candidates = [() => tryNative('cpu', log), () => tryWasm(log)];
  for (const candidate of candidates) {
    const info = await candidate();
    if (info) return info;
  }
  if (!allowed('cpu')) throw new TrainerError('backend-unavailable', 'No TensorFlow.js backend could be initialized.');
  return useCpu(log);
}

/** Frees what the active backend holds outside tfjs's tensors (WebGPU's device, which would keep the process alive). */
export async function releaseBackend(): Promise<void> {
  await releaseWebGpu();
}
