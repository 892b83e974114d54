// WebGPU for the trainer: Dawn's Node bindings (the optional `webgpu` package,
// a prebuilt dawn.node per platform inside it) give Node a WebGPU device on
// Vulkan, Metal or D3D12, any vendor's GPU, and @tensorflow/tfjs-backend-webgpu
// trains on it. This file loads Dawn, lists and picks adapters, says what an
// adapter is (vendor, architecture, driver, hardware or software), registers
// tfjs's webgpu backend on the picked one and releases it again.
//
// On this backend tensors must be read asynchronously (`await t.data()`): its
// dataSync needs OffscreenCanvas, which Node lacks.

import type { GpuAdapter } from '../../shared/events';
import * as tf from '../tf';

/** tfjs's name of the backend. */
export const WEBGPU = 'webgpu';

/** The package name, in a variable so that neither TypeScript nor esbuild resolves it: it is optional and ESM. */
const DAWN_PACKAGE = 'webgpu';
/** Lower than cpu (1) and wasm (2): tfjs never picks this backend by itself; select.ts sets it explicitly. */
const FACTORY_PRIORITY = 0;
/** Picks one adapter by (part of) its name, e.g. on a machine with several GPUs: one trainer per GPU. */
export const ADAPTER_ENV = 'L2SOFTMAX_WEBGPU_ADAPTER';
/** An adapter name no driver has: Dawn then answers with the list of the adapters it sees. */
const NO_SUCH_ADAPTER = 'l2softmax-list-adapters';
/** Drivers that run on the CPU, should Dawn not flag them as fallback adapters. */
const SOFTWARE_DRIVERS = /llvmpipe|lavapipe|swiftshader/i;

// The parts of the WebGPU API used here (the package's own types are optional like the package).
interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface DeviceLike {
  destroy(): void;
}
interface AdapterLike {
  info?: AdapterInfoLike;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor: object): Promise<DeviceLike>;
}
interface GpuLike {
  requestAdapter(options?: object): Promise<AdapterLike | null>;
}
interface Dawn {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface TfjsWebGpu {
  WebGPUBackend: new (device: DeviceLike, info?: AdapterInfoLike) => tf.KernelBackend;
}

/** What the backend holds while it is in use; dropped by releaseWebGpu so the process can exit. */
let open: { gpu: GpuLike; device?: DeviceLike } | undefined;

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** Loads Dawn (throws when the package or its dawn.node for this platform is missing) and installs its globals (GPUBufferUsage, ...). */
export async function loadDawn(): Promise<Dawn> {
  const dawn = (await import(DAWN_PACKAGE)) as Dawn;
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  return dawn;
}

/** Hardware unless Dawn calls it a fallback adapter or its driver is a known software one. */
export function describeAdapter(info: AdapterInfoLike | undefined): GpuAdapter {
  const a = { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '', description: info?.description ?? '' };
  const software = Boolean(info?.isFallbackAdapter) || a.architecture === 'software' || SOFTWARE_DRIVERS.test(`${a.device} ${a.description}`);
  return { ...a, hardware: !software };
}

/** One line for logs and the run header: "nvidia hopper, NVIDIA H100 ... (hardware)". */
export function adapterLine(a: GpuAdapter): string {
  const what = [a.vendor, a.architecture].filter(Boolean).join(' ');
  return `${what || 'unknown vendor'}, ${a.description || a.device || 'no driver description'} (${a.hardware ? 'hardware' : 'software: runs on the CPU'})`;
}

/** Flags for Dawn's `create`: the adapter named in L2SOFTMAX_WEBGPU_ADAPTER, if any. */
function dawnFlags(adapterName = process.env[ADAPTER_ENV]): string[] {
  return adapterName ? [`adapter=${adapterName}`] : [];
}

/** Names of the adapters Dawn sees ("backend: 'vulkan', name: '...'" lines), from its answer to an adapter it lacks. */
export async function listAdapterNames(dawn: Dawn): Promise<{ backend: string; name: string }[]> {
  try {
    await dawn.create([`adapter=${NO_SUCH_ADAPTER}`]).requestAdapter();
  } catch (err) {
    const lines = (err instanceof Error ? err.message : String(err)).split('\n');
    return lines.flatMap((line) => {
      const m = /backend: '([^']*)', name: '(.*)'\s*$/.exec(line);
      return m ? [{ backend: m[1], name: m[2] }] : [];
    });
  }
  return [];
}

