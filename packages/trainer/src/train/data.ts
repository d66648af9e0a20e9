/**
 * Phase 2 of `train()`: the data. Loaded (or streamed), split into training and validation rows by a
 * seeded shuffle, and normalised with a normalisation fitted on the training rows.
 */
import { DataError, columnRange, type ModelSpec, type Normalization, Rng, fitNormalization, makeSpec, normalize } from '@aekit/core';
import { BUNDLED_DIGITS_SOURCE, type Dataset, type RowSource, loadBundledDigits, loadDataset } from '@aekit/data';
import type { TrainingEngine } from '../engine.js';
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
  /** Normalised training / validation rows (empty when streamed). */
  trainX: Float32Array;
  valX: Float32Array;
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
  const rawTrain = gatherRows(inMemory.data, cols, split.train);
  const rawVal = gatherRows(inMemory.data, cols, split.val);
  const normalization = prev?.normalization ?? fitNormalization(normKind, rawTrain, cols);
  return { ...base, normalization, trainX: normalize(normalization, rawTrain, cols), valX: normalize(normalization, rawVal, cols), stream: undefined };
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
  return data.stream ? latentRangeStreamed(data.stream, data.normalization, engine, dim) : columnRange(await engine.encode(data.trainX, data.nTrain), dim);
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

