/**
 * How `train()` runs a model variant (plain or variational autoencoder) with or without input noise.
 * train() asks the plan for its engine, runs every batch through `trainSteps`, and takes the
 * checkpoint's parameters and extra metadata from it, so the variants live here and not in the loop.
 */
import { type CheckpointMeta, type TrainingConfig, UsageError } from '@aekit/core';
import type { AdamState, EngineConfig, EngineName, EngineRows, ParamSet, TrainingEngine, Variant } from '../engine.js';
import { createEngine } from '../engines/registry.js';
import { type NoiseSpec, corrupt, formatNoise, noiseRng, parseNoise } from './noise.js';
import { LOG_VAR_LAYER, VAE_DEFAULT_BETA } from './vae-math.js';
import { RATE_DENSITY_LAYER, checkRateWeight } from './rate-math.js';

export type { Variant };
/** The variants train() plans (their options, checkpoint fields); engines register per variant. */
export const VARIANTS: readonly Variant[] = ['ae', 'vae'];

export interface VariantOptions {
  /** `ae` (default): plain autoencoder; `vae`: variational autoencoder. */
  variant?: Variant;
  /** KL weight of the VAE loss (default 1). */
  beta?: number;
  /** Corrupt training inputs (denoising): `gaussian:0.2`, `mask:0.3` or a parsed NoiseSpec. */
  noise?: string | NoiseSpec;
  /**
   * Rate–distortion training (plain autoencoder only): loss = distortion + rateWeight × estimated bits
   * per input value (variants/rate-math.ts). 0 or absent: plain training.
   */
  rateWeight?: number;
}

export function parseVariant(name: string): Variant {
  if ((VARIANTS as readonly string[]).includes(name)) return name as Variant;
  throw new UsageError(`unknown variant "${name}"; valid: ${VARIANTS.join(', ')}`);
}

type State = { params: ParamSet; optimizer: AdamState };

export interface VariantPlan {
  variant: Variant;
  beta?: number;
  noise?: NoiseSpec;
  /** λ of a rate–distortion run (> 0), absent for plain training. */
  rateWeight?: number;
  /** Whether rows may reach the engine as bytes (EngineConfig.byteInput): not when they are corrupted in JavaScript first. */
  byteInput: boolean;
  /** The engine registered for this variant under `name` (or picked by `auto`), on `backend`. */
  createEngine(name: EngineName | 'auto', config: EngineConfig, backend: string): Promise<TrainingEngine>;
  /** engine.trainSteps with this epoch's corruption applied to the inputs (targets stay clean). */
  trainSteps(engine: TrainingEngine, epoch: number, data: EngineRows, rows: number): Promise<Float32Array>;
  /** The parameters and moments the checkpoint holds (all of them; a VAE's head goes to vae_head.bin). */
  checkpointState(state: State): State;
  /** What the checkpoint's training config adds (variant, noise). */
  trainingFields(): Partial<TrainingConfig>;
  /** What aekit.json adds (the VAE's β; writeCheckpoint describes the head). */
  metaFields(state: State): Partial<CheckpointMeta>;
}

/** Validates the variant options (or takes them from the checkpoint being resumed). */
export function planVariant(options: VariantOptions, prev: CheckpointMeta | undefined, seed: number): VariantPlan {
  if (prev !== undefined && (options.variant !== undefined || options.beta !== undefined || options.noise !== undefined || options.rateWeight !== undefined)) {
    throw new UsageError('--variant, --beta, --noise and --rate-weight cannot be given with --resume: the run continues with the checkpoint\'s settings');
  }
  const variant: Variant = prev ? (prev.training.variant ?? 'ae') : parseVariant(options.variant ?? 'ae');
  const beta = variant === 'vae' ? (prev?.vae?.beta ?? options.beta ?? VAE_DEFAULT_BETA) : undefined;
  if (variant !== 'vae' && options.beta !== undefined) throw new UsageError('--beta applies to --variant vae only');
  if (beta !== undefined && !(Number.isFinite(beta) && beta >= 0)) throw new UsageError(`--beta must be a number >= 0, got ${beta}`);
  const noiseIn = prev ? prev.training.noise : options.noise;
  const noise = noiseIn === undefined ? undefined : typeof noiseIn === 'string' ? parseNoise(noiseIn) : parseNoise(formatNoise(noiseIn));
  const weightIn = prev ? prev.training.rateWeight : options.rateWeight;
  const rateWeight = weightIn === undefined || checkRateWeight(weightIn) === 0 ? undefined : weightIn;
  if (variant === 'vae' && weightIn !== undefined && prev === undefined) {
    throw new UsageError('--rate-weight applies to the plain autoencoder only; it cannot be combined with --variant vae');
  }
  if (rateWeight !== undefined && prev !== undefined && prev.rate === undefined) {
    throw new UsageError('the checkpoint says rateWeight but has no "rate" (density) in aekit.json; retrain it');
  }
  if (variant === 'vae' && prev !== undefined && prev.vae === undefined) {
    throw new UsageError('the checkpoint says variant vae but has no VAE head in aekit.json; retrain it');
  }

  let epochRng: { epoch: number; rng: ReturnType<typeof noiseRng> } | undefined;
  let noisy: Float32Array | undefined;

  return {
    variant,
    ...(beta !== undefined ? { beta } : {}),
    ...(noise !== undefined ? { noise } : {}),
    ...(rateWeight !== undefined ? { rateWeight } : {}),
    byteInput: noise === undefined,

    async createEngine(name, config, backend) {
      const selection = { engine: name, backend };
      // Both engines of either variant take separate targets (denoising).
      return variant === 'vae'
        ? createEngine({ ...selection, variant }, { ...config, beta: beta!, seed })
        : createEngine({ ...selection, variant }, rateWeight !== undefined ? { ...config, rate: { weight: rateWeight, seed } } : config);
    },

    async trainSteps(engine, epoch, data, rows) {
      if (noise === undefined) return engine.trainSteps(data, rows);
      if (!(data instanceof Float32Array)) throw new UsageError('input noise needs float32 rows (the run should not have asked for byte input)');
      if (epochRng?.epoch !== epoch) epochRng = { epoch, rng: noiseRng(seed, epoch) };
      if (noisy === undefined || noisy.length < data.length) noisy = new Float32Array(data.length);
      const input = corrupt(noise, data, epochRng.rng, noisy.subarray(0, data.length));
      return engine.trainSteps(input, rows, data);
    },

    checkpointState(state) {
      // The whole state: writeCheckpoint puts a VAE's head after the dense layers in vae_head.bin,
      // optimizer.bin and best.bin.
      return state;
    },

    trainingFields() {
      return {
        ...(variant === 'vae' ? { variant } : {}),
        ...(noise !== undefined ? { noise: formatNoise(noise) } : {}),
        ...(rateWeight !== undefined ? { rateWeight } : {}),
      };
    },

    metaFields(state) {
      if (rateWeight !== undefined) {
        if (state.params.at(-1)?.name !== RATE_DENSITY_LAYER) throw new Error('rate engine state lacks the latent_density');
        // writeCheckpoint adds `density` (density.bin's table and hash).
        return { rate: { weight: rateWeight } };
      }
      if (variant !== 'vae') return {};
      if (!state.params.some((p) => p.name === LOG_VAR_LAYER)) throw new Error('VAE engine state lacks the latent_log_var head');
      // writeCheckpoint adds `head` (vae_head.bin's table and hash).
      return { vae: { beta: beta! } };
    },
  };
}
