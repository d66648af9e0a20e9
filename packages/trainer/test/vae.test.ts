/**
 * The variational autoencoder on the tfjs engine: the KL term against a hand computation, the loss
 * made of reconstruction + β·KL/D, training through train(), and a checkpoint whose model.json is the
 * mean path and whose vae_head.bin carries the log-variance head.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADAM, Rng, UsageError, makeSpec } from '@aekit/core';
import type { Dataset } from '@aekit/data';
import { readCheckpoint, train } from '@aekit/trainer';
import { glorotUniformParams } from '../src/init.js';
import { planVariant } from '../src/variants/plan.js';
import { LOG_VAR_LAYER, klDivergence } from '../src/variants/vae-math.js';
import { TfjsVaeEngine, klTensor } from '../src/variants/vae.js';
import { OrtVaeEngine } from '../src/variants/vae-ort.js';
import { selectTfjsBackend } from './backends.js';
import { structuredData, tempDir } from './helpers.js';

const tmp = tempDir('aekit-vae-');
afterAll(tmp.cleanup);
beforeAll(async () => {
  await selectTfjsBackend('cpu');
});

const COLS = 12;
const data: Dataset = { data: structuredData(240, COLS), rows: 240, cols: COLS, dtype: 'float32', source: 'test:structured' };
const spec = makeSpec({ inputDim: COLS, layers: [8], latent: 2 });

describe('KL term', () => {
  // Two rows, two latent dims. Per element 1 + log σ² − μ² − σ²:
  //   row 1: (1 + 0 − 0.25 − 1) = −0.25,   (1 + 0.3 − 1 − e^0.3) = −1.0498588075760032
  //   row 2: (1 − 0.5 − 0 − e^−0.5) = −0.10653065971263342,   (1 + 1 − 4 − e) = −4.718281828459045
  // KL = −½ · (sum) / 2 rows = 1.5311678239369204
  const mean = [0.5, -1, 0, 2];
  const logVar = [0, 0.3, -0.5, 1];
  const HAND = 1.5311678239369204;

  it('float64 reference equals the hand computation', () => {
    expect(klDivergence(mean, logVar, 2)).toBeCloseTo(HAND, 14);
  });

  it('the tfjs term the engine trains with equals it too', () => {
    const kl = tf.tidy(() => klTensor(tf.tensor2d(mean, [2, 2]), tf.tensor2d(logVar, [2, 2])).dataSync()[0]!);
    expect(kl).toBeCloseTo(HAND, 5);
  });

  it('is zero exactly when the posterior is the prior', () => {
    expect(Math.abs(klDivergence([0, 0, 0], [0, 0, 0], 1))).toBe(0);
    expect(klDivergence([0.1, 0, 0], [0, 0, 0], 1)).toBeGreaterThan(0);
  });
});

describe('VAE engine', () => {
  it('loss = reconstruction + β·KL / inputDim, with KL from the encoder heads', async () => {
    const beta = 0.7;
    const engine = await TfjsVaeEngine.create({ spec, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 16, beta, seed: 1 }, 'cpu');
    await engine.setState(glorotUniformParams(spec, new Rng(3)));
    const x = data.data.subarray(0, 4 * COLS) as Float32Array;
    const mean = await engine.encode(x, 4);
    const logVar = await engine.encodeLogVar(x, 4);
    const terms = tf.tidy(() => {
      const t = engine.lossTerms(tf.tensor2d(x, [4, COLS]), tf.zeros([4, 2]) as tf.Tensor2D);
      return { loss: t.loss.dataSync()[0]!, recon: t.recon.dataSync()[0]!, kl: t.kl.dataSync()[0]! };
    });
    expect(terms.kl).toBeCloseTo(klDivergence(mean, logVar, 4), 5);
    expect(terms.loss).toBeCloseTo(terms.recon + (beta * terms.kl) / COLS, 6);
    // With ε = 0 the sampled path is the mean path: reconstruction equals evaluate().
    expect(terms.recon).toBeCloseTo(await engine.evaluate(x, 4), 6);
    engine.dispose();
  });

  it('trains through train(), writes the head to vae_head.bin and the mean path to model.json', async () => {
    const out = join(tmp.dir, 'vae');
    const r = await train({ data, spec, variant: 'vae', beta: 0.02, epochs: 8, batchSize: 16, seed: 4, adam: { learningRate: 0.01 }, engine: 'tfjs', backend: 'cpu', out });
    expect(r.history[7]!.valLoss!).toBeLessThan(r.history[0]!.valLoss! * 0.8);
    expect(r.params.at(-1)!.name).toBe(LOG_VAR_LAYER);
    const meta = r.checkpoint!.meta;
    expect(meta.training.variant).toBe('vae');
    expect(meta.vae!.beta).toBe(0.02);
    expect(meta.vae!.head).toMatchObject({ inputDim: 8, units: 2 });
    expect(readFileSync(join(out, 'vae_head.bin')).length).toBe(4 * (8 * 2 + 2));
    // model.json: the plain Sequential x → z_mean → x̂, loadable and equal to the engine's mean path.
    const loaded = await readCheckpoint(out);
    expect(loaded.params.map((p) => p.name)).toEqual(['enc_0', 'latent', 'dec_0', 'output', LOG_VAR_LAYER]);
    expect(loaded.params.at(-1)!.kernel).toEqual(r.params.at(-1)!.kernel);
    const engine = await TfjsVaeEngine.create({ spec, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 16, beta: 0.02, seed: 4 }, 'cpu');
    await engine.setState(r.params);
    const x = data.data.subarray(0, 8 * COLS) as Float32Array;
    const viaEngine = await engine.decode(await engine.encode(x, 8), 8);
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as tf.io.ModelJSON).modelTopology,
        weightSpecs: (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as tf.io.ModelJSON).weightsManifest[0]!.weights,
        weightData: new Uint8Array(readFileSync(join(out, 'weights.bin'))).buffer,
      }),
    );
    const viaTfjs = (model.predict(tf.tensor2d(x, [8, COLS])) as tf.Tensor).dataSync();
    for (let i = 0; i < viaTfjs.length; i++) expect(Math.abs(viaTfjs[i]! - viaEngine[i]!)).toBeLessThan(1e-5);
    engine.dispose();
    model.dispose();
  });

  it('resumes: the head comes back from vae_head.bin and training goes on', async () => {
    const out = join(tmp.dir, 'vae-resume');
    const first = await train({ data, spec, variant: 'vae', beta: 0.02, epochs: 2, batchSize: 16, seed: 4, engine: 'tfjs', backend: 'cpu', out });
    const head = first.params.at(-1)!;
    const r = await train({ resume: out, epochs: 3, engine: 'tfjs', backend: 'cpu', data });
    expect(r.epochsCompleted).toBe(3);
    expect(r.checkpoint!.meta.vae!.beta).toBe(0.02);
    expect(r.params.at(-1)!.kernel).not.toEqual(head.kernel); // trained on
    // The engine a resume creates starts from the head saved in vae_head.bin, not a fresh one.
    const loaded = await readCheckpoint(out);
    const engine = await planVariant({}, loaded.meta, loaded.meta.training.seed).createEngine('tfjs', { spec, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 16 }, 'cpu');
    await engine.setState(loaded.params);
    const restored = (await engine.getState()).params.at(-1)!;
    expect(restored.name).toBe(LOG_VAR_LAYER);
    expect(restored.kernel).toEqual(loaded.params.at(-1)!.kernel);
    engine.dispose();
    await expect(train({ resume: out, epochs: 4, variant: 'vae', data })).rejects.toThrow(/cannot be given with --resume/);
  });

  it('is seeded: the same seed trains the same VAE', async () => {
    const opts = { data, spec, variant: 'vae', epochs: 2, batchSize: 16, seed: 9, engine: 'tfjs', backend: 'cpu' } as const;
    const a = await train(opts);
    const b = await train(opts);
    expect(a.history.map((h) => h.loss)).toEqual(b.history.map((h) => h.loss));
    const c = await train({ ...opts, seed: 10 });
    expect(c.history[1]!.loss).not.toBe(a.history[1]!.loss);
  });

  it('bad variant options are usage errors', async () => {
    await expect(train({ data, spec, variant: 'vae', beta: -1, epochs: 1 })).rejects.toThrow(/--beta must be a number >= 0/);
    await expect(train({ data, spec, beta: 2, epochs: 1 })).rejects.toBeInstanceOf(UsageError);
    await expect(train({ data, spec, variant: 'vae', engine: 'ort', backend: 'webgpu', epochs: 1 })).rejects.toThrow(/onnxruntime's cpu device only/);
  });
});

describe('VAE on the onnxruntime engine', () => {
  // Same seed → same ε stream and head start in both engines, so their trajectories must agree.
  for (const [loss, l2] of [['mse', 0], ['bce', 0.001]] as const) {
    it(`follows the tfjs VAE step for step (${loss}, l2 ${l2}, separate targets)`, async () => {
      const config = { spec, loss, adam: { ...DEFAULT_ADAM, learningRate: 0.01 }, l1: 0, l2, batchSize: 16, beta: 0.7, seed: 8 } as const;
      const tfjsEngine = await TfjsVaeEngine.create(config, 'cpu');
      const ortEngine = await OrtVaeEngine.create(config, 'cpu');
      const init = glorotUniformParams(spec, new Rng(2));
      await tfjsEngine.setState(init);
      await ortEngine.setState(init);
      const rows = 64;
      const x = data.data.subarray(0, rows * COLS) as Float32Array;
      const target = Float32Array.from(x, (v, i) => (i % 5 === 0 ? 0 : v));
      const a = await tfjsEngine.trainSteps(target, rows, x);
      const b = await ortEngine.trainSteps(target, rows, x);
      expect(b.length).toBe(4);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5 + 1e-4 * Math.abs(a[i]!));
      const pa = (await tfjsEngine.getState()).params;
      const pb = (await ortEngine.getState()).params;
      expect(pb.map((p) => p.name)).toEqual(pa.map((p) => p.name));
      let maxDiff = 0;
      pa.forEach((p, l) => {
        p.kernel.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - pb[l]!.kernel[i]!))));
        p.bias.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - pb[l]!.bias[i]!))));
      });
      expect(maxDiff).toBeLessThan(1e-4);
      expect(await ortEngine.evaluate(x, rows)).toBeCloseTo(await tfjsEngine.evaluate(x, rows), 5);
      const za = await tfjsEngine.encode(x, rows);
      const zb = await ortEngine.encode(x, rows);
      za.forEach((v, i) => expect(Math.abs(v - zb[i]!)).toBeLessThan(1e-4));
      tfjsEngine.dispose();
      ortEngine.dispose();
    });
  }

  it('its hand-written gradients equal tfjs autodiff (one step with Adam reduced to p − g)', async () => {
    // β1 = β2 = 0 and ε ≫ |g|: the update is lr·g / (|g| + ε) ≈ g when lr = ε, so the step reveals g.
    const adam = { learningRate: 1e4, beta1: 0, beta2: 0, epsilon: 1e4 };
    const config = { spec, loss: 'mse', adam, l1: 0.001, l2: 0.002, batchSize: 32, beta: 1.3, seed: 5 } as const;
    const init = glorotUniformParams(spec, new Rng(6));
    const stepOf = async (engine: TfjsVaeEngine | OrtVaeEngine) => {
      await engine.setState(init);
      await engine.trainSteps(data.data.subarray(0, 32 * COLS) as Float32Array, 32);
      const after = (await engine.getState()).params;
      engine.dispose();
      return after;
    };
    const a = await stepOf(await TfjsVaeEngine.create(config, 'cpu'));
    const b = await stepOf(await OrtVaeEngine.create(config, 'cpu'));
    let maxGrad = 0;
    let maxDiff = 0;
    a.forEach((p, l) => {
      const start = l < init.length ? init[l]!.kernel : null;
      p.kernel.forEach((v, i) => {
        if (start) maxGrad = Math.max(maxGrad, Math.abs(start[i]! - v));
        maxDiff = Math.max(maxDiff, Math.abs(v - b[l]!.kernel[i]!));
      });
      p.bias.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - b[l]!.bias[i]!))));
    });
    expect(maxGrad).toBeGreaterThan(1e-3); // the step really moved the weights by the gradient
    expect(maxDiff).toBeLessThan(1e-4 * maxGrad);
  });

  it('trains through train() with --engine ort and writes the same kind of checkpoint', async () => {
    const r = await train({ data, spec, variant: 'vae', beta: 0.02, epochs: 4, batchSize: 16, seed: 4, adam: { learningRate: 0.01 }, engine: 'ort', backend: 'cpu', out: join(tmp.dir, 'vae-ort') });
    expect(r.engine).toBe('ort');
    expect(r.history[3]!.valLoss!).toBeLessThan(r.history[0]!.valLoss!);
    expect(r.checkpoint!.meta.vae!.head).toMatchObject({ inputDim: 8, units: 2 });
    expect(r.checkpoint!.meta.training).toMatchObject({ engine: 'ort', variant: 'vae' });
  });
});
