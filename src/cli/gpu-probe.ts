// What the GPU check (gpu-check.ts) finds on this machine before it trains anything:
// the NVIDIA driver (nvidia-smi), the CUDA 11.2 / cuDNN 8.1 libraries tfjs-node-gpu
// loads, the Vulkan loader and drivers Dawn needs on Linux, and the adapters Dawn
// sees. Reads files and runs read-only tools; installs and downloads nothing.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { GpuAdapter } from '../shared/events';
import { loadDawn, listAdapterNames, probeAdapter } from '../trainer/backend/webgpu';

/** The shared libraries @tensorflow/tfjs-node-gpu 4.22 (libtensorflow 2.9.1) loads: CUDA 11.2's runtime and cuDNN 8. */
export const CUDA_LIBRARIES = ['libcudart.so.11.0', 'libcudnn.so.8'];
export const VULKAN_LOADER = 'libvulkan.so.1';
/** Where Vulkan drivers (ICDs) are declared, besides VK_DRIVER_FILES / VK_ICD_FILENAMES. */
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const STANDARD_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/cuda/lib64'];
const TOOL_TIMEOUT_MS = 5000;

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { timeout: TOOL_TIMEOUT_MS, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** GPUs and driver version as nvidia-smi reports them; undefined without an NVIDIA driver. */
export function nvidiaGpus(): string[] | undefined {
  const out = run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
  return out?.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Shared libraries the dynamic linker knows (ldconfig's cache, LD_LIBRARY_PATH, the usual folders): file name -> path. */
function knownLibraries(): Map<string, string> {
  const found = new Map<string, string>();
  const cache = run('ldconfig', ['-p']) ?? run('/sbin/ldconfig', ['-p']) ?? '';
  for (const line of cache.split('\n')) {
    const m = /^\s*(\S+) .*=> (\S+)$/.exec(line);
    if (m && !found.has(m[1])) found.set(m[1], m[2]);
  }
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...STANDARD_LIB_DIRS];
  for (const dir of dirs) {
    for (const name of safeReaddir(dir)) if (name.includes('.so') && !found.has(name)) found.set(name, path.join(dir, name));
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export interface LibraryCheck {
  name: string;
  path?: string;
  /** Other versions present (libcudart.so.12 where .so.11.0 is wanted). */
  others: string[];
}

/** Each wanted library: where it is, or which other versions of it are there. */
export function checkLibraries(names: string[]): LibraryCheck[] {
  const known = knownLibraries();
  return names.map((name) => {
    const stem = name.slice(0, name.indexOf('.so') + 3);
    const others = [...known.keys()].filter((k) => k.startsWith(stem) && k !== name && k !== stem).sort();
    return { name, path: known.get(name), others };
  });
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
