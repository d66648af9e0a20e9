/**
 * The ort engine behind `train()`: same history as the tfjs engine from the same seed, checkpoints
 * that @aekit/exporter turns into bundles running like the tfjs engine's, and the same typed errors.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { makeSpec, Rng, type ModelSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import type { Dataset } from '@aekit/data';
import { train, type TrainOptions } from '@aekit/trainer';
import { relErr } from '../../../test/helpers/compare.js';

const COLS = 16;
const ROWS = 240;

function dataset(): Dataset {
  const rng = new Rng(21);
  const protos = Array.from({ length: 4 }, () => Array.from({ length: COLS }, () => rng.int(256)));
  const data = new Uint8Array(ROWS * COLS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) data[r * COLS + c] = Math.max(0, Math.min(255, protos[r % 4]![c]! + rng.int(41) - 20));
  }
  return { data, rows: ROWS, cols: COLS, dtype: 'uint8', source: 'test:prototypes' };
}

const spec: ModelSpec = makeSpec({ inputDim: COLS, layers: [12, 8], latent: 4, activation: 'elu' });
const common: TrainOptions = { data: dataset(), spec, epochs: 3, batchSize: 16, valSplit: 0.2, seed: 7, adam: { learningRate: 0.01 } };
const tmp = mkdtempSync(join(tmpdir(), 'aekit-ort-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function files(dir: string): Record<string, Uint8Array> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
}

async function reconstruct(dir: string, x: Float32Array, rows: number): Promise<Float32Array> {
  const bundle = await exportBundle(files(dir));
  const s = await ort.InferenceSession.create(bundle.files['autoencoder.onnx']!);
  const out = await s.run({ x: new ort.Tensor('float32', x, [rows, COLS]) });
  return out['x_hat']!.data as Float32Array;
}


describe('train() with the ort engine', () => {
  it('tracks the tfjs engine and writes checkpoints that export and run like tfjs ones', async () => {
    const byOrt = await train({ ...common, engine: 'ort', backend: 'cpu', out: join(tmp, 'ort') });
    const byTfjs = await train({ ...common, engine: 'tfjs', backend: 'cpu', out: join(tmp, 'tfjs') });
    expect(byOrt.engine).toBe('ort');
    expect(byOrt.backend).toBe('cpu');
    expect(byOrt.checkpoint!.meta.training).toMatchObject({ engine: 'ort', backend: 'cpu' });
    expect(byOrt.history.length).toBe(3);
    byOrt.history.forEach((h, i) => {
      const t = byTfjs.history[i]!;
      expect(Math.abs(h.loss - t.loss) / t.loss).toBeLessThan(1e-4);
      expect(Math.abs(h.valLoss! - t.valLoss!) / t.valLoss!).toBeLessThan(1e-4);
    });
    expect(byOrt.history[2]!.loss).toBeLessThan(byOrt.history[0]!.loss);
    byOrt.latentRange.min.forEach((m, i) => expect(m).toBeCloseTo(byTfjs.latentRange.min[i]!, 3));

    // The checkpoint is the same tfjs layers model (topology), with weights equal to float rounding.
    const modelJson = (dir: string) => JSON.parse(readFileSync(join(tmp, dir, 'model.json'), 'utf8'));
    expect(modelJson('ort').modelTopology).toEqual(modelJson('tfjs').modelTopology);
    expect(modelJson('ort').weightsManifest[0].weights).toEqual(modelJson('tfjs').weightsManifest[0].weights);

    // Exported to ONNX, both reconstruct the data alike (raw units: the bundle normalises inside).
    const x = Float32Array.from(common.data!.data);
    const fromOrt = await reconstruct(join(tmp, 'ort'), x, ROWS);
    const fromTfjs = await reconstruct(join(tmp, 'tfjs'), x, ROWS);
    expect(fromOrt.length).toBe(ROWS * COLS);
    expect(relErr([fromOrt], [fromTfjs])).toBeLessThan(1e-4);
    // … and the reconstruction is a reconstruction: closer to the data than the data's mean is.
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    let errAe = 0;
    let errMean = 0;
    x.forEach((v, i) => {
      errAe += (fromOrt[i]! - v) ** 2;
      errMean += (mean - v) ** 2;
    });
    expect(errAe).toBeLessThan(errMean / 2);
  });

  it('resumes an ort checkpoint', async () => {
    const first = await train({ ...common, epochs: 2, engine: 'ort', backend: 'cpu', out: join(tmp, 'resume') });
    const resumed = await train({ ...common, epochs: 3, engine: 'ort', backend: 'cpu', resume: join(tmp, 'resume'), out: join(tmp, 'resumed') });
    const straight = await train({ ...common, epochs: 3, engine: 'ort', backend: 'cpu' });
    expect(resumed.history.slice(0, 2)).toEqual(first.history);
    expect(resumed.history[2]!.loss).toBeCloseTo(straight.history[2]!.loss, 6);
  });

  it('trains a denoising autoencoder (--noise) like the tfjs engine', async () => {
    const noisy = { ...common, epochs: 2, noise: 'mask:0.3' };
    const byOrt = await train({ ...noisy, engine: 'ort', backend: 'cpu' });
    const byTfjs = await train({ ...noisy, engine: 'tfjs', backend: 'cpu' });
    byOrt.history.forEach((h, i) => {
      expect(Math.abs(h.loss - byTfjs.history[i]!.loss) / byTfjs.history[i]!.loss).toBeLessThan(1e-4);
      expect(Math.abs(h.valLoss! - byTfjs.history[i]!.valLoss!) / byTfjs.history[i]!.valLoss!).toBeLessThan(1e-4);
    });
    // The corruption is applied: the training loss differs from a run without noise.
    const clean = await train({ ...common, epochs: 2, engine: 'ort', backend: 'cpu' });
    expect(Math.abs(clean.history[0]!.loss - byOrt.history[0]!.loss)).toBeGreaterThan(1e-4);
  });

  const BAD: Array<[string, Partial<TrainOptions>]> = [
    ['a spec wider than the data', { spec: makeSpec({ inputDim: COLS + 1, layers: [4], latent: 2 }) }],
    ['data with NaN', { data: { data: Float32Array.from({ length: 32 }, (_, i) => (i === 5 ? NaN : i / 32)), rows: 2, cols: COLS, dtype: 'float32', source: 'nan.npy' } }],
    ['a zero batch size', { batchSize: 0 }],
    ['an unknown loss', { loss: 'hinge' as 'mse' }],
    ['a negative l2', { l2: -1 }],
  ];
  it.each(BAD)('%s gives the same typed error as the tfjs engine', async (_what, bad) => {
    const caught = async (engine: 'ort' | 'tfjs') => {
      try {
        await train({ ...common, ...bad, engine, backend: 'cpu' });
      } catch (e) {
        return e as Error & { code?: string };
      }
      throw new Error(`${engine}: train() accepted ${_what}`);
    };
    const [a, b] = [await caught('ort'), await caught('tfjs')];
    expect(a.code).toBeDefined();
    expect([a.constructor.name, a.code, a.message]).toEqual([b.constructor.name, b.code, b.message]);
  });

  it('an unknown activation in a spec object is a SpecError naming the valid ones', async () => {
    // (train() passes spec objects through unvalidated; the tfjs engine then fails with a TypeError,
    // the ort engine validates the spec itself.)
    const bad = { ...spec, latent: { units: 4, activation: { name: 'mish' as 'relu' } } };
    await expect(train({ ...common, spec: bad, engine: 'ort', backend: 'cpu' })).rejects.toMatchObject({
      code: 'E_SPEC',
      message: expect.stringMatching(/unknown activation "mish"; valid activations: linear, relu/),
    });
  });
});
