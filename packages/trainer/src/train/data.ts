/**
 * Phase 2 of `train()`: the data. Loaded (or streamed), split into training and validation rows by a
 * seeded shuffle, and normalised with a normalisation fitted on the training rows.
 */
import { DataError, columnRange, type ModelSpec, type Normalization, Rng, fitNormalization, makeSpec, normalizeRows } from '@aekit/core';
import { BUNDLED_DIGITS_SOURCE, type Dataset, type RowSource, loadBundledDigits, loadDataset } from '@aekit/data';
import type { EngineRows, TrainingEngine } from '../engine.js';
import {
  DEFAULT_STREAM_BUFFER_MB,
  type StreamPlan,
  evaluateStreamed,
  fitStreamedNormalization,
  latentRangeStreamed,
  planStream,
  streamLayout,
} from '../stream-epoch.js';
import type { Settings } from './settings.js';
import type { StreamOptions, TrainOptions } from './types.js';

/** Training rows encoded per engine call in a pass over them (bounds the buffers). */
export const LATENT_PASS_ROWS = 8192;

/** Seeds derived from the user's seed for the random streams of the data. */
const SPLIT_SEED_OFFSET = 1;
const SHUFFLE_SEED_OFFSET = 2;

/** The prepared data of a run: in memory (trainX, valX) or streamed (`stream`). */
export interface TrainingData {
  /** Where the data came from (file path or `bundled:mnist`), and its shape. */
  source: string;
  rows: number;
  cols: number;
  spec: ModelSpec;
  normalization: Normalization;
  nTrain: number;
  nVal: number;
  /**
   * Training / validation rows, normalised (float32), or the raw bytes of uint8 data normalised by
   * scale255 when the engine divides by 255 itself (its byteInput; see rowsForEngine). Empty when streamed.
   */
  trainX: EngineRows;
  valX: EngineRows;
  stream: StreamPlan | undefined;
}

/**
 * The stream to train from, if any: `options.stream`, or when resuming without data, the file the
 * checkpoint was streamed from.
 */
export function streamToOpen(options: TrainOptions, settings: Settings): StreamOptions | undefined {
  const prev = settings.prev;
  const prevSource = prev?.data?.source;
  return (
    options.stream ??
    (options.data === undefined && prev?.training.stream !== undefined && prevSource !== undefined ? { source: prevSource } : undefined)
  );
}

/**
 * The validation split: a seeded permutation of the rows, the first ⌊rows·valSplit⌋ of it held out
 * (tfjs's own validationSplit takes the last rows unshuffled).
 */
export function seededSplit(rows: number, valSplit: number, seed: number): { train: Uint32Array; val: Uint32Array } {
  const order = new Rng(seed + SPLIT_SEED_OFFSET).permutation(rows);
  const nVal = Math.floor(rows * valSplit);
  return { train: order.subarray(nVal), val: order.subarray(0, nVal) };
}

/** The per-epoch shuffling generator: the checkpoint's where resuming, else from the seed. */
export function shuffleRngOf(settings: Settings): Rng {
  const state = settings.prev?.rngState;
  return state ? Rng.fromState(state) : new Rng(settings.seed + SHUFFLE_SEED_OFFSET);
}

/**
 * Loads the rows (from `rowSource` when streaming; else the options' data, the resumed checkpoint's
 * data file, or the bundled digits), checks them against the model, splits and normalises them.
 */
