// Runs once before the unit tests: every tfjs test uses the WebAssembly backend
// with our composed gradient kernels, the backend users get without a native build.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '../../src/trainer/tf';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { enableSimdKernels, registerWasmKernels } from '../../src/trainer/backend/wasm-kernels';

// The trainer and its data-parallel workers run from the bundles: build them once.
const ROOT = path.resolve(__dirname, '../..');
execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, L2SOFTMAX_WEBVIEW: '0' } });
process.env.L2SOFTMAX_WORKER_SCRIPT = path.join(ROOT, 'dist', 'train-worker.js');

tf.enableProdMode();
wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
registerWasmKernels();

export const mochaHooks = {
  async beforeAll() {
    await tf.setBackend('wasm');
    await tf.ready();
    enableSimdKernels();
  },
};
