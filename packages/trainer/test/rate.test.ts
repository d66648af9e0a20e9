/**
 * Rate–distortion training (variants/rate-math.ts): the rate term and its hand-written gradients in
 * float64 against finite differences, the tfjs autodiff term against the float64 one, both engines'
 * steps against the float64 reference step, the onnxruntime engine against the tfjs engine over 20
 * steps, the rounded-latent validation loss, and train(): density.bin, the lattice latent range,
 * bit-exact resume on both engines and the typed refusals.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, type CheckpointMeta, DEFAULT_ADAM, type ModelSpec, Rng, UsageError, activationReference, modelLayers, encoderDepth, makeSpec } from '@aekit/core';
import { readCheckpoint } from '../src/checkpoint/io.js';
import type { EngineConfig, ParamSet, TrainingEngine } from '../src/engine.js';
import { createEngine } from '../src/engines/registry.js';
import { OrtEngine } from '../src/engines/ort.js';
import { glorotUniformParams } from '../src/init.js';
import { type TrainOptions, type TrainResult, train } from '../src/train.js';
import { RATE_DENSITY_LAYER, drawUniformNoise, latentBits, roundLatents, totalLatentBits } from '../src/variants/rate-math.js';
import { TfjsAutodiffEngine } from '../src/engines/tfjs/autodiff.js';
import { latentBitsTensor } from '../src/variants/rate.js';
import { relErr } from '../../../test/helpers/compare.js';
import { selectTfjsBackend } from './backends.js';
import { structuredData, tempDir } from './helpers.js';
import { type ReferenceState, referenceRate, referenceTrainStep } from './reference.js';
import { trainCopying } from './resume-helpers.js';

const tmp = tempDir('aekit-rate-');
afterAll(tmp.cleanup);
beforeAll(async () => {
  await selectTfjsBackend('cpu');
});

const COLS = 12;
const ROWS = 240;
const values = structuredData(ROWS, COLS);
const data = { data: values, rows: ROWS, cols: COLS, dtype: 'float32' as const, source: 'test:structured' };
const spec = makeSpec({ inputDim: COLS, layers: [8], latent: 3, activation: 'tanh' });
const ADAM = { ...DEFAULT_ADAM, learningRate: 0.01 };

const config = (over: Partial<EngineConfig> = {}): EngineConfig & { rate: { weight: number; seed: number } } => ({
  spec,
  loss: 'mse',
  adam: ADAM,
  l1: 0,
  l2: 0,
  batchSize: 16,
  rate: { weight: 0.3, seed: 11 },
  ...over,
});

/** Latents spread over several bins (and a few far out, in the floored tail). */
function sampleLatents(rows: number, L: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: rows * L }, (_, i) => (i % 17 === 0 ? 40 * (rng.next() - 0.5) : 4 * (rng.next() - 0.5)));
}

