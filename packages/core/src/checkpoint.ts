/**
 * The aekit checkpoint: a directory in the TensorFlow.js layers format (`model.json` + `weights.bin`,
 * loadable by `tf.loadLayersModel`) plus `aekit.json` with what tfjs does not record. Optimizer state
 * for `--resume` lives in `optimizer.bin`, described by `aekit.json`. How model.json and weights.bin
 * are laid out, and the functions that write and read them, are in checkpoint-layout.ts.
 */
import type { ModelSpec } from './spec.js';
import type { Normalization } from './normalization.js';

export const CHECKPOINT_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  meta: 'aekit.json',
  optimizer: 'optimizer.bin',
  /** Best epoch's parameters and optimizer state in a per-epoch checkpoint with early stopping. */
  best: 'best.bin',
  /** A VAE's log-variance head (kernel, bias; float32 LE), described by aekit.json's `vae.head`. */
  vaeHead: 'vae_head.bin',
  /** Per-dimension frequency tables of the quantised latents over the training set (entropy coding). */
  latentTables: 'latent_tables.bin',
  /** A rate-trained model's latent density (per-dimension location, log-scale; float32 LE), described by aekit.json's `rate.density`. */
  density: 'density.bin',
} as const;

export const CHECKPOINT_FORMAT = 'aekit-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;

export type LossName = 'mse' | 'bce';
export const LOSS_NAMES: readonly LossName[] = ['mse', 'bce'];

export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const DEFAULT_ADAM: AdamConfig = Object.freeze({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });

export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's batches (including L1/L2 penalties). */
  loss: number;
  /**
   * Validation loss, when a validation split is used: reconstruction only (no penalties). For a
   * rate-trained model (`training.rateWeight` > 0): the reconstruction with the latents rounded to the
   * integer lattice and clamped to [−128, 127] (what inference codes) + rateWeight × the density's
   * estimated bits per input value at those rounded latents.
   */
  valLoss?: number;
  /** Wall-clock seconds of the epoch. */
  seconds: number;
  /** Training rows per second over the epoch. */
  rowsPerSecond: number;
  /** Adam's learning rate during the epoch; recorded when `training.lrSchedule` varies it. */
  learningRate?: number;
}

/**
 * A learning-rate schedule over the epochs. `cosine`: epoch e of E (1-based) trains at
 * minLearningRate + (lr − minLearningRate) · (1 + cos(π (e − 1) / E)) / 2, PyTorch's CosineAnnealingLR
 * with T_max = E stepped once per epoch. Absent: the optimizer's learning rate throughout.
 */
export interface LrSchedule {
  name: 'cosine';
  minLearningRate: number;
}

export interface TrainingConfig {
  engine: string;
  /** tfjs backend (tensorflow, wasm, cpu) or onnxruntime execution provider that ran the training. */
  backend: string;
  loss: LossName;
  optimizer: { name: 'adam' } & AdamConfig;
  batchSize: number;
  /** Epochs requested in total (across resumes). */
  epochs: number;
  seed: number;
  valSplit: number;
  patience?: number;
  l1: number;
  l2: number;
  /** Present when the data was streamed from its file (shuffle buffer and block sizes, in rows); resume streams alike. */
  stream?: { bufferRows: number; blockRows: number };
  /** Model variant: absent or 'ae' for a plain autoencoder, 'vae' for a variational one (see `vae`). */
  variant?: 'ae' | 'vae';
  /** Input corruption during training (denoising), e.g. `gaussian:0.2` or `mask:0.3`. */
  noise?: string;
  /**
   * Rate–distortion training: loss = distortion + rateWeight × estimated bits per input value. Absent
   * or 0 for plain training. A rate-trained model's latents are quantised to the integer lattice.
   */
  rateWeight?: number;
  /** Present when the learning rate follows a schedule over `epochs` (a resume follows it too). */
  lrSchedule?: LrSchedule;
}

/**
 * What a VAE checkpoint adds: the KL weight and the log-variance head (the layer parallel to the
 * latent layer, same input, linear), kept apart from model.json, which holds the tfjs Sequential of
 * the mean path (x → z_mean → x̂) that plain tfjs can load. The head's parameters are in vae_head.bin
 * (`head`, hashed); its Adam moments are in optimizer.bin (`latent_log_var/kernel/m`, …) and its best
 * state in best.bin, after the dense layers'.
 */
