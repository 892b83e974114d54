// TensorFlow.js as this project uses it: core + layers + the pure-JS cpu backend
// (the parts of the @tensorflow/tfjs umbrella package a trainer needs, without
// the browser-only webgl backend, the converter and tfjs-data). Native and wasm
// backends register themselves on this same core when loaded (see backend/select.ts).
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
