/**
 * Training from a RowSource with bounded memory. The file's rows are cut into blocks of `blockRows`
 * consecutive rows; each epoch visits the blocks in a seeded random order, fills a shuffle buffer of
 * `bufferRows` rows from consecutive blocks of that order, shuffles the buffer's rows (same generator)
 * and trains on them. Validation rows (the same seeded split as in memory) are skipped while training
 * and read in file order to evaluate.
 *
 * Memory held: the raw buffer (bufferRows × cols × 1 or 4 bytes) + the normalised buffer
 * ((bufferRows + batchSize) × cols × 4 bytes) + one block being read + a validation bitmap (rows / 8
 * bytes), independent of the file's size.
 */
import { type Normalization, type NormalizationKind, type Rng, UsageError, columnRange, normalizeRows } from '@aekit/core';
import type { RowSource } from '@aekit/data';
import type { TrainingEngine } from './engine.js';

/** Default shuffle-buffer memory (`--stream-buffer-mb`). */
export const DEFAULT_STREAM_BUFFER_MB = 64;
/** Blocks per shuffle buffer: more mixes rows from more places of the file per buffer, in smaller reads. */
const BLOCKS_PER_BUFFER = 32;

export interface StreamLayout {
  bufferRows: number;
  blockRows: number;
}

/** Buffer and block sizes for a memory budget (MiB) covering the raw and normalised buffers. */
export function streamLayout(cols: number, dtype: 'uint8' | 'float32', bufferMB: number, batchSize: number, resumedFrom?: string): StreamLayout {
  if (!Number.isFinite(bufferMB) || bufferMB <= 0) throw new UsageError(`--stream-buffer-mb must be a number > 0, got ${bufferMB}`);
  const bytesPerRow = cols * ((dtype === 'uint8' ? 1 : 4) + 4);
  const fit = Math.floor((bufferMB * 2 ** 20) / bytesPerRow);
  if (fit < batchSize) {
    const need = Math.ceil(((batchSize * bytesPerRow) / 2 ** 20) * 10) / 10;
    // On --resume both settings are fixed (the batch size is the checkpoint's): name them as such.
    if (resumedFrom !== undefined) {
      throw new UsageError(
        `the ${bufferMB} MiB stream buffer holds ${fit} rows of ${cols} values, fewer than one batch of ${batchSize} (the batch size of ${resumedFrom}); resume with --in-memory`,
      );
    }
    throw new UsageError(
      `--stream-buffer-mb ${bufferMB} holds ${fit} rows of ${cols} values, fewer than one batch of ${batchSize}; give at least ${need} MiB or a smaller --batch-size`,
    );
  }
  const blockRows = Math.max(1, Math.floor(fit / BLOCKS_PER_BUFFER));
  return { bufferRows: Math.floor(fit / blockRows) * blockRows, blockRows };
}

export interface StreamPlan extends StreamLayout {
  source: RowSource;
  nTrain: number;
  nVal: number;
  nBlocks: number;
  /** Bit r set when row r is a validation row. */
  valBits: Uint8Array;
}

/** The plan for a source: `valRows` are the rows held out (train.ts's seeded split). */
export function planStream(source: RowSource, valRows: ArrayLike<number>, layout: StreamLayout): StreamPlan {
  const { bufferRows, blockRows } = layout;
  if (!Number.isInteger(blockRows) || blockRows < 1 || !Number.isInteger(bufferRows) || bufferRows < blockRows) {
    // Only reachable with an edited aekit.json (training.stream): streamLayout never makes one.
    throw new RangeError(`stream layout needs whole numbers with bufferRows >= blockRows >= 1, got ${JSON.stringify(layout)}`);
  }
  const valBits = new Uint8Array(Math.ceil(source.rows / 8));
  for (let i = 0; i < valRows.length; i++) {
    const r = valRows[i]!;
    valBits[r >> 3]! |= 1 << (r & 7);
  }
  return {
    ...layout,
    source,
    nVal: valRows.length,
    nTrain: source.rows - valRows.length,
    nBlocks: Math.ceil(source.rows / layout.blockRows),
    valBits,
  };
}

const isVal = (p: StreamPlan, r: number) => (p.valBits[r >> 3]! & (1 << (r & 7))) !== 0;

/** Copies into `into` at row `at` the rows of block `b` that are validation rows (`val`) or not; returns the count. */
async function readBlockRows<T extends Float32Array | Uint8Array>(p: StreamPlan, b: number, val: boolean, into: T, at: number): Promise<number> {
  const cols = p.source.cols;
  const start = b * p.blockRows;
  const count = Math.min(p.blockRows, p.source.rows - start);
  const block = await p.source.read(start, count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    if (isVal(p, start + i) !== val) continue;
    into.set(block.subarray(i * cols, (i + 1) * cols), (at + n) * cols);
    n++;
  }
  return n;
}

