// Builds three kinds of bundles:
//   dist/extension.js  the extension host side (node, cjs, `vscode` external)
//   dist/trainer.js    the training child process, dist/cli.js the command line
//                      (node, cjs; tfjs and native modules external: they load their own binaries)
//   dist/webview.js    the dashboard (browser, iife)
//   dist/simd-kernels.wasm  the trainer's SIMD kernels (AssemblyScript, src/trainer/backend/simd)
// Usage: node esbuild.config.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import asc from 'assemblyscript/asc';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const nodeExternals = ['@tensorflow/*', 'sharp', 'playwright-core'];

const { version } = JSON.parse((await import('node:fs')).readFileSync('package.json', 'utf8'));

const common = {
  bundle: true,
  // The version a run records (src/core/version.ts); unbundled (tsx) code says "dev".
  define: { 'process.env.L2SOFTMAX_VERSION': JSON.stringify(version) },
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'info',
};

const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension/main.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    outdir: 'dist',
    external: ['vscode', ...nodeExternals],
  },
  {
    ...common,
    entryPoints: { trainer: 'src/trainer/main.ts', 'train-worker': 'src/trainer/train-worker.ts', cli: 'src/cli/main.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    outdir: 'dist',
    external: nodeExternals,
  },
];

if (process.env.L2SOFTMAX_WEBVIEW !== '0' && (await import('node:fs')).existsSync('webview/main.ts')) {
  builds.push({
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    outdir: 'dist',
  });
}

// Integration tests run inside VS Code's extension host: one bundle per file, mocha loaded from node_modules.
if (process.argv.includes('--tests')) {
  const { readdirSync } = await import('node:fs');
  const files = readdirSync('test/integration').filter((f) => f.endsWith('.ts')).map((f) => `test/integration/${f}`);
  builds.length = 0;
  builds.push({ ...common, entryPoints: files, platform: 'node', format: 'cjs', target: 'node18', outdir: 'out/integration', external: ['vscode', 'mocha', ...nodeExternals] });
}

// The kernels run inside the tfjs wasm backend's memory (imported), so they must
// carry no data segments, runtime or abort handler that would write into it.
async function buildKernels() {
  const { error, stderr } = await asc.main([
    'src/trainer/backend/simd/kernels.ts',
    '--outFile', 'dist/simd-kernels.wasm',
    '-O3', '--noAssert', '--enable', 'simd', '--runtime', 'stub', '--importMemory', '--use', 'abort=',
  ]);
  if (error) throw new Error(`AssemblyScript: ${error.message}\n${stderr.toString()}`);
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync('dist/simd-kernels.wasm');
  for (let at = 8; at < bytes.length; ) {
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (id === 11) throw new Error('simd-kernels.wasm has a data section: it would overwrite the backend memory');
    at += size;
  }
  const mod = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`);
  if (imports.join() !== 'env.memory') throw new Error(`simd-kernels.wasm must import only env.memory, imports ${imports.join(', ')}`);
}

if (!process.argv.includes('--tests')) await buildKernels();

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
