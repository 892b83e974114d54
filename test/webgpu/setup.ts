// Runs once before the WebGPU suite (npm run test:webgpu), after the unit suite's
// setup (bundles built, the wasm backend with our kernels): checks that Dawn sees
// a WebGPU adapter. Without one the suite is skipped with one line on a developer's
// machine; in CI (CI=true), where .ci/run installs Mesa's lavapipe, it fails.
import { adapterLine, loadDawn, probeAdapter } from '../../src/trainer/backend/webgpu';
import type { GpuAdapter } from '../../src/shared/events';

const INSTALL_HINT = 'Debian 12: mesa-vulkan-drivers and libvulkan1 from bookworm-backports, Mesa 25 lavapipe; see README, Backends and GPU training';

async function findAdapter(): Promise<{ adapter?: GpuAdapter; why?: string }> {
  try {
    const adapter = await probeAdapter(await loadDawn());
    return adapter ? { adapter } : { why: 'Dawn finds no Vulkan adapter' };
  } catch (err) {
    return { why: `the webgpu package does not load (${(err as Error).message.split('\n')[0]})` };
  }
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    const { adapter, why } = await findAdapter();
    if (adapter) {
      console.log(`  WebGPU suite on ${adapterLine(adapter)}`);
      return;
    }
    if (process.env.CI === 'true') throw new Error(`CI=true and ${why}: .ci/run should have installed lavapipe (${INSTALL_HINT})`);
    console.log(`WebGPU suite skipped: ${why}. To run it install a Vulkan driver (${INSTALL_HINT}).`);
    this.skip();
  },
};
