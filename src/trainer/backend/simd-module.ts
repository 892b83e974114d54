// Loads our SIMD training kernels (backend/simd/kernels.ts, compiled to
// dist/simd-kernels.wasm by esbuild.config.mjs) into the tfjs wasm backend's own
// memory, so they read and write its tensors in place.

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface SimdKernels {
  convFilterGrad(x: number, dy: number, dw: number, n: number, h: number, w: number, cin: number, oh: number, ow: number, cout: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number): void;
  conv2d(xp: number, f: number, y: number, n: number, ph: number, pw: number, cin: number, oh: number, ow: number, cout: number, fh: number, fw: number, sh: number, sw: number): void;
  padInput(x: number, xp: number, n: number, h: number, w: number, c: number, ph: number, pw: number, top: number, left: number): void;
  flipFilter(f: number, g: number, fh: number, fw: number, cin: number, cout: number): void;
  winogradFilter(f: number, u: number, cin: number, cout: number): void;
  winogradFilterGrad(xp: number, dy: number, dw: number, v: number, m: number, du: number, n: number, cin: number, oh: number, ow: number, cout: number, chunk: number): void;
  winogradConv(xp: number, u: number, y: number, v: number, m: number, n: number, cin: number, oh: number, ow: number, cout: number, chunk: number): void;
  columnSum(a: number, out: number, rows: number, cols: number): void;
  matmul(a: number, b: number, c: number, rows: number, k: number, cols: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  maxPool2x2Grad(x: number, dy: number, dx: number, n: number, oh: number, ow: number, c: number): void;
  maxPool2x2(x: number, y: number, n: number, oh: number, ow: number, c: number): void;
  addBias(a: number, bias: number, out: number, rows: number, cols: number): void;
  relu(a: number, out: number, size: number): void;
  reluGrad(dy: number, x: number, out: number, size: number): void;
  adam(w: number, m: number, v: number, g: number, w2: number, m2: number, v2: number, size: number, b1: number, b2: number, eps: number, lr: number, acc1: number, acc2: number): void;
}

const FILE = 'simd-kernels.wasm';

/** Next to the bundle (dist/), or dist/ when running from the sources (tests, bench). */
export function simdKernelsPath(): string {
  const candidates = [path.join(__dirname, FILE), path.resolve(__dirname, '..', '..', '..', 'dist', FILE)];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

let compiled: WebAssembly.Module | undefined;

/** Instantiates the kernels over `memory` (the backend's heap). Throws with the reason when it cannot. */
export function instantiateSimdKernels(memory: WebAssembly.Memory): SimdKernels {
  compiled ??= new WebAssembly.Module(readFileSync(simdKernelsPath()));
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  const e = instance.exports as unknown as SimdKernels;
  for (const name of ['convFilterGrad', 'conv2d', 'padInput', 'flipFilter', 'winogradFilter', 'winogradConv', 'winogradFilterGrad', 'columnSum', 'matmul', 'transpose', 'maxPool2x2Grad', 'maxPool2x2', 'addBias', 'relu', 'reluGrad', 'adam'] as const) {
    if (typeof e[name] !== 'function') throw new Error(`${FILE} has no ${name}`);
  }
  return e;
}
