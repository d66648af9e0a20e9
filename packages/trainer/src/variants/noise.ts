/**
 * Input corruption for denoising autoencoders: the network sees a corrupted copy of each training row
 * and is scored against the clean row. Corruption applies to training batches only (validation,
 * encode and export see clean data) and is seeded, so a run is reproducible.
 *  - `gaussian:σ` adds N(0, σ²) to every value (in normalised units; no clipping)
 *  - `mask:p` sets each value to 0 with probability p (masking noise, Vincent et al. 2008)
 */
import { Rng, UsageError } from '@aekit/core';

export type NoiseSpec = { kind: 'gaussian'; std: number } | { kind: 'mask'; rate: number };
export const NOISE_KINDS = ['gaussian', 'mask'] as const;

/** Parses `gaussian:0.2` or `mask:0.3` (the CLI's --noise). */
export function parseNoise(text: string): NoiseSpec {
  const [kind = '', value, ...rest] = text.trim().split(':');
  const v = Number(value);
  const usage = `write gaussian:STD (e.g. gaussian:0.2) or mask:RATE (e.g. mask:0.3)`;
  if (value === undefined || value.trim() === '' || rest.length > 0 || !Number.isFinite(v)) {
    throw new UsageError(`--noise "${text}": ${usage}`);
  }
  if (kind === 'gaussian') {
    if (!(v > 0)) throw new UsageError(`--noise "${text}": the gaussian standard deviation must be > 0`);
    return { kind, std: v };
  }
  if (kind === 'mask') {
    if (!(v > 0 && v < 1)) throw new UsageError(`--noise "${text}": the mask rate must be in (0, 1)`);
    return { kind, rate: v };
  }
  throw new UsageError(`--noise "${text}": unknown noise "${kind}"; valid: ${NOISE_KINDS.join(', ')}; ${usage}`);
}

export function formatNoise(n: NoiseSpec): string {
  return n.kind === 'gaussian' ? `gaussian:${n.std}` : `mask:${n.rate}`;
}

/** A corrupted copy of `clean` (into `out` when given). */
export function corrupt(noise: NoiseSpec, clean: Float32Array, rng: Rng, out: Float32Array = new Float32Array(clean.length)): Float32Array {
  if (noise.kind === 'mask') {
    for (let i = 0; i < clean.length; i++) out[i] = rng.next() < noise.rate ? 0 : clean[i]!;
    return out;
  }
  // Box–Muller, both values of each pair used (half the generator calls of Rng.normal()).
  const s = noise.std;
  for (let i = 0; i < clean.length; i += 2) {
    let u = 0;
    while (u === 0) u = rng.next();
    const r = s * Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * rng.next();
    out[i] = clean[i]! + r * Math.cos(t);
    if (i + 1 < clean.length) out[i + 1] = clean[i + 1]! + r * Math.sin(t);
  }
  return out;
}

/**
 * The generator for one epoch's corruption, derived from the run's seed and the epoch number, so a
 * resumed run corrupts epoch k exactly as an uninterrupted one would.
 */
export function noiseRng(seed: number, epoch: number): Rng {
  return new Rng((Math.imul(seed + 3, 0x9e3779b1) ^ Math.imul(epoch, 0x85ebca6b)) >>> 0);
}
