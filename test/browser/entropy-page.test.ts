/**
 * Entropy-coded `.aez` containers across platforms, in real Chromium (Debian's, driven by
 * playwright-core): Node's runtime writes a version 2 container whose latents are rANS-coded with the
 * bundle's latent_tables.bin (and the same rows as plain uint8); a bare page
 * (fixtures/entropy-page) loads the bundle through @aekit/runtime's browser entry on wasm and decodes
 * both, one-shot and streamed. The page's entropy decode must equal its uint8 decode exactly and Node's
 * within float tolerance; a bundle without the tables must refuse the entropy file with a typed error.
 *
 * Locally a missing Chromium skips this file visibly; under CI it fails (helpers/chromium.ts).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countLatentSymbols, encodeLatentTables, fitLatentTables, quantizeLatents, sha256Hex } from '@aekit/core';
import { Codec as NodeCodec, readContainerHeader } from '@aekit/runtime';
import { ORT_DIST } from '../../packages/web-demo/scripts/demo-server.mjs';
import { startStaticServer } from '../../packages/web-demo/scripts/static-server.mjs';
import { chromiumAvailable, launchChromium, recordConsole } from '../helpers/chromium.js';
import { makeFixture, sampleRows } from '../runtime-fixtures.js';

const PAGE = fileURLToPath(new URL('./fixtures/entropy-page/', import.meta.url));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const COLS = 16;
const LATENT = 6;
const ROWS = 700;

interface Decoded {
  latentType?: string;
  version?: number;
  tablesDims?: number;
  rows?: number;
  data?: number[];
  streamed?: number[];
  error?: { name: string; code?: string; message: string };
}
type PageWindow = { aekitEntropy: { decode(bundle: string, aez: string): Promise<Decoded> } };

/** Builds the bare page with Vite on the workspace sources (as the demo page is built). */
async function buildPage(outDir: string): Promise<void> {
  const { build, defaultClientConditions } = await import('vite');
  await build({
    configFile: false,
    root: PAGE,
    base: './',
    logLevel: 'warn',
    resolve: {
      alias: { '@aekit/core': here('../../packages/core/src/index.ts') },
      conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
    },
    esbuild: { keepNames: true },
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
  });
}

const hasChromium = chromiumAvailable();

describe.skipIf(!hasChromium)('entropy-coded .aez decoded in Chromium', () => {
  let work: string;
  let server: Awaited<ReturnType<typeof startStaticServer>>;
  let browser: Browser;
  let page: Page;
  let logs: string[];
  const node: Record<string, number[]> = {};

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aekit-entropy-page-'));
    const plain = makeFixture({ inputDim: COLS, latentDim: LATENT, seed: 21 });
    // The same bundle plus latent tables fitted to its latents on other rows (as a finished training run does).
    const bundle = join(work, 'bundle');
    mkdirSync(bundle);
    for (const f of readdirSync(plain.dir)) copyFileSync(join(plain.dir, f), join(bundle, f));
    const codec = await NodeCodec.load(plain.dir, { device: 'cpu' });
    const z = (await codec.encode(sampleRows(5000, COLS, 'float32', 8) as Float32Array)).data;
    await codec.dispose();
    const range = { min: Float32Array.from(plain.manifest.latentRange.min), max: Float32Array.from(plain.manifest.latentRange.max) };
    const symbols = new Uint8Array(z.length);
    quantizeLatents(z, 'uint8', range, symbols);
    const tables = encodeLatentTables(fitLatentTables(countLatentSymbols(symbols, LATENT), LATENT));
    writeFileSync(join(bundle, 'latent_tables.bin'), tables);
    const manifest = { ...plain.manifest, files: { ...plain.manifest.files, latentTables: { path: 'latent_tables.bin', sha256: await sha256Hex(tables), bytes: tables.length } } };
    writeFileSync(join(bundle, 'manifest.json'), JSON.stringify(manifest, null, 2));

    const files = join(work, 'files');
    mkdirSync(files);
    const rows = sampleRows(ROWS, COLS, 'float32', 9) as Float32Array;
    const nodeCodec = await NodeCodec.load(bundle, { device: 'cpu' });
    try {
      for (const latent of ['entropy', 'uint8'] as const) {
        const bytes = await nodeCodec.compress(rows, { latent, rowsPerChunk: 128 });
        expect(readContainerHeader(bytes)).toMatchObject({ version: 2, latentType: latent });
        writeFileSync(join(files, `${latent}.aez`), bytes);
        node[latent] = Array.from((await nodeCodec.decompress(bytes)).data);
      }
    } finally {
      await nodeCodec.dispose();
    }

    await buildPage(join(work, 'dist'));
    server = await startStaticServer({
      mounts: [
        { prefix: '/', dir: join(work, 'dist') },
        { prefix: '/ort/', dir: ORT_DIST },
        { prefix: '/bundle/', dir: bundle },
        { prefix: '/plain/', dir: plain.dir },
        { prefix: '/files/', dir: files },
      ],
    });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage();
    logs = recordConsole(page);
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as Partial<PageWindow>).aekitEntropy !== undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const decode = (bundle: string, aez: string) =>
    page.evaluate(([b, a]) => (window as unknown as PageWindow).aekitEntropy.decode(b!, a!), [bundle, aez]);

  it('decodes the entropy-coded bytes Node wrote exactly as the uint8 ones, one-shot and streamed, and as Node does', async () => {
    const entropy = await decode('/bundle/', '/files/entropy.aez');
    expect(entropy.error, logs.join('\n')).toBeUndefined();
    expect([entropy.version, entropy.latentType, entropy.tablesDims, entropy.rows]).toEqual([2, 'entropy', LATENT, ROWS]);
    const uint8 = await decode('/bundle/', '/files/uint8.aez');
    expect(uint8.latentType).toBe('uint8');
    // the same latents (bit for bit) through the same wasm decoder: identical rows
    expect(entropy.data).toEqual(uint8.data);
    expect(entropy.streamed).toEqual(entropy.data);
    // and what Node decoded from the same file, up to wasm-vs-native float differences
    let diff = 0;
    for (let i = 0; i < node['entropy']!.length; i++) diff = Math.max(diff, Math.abs(entropy.data![i]! - node['entropy']![i]!));
    expect(entropy.data!.length).toBe(node['entropy']!.length);
    expect(diff).toBeLessThan(1e-4);
    expect(node['entropy']).toEqual(node['uint8']);
  });

  it('refuses the entropy file with the same decoder but no latent tables, with a typed error', async () => {
    const r = await decode('/plain/', '/files/entropy.aez');
    expect(r.tablesDims).toBeUndefined();
    expect(r.error).toMatchObject({ name: 'ContainerError', code: 'E_AEZ_FINGERPRINT' });
    expect(r.error!.message).toMatch(/this bundle has no latent tables/);
    expect((await decode('/plain/', '/files/uint8.aez')).rows).toBe(ROWS); // uint8 needs no tables
  });
});
