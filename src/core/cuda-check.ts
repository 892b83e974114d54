// Why tfjs-node-gpu does or does not train on an NVIDIA GPU here, and what to
// install: the driver (nvidia-smi), whether the package is installed, whether
// CUDA 11's runtime (libcudart.so.11.0) and cuDNN 8 (libcudnn.so.8) load and from
// where. The facts are gathered by `node dist/cli.js gpu-check` (npm run
// gpu-check; Check GPU Setup in the editor) with the trainer's own Node.js; the
// advice is a pure function of them (unit-tested with recorded facts).

import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { NVIDIA_SMI_ARGS, parseNvidiaSmi, type NvidiaSmiResult } from './nvidia-smi';

/** The shared libraries @tensorflow/tfjs-node-gpu 4.22 (libtensorflow 2.9.1) loads: CUDA 11.2's runtime and cuDNN 8. */
export const CUDA_LIBRARIES = ['libcudart.so.11.0', 'libcudnn.so.8'];
export const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const STANDARD_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/cuda/lib64'];
const TOOL_TIMEOUT_MS = 5000;
/** The pip wheels that carry CUDA 11's runtime and cuDNN 8, then TensorFlow 2.9's other CUDA 11 libraries, with the module each installs (its libraries in <module>/lib). */
const CUDA_WHEELS = [
  { wheel: 'nvidia-cuda-runtime-cu11', module: 'nvidia.cuda_runtime' },
  { wheel: 'nvidia-cudnn-cu11', module: 'nvidia.cudnn' },
  { wheel: 'nvidia-cublas-cu11', module: 'nvidia.cublas' },
  { wheel: 'nvidia-cufft-cu11', module: 'nvidia.cufft' },
  { wheel: 'nvidia-curand-cu11', module: 'nvidia.curand' },
  { wheel: 'nvidia-cusolver-cu11', module: 'nvidia.cusolver' },
  { wheel: 'nvidia-cusparse-cu11', module: 'nvidia.cusparse' },
];

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { timeout: TOOL_TIMEOUT_MS, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
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
  /** Whether the dynamic linker loads it (dlopen); undefined when not tried. */
  loads?: boolean;
  /** Why it does not load, when it was found but failed. */
  error?: string;
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

/**
 * Whether the dynamic linker loads a library by its soname, as libtensorflow
 * would: process.dlopen loads it (then refuses it as a Node addon, which is
 * the sign it loaded). Only in a process that can afford CUDA's runtime in it.
 */
export function tryLoad(name: string): { loads: boolean; error?: string } {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, name);
    return { loads: true };
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    if (/did not self-register|Module did not|undefined symbol: napi|node_register/i.test(message)) return { loads: true };
    return { loads: false, error: /cannot open shared object file/.test(message) ? undefined : message };
  }
}

export interface CudaFacts {
  driver: NvidiaSmiResult;
  /** Where @tensorflow/tfjs-node-gpu is installed, when it is. */
  tfjsNodeGpu?: string;
  libraries: LibraryCheck[];
}

/** Gathers the facts in this process (the trainer's Node.js: the CLI's gpu-check). */
export function gatherCudaFacts(resolveFrom: string): CudaFacts {
  let output = '';
  let code: number | null = 0;
  let startError: NodeJS.ErrnoException | undefined;
  try {
    output = execFileSync('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: TOOL_TIMEOUT_MS, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number | null; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') startError = e;
    output = `${e.stdout ?? ''}\n${e.stderr ?? ''}`;
    code = e.status ?? 1;
  }
  let tfjsNodeGpu: string | undefined;
  try {
    tfjsNodeGpu = path.dirname(require.resolve(`${TFJS_NODE_GPU}/package.json`, { paths: [resolveFrom] }));
  } catch {
    tfjsNodeGpu = undefined;
  }
  const libraries = checkLibraries(CUDA_LIBRARIES).map((lib) => ({ ...lib, ...tryLoad(lib.name) }));
  return { driver: parseNvidiaSmi(output, code, startError), tfjsNodeGpu, libraries };
}

