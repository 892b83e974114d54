// Runs once before the unit tests: every tfjs test uses the WebAssembly backend
// with our composed gradient kernels, the backend users get without a native build.
import * as path from 'node:path';
import * as tf from '../../src/trainer/tf';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { registerWasmConvGradients } from '../../src/trainer/wasm-kernels';

tf.enableProdMode();
wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
registerWasmConvGradients();

export const mochaHooks = {
  async beforeAll() {
    await tf.setBackend('wasm');
    await tf.ready();
  },
};
