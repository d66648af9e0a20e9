/**
 * Denoising: --noise parsing, seeded corruption with the requested strength, targets that stay clean,
 * and the point of it all — a model trained on corrupted inputs reconstructs corrupted rows better
 * than a plain model trained the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADAM, Rng, UsageError, makeSpec } from '@aekit/core';
import type { Dataset } from '@aekit/data';
import { parseNoise, train } from '@aekit/trainer';
import { corrupt, noiseRng } from '../src/variants/noise.js';
import { TfjsEngine } from '../src/engines/tfjs/engine.js';
import { selectTfjsBackend } from './backends.js';
import { structuredData, tempDir } from './helpers.js';

const tmp = tempDir('aekit-noise-');
afterAll(tmp.cleanup);
beforeAll(async () => {
  await selectTfjsBackend('cpu');
});

describe('--noise', () => {
  it('parses gaussian:STD and mask:RATE, and names what is wrong otherwise', () => {
    expect(parseNoise('gaussian:0.2')).toEqual({ kind: 'gaussian', std: 0.2 });
    expect(parseNoise(' mask:0.3 ')).toEqual({ kind: 'mask', rate: 0.3 });
    for (const [bad, msg] of [
      ['gaussian', /write gaussian:STD/],
      ['gaussian:x', /write gaussian:STD/],
      ['gaussian:0', /standard deviation must be > 0/],
      ['mask:1', /mask rate must be in \(0, 1\)/],
      ['salt:0.1', /unknown noise "salt"; valid: gaussian, mask/],
    ] as const) {
      expect(() => parseNoise(bad)).toThrow(UsageError);
      expect(() => parseNoise(bad)).toThrow(msg);
    }
  });

  it('corruption is seeded and has the requested strength', () => {
    const clean = new Float32Array(20000).fill(0.5);
    const g1 = corrupt({ kind: 'gaussian', std: 0.2 }, clean, new Rng(1));
    const g2 = corrupt({ kind: 'gaussian', std: 0.2 }, clean, new Rng(1));
    expect(g1).toEqual(g2);
    expect(corrupt({ kind: 'gaussian', std: 0.2 }, clean, new Rng(2))).not.toEqual(g1);
    const d = Array.from(g1, (v) => v - 0.5);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeGreaterThan(0.19);
    expect(std).toBeLessThan(0.21);
    const m = corrupt({ kind: 'mask', rate: 0.3 }, clean, new Rng(1));
    const zeros = m.filter((v) => v === 0).length / m.length;
    expect(zeros).toBeGreaterThan(0.28);
    expect(zeros).toBeLessThan(0.32);
    expect(m.every((v) => v === 0 || v === 0.5)).toBe(true);
    // Per-epoch generators differ by epoch and are fixed by (seed, epoch), so a resume corrupts alike.
    expect(noiseRng(5, 1).nextUint32()).toBe(noiseRng(5, 1).nextUint32());
    expect(noiseRng(5, 1).nextUint32()).not.toBe(noiseRng(5, 2).nextUint32());
  });
});

describe('denoising autoencoder', () => {
  const COLS = 16;
  const rows = 600;
  const data: Dataset = { data: structuredData(rows, COLS, 3, 11), rows, cols: COLS, dtype: 'float32', source: 'test:structured' };
  // Wide enough to learn (nearly) the identity, which is exactly what does not remove noise.
  const spec = makeSpec({ inputDim: COLS, layers: [24], latent: 12 });
  const common = { data, spec, epochs: 12, batchSize: 16, seed: 3, adam: { learningRate: 0.005 }, engine: 'tfjs', backend: 'cpu', normalization: 'none' } as const;

  async function noisyMse(params: Awaited<ReturnType<typeof train>>['params'], noise: string): Promise<number> {
    const engine = await TfjsEngine.create({ spec, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 16 }, { backend: 'cpu' });
    await engine.setState(params);
    const clean = data.data as Float32Array;
    const noisy = corrupt(parseNoise(noise), clean, new Rng(99));
    const y = await engine.predict(noisy, rows);
    engine.dispose();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i]! - clean[i]!) ** 2;
    return s / y.length;
  }

  for (const [engine, noise] of [['tfjs', 'gaussian:0.2'], ['tfjs', 'mask:0.3'], ['ort', 'mask:0.3']] as const) {
    it(`${engine}, ${noise}: reconstructs corrupted rows with lower MSE than a plain model trained the same way`, async () => {
      const backend = 'cpu';
      const plain = await train({ ...common, engine, backend });
      const denoising = await train({ ...common, engine, backend, noise, out: `${tmp.dir}/${engine}-${noise.replace(':', '-')}` });
      expect(denoising.engine).toBe(engine);
      expect(denoising.checkpoint!.meta.training.noise).toBe(noise);
      const a = await noisyMse(plain.params, noise);
      const b = await noisyMse(denoising.params, noise);
      expect(b).toBeLessThan(a * 0.8);
      // Validation loss is measured on clean rows (noise is for training inputs only).
      expect(denoising.valLoss!).toBeLessThan(0.05);
    });
  }
});
