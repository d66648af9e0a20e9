/** The VAE's engine-independent parts: the log-variance head's shape and start, and the KL term in float64. */
import { type ModelSpec, Rng } from '@aekit/core';
import type { LayerParams, EngineConfig } from '../engine.js';

/** Name of the log-variance head in parameter sets (appended after the spec's dense layers). */
export const LOG_VAR_LAYER = 'latent_log_var';
export const VAE_DEFAULT_BETA = 1;

export interface VaeEngineConfig extends EngineConfig {
  /** Weight of the KL term. */
  beta: number;
  /** Seeds the ε draws and the log-variance head's initial weights. */
  seed: number;
}

/** Width of the layer that feeds both heads. */
export function headInputDim(spec: ModelSpec): number {
  return spec.encoder.length > 0 ? spec.encoder[spec.encoder.length - 1]!.units : spec.inputDim;
}

/** Glorot-uniform kernel, zero bias: the log-variance head's start (log σ² ≈ 0, σ ≈ 1). */
export function initLogVarHead(spec: ModelSpec, rng: Rng): LayerParams {
  const inputDim = headInputDim(spec);
  const units = spec.latent.units;
  const limit = Math.sqrt(6 / (inputDim + units));
  const kernel = Float32Array.from({ length: inputDim * units }, () => (2 * rng.next() - 1) * limit);
  return { name: LOG_VAR_LAYER, inputDim, units, kernel, bias: new Float32Array(units) };
}

/**
 * The ε ~ N(0, I) of Adam step `step` (1-based), `count` values. Each step has a generator of its own,
 * seeded from (seed, step), so the draws follow from the step count that the optimizer state already
 * saves: a resumed run draws exactly what the uninterrupted run would, with no generator state to
 * keep in step with every saved state (latest, best, last unsaved epoch).
 */
export function drawEpsilon(seed: number, step: number, count: number): Float32Array {
  // An odd multiplier keeps (seed, step) → generator seed one-to-one for a given seed.
  const rng = new Rng((Math.imul((seed + 5) >>> 0, 0x9e3779b1) + step) >>> 0);
  const eps = new Float32Array(count);
  for (let i = 0; i < count; i++) eps[i] = rng.normal();
  return eps;
}

/**
 * KL(N(μ, σ²) ‖ N(0, I)) per row, averaged over rows, in float64: −½ Σ_j (1 + log σ²_j − μ_j² − σ²_j).
 * The reference the engine's tfjs computation is tested against.
 */
export function klDivergence(mean: ArrayLike<number>, logVar: ArrayLike<number>, rows: number): number {
  let sum = 0;
  for (let i = 0; i < mean.length; i++) sum += 1 + logVar[i]! - mean[i]! ** 2 - Math.exp(logVar[i]!);
  return (-0.5 * sum) / rows;
}

