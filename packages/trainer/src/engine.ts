/**
 * The contract every training engine implements (tfjs is the reference; an onnxruntime engine runs a
 * generated training-step graph). The orchestrator (`train()`) owns everything engine-independent:
 * data, seeded shuffling, batching order, validation, early stopping, history and checkpoints. An
 * engine owns parameters and optimizer state and runs steps. Both engines start from the same
 * JS-generated initial parameters, so a seed means the same thing on every engine.
 */
import type { AdamConfig, LossName, ModelSpec } from '@aekit/core';
import type { VaeEngineConfig } from './variants/vae-math.js';
import type { RateConfig } from './variants/rate-math.js';

/** One dense layer's parameters (the checkpoint layout's type, from @aekit/core). */
export type { LayerParams } from '@aekit/core';
import type { LayerParams } from '@aekit/core';

/** Every dense layer's parameters, in `modelLayers(spec)` order. */
export type ParamSet = LayerParams[];

/** Adam state: step count t and first/second moments shaped like the parameters. */
export interface AdamState {
  step: number;
  m: ParamSet;
  v: ParamSet;
}

export interface EngineConfig {
  spec: ModelSpec;
  loss: LossName;
  adam: AdamConfig;
  /** L1 / L2 penalty factors on kernels (not biases), added to the training loss as Keras does. */
  l1: number;
  l2: number;
  batchSize: number;
  /**
   * Intra-op threads for engines that run native kernels (the ort engine on onnxruntime-node); the
   * engine's default when omitted. The tfjs engine ignores it (tfjs-wasm is single-threaded in Node).
   */
  threads?: number;
  /** Let the engine's native threads spin between ops (ort engine; default off: see docs/ort-engine.md). */
  spinning?: boolean;
  /**
   * Rate–distortion training (variants/rate-math.ts): the plain autoencoder's engines then add noise to
   * the latents, learn the latent density (a pseudo-layer `latent_density` after the dense layers in
   * every ParamSet and AdamState) and add λ · bits per value to the loss. Absent: plain training.
   */
  rate?: RateConfig;
  /**
   * Asks for rows as bytes: uint8 data whose normalisation is scale255, passed as Uint8Array and divided
   * by 255 inside the engine (same float32 values). An engine that cannot ignores it and says so in
   * `TrainingEngine.byteInput`.
   */
  byteInput?: boolean;
}

/** Rows as an engine takes them: normalised float32, or bytes when the engine's `byteInput` is set. */
export type EngineRows = Float32Array | Uint8Array;

/**
 * An engine's name as `--engine` takes it. Open: a factory registered under a new name
 * (engines/registry.ts `registerEngine`) adds an engine without changing this type.
 */
export type EngineName = string;

/** The built-in engines: tfjs (the reference) and onnxruntime. */
export const TFJS_ENGINE: EngineName = 'tfjs';
export const ORT_ENGINE: EngineName = 'ort';

/**
 * What an engine of each model variant is created with. A new variant adds its entry by declaration
 * merging (`declare module '@aekit/trainer' { interface VariantEngineConfigs { … } }`).
 */
export interface VariantEngineConfigs {
  /** The plain autoencoder. */
  ae: EngineConfig;
  /** The variational autoencoder: also β and the seed of its ε draws and head. */
  vae: VaeEngineConfig;
}

/** A model variant engines register for (`ae`, `vae`). */
export type Variant = keyof VariantEngineConfigs & string;

export interface TrainingEngine {
  readonly name: EngineName;
  /** What actually runs: tfjs backend (`tensorflow`, `wasm`, `cpu`) or onnxruntime EP (`cpu`, `cuda`, `webgpu`). */
  readonly backend: string;
  /** Library versions worth recording in the checkpoint (e.g. `@tensorflow/tfjs`). */
  readonly versions?: Readonly<Record<string, string>>;
  /** Loads parameters and, when resuming, the optimizer state (else Adam starts at step 0). */
  setState(params: ParamSet, optimizer?: AdamState): Promise<void>;
  /**
   * One optimizer step per batch over `rows` already-shuffled, normalised rows (row-major), in order,
   * `batchSize` rows a batch (the last batch may be smaller). Returns each step's training loss
   * (reconstruction + penalties), in order. `targets` (same shape as `data`), when given, is what the
   * output is scored against instead of `data` (denoising: data is the corrupted input, targets clean).
   */
  trainSteps(data: EngineRows, rows: number, targets?: Float32Array): Promise<Float32Array>;
  /** Mean reconstruction loss (no penalties) over the rows, computed in batches. */
  evaluate(data: EngineRows, rows: number): Promise<number>;
  /** Latent codes of the rows ([rows, latentDim] row-major), computed in batches. */
  encode(data: EngineRows, rows: number): Promise<Float32Array>;
  /** Adam's learning rate for the steps that follow (a schedule sets it each epoch); the config's until then. */
  setLearningRate(learningRate: number): void;
  /** Copies of the current parameters and optimizer state. */
  getState(): Promise<{ params: ParamSet; optimizer: AdamState }>;
  /** Frees every tensor / session the engine holds. */
  dispose(): void;
  /**
   * Set when the engine's latents are coded on a fixed integer lattice (rate–distortion training): the
   * checkpoint's latent range is then this range for every dimension instead of the measured one.
   */
  readonly latentLattice?: { min: number; max: number };
  /** Set when the engine was asked for byte input (EngineConfig.byteInput) and takes it: its methods then take Uint8Array rows. */
  readonly byteInput?: boolean;
}
