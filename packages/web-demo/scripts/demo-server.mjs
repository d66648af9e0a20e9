// Builds the demo page with Vite and serves it on 127.0.0.1 with the bundle, sample digits and
// onnxruntime-web's wasm files. Used by `pnpm web-demo` (scripts/serve.mjs) and the browser tests.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDigits } from './digits.mjs';
import { startStaticServer } from './static-server.mjs';

export const DEMO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_DIST = join(DEMO_ROOT, 'dist');
/** onnxruntime-web's dist folder (its .mjs and .wasm files), served at /ort/. */
export const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

/** Runs `vite build` for the demo page into `outDir` (default packages/web-demo/dist). */
export async function buildDemo({ outDir = DEMO_DIST, quiet = true } = {}) {
  const { build } = await import('vite');
  await build({
    configFile: join(DEMO_ROOT, 'vite.config.ts'),
    root: DEMO_ROOT,
    logLevel: quiet ? 'warn' : 'info',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

/**
 * Serves the built page at /, the bundle at /bundle/, a checkpoint at /checkpoint/ (optional),
 * onnxruntime-web's files at /ort/ and sample digits (uint8, 784 bytes each) at /samples.u8.
 * @param {{ bundleDir?: string, checkpointDir?: string, distDir?: string, port?: number,
 *   isolated?: boolean, samplesPerDigit?: number, extraMounts?: Array<{ prefix: string, dir: string }> }} options
 */
export async function startDemoServer(options = {}) {
  const distDir = options.distDir ?? DEMO_DIST;
  if (!existsSync(join(distDir, 'index.html'))) {
    throw new Error(`${distDir} has no index.html: build the page first (pnpm --filter @aekit/web-demo build)`);
  }
  const digits = loadDigits({ perDigit: options.samplesPerDigit ?? 2, fromEnd: true });
  const mounts = [{ prefix: '/', dir: distDir }, { prefix: '/ort/', dir: ORT_DIST }, ...(options.extraMounts ?? [])];
  if (options.bundleDir) mounts.push({ prefix: '/bundle/', dir: options.bundleDir });
  if (options.checkpointDir) mounts.push({ prefix: '/checkpoint/', dir: options.checkpointDir });
  const server = await startStaticServer({
    mounts,
    files: { '/samples.u8': digits.rows },
    isolated: options.isolated ?? true,
    port: options.port ?? 0,
  });
  return { ...server, samples: digits };
}