describe('rate term', () => {
  const rows = 5;
  const L = 3;
  const yt = sampleLatents(rows, L, 1);
  const loc = [0.2, -0.4, 0.05];
  const logScale = [0.3, -0.2, 0.9];
  const weight = 0.7;

  it('float64: λ·R is the mean bits per value of rate-math\'s latentBits, and its hand gradients equal finite differences', () => {
    const r = referenceRate(yt, loc, logScale, rows, COLS, weight);
    expect(r.value).toBeCloseTo((weight * totalLatentBits(yt, loc, logScale)) / (rows * COLS), 12);
    // Central differences of the value in float64.
    const h = 1e-6;
    const value = (y: ArrayLike<number>, m: number[], s: number[]) => referenceRate(y, m, s, rows, COLS, weight).value;
    let worst = 0;
    let largest = 0;
    const check = (analytic: number, plus: number, minus: number) => {
      const fd = (plus - minus) / (2 * h);
      largest = Math.max(largest, Math.abs(fd));
      worst = Math.max(worst, Math.abs(fd - analytic));
    };
    for (let i = 0; i < yt.length; i++) {
      const p = Float64Array.from(yt);
      const q = Float64Array.from(yt);
      p[i]! += h;
      q[i]! -= h;
      check(r.dLatent[i]!, value(p, loc, logScale), value(q, loc, logScale));
    }
    for (let d = 0; d < L; d++) {
      const bump = (arr: number[], by: number) => arr.map((v, j) => (j === d ? v + by : v));
      check(r.dLoc[d]!, value(yt, bump(loc, h), logScale), value(yt, bump(loc, -h), logScale));
      check(r.dLogScale[d]!, value(yt, loc, bump(logScale, h)), value(yt, loc, bump(logScale, -h)));
    }
    expect(largest).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThan(1e-6 * Math.max(1, largest));
  });

  it('a value far in the tail costs the floor (≈ 29.9 bits) and gets no gradient; a central one costs < 1 bit at a small scale', () => {
    expect(latentBits(50, 0, 0)).toBeCloseTo(-Math.log2(1e-9), 9);
    expect(referenceRate([50], [0], [0], 1, 1, 1).dLatent[0]).toBe(0);
    expect(latentBits(0, 0, -3)).toBeLessThan(0.01);
    // The reflection keeps a symmetric density: +t and −t cost the same.
    expect(latentBits(1.3, 0.2, 0.1)).toBe(latentBits(-0.9, 0.2, 0.1));
  });

  it('the tfjs term the engine trains with, and its autodiff gradients, equal the float64 ones', () => {
    const r = referenceRate(yt, loc, logScale, rows, COLS, weight);
    const ts = tf.tidy(() => {
      const f = (y: tf.Tensor, m: tf.Tensor, s: tf.Tensor) => tf.div(tf.mul(tf.sum(latentBitsTensor(y as tf.Tensor2D, m, s)), weight), rows * COLS) as tf.Scalar;
      const out = tf.valueAndGrads(f)([tf.tensor2d(Float32Array.from(yt), [rows, L]), tf.tensor1d(loc), tf.tensor1d(logScale)]);
      return [out.value, ...out.grads];
    });
    const [value, ...grads] = ts.map((t) => Float64Array.from(t.dataSync()));
    tf.dispose(ts);
    expect(Math.abs(value![0]! - r.value) / r.value).toBeLessThan(1e-5);
    expect(relErr(grads, [r.dLatent, r.dLoc, r.dLogScale])).toBeLessThan(1e-4);
  });
});

/** A float64 reference state from float32 params (dense slots, then μ and ℓ). */
function referenceState(init: ParamSet): ReferenceState {
  const L = spec.latent.units;
  const flat = [...init.flatMap((p) => [Float64Array.from(p.kernel), Float64Array.from(p.bias)]), new Float64Array(L), new Float64Array(L)];
  return { params: flat, m: flat.map((a) => new Float64Array(a.length)), v: flat.map((a) => new Float64Array(a.length)), t: 0 };
}
const tensors = (p: ParamSet): Float32Array[] => p.flatMap((l) => [l.kernel, l.bias]);

type MakeEngine = (c: EngineConfig) => Promise<TrainingEngine>;
const ENGINES: Array<[string, MakeEngine]> = [
  ['tfjs', (c) => createEngine({ engine: 'tfjs', backend: 'cpu' }, c)],
  ['ort (Loop graph, flat)', (c) => createEngine({ engine: 'ort', backend: 'cpu' }, c)],
  ['ort (single step, tensors)', async (c) => OrtEngine.create(c, { ort: await import('onnxruntime-node'), stepsPerRun: 1, layout: 'tensors' })],
];

describe.each(ENGINES)('rate engine %s', (_name, make) => {
  it('5 steps equal the float64 reference step (noise, density and its Adam moments included) within 1e-4', async () => {
    const c = config({ l1: 1e-3, l2: 2e-3, batchSize: 8 });
    const init = glorotUniformParams(spec, new Rng(5));
    const ref = referenceState(init);
    const steps = 5;
    const x = values.subarray(0, steps * 8 * COLS);
    const refLosses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const noise = drawUniformNoise(c.rate.seed, s + 1, 8 * spec.latent.units);
      refLosses.push(referenceTrainStep(spec, { loss: 'mse', adam: ADAM, l1: c.l1, l2: c.l2, rate: { weight: c.rate.weight, noise } }, ref, x.subarray(s * 8 * COLS, (s + 1) * 8 * COLS), 8));
    }
    const e = await make(c);
    try {
      await e.setState(init);
      const losses = await e.trainSteps(x, steps * 8);
      const state = await e.getState();
      expect(state.params.at(-1)!.name).toBe(RATE_DENSITY_LAYER);
      expect(relErr([losses], [refLosses])).toBeLessThan(1e-4);
      expect(relErr(tensors(state.params), ref.params)).toBeLessThan(1e-4);
      expect(relErr(tensors(state.optimizer.v), ref.v)).toBeLessThan(1e-4);
      // The density really trained.
      expect(state.params.at(-1)!.bias.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    } finally {
      e.dispose();
    }
  });

  it('evaluate() = reconstruction from the rounded latents + λ · bits per value there', async () => {
    const c = config();
    const e = await make(c);
    try {
      await e.setState(glorotUniformParams(spec, new Rng(6)));
      await e.trainSteps(values, 160);
      const rows = 50;
      const x = values.subarray(0, rows * COLS);
      const { params } = await e.getState();
      const z = roundLatents(await e.encode(x, rows));
      const density = params.at(-1)!;
      const want = referenceDecodeMse(spec, params, z, x, rows) + (c.rate.weight * totalLatentBits(z, density.kernel, density.bias)) / (rows * COLS);
      expect(Math.abs((await e.evaluate(x, rows)) - want) / want).toBeLessThan(1e-5);
    } finally {
      e.dispose();
    }
  });
});

