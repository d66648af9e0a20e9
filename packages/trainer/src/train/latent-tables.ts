/**
 * The entropy coder's frequency tables: the training rows' latents quantised exactly as the `.aez`
 * container quantises them (core's uint8 quantiser over the checkpoint's latent range), counted per
 * dimension and fitted to core's table format (latent_tables.bin). One more encoder pass over the
 * training rows, at the end of a finished run only.
 */
import { columnRange, countLatentSymbols, encodeLatentTables, fitLatentTables, quantizeLatents } from '@aekit/core';
import { forEachLatentsStreamed } from '../stream-epoch.js';
import type { TrainingEngine } from '../engine.js';
import { LATENT_PASS_ROWS, type TrainingData, forEachTrainingLatents, latentRange } from './data.js';
/** Training latents kept between the range and the tables (one encoder pass, not two) up to this size. */
const KEEP_LATENT_BYTES = 256 * 2 ** 20;

/**
 * A finished run's latent range over the training rows and its entropy tables. In memory, one encoder
 * pass serves both when the latents fit KEEP_LATENT_BYTES; else (streamed data, a fixed lattice, huge
 * latents) the range and the tables take a pass each.
 */
export async function measureTrainingLatents(
  data: TrainingData,
  engine: TrainingEngine,
): Promise<{ range: { min: number[]; max: number[] }; tables: Uint8Array | undefined }> {
  const dim = data.spec.latent.units;
  if (data.stream !== undefined || engine.latentLattice !== undefined || data.nTrain === 0 || data.nTrain * dim * 4 > KEEP_LATENT_BYTES) {
    const range = await latentRange(data, engine);
    return { range, tables: await fitTrainingLatentTables(data, engine, range) };
  }
  const z = new Float32Array(data.nTrain * dim);
  await forEachTrainingLatents(data, engine, LATENT_PASS_ROWS, (zc, from) => z.set(zc, from * dim));
  const range = columnRange(z, dim);
  return { range, tables: await tablesOf(dim, range, (add) => add(z)) };
}

/** latent_tables.bin for the model's training latents; undefined when the latent range is unmeasured. */
export async function fitTrainingLatentTables(
  data: TrainingData,
  engine: TrainingEngine,
  range: { min: number[]; max: number[] },
): Promise<Uint8Array | undefined> {
  const dim = data.spec.latent.units;
  if (range.min.length !== dim || range.max.length !== dim || data.nTrain === 0) return undefined;
  return tablesOf(dim, range, (add) =>
    data.stream ? forEachLatentsStreamed(data.stream, data.normalization, engine, add) : forEachTrainingLatents(data, engine, LATENT_PASS_ROWS, add),
  );
}

/**
 * Counts the latents `feed` hands to `add`, quantised over `range`, and fits one table per dimension
 * (a spatial latent too: tables shared per channel cost more bytes, docs/compression.md).
 */
async function tablesOf(dim: number, range: { min: number[]; max: number[] }, feed: (add: (z: Float32Array) => void) => void | Promise<void>): Promise<Uint8Array> {
  const bounds = { min: Float32Array.from(range.min), max: Float32Array.from(range.max) };
  const counts = new Float64Array(dim * 256);
  let symbols = new Uint8Array(0);
  const add = (z: Float32Array): void => {
    if (symbols.length < z.length) symbols = new Uint8Array(z.length);
    const s = symbols.subarray(0, z.length);
    quantizeLatents(z, 'uint8', bounds, s);
    countLatentSymbols(s, dim, counts);
  };
  await feed(add);
  return encodeLatentTables(fitLatentTables(counts, dim));
}
