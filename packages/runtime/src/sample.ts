import { BundleError, type BundleManifest } from '@aekit/core';

/** Most rows one `sample` call generates. */
export const MAX_SAMPLE_ROWS = 1_000_000;

/**
 * The latents `sample(n, seed)` decodes, after checking the request: `n` rows drawn from a VAE's prior
 * N(0, I). A plain autoencoder has no prior to draw from: BundleError.
 */
export function priorLatents(manifest: Pick<BundleManifest, 'variant' | 'latentDim'>, n: number, seed: number): Float32Array {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_SAMPLE_ROWS) {
    throw new RangeError(`sample: n must be an integer from 1 to ${MAX_SAMPLE_ROWS} (rows per call; call again for more), got ${String(n)}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`sample: seed must be an integer in [0, 2^32), got ${seed}`);
  if (manifest.variant !== 'vae') {
    throw new BundleError(
      `sample: this bundle is a plain autoencoder (manifest variant "${manifest.variant ?? 'ae'}"), whose latent space has no prior to sample; ` +
        'train with --variant vae and export again',
    );
  }
  return standardNormals(n * manifest.latentDim, seed);
}

/**
 * Seeded standard-normal draws for `Codec.sample`: the same seed gives the same latents on every
 * platform (pure integer arithmetic for the uniform stream, then Box–Muller in float64).
 */

/** `count` values from N(0, 1), generated from `seed` (an integer in [0, 2^32)). */
export function standardNormals(count: number, seed: number): Float32Array {
  // mulberry32: small, fast, and good enough for drawing latents (not for cryptography).
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    let u = 0;
    while (u === 0) u = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(a);
    if (i + 1 < count) out[i + 1] = r * Math.sin(a);
  }
  return out;
}
