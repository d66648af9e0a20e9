/**
 * The bundle manifest (`manifest.json`) the exporter writes and the runtime reads. The runtime keeps
 * its own copy of this type (it depends on nothing but onnxruntime); docs/bundle.md is the contract.
 *
 * Graph I/O: encoder `x` → `z`, decoder `z` → `x_hat`, autoencoder `x` → `x_hat`, batch dim `batch`.
 * Graphs take and return data in raw units (what the data file holds): the normalisation recorded
 * here is applied inside the graphs, so callers never normalise by hand.
 */
import type { Normalization } from './normalization.js';
import type { ModelSpec } from './spec.js';

export const BUNDLE_FORMAT = 'aekit-bundle';
export const BUNDLE_FORMAT_VERSION = 1;
export const BUNDLE_FILES = {
  encoder: 'encoder.onnx',
  decoder: 'decoder.onnx',
  autoencoder: 'autoencoder.onnx',
  manifest: 'manifest.json',
} as const;

export type GraphName = 'encoder' | 'decoder' | 'autoencoder';
export type IoDtype = 'float32' | 'uint8';
export type WeightsDtype = 'float32' | 'float16' | 'int8';

export interface BundleFileEntry {
  path: string;
  sha256: string;
  bytes: number;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  producer: string;
  aekitVersion: string;
  opset: number;
  /** 'ae' for a plain autoencoder; 'vae' when the encoder outputs z_mean and z_log_var. */
  variant: 'ae' | 'vae';
  inputDim: number;
  latentDim: number;
  inputDtype: IoDtype;
  outputDtype: IoDtype;
  weights: WeightsDtype;
  normalization: Normalization;
  /** Per-dimension latent range over the training set, from the checkpoint. */
  latentRange: { min: number[]; max: number[] };
  files: Record<GraphName, BundleFileEntry>;
  source: { checkpointSha256: string; spec: ModelSpec };
  createdAt: string;
}
