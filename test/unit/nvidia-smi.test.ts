import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { cudaAdvice, type CudaFacts } from '../../src/core/cuda-check';
import { parseNvidiaSmi } from '../../src/core/nvidia-smi';

const recorded = (name: string) => readFileSync(path.resolve(__dirname, '../fixtures/nvidia-smi', name), 'utf8');

describe('nvidia-smi', () => {
  it('reads the GPUs from --format=csv, with its header and units', () => {
    const r = parseNvidiaSmi(recorded('two-gpus-csv.txt'), 0);
    assert.ok(r.ok);
    assert.deepEqual(r.ok && r.gpus, [
      { index: 0, name: 'NVIDIA H200', utilization: 87, memoryUsed: 61234, memoryTotal: 143771, driver: '550.54.15' },
      { index: 1, name: 'NVIDIA H200', utilization: 0, memoryUsed: 4, memoryTotal: 143771, driver: '550.54.15' },
    ]);
  });

  it('reads the noheader,nounits form, and [N/A] as unknown', () => {
    const one = parseNvidiaSmi(recorded('one-gpu-nounits.txt'), 0);
    assert.deepEqual(one.ok && one.gpus[0], { index: 0, name: 'NVIDIA A100-SXM4-40GB', utilization: 35, memoryUsed: 1024, memoryTotal: 40960, driver: '535.104.05' });
    const mig = parseNvidiaSmi(recorded('mig-na.txt'), 0);
    assert.deepEqual(mig.ok && [mig.gpus[0].utilization, mig.gpus[0].memoryUsed], [null, null]);
  });

  it('tells its failures apart', () => {
    assert.deepEqual(parseNvidiaSmi(recorded('no-devices.txt'), 6), { ok: false, reason: 'no-devices', message: 'the NVIDIA driver is installed but sees no GPU' });
    const mismatch = parseNvidiaSmi(recorded('driver-mismatch.txt'), 18);
    assert.equal(!mismatch.ok && mismatch.reason, 'driver-mismatch');
    assert.match(!mismatch.ok ? mismatch.message : '', /Driver\/library version mismatch/);
    assert.equal(!parseNvidiaSmi(recorded('no-driver.txt'), 9).ok && (parseNvidiaSmi(recorded('no-driver.txt'), 9) as { reason: string }).reason, 'no-driver');
    const missing = parseNvidiaSmi('', null, Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' }));
    assert.equal(!missing.ok && missing.reason, 'not-installed');
  });
});

describe('CUDA advice for tfjs-node-gpu', () => {
  const libs = (loads: boolean): CudaFacts['libraries'] => [
    { name: 'libcudart.so.11.0', others: loads ? [] : ['libcudart.so.12'], loads, path: loads ? '/usr/local/cuda/lib64/libcudart.so.11.0' : undefined },
    { name: 'libcudnn.so.8', others: [], loads },
  ];
  const driver = parseNvidiaSmi(recorded('two-gpus-csv.txt'), 0);

  it('says there is no NVIDIA driver and that nothing needs installing without an NVIDIA GPU', () => {
    const lines = cudaAdvice({ driver: parseNvidiaSmi('', null, Object.assign(new Error('ENOENT'), { code: 'ENOENT' })), libraries: libs(false) });
    assert.match(lines[0], /^No NVIDIA driver \(nvidia-smi not found\)/);
    assert.match(lines[1], /@tensorflow\/tfjs-node-gpu: not installed \(optional/);
    assert.match(lines[2], /libcudart\.so\.11\.0: missing \(found libcudart\.so\.12: another version/);
    assert.match(lines[lines.length - 1], /nothing to install unless this machine has an NVIDIA GPU/);
  });

  it('with a driver but no CUDA 11 libraries: CUDA 11.2 + cuDNN 8.1, or the pip wheels with their LD_LIBRARY_PATH', () => {
    const text = cudaAdvice({ driver, tfjsNodeGpu: '/x/node_modules/@tensorflow/tfjs-node-gpu', libraries: libs(false) }).join('\n');
    assert.match(text, /NVIDIA driver 550\.54\.15: NVIDIA H200 \(140 GiB\), NVIDIA H200/);
    assert.match(text, /install CUDA 11\.2 and cuDNN 8\.1/);
    assert.match(text, /pip install nvidia-cuda-runtime-cu11 nvidia-cudnn-cu11/);
    assert.match(text, /export LD_LIBRARY_PATH="\$\(python3 -c 'import os, nvidia\.cuda_runtime, nvidia\.cudnn, .*'\):\$LD_LIBRARY_PATH"/);
  });

  it('says where the libraries load from when all is there, and that the GPU will be used', () => {
    const lines = cudaAdvice({ driver, tfjsNodeGpu: '/x', libraries: libs(true) });
    assert.ok(lines.includes('libcudart.so.11.0: loads (/usr/local/cuda/lib64/libcudart.so.11.0)'));
    assert.match(lines[lines.length - 1], /tfjs-node-gpu can train on the GPU/);
  });

  it('asks for a reboot after a driver update left the old module loaded', () => {
    assert.match(cudaAdvice({ driver: parseNvidiaSmi(recorded('driver-mismatch.txt'), 18), libraries: libs(true) })[0], /Reboot/);
  });
});
