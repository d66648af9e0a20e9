/**
 * The demo page's "Train in the page" panel in real Chromium (Debian's, driven by playwright-core):
 * the onnxruntime training engine on onnxruntime-web trains the default architecture on the page's
 * sample digits, exportBundle turns the parameters into a bundle in the page, and the page's Codec
 * shows that model's reconstructions. On wasm, then on WebGPU (SwiftShader adapter: a correctness
 * path, slow). Saves a screenshot to artifacts/browser/train-page.png.
 *
 * Locally a missing Chromium skips this file visibly; under CI it fails (helpers/chromium.ts).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_SPEC, Rng, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { Codec as NodeCodec } from '@aekit/runtime';
import { checkpointFiles } from '../../packages/web-demo/src/checkpoint-files.js';
import { glorotUniformParams } from '@aekit/trainer/ort';
import { buildDemo, startDemoServer } from '../../packages/web-demo/scripts/demo-server.mjs';
import { loadDigits } from '../../packages/web-demo/scripts/digits.mjs';
import { chromiumAvailable, launchChromium, recordConsole } from '../helpers/chromium.js';
import { randomCheckpointFiles, writeFiles } from './fixtures/checkpoints.js';

const ARTIFACTS = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../artifacts/browser');
const PIXELS = 784;
/** Sample digits the page shows and trains on (fromEnd), and digits it never sees (from the start). */
const TRAIN_PER_DIGIT = 100;
const HELD_OUT_PER_DIGIT = 10;

interface Training {
  run: number;
  running: boolean;
  device: string;
  backend?: string;
  rows?: number;
  initialLoss?: number;
  history: Array<{ epoch: number; loss: number; ms: number }>;
  trainMs?: number;
}
interface DemoState {
  status: string;
  error?: { name: string; message: string };
  device?: string;
  mse?: number;
  training?: Training;
}
interface DemoApi {
  ready: Promise<void>;
  state: DemoState;
  reconstructRows(pixels: number[]): Promise<{ device: string; rows: number; data: number[] }>;
  trainAndRun(epochs: number, rows: number): Promise<unknown>;
}
type DemoWindow = { aekitDemo: DemoApi };

/** Mean squared error in pixels/255 between uint8 rows and reconstructions. */
function mse(rows: ArrayLike<number>, out: ArrayLike<number>): number {
  let se = 0;
  for (let i = 0; i < rows.length; i++) se += ((rows[i]! - out[i]!) / 255) ** 2;
  return se / rows.length;
}

/** MSE of predicting every row of `rows` by the mean image of `train`: what a model must beat. */
function meanImageMse(train: Uint8Array, rows: Uint8Array): number {
  const mean = new Float64Array(PIXELS);
  const n = train.length / PIXELS;
  for (let i = 0; i < train.length; i++) mean[i % PIXELS]! += train[i]! / n;
  return mse(rows, Float64Array.from({ length: rows.length }, (_, i) => mean[i % PIXELS]!));
}

const hasChromium = chromiumAvailable();

