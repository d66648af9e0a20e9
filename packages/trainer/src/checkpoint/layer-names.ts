/** How the checkpoint's model.json names layers and activations (core's checkpoint.ts layout). */
import type { ActivationName, ModelSpec } from '@aekit/core';

/** tfjs-layers activation identifier for each aekit activation; null = Dense(linear) + its own layer. */
export const TFJS_ACTIVATION: Record<ActivationName, string | null> = {
  linear: 'linear',
  relu: 'relu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  elu: 'elu',
  selu: 'selu',
  softplus: 'softplus',
  swish: 'swish',
  gelu: 'gelu',
  leakyRelu: null,
};

/** Name of the layer whose output is the latent code. */
export function encoderOutputLayerName(spec: ModelSpec): string {
  return TFJS_ACTIVATION[spec.latent.activation.name] === null ? 'latent_act' : 'latent';
}