/** The LD_LIBRARY_PATH line that puts the pip wheels' libraries where the dynamic linker looks. */
export const WHEEL_LIBRARY_PATH = `export LD_LIBRARY_PATH="$(python3 -c 'import os, ${CUDA_WHEELS.map((w) => w.module).join(', ')}; print(":".join(os.path.join(os.path.dirname(m.__file__), "lib") for m in (${CUDA_WHEELS.map((w) => w.module).join(', ')})))'):$LD_LIBRARY_PATH"`;

/** What the facts mean for tfjs-node-gpu, and exactly what to install otherwise: lines for a report. */
export function cudaAdvice(f: CudaFacts): string[] {
  const lines: string[] = [];
  const d = f.driver;
  if (d.ok) lines.push(`NVIDIA driver ${d.gpus[0].driver}: ${d.gpus.map((g) => `${g.name}${g.memoryTotal !== null ? ` (${Math.round(g.memoryTotal / 1024)} GiB)` : ''}`).join(', ')}`);
  else if (d.reason === 'not-installed' || d.reason === 'no-driver') lines.push(`No NVIDIA driver${d.reason === 'no-driver' ? ` running (${d.message})` : ' (nvidia-smi not found)'}: tfjs-node-gpu cannot use a GPU on this machine.`);
  else if (d.reason === 'driver-mismatch') lines.push(`The NVIDIA driver's kernel module and its library differ (${d.message}): a driver update was installed while the old module is loaded. Reboot (or reload the nvidia module).`);
  else if (d.reason === 'no-devices') lines.push('The NVIDIA driver is installed but sees no GPU (nvidia-smi: "No devices were found"): check that the GPU is seated and powered, or, in a container, that it was given one (--gpus all).');
  else lines.push(`nvidia-smi failed: ${d.message}`);
  lines.push(f.tfjsNodeGpu ? `${TFJS_NODE_GPU}: installed (${f.tfjsNodeGpu})` : `${TFJS_NODE_GPU}: not installed (optional; from a clone: npm install ${TFJS_NODE_GPU}, which downloads libtensorflow 2.9.1 with GPU support)`);
  for (const lib of f.libraries) {
    const where = lib.path ? ` (${lib.path})` : '';
    if (lib.loads) lines.push(`${lib.name}: loads${where}`);
    else if (lib.path || lib.error) lines.push(`${lib.name}: found${where} but does not load${lib.error ? `: ${lib.error}` : ''}`);
    else lines.push(`${lib.name}: missing${lib.others.length ? ` (found ${lib.others.join(', ')}: another version, which TensorFlow 2.9 does not load)` : ''}`);
  }
  lines.push(...verdict(f));
  return lines;
}

function verdict(f: CudaFacts): string[] {
  if (!f.driver.ok && (f.driver.reason === 'not-installed' || f.driver.reason === 'no-driver')) {
    return ['So: no NVIDIA GPU training here; nothing to install unless this machine has an NVIDIA GPU (then install its driver, 450.80.02 or newer for CUDA 11). Training uses WebGPU on another GPU if one works (above), else the CPU.'];
  }
  const missing = f.libraries.filter((l) => !l.loads);
  if (f.driver.ok && f.tfjsNodeGpu && !missing.length) return ['So: tfjs-node-gpu can train on the GPU; Device auto picks it.'];
  const steps: string[] = ['So, to train on the NVIDIA GPU:'];
  if (!f.tfjsNodeGpu) steps.push(`  - install ${TFJS_NODE_GPU} where the trainer runs (npm install in a clone; the VSIX does not carry it)`);
  if (missing.length) {
    steps.push(
      '  - install CUDA 11.2 and cuDNN 8.1 (NVIDIA\'s CUDA 11.2 toolkit and cuDNN 8.1 for CUDA 11.x; newer CUDA 12 libraries are not picked up), or, without root, the pip wheels:',
      `      pip install ${CUDA_WHEELS.map((w) => w.wheel).join(' ')}`,
      `      ${WHEEL_LIBRARY_PATH}`,
      '    and start the editor (or the CLI) from that shell, or put the line in ~/.profile, so the trainer inherits LD_LIBRARY_PATH.',
    );
  }
  if (!f.driver.ok) steps.push('  - fix the driver first (see above)');
  return steps;
}
