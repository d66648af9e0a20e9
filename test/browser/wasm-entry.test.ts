/**
 * `@aekit/runtime/wasm` in real Chromium: a bare page (fixtures/wasm-page) imports the wasm-only entry
 * and is built by Vite the way an app's build resolves onnxruntime-web (default conditions: Vite
 * emits the .wasm next to the bundle). The build must hold onnxruntime-web's wasm-only
 * `ort-wasm-simd-threaded.wasm` and not the full build's `.jsep.wasm`; the page loads a bundle by URL
 * (with progress and `await using`), fetches only the small .wasm, matches Node's results, and
 * refuses `device: 'webgpu'` with a RangeError naming the full entry.
 *
 * Locally a missing Chromium skips this file visibly; under CI it fails (helpers/chromium.ts).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codec as NodeCodec } from '@aekit/runtime';
import { startStaticServer } from '../../packages/web-demo/scripts/static-server.mjs';
import { chromiumAvailable, launchChromium, recordConsole } from '../helpers/chromium.js';
import { type Fixture, makeFixture, sampleRows } from '../runtime-fixtures.js';

const PAGE = fileURLToPath(new URL('./fixtures/wasm-page/', import.meta.url));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const COLS = 16;

interface Result {
  device?: string;
  devices?: string[];
  z?: number[];
  xHat?: number[];
  lastProgress?: { bundleLoaded: number; bundleTotal: number | undefined };
  error?: { name: string; message: string };
}
type PageWindow = { aekitWasm: { run(bundle: string, rows: number[]): Promise<Result>; tryWebgpu(bundle: string): Promise<Result> } };

/** Every file under `dir`, relative, with its size. */
function listFiles(dir: string, prefix = ''): Array<[string, number]> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name), `${prefix}${d.name}/`) : [[`${prefix}${d.name}`, statSync(join(dir, d.name)).size] as [string, number]],
  );
}

const hasChromium = chromiumAvailable();

describe.skipIf(!hasChromium)('@aekit/runtime/wasm in Chromium (built by Vite)', () => {
  let work: string;
  let fx: Fixture;
  let built: Array<[string, number]>;
  let server: Awaited<ReturnType<typeof startStaticServer>>;
  let browser: Browser;
  let page: Page;
  let logs: string[];
  const requested: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aekit-wasm-page-'));
    fx = makeFixture({ inputDim: COLS, latentDim: 5, seed: 31 });
    const { build } = await import('vite');
    await build({
      configFile: false,
      root: PAGE,
      base: './',
      logLevel: 'warn',
      resolve: { alias: { '@aekit/core': here('../../packages/core/src/index.ts') } },
      esbuild: { keepNames: true },
      build: { outDir: join(work, 'dist'), emptyOutDir: true, target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 20_000 },
    });
    built = listFiles(join(work, 'dist'));
    server = await startStaticServer({ mounts: [{ prefix: '/', dir: join(work, 'dist') }, { prefix: '/bundle/', dir: fx.dir }] });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage();
    logs = recordConsole(page);
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as Partial<PageWindow>).aekitWasm !== undefined);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    if (fx) rmSync(fx.dir, { recursive: true, force: true });
  });

  it("the app's build ships onnxruntime-web's wasm-only .wasm, not the full build's .jsep.wasm", () => {
    const wasm = built.filter(([f]) => f.endsWith('.wasm'));
    expect(wasm.map(([f]) => f.replace(/.*\//, '').replace(/-[\w-]{8}\.wasm$/, '.wasm'))).toEqual(['ort-wasm-simd-threaded.wasm']);
    expect(built.some(([f]) => f.includes('jsep'))).toBe(false);
  });

  it("runs a bundle loaded by URL on wasm, fetching only the small .wasm, with Node's results", async () => {
    const rows = sampleRows(4, COLS) as Float32Array;
    const r = await page.evaluate(([u, x]) => (window as unknown as PageWindow).aekitWasm.run(u!, x as number[]), ['/bundle/', Array.from(rows)] as const);
    expect(r.error, logs.join('\n')).toBeUndefined();
    expect(r.device).toBe('wasm');
    expect(r.devices).toEqual(['wasm', 'auto']);
    expect(r.lastProgress!.bundleTotal).toBeGreaterThan(0);
    expect(r.lastProgress!.bundleLoaded).toBe(r.lastProgress!.bundleTotal);
    const wasmFetched = requested.filter((p) => p.endsWith('.wasm'));
    expect(wasmFetched.length).toBeGreaterThan(0);
    expect(wasmFetched.every((p) => /ort-wasm-simd-threaded-[\w-]+\.wasm$|ort-wasm-simd-threaded\.wasm$/.test(p) && !p.includes('jsep'))).toBe(true);

    const node = await NodeCodec.load(fx.dir, { device: 'cpu', threads: 1 });
    const z = (await node.encode(rows)).data;
    const xHat = (await node.reconstruct(rows)).data;
    await node.dispose();
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      expect(a.length).toBe(b.length);
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
      return m;
    };
    expect(maxDiff(r.z!, z)).toBeLessThan(1e-4);
    expect(maxDiff(r.xHat!, xHat)).toBeLessThan(1e-4);
  });

  it('refuses device webgpu with a RangeError naming the full entry', async () => {
    const r = await page.evaluate((u) => (window as unknown as PageWindow).aekitWasm.tryWebgpu(u), '/bundle/');
    expect(r.error).toEqual({
      name: 'RangeError',
      message: `device "webgpu" is not available from @aekit/runtime/wasm, which ships onnxruntime-web's wasm-only build; use device 'wasm' (or 'auto'), or the full entry '@aekit/runtime' for WebGPU`,
    });
  });
});
