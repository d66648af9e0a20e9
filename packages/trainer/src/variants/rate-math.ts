/**
 * Rate–distortion training's engine-independent parts (Ballé et al. 2017's relaxation): during
 * training the latent y is perturbed by additive uniform noise, ỹ = y + u, u ~ U(−½, ½) (a stand-in
 * for rounding that keeps gradients), the decoder sees ỹ, and a learned density per latent dimension
 * prices ỹ in bits. loss = distortion + λ · R, R = mean over rows of Σ_d −log2 p_d(ỹ_d), divided by
 * inputDim (bits per input value, in the same per-value units as the distortion).
 *
 * The density of dimension d is a logistic with location μ_d and log-scale ℓ_d, integrated over the
 * unit bin around ỹ: p_d(ỹ) = σ((½ − t)/s) − σ((−½ − t)/s), t = |ỹ − μ_d|, s = exp(ℓ_d). Taking |·|
 * keeps the subtraction in the lower tail of σ (two small numbers, exact in float32) instead of
 * 1 − ε − (1 − ε') in the upper tail. p is floored at 1e-9 (≈ 30 bits; no gradient below the floor).
 * μ = 0, ℓ = 0 at the start: a unit-scale logistic centred on the lattice, ~1.3 bits per dimension.
 * A Laplace density with the same parameters was measured at equal λ (bench/rate-density.bench.mjs,
 * docs/training.md) and did not do better, so the logistic stays.
 *
 * At inference the latents are rounded to the integer lattice: a rate model's checkpoint records the
 * latent range [−128, 127] for every dimension, so the runtime's uint8 quantiser codes q = round(y) + 128.
 */
import { Rng, UsageError } from '@aekit/core';
import type { LayerParams } from '../engine.js';

/** Name of the density's pseudo-layer in parameter sets (after the spec's dense layers). */
export const RATE_DENSITY_LAYER = 'latent_density';
/** The integer lattice a rate model's latents are coded on (the uint8 quantiser's range). */
export const RATE_LATENT_MIN = -128;
export const RATE_LATENT_MAX = 127;
/** Floor of a bin's probability (≈ 29.9 bits). */
export const RATE_PROB_FLOOR = 1e-9;

/** What an engine needs to train with the rate term. */
export interface RateConfig {
  /** λ: loss = distortion + λ · bits per input value. > 0. */
  weight: number;
  /** Seeds the per-step noise draws. */
  seed: number;
}

/** Refuses a weight that is not a finite number >= 0 (`what` names the option). */
export function checkRateWeight(weight: number, what = '--rate-weight'): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    throw new UsageError(`${what} must be a finite number >= 0, got ${weight}`);
  }
  return weight;
}

/** The density's start: μ = 0 (kernel [1, units]), ℓ = 0 (bias [units]). */
export function initDensity(units: number): LayerParams {
  return { name: RATE_DENSITY_LAYER, inputDim: 1, units, kernel: new Float32Array(units), bias: new Float32Array(units) };
}

/**
 * The u ~ U(−½, ½) of Adam step `step` (1-based), `count` values, from a generator of its own seeded
 * from (seed, step) — as the VAE draws its ε (vae-math.ts `drawEpsilon`): the draws follow from the
 * step count the optimizer state saves, so both engines and a resumed run draw the same values.
 */
export function drawUniformNoise(seed: number, step: number, count: number): Float32Array {
  // A multiplier and offset of their own, so the streams differ from the VAE's for the same seed.
  const rng = new Rng((Math.imul((seed + 7) >>> 0, 0x85ebca6b) + step) >>> 0);
  const u = new Float32Array(count);
  for (let i = 0; i < count; i++) u[i] = rng.next() - 0.5;
  return u;
}

/** What inference does to a latent value: round half up to the lattice, clamp to [−128, 127] (NaN → −128). */
export function latticeValue(y: number): number {
  const q = Math.floor(y + 0.5);
  return q >= RATE_LATENT_MIN ? Math.min(q, RATE_LATENT_MAX) : RATE_LATENT_MIN;
}

/** Latents rounded and clamped as the runtime's uint8 quantiser over [−128, 127] codes them (new array). */
export function roundLatents(z: Float32Array): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = latticeValue(z[i]!);
  return out;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * −log2 p_d(v) in float64 for one value of dimension d (location `loc`, log-scale `logScale`).
 * The reference of the engines' float32 computation, and what reports estimate bits with.
 */
export function latentBits(v: number, loc: number, logScale: number): number {
  const t = Math.abs(v - loc);
  const s = Math.exp(logScale);
  const p = sigmoid((0.5 - t) / s) - sigmoid((-0.5 - t) / s);
  return -Math.log2(Math.max(p, RATE_PROB_FLOOR));
}

/** Σ over rows and dimensions of −log2 p (row-major latents, `loc.length` per row), float64. */
export function totalLatentBits(z: ArrayLike<number>, loc: ArrayLike<number>, logScale: ArrayLike<number>): number {
  const dim = loc.length;
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += latentBits(z[i]!, loc[i % dim]!, logScale[i % dim]!);
  return sum;
}