/** MSE of the float64 decoder's output from latents z against x. */
function referenceDecodeMse(s: ModelSpec, params: ParamSet, z: Float32Array, x: Float32Array, rows: number): number {
  const layers = modelLayers(s);
  let a = Float64Array.from(z);
  for (let li = encoderDepth(s); li < layers.length; li++) {
    const l = layers[li]!;
    const f = activationReference(l.activation);
    const out = new Float64Array(rows * l.units);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < l.units; j++) {
        let v = params[li]!.bias[j]!;
        for (let k = 0; k < l.inputDim; k++) v += a[r * l.inputDim + k]! * params[li]!.kernel[k * l.units + j]!;
        out[r * l.units + j] = f(v);
      }
    }
    a = out;
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - x[i]!) ** 2;
  return sum / a.length;
}

describe('rate engines agree', () => {
  for (const [loss, l2, targets] of [['mse', 0, false], ['bce', 1e-3, true]] as const) {
    it(`ort follows tfjs over 20 steps within 1e-4 (${loss}, l2 ${l2}${targets ? ', separate targets' : ''})`, async () => {
      const c = config({ loss, l2, batchSize: 12 });
      const init = glorotUniformParams(spec, new Rng(9));
      const rows = 20 * 12;
      const x = values.subarray(0, rows * COLS);
      const input = targets ? Float32Array.from(x, (v, i) => (i % 5 === 0 ? 0 : v)) : x;
      const run = async (engine: string) => {
        const e = await createEngine({ engine, backend: 'cpu' }, c);
        try {
          await e.setState(init);
          const losses = await e.trainSteps(input, rows, targets ? x : undefined);
          return { losses, state: await e.getState(), val: await e.evaluate(x, 60) };
        } finally {
          e.dispose();
        }
      };
      const a = await run('tfjs');
      const b = await run('ort');
      expect(b.losses.length).toBe(20);
      expect(relErr([b.losses], [a.losses])).toBeLessThan(1e-4);
      expect(relErr(tensors(b.state.params), tensors(a.state.params))).toBeLessThan(1e-4);
      expect(relErr(tensors(b.state.optimizer.m), tensors(a.state.optimizer.m))).toBeLessThan(1e-4);
      expect(Math.abs(b.val - a.val) / a.val).toBeLessThan(1e-4);
    });
  }
});

