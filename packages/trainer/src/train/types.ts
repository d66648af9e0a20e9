/** What `train()` takes, reports while it runs (events) and returns. */
import type { AdamConfig, CheckpointMeta, EpochRecord, LossName, ModelSpec, Normalization, NormalizationKind } from '@aekit/core';
import type { DataFormat, Dataset, RowSource } from '@aekit/data';
import type { AdamState, EngineName, ParamSet } from '../engine.js';
import type { VariantOptions } from '../variants/plan.js';
import type { LrScheduleOption } from './lr-schedule.js';

export interface EpochEndInfo extends EpochRecord {
  /** Total epochs requested (the run may stop earlier). */
  epochs: number;
  /** Epoch whose weights are currently the best (early stopping), else this epoch. */
  bestEpoch: number;
}

export interface BatchEndInfo {
  epoch: number;
  /** Batches done in this epoch / batches in the epoch. */
  batch: number;
  batches: number;
  /** Mean training loss of the epoch's batches so far. */
  loss: number;
}

export interface TrainStartInfo {
  engine: EngineName;
  backend: string;
  spec: ModelSpec;
  normalization: Normalization;
  /** Where the data came from (file path or `bundled:mnist`). */
  dataSource: string;
  trainRows: number;
  valRows: number;
  /** First epoch number this run trains (1, or the next one when resuming). */
  firstEpoch: number;
  epochs: number;
  /** λ of a rate–distortion run (from the options, or the resumed checkpoint's setting). */
  rateWeight?: number;
}

export interface TrainOptions extends VariantOptions {
  /** Training data; when omitted, the bundled digits (or, when resuming, the checkpoint's data file). */
  data?: Dataset;
  /** Model; the Keras example with `inputDim = data.cols` when omitted. Ignored when resuming. */
  spec?: ModelSpec;
  /** Default: scale255 for uint8 data, minmax (fitted on the training split) for float data. */
  normalization?: NormalizationKind;
  loss?: LossName;
  /** Total epochs (when resuming: total including the epochs already done). */
  epochs?: number;
  batchSize?: number;
  adam?: Partial<AdamConfig>;
  /**
   * The learning rate over the epochs: `constant` (default) or `cosine` (annealed per epoch from
   * `adam.learningRate` to `minLearningRate`, default 0, over `epochs`). Fixed by the checkpoint when resuming.
   */
  lrSchedule?: LrScheduleOption;
  /** Fraction of rows held out for validation, taken after a seeded shuffle; in [0, 1). */
  valSplit?: number;
  /** Stop after this many epochs without improvement of the validation loss (training loss without a split), keeping the best epoch's weights. */
  patience?: number;
  l1?: number;
  l2?: number;
  seed?: number;
  /** A registered engine name (`engineChoices()`), or `auto`: the highest-priority one that starts. */
  engine?: EngineName | 'auto';
  /** Engine backend (`backendChoices(engine)`): for tfjs `auto`, `tensorflow`, `wasm` or `cpu`. */
  backend?: string;
  /** Intra-op threads of the ort engine (onnxruntime-node); its default when omitted. Not recorded: it does not change results. */
  threads?: number;
  /** Let the ort engine's threads spin between ops: faster on a machine of its own, much slower on a shared one. */
  spinning?: boolean;
  /** Checkpoint directory to write (atomically); nothing is written when omitted. */
  out?: string;
  /** Checkpoint directory to continue from: spec, normalisation, loss and optimizer come from it. */
  resume?: string;
  /**
   * Train from a file streamed in shuffled blocks instead of `data`, with memory bounded by
   * `bufferMB` (default 64 MiB) whatever the file's size. A checkpoint records the buffer layout, so a
   * resume without data streams the same file alike.
   */
  stream?: StreamOptions;
  /** With `out`: write the checkpoint every this many epochs (default 1) and at the end. */
  checkpointEvery?: number;
  /**
   * Aborting stops training at the next chunk of batches: the current epoch is abandoned, the last
   * complete epoch is saved to `out` (if not already), and train() rejects with an InterruptedError.
   */
  signal?: AbortSignal;
  onStart?: (info: TrainStartInfo) => void;
  onEpochEnd?: (info: EpochEndInfo) => void;
  onBatchEnd?: (info: BatchEndInfo) => void;
}

export interface StreamOptions {
  /** A file path (opened and closed by train()) or an open RowSource (the caller closes it). */
  source: string | RowSource;
  format?: DataFormat;
  /** Shuffle-buffer memory in MiB (default 64); ignored when resuming (the checkpoint's layout is kept). */
  bufferMB?: number;
}

export interface TrainResult {
  engine: EngineName;
  backend: string;
  spec: ModelSpec;
  normalization: Normalization;
  history: EpochRecord[];
  /** Epoch whose weights were kept. */
  bestEpoch: number;
  epochsCompleted: number;
  stoppedEarly: boolean;
  /** Validation loss of the kept weights (undefined without a validation split). */
  valLoss?: number;
  /** The dense layers in spec order; a VAE appends its `latent_log_var` head (also in checkpoint.meta.vae). */
  params: ParamSet;
  optimizer: AdamState;
  latentRange: { min: number[]; max: number[] };
  /** The entropy coder's tables of the training latents (latent_tables.bin bytes); absent when the range is unmeasured. */
  latentTables?: Uint8Array;
  /** Present when `out` was given. */
  checkpoint?: { dir: string; meta: CheckpointMeta };
}

/** An engine's parameters with its optimizer state. */
export interface EngineState {
  params: ParamSet;
  optimizer: AdamState;
}
