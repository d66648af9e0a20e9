/**
 * The demo page in real Chromium (Debian's, driven by playwright-core): the browser entry of
 * @aekit/runtime on WebGPU (SwiftShader adapter) and on wasm, checked against the Node runtime; the
 * draw canvas; the in-page export; the bad inputs shown on the page. Saves a screenshot to
 * artifacts/browser/demo-page.png.
 *
 * Locally a missing Chromium skips this file visibly; under CI it fails (helpers/chromium.ts).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SPEC, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { Codec as NodeCodec } from '@aekit/runtime';
import { buildDemo, startDemoServer } from '../../packages/web-demo/scripts/demo-server.mjs';
import { loadDigits } from '../../packages/web-demo/scripts/digits.mjs';
import { chromiumAvailable, launchChromium, recordConsole } from '../helpers/chromium.js';
import { buildPcaBundle, fitPca, latentRangeOf, writeBundleDir } from './fixtures/pca-bundle.js';
import { pcaCheckpointFiles, randomCheckpointFiles, randomConvCheckpointFiles, writeFiles } from './fixtures/checkpoints.js';

const ARTIFACTS = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../artifacts/browser');
const CREATED_AT = '2026-01-01T00:00:00.000Z';
/** Outputs are compared in the model's units (pixels / 255), where 1e-4 is the agreement asked for. */
const TOLERANCE = 1e-4;

interface DemoState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  error?: { name: string; code?: string; message: string };
  device?: string;
  threads?: number;
  crossOriginIsolated: boolean;
  notes: string[];
  draws: number;
  lastDraw?: { inputSum: number; outputSum: number };
  latentLocation?: string;
  compressed: Partial<Record<'float16' | 'uint8', number>>;
}
interface DemoApi {
  ready: Promise<void>;
  state: DemoState;
  reconstructSamples(): Promise<{ device: string; latentLocation?: string; rows: number; data: number[] }>;
  encodeSamples(): Promise<{ device: string; rows: number; data: number[] }>;
  lastDraw(): { input: number[]; output: number[] } | undefined;
  compressSamples(latent: 'uint8' | 'float16' | 'float32'): Promise<number[]>;
  exportAndRun(url: string, createdAt?: string): Promise<{ manifest: { files: Record<string, { sha256: string }> }; device: string; reconstruction: number[] }>;
}
type DemoWindow = { aekitDemo: DemoApi };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / scale);
  return m;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

const hasChromium = chromiumAvailable();
/** Largest browser-vs-Node differences seen, printed after the suite (for the docs' numbers). */
const diffs: Record<string, number> = {};
function record(what: string, diff: number): number {
  diffs[what] = Math.max(diffs[what] ?? 0, diff);
  return diff;
}