/** The adapter of that name (the default one without a name), described; undefined when Dawn finds none. */
export async function probeAdapter(dawn: Dawn, name?: string): Promise<GpuAdapter | undefined> {
  const adapter = await dawn
    .create(dawnFlags(name))
    .requestAdapter({ powerPreference: 'high-performance' })
    .catch(() => null);
  return adapter ? describeAdapter(adapter.info) : undefined;
}

/** The device tfjs asks for: its limits raised to the adapter's, as tfjs's own factory does. */
function deviceDescriptor(adapter: AdapterLike): object {
  const limits = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'];
  return {
    requiredFeatures: ['timestamp-query'].filter((f) => adapter.features.has(f)),
    requiredLimits: Object.fromEntries(limits.map((l) => [l, adapter.limits[l]])),
  };
}

export type WebGpuOpened = { ok: true; adapter: GpuAdapter } | { ok: false; reason: string };

/**
 * Loads Dawn, takes the high-performance adapter (or the one L2SOFTMAX_WEBGPU_ADAPTER
 * names) and makes tfjs's webgpu backend the active one on it. A software adapter is
 * refused unless `allowSoftware`. Never throws: a failure says why.
 */
export async function openWebGpu(allowSoftware: boolean): Promise<WebGpuOpened> {
  let dawn: Dawn;
  try {
    dawn = await loadDawn();
  } catch (err) {
    return { ok: false, reason: `the webgpu package (Dawn) did not load: ${firstLine(err)}` };
  }
  const gpu = dawn.create(dawnFlags());
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, reason: `Dawn found no adapter: ${firstLine(err)}` };
  }
  if (!adapter) return { ok: false, reason: 'Dawn found no adapter (no Vulkan, Metal or D3D12 driver; on Linux check that libvulkan.so.1 and a Vulkan ICD are installed)' };
  const described = describeAdapter(adapter.info);
  if (!described.hardware && !allowSoftware) {
    return { ok: false, reason: `the only adapter is a software one (${adapterLine(described)}), far slower than the CPU backends; set device to "webgpu" to use it anyway` };
  }
  try {
    await activate(gpu, adapter);
  } catch (err) {
    await releaseWebGpu();
    return { ok: false, reason: `tfjs's webgpu backend did not start on ${adapterLine(described)}: ${firstLine(err)}` };
  }
  return { ok: true, adapter: described };
}

/** navigator.gpu, which tfjs's backend checks for; Node before 21 has no navigator at all. */
function exposeGpu(gpu: GpuLike | undefined): void {
  const g = globalThis as unknown as { navigator?: object };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'node' }, configurable: true, writable: true });
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
}

/** Registers tfjs's webgpu backend on this adapter's device and makes it the active backend. */
async function activate(gpu: GpuLike, adapter: AdapterLike): Promise<void> {
  // Registers the kernels, and its own factory where navigator.gpu already exists (replaced below by one on our adapter).
  const { WebGPUBackend } = require('@tensorflow/tfjs-backend-webgpu') as TfjsWebGpu;
  const device = await adapter.requestDevice(deviceDescriptor(adapter));
  open = { gpu, device };
  exposeGpu(gpu);
  if (tf.findBackendFactory(WEBGPU)) tf.removeBackend(WEBGPU);
  tf.registerBackend(WEBGPU, () => new WebGPUBackend(device, adapter.info), FACTORY_PRIORITY);
  if (!(await tf.setBackend(WEBGPU))) throw new Error('the webgpu backend did not initialize');
}

/** Frees the backend, its GPU buffers and the device; Dawn then lets the process exit. Harmless when WebGPU was never opened. */
export async function releaseWebGpu(): Promise<void> {
  if (!open) return;
  if (tf.findBackendFactory(WEBGPU)) tf.removeBackend(WEBGPU);
  open.device?.destroy();
  open = undefined;
  // Dawn keeps the process alive while its GPU object is referenced.
  exposeGpu(undefined);
}
