/**
 * density.bin: a rate-trained model's latent density (variants/rate-math.ts), float32 little-endian:
 * the locations μ [latentDim] then the log-scales ℓ [latentDim]. aekit.json's `rate.density` gives its
 * tensor table and SHA-256. In a state (params, moments, best.bin) the density is the pseudo-layer
 * `latent_density` after the spec's dense layers (kernel [1, latentDim] = μ, bias = ℓ).
 */
import { CheckpointError, type ModelSpec, type RateMeta, type TensorEntry } from '@aekit/core';
import type { LayerParams, ParamSet } from '../engine.js';
import { RATE_DENSITY_LAYER } from '../variants/rate-math.js';

/** Takes a trailing density pseudo-layer off a state. */
export function splitDensity(set: ParamSet): { rest: ParamSet; density?: LayerParams } {
  const last = set.at(-1);
  return last?.name === RATE_DENSITY_LAYER ? { rest: set.slice(0, -1), density: last } : { rest: set };
}

export function encodeDensity(d: LayerParams): { bytes: Uint8Array; tensors: TensorEntry[] } {
  const bytes = new Uint8Array(4 * (d.kernel.length + d.bias.length));
  const f32 = new Float32Array(bytes.buffer);
  f32.set(d.kernel, 0);
  f32.set(d.bias, d.kernel.length);
  return {
    bytes,
    tensors: [
      { name: `${RATE_DENSITY_LAYER}/loc`, shape: [d.units], offset: 0 },
      { name: `${RATE_DENSITY_LAYER}/log_scale`, shape: [d.units], offset: 4 * d.kernel.length },
    ],
  };
}

/** The density from density.bin's bytes (already checked against `rate.density.sha256`); `file` names it in errors. */
export function decodeDensity(spec: ModelSpec, rate: RateMeta, bytes: Uint8Array, file: string): LayerParams {
  const units = spec.latent.units;
  const table = rate.density;
  if (table === undefined) throw new CheckpointError(`${file}: aekit.json's "rate" has no "density"; the checkpoint is damaged, train again`, { file });
  if (table.units !== units) {
    throw new CheckpointError(`${file}: the density has ${table.units} dimensions, the model's latent ${units}; the checkpoint is inconsistent, train again`, { file });
  }
  const take = (name: string): Float32Array => {
    const t = table.tensors.find((e) => e.name === `${RATE_DENSITY_LAYER}/${name}`);
    if (t === undefined) throw new CheckpointError(`${file}: aekit.json's rate.density lists no tensor ${RATE_DENSITY_LAYER}/${name}; train again`, { file });
    if (t.offset < 0 || t.offset + 4 * units > bytes.length) {
      throw new CheckpointError(`${file}: tensor ${t.name} runs past the end of the file (byte ${t.offset + 4 * units} > ${bytes.length}); the checkpoint is damaged`, { file });
    }
    // Copy into an aligned buffer of its own (the bytes may be a Buffer view at any offset).
    return new Float32Array(Uint8Array.from(bytes.subarray(t.offset, t.offset + 4 * units)).buffer);
  };
  return { name: RATE_DENSITY_LAYER, inputDim: 1, units, kernel: take('loc'), bias: take('log_scale') };
}