describe.skipIf(!hasChromium)('demo page in Chromium', () => {
  let work: string;
  let server: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  let noGpuBrowser: Browser | undefined;
  let nodeCodec: NodeCodec;
  let convCodec: NodeCodec;
  let checkpoint: Record<string, Uint8Array>;
  let defaultCheckpoint: Record<string, Uint8Array>;
  const pages: Page[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aekit-browser-'));
    const train = loadDigits({ perDigit: 150 });
    const weights = fitPca(train.rows, 784, 32);
    const range = latentRangeOf(weights, train.rows);
    const bundleDir = join(work, 'bundle');
    writeBundleDir(bundleDir, buildPcaBundle(weights, range));
    // A copy whose decoder has one byte changed (same size): only the hash check can catch it.
    const tampered = join(work, 'tampered');
    mkdirSync(tampered);
    for (const f of ['manifest.json', 'encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) copyFileSync(join(bundleDir, f), join(tampered, f));
    const dec = readFileSync(join(tampered, 'decoder.onnx'));
    dec[dec.length - 10]! ^= 0x01;
    writeFileSync(join(tampered, 'decoder.onnx'), dec);
    checkpoint = await pcaCheckpointFiles(weights, range);
    writeFiles(join(work, 'checkpoint'), checkpoint);
    // The default architecture (relu hidden layers, sigmoid output), random weights.
    defaultCheckpoint = await randomCheckpointFiles(DEFAULT_SPEC, 7);
    writeFiles(join(work, 'checkpoint-default'), defaultCheckpoint);

    // A convolutional codec (spatial latent, every layer a Conv / ConvTranspose), random weights.
    const convSpec = makeSpec({ image: { height: 28, width: 28, channels: 1 }, conv: [{ filters: 8 }, { filters: 16 }], latentShape: [7, 7, 4] });
    const convBundle = await exportBundle(randomConvCheckpointFiles(convSpec, 11), { createdAt: CREATED_AT });
    writeFiles(join(work, 'conv-bundle'), convBundle.files);

    const dist = await buildDemo({ outDir: join(work, 'dist') });
    server = await startDemoServer({
      distDir: dist,
      bundleDir,
      checkpointDir: join(work, 'checkpoint'),
      extraMounts: [
        { prefix: '/tampered/', dir: tampered },
        { prefix: '/checkpoint-default/', dir: join(work, 'checkpoint-default') },
        { prefix: '/conv-bundle/', dir: join(work, 'conv-bundle') },
      ],
    });
    browser = await launchChromium({ webgpu: true });
    nodeCodec = await NodeCodec.load(bundleDir, { device: 'cpu' });
    convCodec = await NodeCodec.load(join(work, 'conv-bundle'), { device: 'cpu' });
  });

  // Each page holds its own GPU device and wasm heap: close them as soon as a test is done.
  afterEach(async () => {
    await Promise.allSettled(pages.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    const seen = Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(1)}`);
    if (seen.length) console.info(`max |browser - Node| (pixels/255 for rows, raw for latents): ${seen.join(', ')}`);
    await browser?.close();
    await noGpuBrowser?.close();
    await server?.close();
    await nodeCodec?.dispose();
    await convCodec?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Opens the page with a query string and waits for its first load to finish (ready or error). */
  async function open(query: string, b: Browser = browser): Promise<{ page: Page; logs: string[]; state: DemoState }> {
    const page = await b.newPage({ viewport: { width: 1100, height: 1000 } });
    pages.push(page);
    const logs = recordConsole(page);
    await page.goto(`${server.url}?measure=0&${query}`);
    await page.waitForFunction(() => (window as unknown as Partial<DemoWindow>).aekitDemo !== undefined);
    const state = await page.evaluate(async () => {
      const demo = (window as unknown as DemoWindow).aekitDemo;
      await demo.ready;
      return demo.state;
    });
    return { page, logs, state };
  }

  async function expectSameAsNode(page: Page, codec: NodeCodec = nodeCodec): Promise<{ device: string; latentLocation?: string }> {
    const samples = Float32Array.from(server.samples.rows);
    const [pageRec, pageEnc] = await page.evaluate(async () => {
      const demo = (window as unknown as DemoWindow).aekitDemo;
      return [await demo.reconstructSamples(), await demo.encodeSamples()] as const;
    });
    const rec = await codec.reconstruct(samples);
    const enc = await codec.encode(samples);
    expect(pageRec.rows).toBe(server.samples.count);
    expect(record(`${pageRec.device} reconstruct`, maxAbsDiff(pageRec.data, rec.data, 255))).toBeLessThan(TOLERANCE);
    expect(record(`${pageEnc.device} encode`, maxAbsDiff(pageEnc.data, enc.data))).toBeLessThan(TOLERANCE);
    return pageRec;
  }

  it('runs the bundle on wasm, with threads (the page is cross-origin isolated), like the Node runtime', async () => {
    const { page, logs, state } = await open('device=wasm&threads=2&log=verbose');
    expect(state.error).toBeUndefined();
    expect(state.status).toBe('ready');
    expect(state.device).toBe('wasm');
    expect(state.crossOriginIsolated).toBe(true);
    expect(state.threads).toBe(2);
    expect(state.notes).toEqual([]);
    const run = await expectSameAsNode(page);
    expect(run.device).toBe('wasm');
    expect(logs.some((l) => l.includes('All nodes placed on [CPUExecutionProvider]'))).toBe(true);

    // A container compressed in the page decompresses in Node with the same bundle.
    const bytes = await page.evaluate(() => (window as unknown as DemoWindow).aekitDemo.compressSamples('uint8'));
    const back = await nodeCodec.decompress(Uint8Array.from(bytes));
    expect(back.rows).toBe(server.samples.count);
    let se = 0;
    for (let i = 0; i < back.data.length; i++) se += ((back.data[i]! - server.samples.rows[i]!) / 255) ** 2;
    expect(se / back.data.length).toBeLessThan(0.03); // PCA-32 reconstructions: ≈ 0.018; the mean image: ≈ 0.066
    expect(state.compressed.uint8).toBe(bytes.length / server.samples.count);
    expect(state.compressed.uint8!).toBeLessThan(784 / 10);
  });

  it('runs a convolutional bundle (spatial latent) on WebGPU and on wasm, like the Node runtime', async () => {
    for (const device of ['webgpu', 'wasm'] as const) {
      const { page, state } = await open(`bundle=./conv-bundle/&device=${device}`);
      expect(state.error).toBeUndefined();
      expect(state.status).toBe('ready');
      expect(state.device).toBe(device);
      const run = await expectSameAsNode(page, convCodec);
      expect(run.device).toBe(device);
      // Spatial latents compress in the page and decompress in Node with the same bundle.
      const bytes = await page.evaluate(() => (window as unknown as DemoWindow).aekitDemo.compressSamples('uint8'));
      const back = await convCodec.decompress(Uint8Array.from(bytes));
      expect(back.rows).toBe(server.samples.count);
    }
  });

  it('runs 1 wasm thread, and says why, when the page lacks the COOP/COEP headers', async () => {
    const plain = await startDemoServer({ distDir: join(work, 'dist'), bundleDir: join(work, 'bundle'), isolated: false });
    try {
      const page = await browser.newPage();
      pages.push(page);
      await page.goto(`${plain.url}?measure=0&device=wasm&threads=2`);
      await page.waitForFunction(() => (window as unknown as Partial<DemoWindow>).aekitDemo !== undefined);
      const state = await page.evaluate(async () => {
        await (window as unknown as DemoWindow).aekitDemo.ready;
        return (window as unknown as DemoWindow).aekitDemo.state;
      });
      expect(state.error).toBeUndefined();
      expect(state.crossOriginIsolated).toBe(false);
      expect(state.threads).toBe(1);
      expect(state.notes.join('\n')).toMatch(/2 wasm threads asked, but the page is not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp.*using 1/);
      await expectSameAsNode(page);
    } finally {
      await plain.close();
    }
  });

  it('runs on WebGPU with every node on the GPU and the latents kept in a GPU buffer', async () => {
    const { page, logs, state } = await open('device=webgpu&log=verbose');
    expect(state.error).toBeUndefined();
    expect(state.device).toBe('webgpu');
    const run = await expectSameAsNode(page);
    expect(run.device).toBe('webgpu');
    expect(run.latentLocation).toBe('gpu-buffer');
    // onnxruntime's own placement log (verbose, printed at console level error): three bundle sessions
    // plus the encoder→decoder chain, all on the WebGPU (JSEP) provider, none on the CPU provider.
    const placements = logs.filter((l) => l.includes('All nodes placed on'));
    expect(placements.length).toBeGreaterThanOrEqual(5);
    expect(placements.every((l) => l.includes('[JsExecutionProvider]'))).toBe(true);
    expect(logs.some((l) => /placed on \[CPUExecutionProvider\]|Node\(s\) placed on \[CPU/.test(l))).toBe(false);
  });

  it('reconstructs what the user draws, live, and saves a screenshot', async () => {
    const { page, state } = await open('device=auto');
    expect(state.device).toBe('webgpu'); // auto prefers a real adapter
    const box = (await page.locator('#draw').boundingBox())!;
    const at = (x: number, y: number) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280] as const;
    // A "7": the top bar, then the diagonal stroke.
    await page.mouse.move(...at(70, 60));
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(...at(70 + i * 14, 60));
    for (let i = 1; i <= 12; i++) await page.mouse.move(...at(210 - i * 7, 60 + i * 16));
    await page.mouse.up();
    await page.waitForFunction(() => {
      const s = (window as unknown as DemoWindow).aekitDemo.state;
      return s.lastDraw !== undefined && s.lastDraw.inputSum > 10_000;
    });
    // Wait for the live loop to settle on the final stroke, then compare with the Node runtime.
    await page.waitForTimeout(300);
    const drawn = (await page.evaluate(() => (window as unknown as DemoWindow).aekitDemo.lastDraw()))!;
    const node = await nodeCodec.reconstruct(Float32Array.from(drawn.input));
    expect(record('webgpu drawing', maxAbsDiff(drawn.output, node.data, 255))).toBeLessThan(TOLERANCE);
    expect(correlation(drawn.input, drawn.output)).toBeGreaterThan(0.6);
    const lit = await page.evaluate(() => {
      const c = document.getElementById('draw-output') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! > 128) n++;
      return n;
    });
    expect(lit).toBeGreaterThan(200);
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'demo-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(20_000);

    // The device switch reloads the bundle on the chosen device.
    await page.selectOption('#device', 'wasm');
    await page.waitForFunction(() => {
      const s = (window as unknown as DemoWindow).aekitDemo.state;
      return s.status === 'ready' && s.device === 'wasm';
    });
    expect((await expectSameAsNode(page)).device).toBe('wasm');
  });

  /** Exports `files` in the page (from `url`) and in Node; the graphs must be the same bytes and run alike. */
  async function exportInPageAndCompare(page: Page, url: string, files: Record<string, Uint8Array>): Promise<string> {
    const inPage = await page.evaluate(
      ([u, createdAt]) => (window as unknown as DemoWindow).aekitDemo.exportAndRun(u!, createdAt),
      [url, CREATED_AT],
    );
    const inNode = await exportBundle(files, { createdAt: CREATED_AT });
    for (const g of ['encoder', 'decoder', 'autoencoder'] as const) {
      expect(inPage.manifest.files[g]!.sha256).toBe(inNode.manifest.files[g].sha256);
    }
    const f = inNode.files;
    const codec = await NodeCodec.load(
      { manifest: inNode.manifest, files: { encoder: f['encoder.onnx']!, decoder: f['decoder.onnx']!, autoencoder: f['autoencoder.onnx']! } },
      { device: 'cpu' },
    );
    try {
      const node = await codec.reconstruct(Float32Array.from(server.samples.rows));
      expect(record(`${inPage.device} in-page export ${url}`, maxAbsDiff(inPage.reconstruction, node.data, 255))).toBeLessThan(TOLERANCE);
    } finally {
      await codec.dispose();
    }
    return inPage.device;
  }

  it('exports a checkpoint to ONNX inside the page, byte-identical to Node, and runs it', async () => {
    const { page } = await open('device=wasm');
    expect(await exportInPageAndCompare(page, './checkpoint/', checkpoint)).toBe('wasm');
    expect(await page.locator('#export-status').textContent()).toMatch(/exported 4 files .* ran 20 images on wasm/);
  });

  it('exports the default architecture (relu, sigmoid) in the page and runs it on WebGPU like Node', async () => {
    const { page } = await open('device=webgpu');
    expect(await exportInPageAndCompare(page, './checkpoint-default/', defaultCheckpoint)).toBe('webgpu');
  });

  describe('bad input is shown on the page', () => {
    async function expectShown(page: Page, pattern: RegExp): Promise<void> {
      await expect.poll(() => page.locator('#error').isVisible()).toBe(true);
      expect(await page.locator('#error').textContent()).toMatch(pattern);
      expect(await page.locator('#status').getAttribute('data-state')).toBe('error');
      // The rest of the page still works: controls are there to try again.
      expect(await page.locator('#load').isEnabled()).toBe(true);
    }

    it('a bundle URL that 404s', async () => {
      const { page, state } = await open('device=wasm&bundle=./no-such-bundle/');
      expect(state.error).toMatchObject({ name: 'BundleError', code: 'E_BUNDLE' });
      expect(state.error!.message).toMatch(/no-such-bundle\/manifest\.json: HTTP 404/);
      await expectShown(page, /BundleError \[E_BUNDLE\].*HTTP 404/);
    });

    it('a file whose hash does not match the manifest', async () => {
      const { page, state } = await open('device=wasm&bundle=./tampered/');
      expect(state.error).toMatchObject({ name: 'BundleError', code: 'E_BUNDLE' });
      expect(state.error!.message).toMatch(/decoder\.onnx fails its integrity check/);
      await expectShown(page, /integrity check/);
    });

    it('wasm files that cannot load', async () => {
      const { page, state } = await open('device=wasm&wasm=./no-ort-here/');
      expect(state.error).toMatchObject({ name: 'BackendError', code: 'E_BACKEND' });
      expect(state.error!.message).toMatch(/could not load its WebAssembly files from http:\/\/127\.0\.0\.1:\d+\/no-ort-here\//);
      await expectShown(page, /WebAssembly files/);
    });

    it('an unknown device name lists the valid ones; the page then loads a valid one', async () => {
      const { page } = await open('device=wasm');
      const state = await page.evaluate(() => (window as unknown as { aekitDemo: { load(u: string, d: string): Promise<DemoState> } }).aekitDemo.load('./bundle/', 'cuda'));
      expect(state.error).toMatchObject({ name: 'RangeError' });
      expect(state.error!.message).toBe('unknown device "cuda"; valid devices: webgpu, wasm, auto');
      await expectShown(page, /RangeError: unknown device "cuda"/);
      const again = await page.evaluate(() => (window as unknown as DemoWindow & { aekitDemo: { load(u: string, d: string): Promise<DemoState> } }).aekitDemo.load('./bundle/', 'wasm'));
      expect(again.status).toBe('ready');
      expect(again.device).toBe('wasm');
    });

    it('no WebGPU adapter: webgpu is a typed error, auto falls back to wasm and says why', async () => {
      noGpuBrowser = await launchChromium({ webgpu: false });
      const forced = await open('device=webgpu', noGpuBrowser);
      expect(forced.state.error).toMatchObject({ name: 'BackendError', code: 'E_BACKEND' });
      expect(forced.state.error!.message).toMatch(/requested "webgpu".*requestAdapter\(\) returned no adapter/);
      await expectShown(forced.page, /no adapter/);

      const auto = await open('device=auto', noGpuBrowser);
      expect(auto.state.error).toBeUndefined();
      expect(auto.state.device).toBe('wasm');
      expect(auto.state.notes.join('\n')).toMatch(/device webgpu passed over: .*no adapter.*running on wasm/);
      expect(auto.logs.some((l) => l.includes('device webgpu passed over'))).toBe(true);
      await expectSameAsNode(auto.page);
    });
  });
});
