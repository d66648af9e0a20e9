import { describe, expect, it } from 'vitest';
import {
  ACTIVATION_NAMES,
  DEFAULT_SPEC,
  Rng,
  SpecError,
  activationReference,
  denormalize,
  modelLayers,
  describeSpec,
  fitNormalization,
  makeSpec,
  normalize,
  parameterCount,
  parseActivation,
  validateSpec,
} from '@aekit/core';

describe('activations', () => {
  it('parses names, aliases and leakyRelu alpha', () => {
    expect(parseActivation('relu')).toEqual({ name: 'relu' });
    expect(parseActivation('leakyRelu:0.1')).toEqual({ name: 'leakyRelu', alpha: 0.1 });
    expect(parseActivation('leaky_relu')).toEqual({ name: 'leakyRelu', alpha: 0.2 });
    expect(parseActivation('silu')).toEqual({ name: 'swish' });
  });
  it('rejects an unknown name and lists the valid ones', () => {
    expect(() => parseActivation('relux')).toThrowError(SpecError);
    try {
      parseActivation('relux');
    } catch (e) {
      for (const n of ACTIVATION_NAMES) expect((e as Error).message).toContain(n);
    }
    expect(() => parseActivation('relu:2')).toThrow(/takes no parameter/);
  });
  it('reference functions have the textbook values', () => {
    expect(activationReference({ name: 'gelu' })(1)).toBeCloseTo(0.8413447460685429, 12);
    expect(activationReference({ name: 'gelu' })(-3)).toBeCloseTo(-0.004049694, 8);
    expect(activationReference({ name: 'selu' })(-1)).toBeCloseTo(-1.1113307378, 9);
    expect(activationReference({ name: 'softplus' })(0)).toBeCloseTo(Math.LN2, 12);
    expect(activationReference({ name: 'swish' })(2)).toBeCloseTo(2 / (1 + Math.exp(-2)), 12);
    expect(activationReference({ name: 'leakyRelu', alpha: 0.1 })(-2)).toBeCloseTo(-0.2, 12);
  });
});

describe('spec', () => {
  it('defaults to the Keras example', () => {
    expect(makeSpec()).toEqual(DEFAULT_SPEC);
    expect(describeSpec(DEFAULT_SPEC)).toBe('784 → 64 relu → 32 relu → [32 linear] → 32 relu → 64 relu → 784 sigmoid');
    expect(parameterCount(DEFAULT_SPEC)).toBe(784 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 32 + 32 + 32 * 64 + 64 + 64 * 784 + 784);
    expect(modelLayers(DEFAULT_SPEC).map((l) => l.name)).toEqual(['enc_0', 'enc_1', 'latent', 'dec_0', 'dec_1', 'output']);
  });
  it('takes per-layer activations and mirrors the decoder', () => {
    const s = makeSpec({ inputDim: 10, layers: [8, 4], latent: 2, activation: ['tanh', 'elu', 'selu', 'gelu'] });
    expect(s.encoder.map((l) => l.activation.name)).toEqual(['tanh', 'elu']);
    expect(s.decoder.map((l) => [l.units, l.activation.name])).toEqual([[4, 'selu'], [8, 'gelu']]);
    expect(() => makeSpec({ activation: ['relu'] })).toThrow(/4 hidden layers/);
  });
  it('validates untrusted JSON', () => {
    expect(validateSpec(JSON.parse(JSON.stringify(DEFAULT_SPEC)))).toEqual(DEFAULT_SPEC);
    expect(() => validateSpec({ ...DEFAULT_SPEC, inputDim: 0 })).toThrow(/inputDim/);
    expect(() => validateSpec({ ...DEFAULT_SPEC, latent: { units: 3, activation: 'nope' } })).toThrow(/unknown activation/);
  });
});

describe('normalization', () => {
  it('minmax round-trips and maps constant columns to 0', () => {
    const data = [0, 5, 10, 5, 20, 5];
    const n = fitNormalization('minmax', data, 2);
    const x = normalize(n, data, 2);
    expect(Array.from(x)).toEqual([0, 0, 0.5, 0, 1, 0]);
    expect(Array.from(denormalize(n, [0, 0, 0.5, 0, 1, 0], 2))).toEqual([0, 5, 10, 5, 20, 5]);
  });
});

describe('Rng', () => {
  it('is deterministic, restorable and roughly uniform', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    const c = Rng.fromState(a.getState());
    expect(c.next()).toBe(a.next());
    const r = new Rng(1);
    let mean = 0;
    for (let i = 0; i < 20000; i++) mean += r.next();
    expect(mean / 20000).toBeGreaterThan(0.49);
    expect(mean / 20000).toBeLessThan(0.51);
    expect(new Rng(7).permutation(10).slice().sort()).toEqual(Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(Array.from(new Rng(7).permutation(10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