// The page's checkpoint writer (no tfjs) checked against tfjs itself, in Node.
describe("checkpointFiles (the page's checkpoint, through core's tfjs-free writer)", () => {
  it('writes a layers model tfjs loads with the same weights, which exports to a bundle computing what tfjs computes', async () => {
    await tf.setBackend('cpu');
    // A leakyRelu layer exercises the `<dense>_act` layer the trainer's writer adds.
    const spec = makeSpec({ inputDim: 12, layers: [8], latent: 3, activation: 'leakyRelu:0.1', outputActivation: 'sigmoid' });
    const params = glorotUniformParams(spec, new Rng(5));
    params.forEach((p) => p.bias.forEach((_, i) => (p.bias[i] = 0.01 * (i + 1))));
    const files = await checkpointFiles(spec, params, {
      normalization: { kind: 'none' },
      latentRange: { min: [-1, -1, -1], max: [1, 1, 1] },
      training: { engine: 'ort', backend: 'wasm', loss: 'bce', optimizer: { name: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, batchSize: 4, epochs: 1, seed: 5, valSplit: 0, l1: 0, l2: 0 },
      history: [],
      epochsCompleted: 1,
      versions: {},
    });
    const modelJson = JSON.parse(new TextDecoder().decode(files['model.json'])) as { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
    const weightsBin = files['weights.bin']!;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0]!.weights,
        weightData: weightsBin.buffer.slice(weightsBin.byteOffset, weightsBin.byteOffset + weightsBin.byteLength),
      }),
    );
    try {
      expect(model.layers.map((l) => l.name)).toEqual(['enc_0', 'enc_0_act', 'latent', 'dec_0', 'dec_0_act', 'output']);
      const got = model.getWeights().map((w) => w.dataSync());
      expect(got).toEqual(params.flatMap((p) => [p.kernel, p.bias]));
      const x = Float32Array.from({ length: 5 * 12 }, (_, i) => ((i * 7) % 11) / 10 - 0.4);
      const want = (model.predict(tf.tensor2d(x, [5, 12])) as tf.Tensor).dataSync();
      const bundle = await exportBundle(files);
      expect(bundle.manifest.source.spec).toEqual(spec);
      const f = bundle.files;
      const codec = await NodeCodec.load(
        { manifest: bundle.manifest, files: { encoder: f['encoder.onnx']!, decoder: f['decoder.onnx']!, autoencoder: f['autoencoder.onnx']! } },
        { device: 'cpu' },
      );
      try {
        const out = await codec.reconstruct(x, 5);
        out.data.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
      } finally {
        await codec.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});

describe.skipIf(!hasChromium)('training in the demo page (Chromium)', () => {
  let work: string;
  let server: Awaited<ReturnType<typeof startDemoServer>>;
  /** Fewer sample digits: every load on SwiftShader encodes all of them (compressed-size stats). */
  let smallServer: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  const heldOut = loadDigits({ perDigit: HELD_OUT_PER_DIGIT });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aekit-train-page-'));
    // The page first shows an untrained (random) model of the default architecture.
    const bundle = await exportBundle(await randomCheckpointFiles(DEFAULT_SPEC, 3));
    writeFiles(join(work, 'bundle'), bundle.files);
    const dist = await buildDemo({ outDir: join(work, 'dist') });
    server = await startDemoServer({ distDir: dist, bundleDir: join(work, 'bundle'), samplesPerDigit: TRAIN_PER_DIGIT });
    smallServer = await startDemoServer({ distDir: dist, bundleDir: join(work, 'bundle'), samplesPerDigit: 13 });
    browser = await launchChromium({ webgpu: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await smallServer?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function open(query: string, at = server): Promise<{ page: Page; logs: string[]; state: DemoState }> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const logs = recordConsole(page);
    await page.goto(`${at.url}?measure=0&${query}`);
    await page.waitForFunction(() => (window as unknown as Partial<DemoWindow>).aekitDemo !== undefined);
    const state = await page.evaluate(async () => {
      const demo = (window as unknown as DemoWindow).aekitDemo;
      await demo.ready;
      return demo.state;
    });
    return { page, logs, state };
  }

  /** Sets epochs and rows, clicks Train, waits for the run to end, returns the page state. */
  async function trainByClick(page: Page, epochs: number, rows: number, logs: string[]): Promise<DemoState> {
    const before = await page.evaluate(() => (window as unknown as DemoWindow).aekitDemo.state.training?.run ?? 0);
    await page.fill('#train-epochs', String(epochs));
    await page.fill('#train-rows', String(rows));
    await page.click('#train');
    await page.waitForFunction(
      (prev) => {
        const t = (window as unknown as DemoWindow).aekitDemo.state.training;
        return t !== undefined && t.run > prev && !t.running;
      },
      before,
      { timeout: 100_000, polling: 200 },
    );
    // The button's handler finishes showing the new model right after training state ends.
    await page.waitForFunction(() => (window as unknown as DemoWindow).aekitDemo.state.status !== 'loading', undefined, { timeout: 5_000 });
    const state = await page.evaluate(() => (window as unknown as DemoWindow).aekitDemo.state);
    expect(state.error, `${JSON.stringify(state.error)}\n${logs.join('\n')}`).toBeUndefined();
    return state;
  }

  async function heldOutMse(page: Page): Promise<{ device: string; mse: number }> {
    const out = await page.evaluate((px) => (window as unknown as DemoWindow).aekitDemo.reconstructRows(px), Array.from(heldOut.rows));
    expect(out.rows).toBe(heldOut.count);
    return { device: out.device, mse: mse(heldOut.rows, out.data) };
  }

  it('trains the default architecture on wasm, then shows the trained model, better than the mean image', async () => {
    const { page, logs, state: before } = await open('device=wasm');
    expect(before.error, logs.join('\n')).toBeUndefined();
    const untrained = await heldOutMse(page);
    // Bad input: the form refuses it (the browser's own validation, nothing runs); a call that gets
    // past the form lands in the page's error box; the next run clears it.
    await page.fill('#train-epochs', '0');
    await page.click('#train');
    expect(await page.locator('#train-epochs').evaluate((e) => (e as HTMLInputElement).validity.rangeUnderflow)).toBe(true);
    expect(await page.evaluate(() => (window as unknown as DemoWindow).aekitDemo.state.training)).toBeUndefined();
    const failed = await page.evaluate(() =>
      (window as unknown as DemoWindow).aekitDemo.trainAndRun(0, 100).then(
        () => 'resolved',
        (e: Error) => e.name,
      ),
    );
    expect(failed).toBe('RangeError');
    expect(await page.locator('#error').textContent()).toMatch(/Training in the page on wasm failed — RangeError: epochs must be an integer from 1 to 1000, got 0/);
    const epochs = 15;
    const rows = TRAIN_PER_DIGIT * 10;
    const state = await trainByClick(page, epochs, rows, logs);
    const t = state.training!;
    expect(t.device).toBe('wasm');
    expect(t.backend).toBe('wasm');
    expect(t.rows).toBe(rows);
    expect(t.history.map((h) => h.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
    const last = t.history[epochs - 1]!.loss;
    expect(last).toBeLessThan(0.5 * t.initialLoss!);
    expect(state.device).toBe('wasm');

    // The shown reconstructions (digits it trained on) and digits it never saw both beat the mean image.
    const trainRows = server.samples.rows.subarray(0, rows * PIXELS);
    const shown = server.samples.rows.subarray(0, 20 * PIXELS);
    expect(state.mse!).toBeLessThan(meanImageMse(trainRows, shown));
    const held = await heldOutMse(page);
    const baseline = meanImageMse(trainRows, heldOut.rows);
    console.info(
      `in-page training on wasm: ${epochs} epochs × ${rows} rows in ${(t.trainMs! / 1000).toFixed(1)} s, ` +
        `loss ${t.initialLoss!.toFixed(4)} → ${last.toFixed(4)}; held-out MSE ${held.mse.toFixed(4)} ` +
        `(untrained ${untrained.mse.toFixed(4)}, mean image ${baseline.toFixed(4)})`,
    );
    expect(held.device).toBe('wasm');
    expect(held.mse).toBeLessThan(0.8 * baseline);
    expect(held.mse).toBeLessThan(untrained.mse);
    expect(await page.locator('#train-epochs-list li').count()).toBe(epochs);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'train-page.png'), fullPage: true });
    await page.close();
  }, 120_000);

  it('trains on WebGPU when the device switch says so (SwiftShader adapter), even with no bundle to load', async () => {
    // No bundle at that URL (as after `pnpm web-demo` without `pnpm demo`): the page shows the error,
    // and training gives it a model. This also skips a bundle load on SwiftShader (slow).
    const { page, logs, state: before } = await open('device=webgpu&bundle=./no-bundle/', smallServer);
    expect(before.status).toBe('error');
    expect(before.error?.message).toMatch(/no-bundle/);
    // SwiftShader emulates the GPU on the CPU (0.4–0.9 s a step here): a few steps show the path works.
    const epochs = 3;
    const rows = 128;
    const state = await trainByClick(page, epochs, rows, logs);
    const t = state.training!;
    expect(t.device).toBe('webgpu');
    // The engine asks onnxruntime for the WebGPU provider alone: no silent CPU fallback is possible.
    expect(t.backend).toBe('webgpu');
    expect(t.history).toHaveLength(epochs);
    const last = t.history[epochs - 1]!.loss;
    expect(last).toBeLessThan(0.85 * t.initialLoss!);
    expect(state.device).toBe('webgpu');
    expect(state.status).toBe('ready');
    expect(await page.locator('#error').isHidden()).toBe(true);
    const held = await heldOutMse(page);
    expect(held.device).toBe('webgpu');
    console.info(
      `in-page training on WebGPU (SwiftShader): ${epochs} epochs × ${rows} rows in ${(t.trainMs! / 1000).toFixed(1)} s, ` +
        `loss ${t.initialLoss!.toFixed(4)} → ${last.toFixed(4)}; held-out MSE ${held.mse.toFixed(4)}; epochs ${t.history.map((h) => h.ms.toFixed(0)).join(", ")} ms`,
    );
    await page.close();
  }, 120_000);
});
