/**
 * The entropy coder's frequency tables: the training rows' latents quantised exactly as the `.aez`
 * container quantises them (core's uint8 quantiser over the checkpoint's latent range), counted per
 * dimension and fitted to core's table format (latent_tables.bin). One more encoder pass over the
 * training rows, at the end of a finished run only.
 */
import { countLatentSymbols, encodeLatentTables, fitLatentTables, quantizeLatents } from '@aekit/core';
import { forEachLatentsStreamed } from '../stream-epoch.js';
import type { TrainingEngine } from '../engine.js';
import type { TrainingData } from './data.js';

/** Rows encoded per engine call when the training rows are in memory (bounds the latent buffer). */
const ROWS_PER_PASS = 8192;

/** latent_tables.bin for the model's training latents; undefined when the latent range is unmeasured. */
export async function fitTrainingLatentTables(
  data: TrainingData,
  engine: TrainingEngine,
  range: { min: number[]; max: number[] },
): Promise<Uint8Array | undefined> {
  const dim = data.spec.latent.units;
  if (range.min.length !== dim || range.max.length !== dim || data.nTrain === 0) return undefined;
  const bounds = { min: Float32Array.from(range.min), max: Float32Array.from(range.max) };
  const counts = new Float64Array(dim * 256);
  let symbols = new Uint8Array(0);
  const add = (z: Float32Array): void => {
    if (symbols.length < z.length) symbols = new Uint8Array(z.length);
    const s = symbols.subarray(0, z.length);
    quantizeLatents(z, 'uint8', bounds, s);
    countLatentSymbols(s, dim, counts);
  };
  if (data.stream) await forEachLatentsStreamed(data.stream, data.normalization, engine, add);
  else {
    const cols = data.cols;
    for (let r = 0; r < data.nTrain; r += ROWS_PER_PASS) {
      const rows = Math.min(ROWS_PER_PASS, data.nTrain - r);
      add(await engine.encode(data.trainX.subarray(r * cols, (r + rows) * cols), rows));
    }
  }
  return encodeLatentTables(fitLatentTables(counts, dim));
}
