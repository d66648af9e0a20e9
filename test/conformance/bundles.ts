/**
 * One small bundle per activation for the codec conformance suite: an aekit checkpoint written with
 * plain tfjs (the exporter tests' fixture), the activation on every hidden layer, exported with
 * `exportBundle`; plus what tfjs itself computes from that checkpoint (the ground truth for ort:cpu).
 */
import { ACTIVATION_NAMES, type ActivationName, Rng, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import type { BundleBytes, BundleManifest } from '@aekit/runtime';
import { aekitCheckpoint, predict, tf } from '../../packages/exporter/test/helpers/fixtures.js';

export const INPUT_DIM = 24;
export const HIDDEN = 12;
export const LATENT = 4;
export const ROWS = 33;

export interface ActivationBundle {
  activation: ActivationName;
  manifest: BundleManifest;
  files: BundleBytes['files'];
  /** tfjs predict of the checkpoint: latents and reconstructions of `rows()`. */
  tfjs: { z: Float32Array; xHat: Float32Array };
}

/** Rows in [-2, 2), so hidden pre-activations take both signs (normalisation `none`). */
export function sampleRows(seed = 17): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: ROWS * INPUT_DIM }, () => 4 * rng.next() - 2);
}

export async function activationBundle(activation: ActivationName, x: Float32Array): Promise<ActivationBundle> {
  const a = activation === 'leakyRelu' ? 'leakyRelu:0.1' : activation;
  const spec = makeSpec({ inputDim: INPUT_DIM, layers: [HIDDEN], latent: LATENT, activation: a, outputActivation: 'sigmoid' });
  const seed = 1 + ACTIVATION_NAMES.indexOf(activation);
  const ck = await aekitCheckpoint(spec, { seed, normalization: { kind: 'none' } });
  const { manifest, files } = await exportBundle(ck.files, { createdAt: '2026-01-01T00:00:00.000Z' });
  const encoder = tf.model({ inputs: ck.model.inputs, outputs: ck.model.getLayer(ck.meta.encoderOutputLayer).output });
  const tfjs = { z: predict(encoder, x, ROWS), xHat: predict(ck.model, x, ROWS) };
  ck.model.dispose();
  return {
    activation,
    manifest,
    files: { encoder: files['encoder.onnx']!, decoder: files['decoder.onnx']!, autoencoder: files['autoencoder.onnx']! },
    tfjs,
  };
}

/** Largest |a − b|; a NaN on either side counts as Infinity (never a pass). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} against ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}
