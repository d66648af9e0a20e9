/**
 * The ort engine in a real browser: OrtEngine (no Node API) bundled with onnxruntime-web and run in
 * Debian's Chromium (playwright-core) on the wasm EP and on WebGPU (SwiftShader adapter, a CPU
 * emulation), against onnxruntime-node from the same initial weights and batches.
 * Locally a missing Chromium skips this file visibly; under CI it fails (test/helpers/chromium.ts).
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADAM, makeSpec, Rng } from '@aekit/core';
import type { EngineConfig, ParamSet } from '../src/engine.js';
import { createOrtNodeEngine } from '../src/engines/ort-node.js';
import { glorotUniformParams } from '../src/init.js';
import { chromiumAvailable, launchChromium, recordConsole } from '../../../test/helpers/chromium.js';
import { startStaticServer } from '../../web-demo/scripts/static-server.mjs';
import { relErr } from '../../../test/helpers/compare.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const hasChromium = chromiumAvailable();

// The page: onnxruntime-web (wasm + JSEP WebGPU) and the engine sources, bundled by esbuild.
const PAGE_ENTRY = `
import * as ort from 'onnxruntime-web';
import { OrtEngine } from './src/engines/ort.ts';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
window.aekitOrt = {
  async adapter() {
    const a = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
    return a ? 'yes' : 'none';
  },
  async train(device, config, init, x, rows) {
    const e = await OrtEngine.create(config, { ort, device });
    await e.setState(init.map((p) => ({ ...p, kernel: Float32Array.from(p.kernel), bias: Float32Array.from(p.bias) })));
    const data = Float32Array.from(x);
    const losses = await e.trainSteps(data, rows);
    const st = await e.getState();
    const val = await e.evaluate(data, rows);
    e.dispose();
    return {
      backend: e.backend,
      losses: Array.from(losses),
      params: st.params.flatMap((p) => [Array.from(p.kernel), Array.from(p.bias)]),
      step: st.optimizer.step,
      val,
    };
  },
};
`;

async function bundlePage(): Promise<string> {
  // esbuild comes with vite (the web demo's bundler); resolved from there, not a new dependency.
  const vite = createRequire(join(root, 'packages/web-demo/package.json')).resolve('vite');
  const esbuild = (await import(pathToFileURL(createRequire(vite).resolve('esbuild')).href)) as typeof import('esbuild');
  const out = await esbuild.build({
    stdin: { contents: PAGE_ENTRY, resolveDir: resolve(here, '..'), loader: 'ts', sourcefile: 'page.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    alias: {
      '@aekit/core': join(root, 'packages/core/src/index.ts'),
      '@aekit/onnx': join(root, 'packages/onnx/src/index.ts'),
    },
  });
  return out.outputFiles[0]!.text;
}

const COLS = 10;
const BATCH = 8;
const ROWS = 5 * BATCH + 3;
const spec = makeSpec({ inputDim: COLS, layers: [8, 6], latent: 4, activation: ['gelu', 'swish', 'elu', 'tanh'] });
const config: EngineConfig = { spec, loss: 'bce', adam: { ...DEFAULT_ADAM, learningRate: 0.01 }, l1: 1e-3, l2: 1e-3, batchSize: BATCH };
const init: ParamSet = glorotUniformParams(spec, new Rng(9));
const x = (() => {
  const rng = new Rng(10);
  return Float32Array.from({ length: ROWS * COLS }, () => rng.next());
})();


describe.skipIf(!hasChromium)('ort engine in Chromium (onnxruntime-web)', () => {
  let browser: Browser;
  let page: Page;
  let server: { url: string; close(): Promise<void> };
  let log: string[];

  beforeAll(async () => {
    const ortDist = dirname(createRequire(join(root, 'packages/trainer/package.json')).resolve('onnxruntime-web'));
    const html = '<!doctype html><meta charset="utf-8"><title>aekit ort engine</title><script type="module" src="/app.js"></script>';
    server = await startStaticServer({ mounts: [{ prefix: '/ort/', dir: ortDist }], files: { '/index.html': html, '/app.js': await bundlePage() } });
    browser = await launchChromium({ webgpu: true });
    page = await browser.newPage();
    log = recordConsole(page);
    await page.goto(new URL('/', server.url).href);
    await page.waitForFunction(() => 'aekitOrt' in window, undefined, { timeout: 20_000 }).catch((e: Error) => {
      throw new Error(`the page did not load: ${e.message}\n${log.join('\n')}`);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('trains on wasm and on WebGPU like onnxruntime-node (1e-4)', async () => {
    const node = await createOrtNodeEngine(config);
    await node.setState(init);
    const want = { losses: await node.trainSteps(x, ROWS), state: await node.getState(), val: await node.evaluate(x, ROWS) };
    node.dispose();
    const wantParams = want.state.params.flatMap((p) => [p.kernel, p.bias]);

    expect(await page.evaluate(() => (window as unknown as { aekitOrt: { adapter(): Promise<string> } }).aekitOrt.adapter())).toBe('yes');
    for (const device of ['wasm', 'webgpu'] as const) {
      const got = await page.evaluate(
        ([d, c, p, data, rows]) =>
          (window as unknown as { aekitOrt: { train(...a: unknown[]): Promise<{ backend: string; losses: number[]; params: number[][]; step: number; val: number }> } }).aekitOrt.train(d, c, p, data, rows),
        [device, config, init.map((p) => ({ ...p, kernel: Array.from(p.kernel), bias: Array.from(p.bias) })), Array.from(x), ROWS] as const,
      );
      expect(got.backend, log.join('\n')).toBe(device);
      expect(got.step).toBe(6);
      got.losses.forEach((l, i) => expect(Math.abs(l - want.losses[i]!) / want.losses[i]!).toBeLessThan(1e-4));
      expect(relErr(got.params, wantParams)).toBeLessThan(1e-4);
      expect(Math.abs(got.val - want.val) / want.val).toBeLessThan(1e-4);
    }
  }, 180_000);

  it('trains a conv codec (spatial latent, rate term) on wasm and on WebGPU like onnxruntime-node (1e-4)', async () => {
    const convSpec = makeSpec({ image: { height: 8, width: 8, channels: 1 }, conv: [{ filters: 3 }], latentShape: [2, 2, 2], activation: 'elu' });
    const convConfig: EngineConfig = { ...config, spec: convSpec, loss: 'mse', rate: { weight: 0.2, seed: 4 } };
    const convInit = glorotUniformParams(convSpec, new Rng(11));
    const rows = 4 * BATCH;
    const cx = Float32Array.from({ length: rows * convSpec.inputDim }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
    const node = await createOrtNodeEngine(convConfig);
    await node.setState(convInit);
    const wantLosses = await node.trainSteps(cx, rows);
    const wantParams = (await node.getState()).params.flatMap((p) => [p.kernel, p.bias]);
    node.dispose();
    for (const device of ['wasm', 'webgpu'] as const) {
      const got = await page.evaluate(
        ([d, c, p, data, n]) =>
          (window as unknown as { aekitOrt: { train(...a: unknown[]): Promise<{ backend: string; losses: number[]; params: number[][] }> } }).aekitOrt.train(d, c, p, data, n),
        [device, convConfig, convInit.map((p) => ({ ...p, kernel: Array.from(p.kernel), bias: Array.from(p.bias) })), Array.from(cx), rows] as const,
      );
      expect(got.backend, log.join('\n')).toBe(device);
      expect(relErr([got.losses], [wantLosses]), device).toBeLessThan(1e-4);
      expect(relErr(got.params, wantParams), device).toBeLessThan(1e-4);
    }
  }, 180_000);
});
