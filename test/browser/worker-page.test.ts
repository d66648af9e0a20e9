/**
 * `@aekit/runtime/worker` in real Chromium (Debian's, driven by playwright-core): a page built with
 * Vite starts Web Workers running `exposeCodec()` and loads the bundle in them with
 * `WorkerCodec.load`; every method must give exactly what a Codec on the page gives (same wasm build),
 * with one worker and with rows split over two, and errors must arrive with their class and code.
 *
 * Locally a missing Chromium skips this file visibly; under CI it fails (helpers/chromium.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORT_DIST } from '../../packages/web-demo/scripts/demo-server.mjs';
import { startStaticServer } from '../../packages/web-demo/scripts/static-server.mjs';
import { chromiumAvailable, launchChromium, recordConsole } from '../helpers/chromium.js';
import { type Fixture, makeFixture } from '../runtime-fixtures.js';

const PAGE = fileURLToPath(new URL('./fixtures/worker-page/', import.meta.url));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

interface Report {
  workers?: number;
  device?: string;
  same?: Record<string, boolean>;
  rows?: number;
  errors?: Array<{ name: string; code?: string; instanceOf: boolean; message: string }>;
  failure?: string;
}
type PageWindow = { aekitWorker: { run(bundle: string, workers: number): Promise<Report> } };

async function buildPage(outDir: string): Promise<void> {
  const { build, defaultClientConditions } = await import('vite');
  const conditions = ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions];
  await build({
    configFile: false,
    root: PAGE,
    base: './',
    logLevel: 'warn',
    resolve: { alias: { '@aekit/core': here('../../packages/core/src/index.ts') }, conditions },
    // ES workers: the worker imports onnxruntime-web lazily (a chunk of its own).
    worker: { format: 'es' },
    esbuild: { keepNames: true },
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
  });
}

const hasChromium = chromiumAvailable();

describe.skipIf(!hasChromium)('WorkerCodec in Chromium (Web Workers running exposeCodec)', () => {
  let work: string;
  let bundle: Fixture;
  let server: Awaited<ReturnType<typeof startStaticServer>>;
  let browser: Browser;
  let page: Page;
  let logs: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aekit-worker-page-'));
    bundle = makeFixture({ inputDim: 16, latentDim: 4, seed: 41 });
    await buildPage(join(work, 'dist'));
    server = await startStaticServer({
      mounts: [
        { prefix: '/', dir: join(work, 'dist') },
        { prefix: '/ort/', dir: ORT_DIST },
        { prefix: '/bundle/', dir: bundle.dir },
      ],
    });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage();
    logs = recordConsole(page);
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as Partial<PageWindow>).aekitWorker !== undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const d of [work, bundle?.dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const run = (workers: number) => page.evaluate(([w]) => (window as unknown as PageWindow).aekitWorker.run('bundle/', w!), [workers]);

  for (const workers of [1, 2]) {
    it(`gives exactly the page Codec's results with ${workers} worker${workers > 1 ? 's' : ''}, and its errors`, async () => {
      const r = await run(workers);
      expect(r.failure, logs.join('\n')).toBeUndefined();
      expect(r.workers).toBe(workers);
      expect(r.device).toBe('wasm');
      expect(r.rows).toBe(300);
      expect(r.same).toEqual({ encode: true, decode: true, reconstruct: true, compress: true, decompress: true });
      const [container, shape, disposed] = r.errors!;
      expect(container).toMatchObject({ name: 'ContainerError', code: 'E_AEZ_MAGIC', instanceOf: true });
      expect(shape).toMatchObject({ name: 'RangeError', instanceOf: true });
      expect(shape!.message).toMatch(/not a multiple of the 16 values per row/);
      expect(disposed).toMatchObject({ name: 'DisposedError', code: 'E_DISPOSED', instanceOf: true });
    });
  }
});
