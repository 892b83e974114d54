// `node dist/cli.js gpu-check` on this machine: it lists Dawn's adapters, says whether
// tfjs-node-gpu's CUDA 11.2 / cuDNN 8 libraries are there, and times each usable
// backend (a short --seconds here), images/s side by side.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../..', 'dist', 'cli.js');

describe('gpu-check', () => {
  it('lists the adapters and the CUDA libraries, then images/s for WebGPU and wasm', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'gpu-check', '--seconds', '2'], { maxBuffer: 1 << 24 });
    assert.match(stdout, /^ {2}adapter (vulkan |metal |d3d12 )?".+": .+\((hardware|software: runs on the CPU)\)$/m);
    assert.match(stdout, /^ {2}libcudart\.so\.11\.0: /m);
    assert.match(stdout, /^ {2}libcudnn\.so\.8: /m);
    assert.match(stdout, /^ {2}tensorflow-gpu +(not usable +- +- +-|.+ +\d+ +[\d.]+ +\d+)$/m);
    assert.match(stdout, /^ {2}webgpu +.+\((hardware|software)\) +\d+ +[\d.]+ +\d+$/m);
    assert.match(stdout, /^ {2}wasm +CPU, \d+ threads? +\d+ +[\d.]+ +\d+$/m);
  });

  it('refuses a bad --seconds with the usage', async () => {
    await assert.rejects(run(process.execPath, [CLI, 'gpu-check', '--seconds', 'soon']), (err: { code?: number; stderr?: string }) => err.code === 2 && /--seconds soon/.test(err.stderr ?? ''));
  });
});