export async function loadData(options: TrainOptions, settings: Settings, rowSource: RowSource | undefined, bufferMB: number | undefined): Promise<TrainingData> {
  const { prev, valSplit, seed, batchSize } = settings;
  const prevSource = prev?.data?.source;
  const data: Dataset | RowSource =
    rowSource ??
    options.data ??
    (prevSource !== undefined && prevSource !== BUNDLED_DIGITS_SOURCE ? await loadDataset(prevSource) : await loadBundledDigits());
  const spec = prev?.spec ?? options.spec ?? makeSpec({ inputDim: data.cols });
  if (data.cols !== spec.inputDim) {
    throw new DataError(
      `${data.source}: rows have ${data.cols} values but the model's input dim is ${spec.inputDim}; ` +
        (prev ? 'resume with data of the same width as the checkpoint was trained on' : 'give data of the model\'s width'),
      { file: data.source },
    );
  }
  const cols = data.cols;
  const nVal = Math.floor(data.rows * valSplit);
  const nTrain = data.rows - nVal;
  if (nTrain < 1 || (valSplit > 0 && nVal < 1)) {
    throw new DataError(
      `${data.source}: ${data.rows} rows cannot be split with --val-split ${valSplit} (${nTrain} training, ${nVal} validation rows); ` +
        'give more rows or change --val-split',
      { file: data.source },
    );
  }

  // Seeded shuffle, then the validation split, then normalisation fitted on the training rows.
  const split = seededSplit(data.rows, valSplit, seed);
  const normKind = options.normalization ?? (data.dtype === 'uint8' ? 'scale255' : 'minmax');
  const base = { source: data.source, rows: data.rows, cols, spec, nTrain, nVal };
  if (rowSource !== undefined) {
    // Streamed: only the split's bitmap and the shuffle buffer are held (see stream-epoch.ts).
    const stream = planStream(rowSource, split.val, prev?.training.stream ?? streamLayout(cols, rowSource.dtype, bufferMB ?? DEFAULT_STREAM_BUFFER_MB, batchSize, prev !== undefined ? `${options.resume}/aekit.json` : undefined));
    const normalization = prev?.normalization ?? (await fitStreamedNormalization(stream, normKind));
    return { ...base, normalization, trainX: new Float32Array(0), valX: new Float32Array(0), stream };
  }
  const inMemory = data as Dataset;
  // Only minmax is fitted on the data; each split is gathered and normalised in one pass, or kept as
  // bytes for an engine that scales them itself (a quarter of the memory moved every epoch).
  const normalization = prev?.normalization ?? (normKind === 'minmax' ? fitNormalization(normKind, gatherRows(inMemory.data, cols, split.train), cols) : { kind: normKind });
  if (inMemory.data instanceof Uint8Array && normalization.kind === 'scale255' && settings.variant.byteInput) {
    return { ...base, normalization, trainX: gatherRows(inMemory.data, cols, split.train), valX: gatherRows(inMemory.data, cols, split.val), stream: undefined };
  }
  const trainX = normalizeRows(normalization, inMemory.data, cols, split.train);
  const valX = normalizeRows(normalization, inMemory.data, cols, split.val);
  return { ...base, normalization, trainX, valX, stream: undefined };
}

/** Calls `each(z, rows)` with the latents of the in-memory training rows, in split order, `chunkRows` at a time. */
export async function forEachTrainingLatents(data: TrainingData, engine: TrainingEngine, chunkRows: number, each: (z: Float32Array, from: number, rows: number) => void): Promise<void> {
  const cols = data.cols;
  for (let r = 0; r < data.nTrain; r += chunkRows) {
    const rows = Math.min(chunkRows, data.nTrain - r);
    each(await engine.encode(data.trainX.subarray(r * cols, (r + rows) * cols), rows), r, rows);
  }
}

/** The data as `engine` takes it: bytes kept when it divides by 255 itself, else normalised to float32 here. */
export function rowsForEngine(data: TrainingData, engine: TrainingEngine): TrainingData {
  if (engine.byteInput === true || !(data.trainX instanceof Uint8Array)) return data;
  return { ...data, trainX: normalizeRows(data.normalization, data.trainX, data.cols), valX: normalizeRows(data.normalization, data.valX, data.cols) };
}

/** The engine's mean reconstruction loss on the validation rows. */
export function validationLoss(data: TrainingData, engine: TrainingEngine): Promise<number> {
  return data.stream ? evaluateStreamed(data.stream, data.normalization, engine) : engine.evaluate(data.valX, data.nVal);
}

/**
 * Per latent dimension, the least and greatest code of the training rows; for an engine whose latents
 * are coded on a fixed lattice (rate–distortion training: [−128, 127]), that range for every dimension,
 * so the runtime's uint8 quantiser codes q = round(y) + 128.
 */
export async function latentRange(data: TrainingData, engine: TrainingEngine): Promise<{ min: number[]; max: number[] }> {
  const dim = data.spec.latent.units;
  const lattice = engine.latentLattice;
  if (lattice !== undefined) return { min: new Array<number>(dim).fill(lattice.min), max: new Array<number>(dim).fill(lattice.max) };
  if (data.stream) return latentRangeStreamed(data.stream, data.normalization, engine, dim);
  const range = columnRange([], dim);
  await forEachTrainingLatents(data, engine, LATENT_PASS_ROWS, (z) => void columnRange(z, dim, range));
  return range;
}

/**
 * The latent range an unfinished run's checkpoint records: that of the validation rows, a sample of
 * the same data at a ninth of the cost of a pass over the training rows (default split), so a
 * checkpoint per epoch does not add an encoder pass per epoch. The finished run's checkpoint records
 * the training rows' range (finish.ts).
 */
export async function unfinishedLatentRange(data: TrainingData, engine: TrainingEngine): Promise<{ min: number[]; max: number[] }> {
  if (data.stream !== undefined || data.nVal === 0 || engine.latentLattice !== undefined) return latentRange(data, engine);
  return columnRange(await engine.encode(data.valX, data.nVal), data.spec.latent.units);
}

/** Rows `idx` of `src` (row-major, `cols` wide), in that order, into `into` or a new array. */
export function gatherRows<T extends Float32Array | Uint8Array>(src: T, cols: number, idx: ArrayLike<number>, into?: T): T {
  const out = into ?? ((src instanceof Float32Array ? new Float32Array(idx.length * cols) : new Uint8Array(idx.length * cols)) as T);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    out.set(src.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return out;
}