function rawBuffer(p: StreamPlan, rows: number): Float32Array | Uint8Array {
  const n = rows * p.source.cols;
  return p.source.dtype === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
}

/** Calls `each(raw, rows)` for the training rows (or the validation rows), in file order, a buffer at a time. */
async function forEachBuffer(p: StreamPlan, val: boolean, each: (raw: Float32Array | Uint8Array, rows: number) => Promise<void> | void): Promise<void> {
  const raw = rawBuffer(p, p.bufferRows);
  let n = 0;
  for (let b = 0; b < p.nBlocks; b++) {
    if (n + p.blockRows > p.bufferRows) {
      await each(raw, n);
      n = 0;
    }
    n += await readBlockRows(p, b, val, raw, n);
  }
  if (n > 0) await each(raw, n);
}

/** Fits the normalisation on the training rows in one streamed pass (no pass for scale255 / none). */
export async function fitStreamedNormalization(p: StreamPlan, kind: NormalizationKind): Promise<Normalization> {
  if (kind !== 'minmax') return { kind };
  const cols = p.source.cols;
  const range = columnRange([], cols);
  await forEachBuffer(p, false, (raw, rows) => {
    columnRange(raw.subarray(0, rows * cols), cols, range);
  });
  return { kind: 'minmax', ...range };
}

/**
 * One epoch's training data: shuffled, normalised chunks of whole batches (the last chunk may end in
 * a partial batch). Each chunk is valid until the next is requested. Uses `rng` as the in-memory path
 * does, so the generator's state after the epoch is what a checkpoint records.
 */
export async function* streamEpoch(p: StreamPlan, rng: Rng, n: Normalization, batchSize: number): AsyncGenerator<{ data: Float32Array; rows: number }> {
  const cols = p.source.cols;
  const raw = rawBuffer(p, p.bufferRows);
  const out = new Float32Array((p.bufferRows + batchSize) * cols);
  const blockOrder = rng.permutation(p.nBlocks);
  const perGroup = Math.max(1, Math.floor(p.bufferRows / p.blockRows));
  let carried = 0;
  for (let g = 0; g < blockOrder.length; g += perGroup) {
    let rows = 0;
    for (let k = g; k < Math.min(g + perGroup, blockOrder.length); k++) rows += await readBlockRows(p, blockOrder[k]!, false, raw, rows);
    normalizeRows(n, raw, cols, rng.permutation(rows), out, carried);
    const total = carried + rows;
    const last = g + perGroup >= blockOrder.length;
    const use = last ? total : total - (total % batchSize);
    if (use > 0) yield { data: out.subarray(0, use * cols), rows: use };
    carried = total - use;
    // Rows short of a whole batch wait at the front of the buffer for the next group.
    if (carried > 0) out.copyWithin(0, use * cols, total * cols);
  }
}

/** Mean validation loss over the held-out rows, read in file order. */
export async function evaluateStreamed(p: StreamPlan, n: Normalization, engine: TrainingEngine): Promise<number> {
  const cols = p.source.cols;
  const out = new Float32Array(p.bufferRows * cols);
  let sum = 0;
  await forEachBuffer(p, true, async (raw, rows) => {
    normalizeRows(n, raw, cols, identity(rows), out, 0);
    sum += (await engine.evaluate(out.subarray(0, rows * cols), rows)) * rows;
  });
  return sum / p.nVal;
}

/** Per-dimension latent min / max over the training rows. */
export async function latentRangeStreamed(p: StreamPlan, n: Normalization, engine: TrainingEngine, dim: number): Promise<{ min: number[]; max: number[] }> {
  const range = columnRange([], dim);
  await forEachLatentsStreamed(p, n, engine, (z) => void columnRange(z, dim, range));
  return range;
}

/** Calls `each(z)` with the latents of the training rows, in file order, a buffer at a time. */
export async function forEachLatentsStreamed(p: StreamPlan, n: Normalization, engine: TrainingEngine, each: (z: Float32Array) => void): Promise<void> {
  const cols = p.source.cols;
  const out = new Float32Array(p.bufferRows * cols);
  await forEachBuffer(p, false, async (raw, rows) => {
    normalizeRows(n, raw, cols, identity(rows), out, 0);
    each(await engine.encode(out.subarray(0, rows * cols), rows));
  });
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
