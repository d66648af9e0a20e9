/**
 * The training loop and the tfjs engine, as one suite over the cpu and wasm backends: learning,
 * determinism, the shuffled validation split, early stopping, resume, flat memory, and checkpoints
 * that plain tfjs loads and predicts with exactly as the engine does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BackendError, CheckpointError, DEFAULT_ADAM, makeSpec } from '@aekit/core';
import type { Dataset } from '@aekit/data';
import { readCheckpoint, train } from '@aekit/trainer';
import { TfjsEngine } from '../src/engines/tfjs/engine.js';
import { seededSplit } from '../src/train.js';
import { describeEachBackend, selectTfjsBackend } from './backends.js';
import { structuredData, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

const COLS = 12;
function dataset(rows: number, data = structuredData(rows, COLS)): Dataset {
  return { data, rows, cols: COLS, dtype: 'float32', source: 'test:structured' };
}
const SMALL = { layers: [8], latent: 2 };
const spec = makeSpec({ inputDim: COLS, ...SMALL });

it('the validation split is a seeded shuffle, not the last rows', () => {
  const a = seededSplit(100, 0.2, 5);
  expect(a.val.length).toBe(20);
  expect(a.train.length).toBe(80);
  expect([...a.val, ...a.train].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  // Not the tail (what tfjs's validationSplit takes) and not the head.
  expect([...a.val].filter((i) => i >= 80).length).toBeLessThan(20);
  expect([...a.val].filter((i) => i < 20).length).toBeLessThan(20);
  expect(seededSplit(100, 0.2, 5).val).toEqual(a.val);
  expect(seededSplit(100, 0.2, 6).val).not.toEqual(a.val);
});

it('an unavailable explicit backend is a BackendError listing what was tried', async () => {
  const e = await train({ data: dataset(32), spec, epochs: 1, engine: 'tfjs', backend: 'tensorflow' }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(BackendError);
  expect((e as Error).message).toMatch(/tried tensorflow \(@tensorflow\/tfjs-node-gpu: .*@tensorflow\/tfjs-node: /);
});

describeEachBackend('train', (backend) => {
  beforeAll(async () => {
    await selectTfjsBackend(backend);
  });
  const base = { data: dataset(256), spec, engine: 'tfjs', backend, batchSize: 16, seed: 3 } as const;

  it('loss falls well below its start on small structured data; tensor count stays flat', async () => {
    const tensors: number[] = [];
    const r = await train({ ...base, epochs: 6, adam: { learningRate: 0.01 }, onEpochEnd: () => tensors.push(tf.memory().numTensors) });
    expect(r.backend).toBe(backend);
    const first = r.history[0]!.loss;
    const last = r.history[r.history.length - 1]!;
    expect(last.loss).toBeLessThan(first * 0.35);
    expect(last.valLoss!).toBeLessThan(first * 0.35);
    expect(tensors[1]).toBe(tensors[4]);
  });

  it('same seed gives bit-identical weights; another seed does not', async () => {
    const a = await train({ ...base, epochs: 2 });
    const b = await train({ ...base, epochs: 2 });
    const c = await train({ ...base, epochs: 2, seed: 4 });
    expect(b.params.map((p) => p.kernel)).toEqual(a.params.map((p) => p.kernel));
    expect(b.params.map((p) => p.bias)).toEqual(a.params.map((p) => p.bias));
    expect(c.params[0]!.kernel).not.toEqual(a.params[0]!.kernel);
  });

  it('early stopping stops and restores the best epoch\'s weights', async () => {
    // Noise rows, a wide model and a high learning rate: the validation loss turns up quickly.
    const rng = structuredData(40, COLS, COLS, 99);
    const r = await train({
      ...base,
      data: dataset(40, rng),
      spec: makeSpec({ inputDim: COLS, layers: [32], latent: 12 }),
      valSplit: 0.5,
      batchSize: 4,
      epochs: 40,
      patience: 2,
      adam: { learningRate: 0.05 },
      out: join(tmp.dir, `es-${backend}`),
    });
    expect(r.stoppedEarly).toBe(true);
    const vals = r.history.map((h) => h.valLoss!);
    const best = vals.indexOf(Math.min(...vals)) + 1;
    expect(r.bestEpoch).toBe(best);
    expect(r.history.length).toBe(best + 2);
    expect(r.valLoss!).toBeCloseTo(vals[best - 1]!, 6);
    expect(Math.abs(r.valLoss! - vals[vals.length - 1]!)).toBeGreaterThan(1e-6);
    expect(r.checkpoint!.meta.bestEpoch).toBe(best);
  });

  it('resume continues history, optimizer and shuffling exactly', async () => {
    const whole = await train({ ...base, epochs: 4, out: join(tmp.dir, `whole-${backend}`) });
    const dir = join(tmp.dir, `part-${backend}`);
    const part = await train({ ...base, epochs: 2, out: dir });
    const resumed = await train({ data: base.data, engine: 'tfjs', backend, resume: dir, epochs: 4 });
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(resumed.history.slice(0, 2)).toEqual(part.history);
    expect(resumed.history.map((h) => h.loss)).toEqual(whole.history.map((h) => h.loss));
    expect(resumed.params.map((p) => p.kernel)).toEqual(whole.params.map((p) => p.kernel));
    const meta = (await readCheckpoint(dir)).meta;
    expect(meta.epochsCompleted).toBe(4);
    expect(meta.history.length).toBe(4);
  });

  it('the checkpoint loads in plain tf.loadLayersModel and predicts as the engine does', async () => {
    // Two models between them use all ten activations (leakyRelu as Dense + LeakyReLU layer).
    const specs = [
      makeSpec({ inputDim: COLS, layers: [8, 6], latent: 3, activation: ['leakyRelu:0.1', 'gelu', 'selu', 'elu'], latentActivation: 'swish' }),
      makeSpec({ inputDim: COLS, layers: [8, 6], latent: 3, activation: ['softplus', 'tanh', 'relu', 'leakyRelu'], latentActivation: 'leakyRelu:0.3', outputActivation: 'linear' }),
    ];
    for (const [i, s] of specs.entries()) {
      const dir = join(tmp.dir, `ckpt-${backend}-${i}`);
      await train({ ...base, spec: s, epochs: 1, out: dir });
      const loaded = await readCheckpoint(dir);
      const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const model = await tf.loadLayersModel({
        load: () =>
          tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [
            manifest.flatMap((g) => g.weights),
            tf.io.concatenateArrayBuffers(manifest.flatMap((g) => g.paths.map((p) => new Uint8Array(readFileSync(join(dir, p))).buffer))),
          ]),
      });
      const x = structuredData(20, COLS, 2, 5);
      const engine = await TfjsEngine.create({ spec: s, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 16 }, { backend });
      await engine.setState(loaded.params);
      const ours = await engine.predict(x, 20);
      const oursZ = await engine.encode(x, 20);
      engine.dispose();
      const xt = tf.tensor2d(x, [20, COLS]);
      const theirs = model.predict(xt) as tf.Tensor;
      const encoder = tf.model({ inputs: model.inputs, outputs: model.getLayer(loaded.meta.encoderOutputLayer).output as tf.SymbolicTensor });
      const theirsZ = encoder.predict(xt) as tf.Tensor;
      const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
      expect(maxDiff(ours, theirs.dataSync() as Float32Array)).toBeLessThan(1e-5);
      expect(maxDiff(oursZ, theirsZ.dataSync() as Float32Array)).toBeLessThan(1e-5);
      expect(modelJson.weightsManifest[0]!.weights.map((w) => w.name)).toEqual(
        loaded.params.flatMap((p) => [`${p.name}/kernel`, `${p.name}/bias`]),
      );
      tf.dispose([xt, theirs, theirsZ]);
      model.dispose();
    }
  });

  it('refuses to resume from a directory that is not a checkpoint, or whose weights changed', async () => {
    await expect(train({ data: base.data, engine: 'tfjs', backend, resume: tmp.dir })).rejects.toThrow(CheckpointError);
    const dir = join(tmp.dir, `whole-${backend}`);
    const { writeFileSync } = await import('node:fs');
    const w = readFileSync(join(dir, 'weights.bin'));
    w[0] = w[0]! ^ 1;
    writeFileSync(join(dir, 'weights.bin'), w);
    await expect(train({ data: base.data, engine: 'tfjs', backend, resume: dir })).rejects.toThrow(/SHA-256 does not match/);
  });
});
