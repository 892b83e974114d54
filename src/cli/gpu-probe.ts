// What the GPU check (gpu-check.ts) finds on this machine before it trains anything:
// the NVIDIA driver (nvidia-smi), the CUDA 11.2 / cuDNN 8.1 libraries tfjs-node-gpu
// loads, the Vulkan loader and drivers Dawn needs on Linux, and the adapters Dawn
// sees. Reads files and runs read-only tools; installs and downloads nothing.

import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { checkLibraries } from '../core/cuda-check';
import type { GpuAdapter } from '../shared/events';
import { loadDawn, listAdapterNames, probeAdapter } from '../trainer/backend/webgpu';

export const VULKAN_LOADER = 'libvulkan.so.1';
/** Where Vulkan drivers (ICDs) are declared, besides VK_DRIVER_FILES / VK_ICD_FILENAMES. */
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The Vulkan loader as Dawn finds it: beside dawn.node, beside the node binary, then the linker's paths. */
export function vulkanLoader(): string | undefined {
  const beside = [dawnDir(), path.dirname(process.execPath)].filter((d): d is string => Boolean(d)).map((d) => path.join(d, VULKAN_LOADER));
  return beside.find((p) => existsSync(p)) ?? checkLibraries([VULKAN_LOADER])[0].path;
}

/** The folder of this platform's dawn.node inside the webgpu package, if installed. */
export function dawnDir(): string | undefined {
  try {
    const pkg = path.dirname(require.resolve('webgpu/package.json'));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    return path.join(pkg, 'dist', `${process.platform}-${arch}`);
  } catch {
    return undefined;
  }
}

/** Vulkan driver manifests (nvidia_icd.json, lvp_icd.json, ...) the loader reads. */
export function vulkanDrivers(): string[] {
  const fromEnv = (process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? '').split(':').filter(Boolean);
  if (fromEnv.length) return fromEnv;
  return ICD_DIRS.flatMap((dir) => safeReaddir(dir).filter((n) => n.endsWith('.json')));
}

export interface DawnAdapters {
  /** Why Dawn could not be asked (package missing, no dawn.node for this platform). */
  error?: string;
  adapters: { backend: string; name: string; adapter?: GpuAdapter }[];
}

/** Every adapter Dawn lists, each described (vendor, architecture, driver, hardware or software). */
export async function dawnAdapters(): Promise<DawnAdapters> {
  let dawn;
  try {
    dawn = await loadDawn();
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0], adapters: [] };
  }
  const names = await listAdapterNames(dawn);
  const adapters = [];
  for (const { backend, name } of names) adapters.push({ backend, name, adapter: await probeAdapter(dawn, name) });
  if (!adapters.length) {
    const fallback = await probeAdapter(dawn);
    if (fallback) adapters.push({ backend: '', name: fallback.device, adapter: fallback });
  }
  return { adapters };
}