describe('train() with rateWeight', () => {
  const common: TrainOptions = { data, spec, rateWeight: 0.2, batchSize: 16, seed: 13, adam: { learningRate: 0.01 } };
  const bits = (r: { params: TrainResult['params'] }) => r.params.map((p) => [p.name, Array.from(p.kernel), Array.from(p.bias)]);

  it.each(['tfjs', 'ort'] as const)('%s: density.bin hashed, lattice latent range, and a resume after epoch 2 of 4 is bit-exact', async (engine) => {
    const { result: whole, out, copyOf } = await trainCopying(tmp.dir, { ...common, engine, backend: 'cpu' }, 4);
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')) as CheckpointMeta;
    expect(meta.training.rateWeight).toBe(0.2);
    expect(meta.rate!.weight).toBe(0.2);
    expect(meta.rate!.density!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.rate!.density!.tensors.map((t) => t.name)).toEqual([`${RATE_DENSITY_LAYER}/loc`, `${RATE_DENSITY_LAYER}/log_scale`]);
    expect(meta.latentRange).toEqual({ min: [-128, -128, -128], max: [127, 127, 127] });
    expect(meta.optimizer!.tensors.map((t) => t.name)).toContain(`${RATE_DENSITY_LAYER}/bias/v`);
    expect(readFileSync(join(out, 'density.bin')).length).toBe(4 * 2 * 3);
    const saved = await readCheckpoint(out);
    expect(bits(saved)).toEqual(bits(whole));

    const resumed = await train({ data, engine, backend: 'cpu', resume: copyOf(2) });
    expect(resumed.history.map((h) => [h.loss, h.valLoss])).toEqual(whole.history.map((h) => [h.loss, h.valLoss]));
    expect(bits(resumed)).toEqual(bits(whole));
    expect(bits({ params: [...resumed.optimizer.m, ...resumed.optimizer.v] })).toEqual(bits({ params: [...whole.optimizer.m, ...whole.optimizer.v] }));
  });

  it('the rate term lowers the estimated bits; the validation loss is the rounded-latent one', async () => {
    const rate = (w: number) => train({ ...common, rateWeight: w, epochs: 6, engine: 'ort', backend: 'cpu' });
    const low = await rate(0.01);
    const high = await rate(1);
    const estimate = async (r: TrainResult) => {
      const density = r.params.at(-1)!;
      const e = await createEngine({ engine: 'ort', backend: 'cpu' }, config());
      await e.setState(r.params);
      const z = roundLatents(await e.encode(values, ROWS));
      e.dispose();
      return totalLatentBits(z, density.kernel, density.bias) / ROWS;
    };
    expect(await estimate(high)).toBeLessThan(await estimate(low));
    expect(high.valLoss).toBe(high.history.at(-1)!.valLoss);
  });

  it('early stopping keeps the best epoch\'s density, and a resume from mid-wait (best.bin) ends the same, bit for bit', async () => {
    const opts: TrainOptions = { ...common, rateWeight: 0.5, engine: 'ort', backend: 'cpu', patience: 2, adam: { learningRate: 0.08 } };
    const { result: whole, copyOf } = await trainCopying(tmp.dir, opts, 30);
    expect(whole.stoppedEarly, 'the run did not stop early: change the learning rate').toBe(true);
    const best = whole.bestEpoch;
    const atBest = await readCheckpoint(copyOf(best));
    expect(bits(whole)).toEqual(bits(atBest));
    const midWait = await readCheckpoint(copyOf(best + 1));
    expect(midWait.meta.earlyStopping!.wait).toBe(1);
    expect(bits({ params: [midWait.best!.params.at(-1)!] })).toEqual(bits({ params: [atBest.params.at(-1)!] }));
    expect(midWait.params.at(-1)!.bias).not.toEqual(atBest.params.at(-1)!.bias);
    const resumed = await train({ data, engine: 'ort', backend: 'cpu', resume: copyOf(best + 1) });
    expect(resumed.bestEpoch).toBe(best);
    expect(bits(resumed)).toEqual(bits(whole));
  });

  it('a flipped byte in density.bin is refused by --resume, naming the file', async () => {
    const out = join(tmp.dir, 'flip');
    await train({ ...common, epochs: 1, engine: 'tfjs', backend: 'cpu', out });
    const copy = `${out}-copy`;
    cpSync(out, copy, { recursive: true });
    const file = join(copy, 'density.bin');
    const bytes = readFileSync(file);
    bytes[3]! ^= 1;
    writeFileSync(file, bytes);
    await expect(train({ data, resume: copy, epochs: 2 })).rejects.toMatchObject({ constructor: CheckpointError, message: expect.stringMatching(/density\.bin.*SHA-256/) });
  });

  it('refuses --variant vae, a weight with --resume, and a negative or infinite weight, with usage errors', async () => {
    await expect(train({ ...common, variant: 'vae', epochs: 1 })).rejects.toThrow(UsageError);
    await expect(train({ ...common, variant: 'vae', epochs: 1 })).rejects.toThrow(/--variant vae/);
    for (const w of [-0.1, Infinity, Number.NaN]) await expect(train({ ...common, rateWeight: w, epochs: 1 })).rejects.toThrow(/--rate-weight/);
    const out = join(tmp.dir, 'resume-flag');
    await train({ ...common, epochs: 1, engine: 'tfjs', backend: 'cpu', out });
    await expect(train({ data, resume: out, rateWeight: 0.5, epochs: 2 })).rejects.toThrow(/--rate-weight cannot be given with --resume/);
    // A weight of 0 is plain training: no density, measured latent range.
    const plain = await train({ ...common, rateWeight: 0, epochs: 1, engine: 'tfjs', backend: 'cpu' });
    expect(plain.params.map((p) => p.name)).not.toContain(RATE_DENSITY_LAYER);
    expect(plain.latentRange.min[0]).not.toBe(-128);
  });
});
