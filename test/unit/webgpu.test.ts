import { strict as assert } from 'node:assert';
import { adapterLine, describeAdapter } from '../../src/trainer/backend/webgpu';

describe('WebGPU adapters (backend/webgpu.ts)', () => {
  it('a GPU driver is hardware; Dawn fallback adapters and CPU drivers are software', () => {
    assert.equal(describeAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3', isFallbackAdapter: false }).hardware, true);
    assert.equal(describeAdapter({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7', isFallbackAdapter: true }).hardware, false);
    assert.equal(describeAdapter({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' }).hardware, false);
    assert.equal(describeAdapter({ vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: '' }).hardware, false);
    assert.equal(describeAdapter(undefined).hardware, true);
  });

  it('names vendor, architecture, driver and kind in one line', () => {
    const line = adapterLine(describeAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' }));
    assert.equal(line, 'nvidia hopper, NVIDIA H100 80GB HBM3 (hardware)');
    assert.match(adapterLine(describeAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe', isFallbackAdapter: true })), /\(software: runs on the CPU\)$/);
  });
});
