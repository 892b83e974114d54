// Builds three kinds of bundles:
//   dist/extension.js  the extension host side (node, cjs, `vscode` external)
//   dist/trainer.js    the training child process, dist/cli.js the command line
//                      (node, cjs; tfjs and native modules external: they load their own binaries)
//   dist/webview.js    the dashboard (browser, iife)
// Usage: node esbuild.config.mjs [--watch] [--production]
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const nodeExternals = ['@tensorflow/*', 'sharp', 'playwright-core'];

const common = {
  bundle: true,
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

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