export interface VaeMeta {
  beta: number;
  /** The head in vae_head.bin: tensors `latent_log_var/kernel` [inputDim, units] and `latent_log_var/bias` [units]. */
  head?: { inputDim: number; units: number; tensors: TensorEntry[]; sha256: string };
  /** Checkpoints written before vae_head.bin: the head as JSON numbers (not covered by any hash). Read, no longer written. */
  logVar?: { inputDim: number; units: number; kernel: number[]; bias: number[] };
}

/**
 * What a rate-trained checkpoint adds (`training.rateWeight` > 0): the weight and the learned latent
 * density, a logistic per dimension d with location μ_d and log-scale ℓ_d, whose probability of the
 * integer bin around ỹ is σ((½ − t)/s) − σ((−½ − t)/s), t = |ỹ − μ_d|, s = exp(ℓ_d). The parameters are
 * in density.bin (`density`, hashed): tensors `latent_density/loc` [latentDim] and
 * `latent_density/log_scale` [latentDim]. Training states carry them as a pseudo-layer
 * `latent_density` after the dense layers (kernel [1, latentDim] = μ, bias = ℓ), so their Adam moments
 * are in optimizer.bin (`latent_density/kernel/m`, …) and their best state in best.bin, as a VAE head's.
 */
export interface RateMeta {
  weight: number;
  density?: { units: number; tensors: TensorEntry[]; sha256: string };
}

/** One tensor inside a binary file: name, shape and byte offset (float32, little-endian). */
export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
}

export interface OptimizerState {
  /** Number of update steps taken so far (Adam's t). */
  step: number;
  /** First and second moment tensors, stored in optimizer.bin. */
  tensors: TensorEntry[];
  /** Hex SHA-256 of optimizer.bin (absent in checkpoints written before it was recorded). */
  sha256?: string;
}

/**
 * Early-stopping state of a checkpoint written before the run ended (per-epoch checkpoints with
 * patience): the epochs without improvement so far and the best epoch's parameters and optimizer
 * state, kept in best.bin (parameters as in weights.bin's order, then the moments as in optimizer.bin).
 */
export interface EarlyStoppingState {
  wait: number;
  bestValue: number;
  /** Adam step count of the best state; absent when best.bin is absent (the best epoch is the last one). */
  bestStep?: number;
  /** Hex SHA-256 of best.bin. */
  bestSha256?: string;
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  spec: ModelSpec;
  /** Name of the last layer of the encoder in model.json (the latent layer, or its `_act` layer). */
  encoderOutputLayer: string;
  normalization: Normalization;
  /** Per-dimension min / max of the latent over the training set (for uint8 latent quantisation). */
  latentRange: { min: number[]; max: number[] };
  training: TrainingConfig;
  history: EpochRecord[];
  /** Epoch whose weights were kept (differs from the last epoch after early stopping). */
  bestEpoch?: number;
  /** Next epoch to run on resume (epochs completed so far). */
  epochsCompleted: number;
  optimizer?: OptimizerState;
  /** State of the per-epoch shuffling generator (core `Rng.getState()`), so --resume shuffles on. */
  rngState?: number[];
  /** Set while the run is not finished (a per-epoch checkpoint): what --resume needs to stop early exactly. */
  earlyStopping?: EarlyStoppingState;
  /** Hex SHA-256 of weights.bin, checked by the exporter and by --resume. */
  weightsSha256: string;
  /** Data the model was trained on (path or "bundled:mnist"), rows and columns. */
  data?: { source: string; rows: number; cols: number };
  versions: Record<string, string>;
  createdAt: string;
  /** Present for a variational autoencoder (`training.variant` 'vae'). */
  vae?: VaeMeta;
  /** Present for a rate-trained model (`training.rateWeight` > 0). */
  rate?: RateMeta;
  /**
   * Per-dimension frequency tables of the training set's quantised (uint8) latents, in
   * latent_tables.bin (core's encodeLatentTables), hashed; written by a finished run, absent from
   * per-epoch checkpoints of an unfinished one. The exporter copies the file into the bundle.
   */
  latentTables?: { sha256: string; bytes: number };
}
