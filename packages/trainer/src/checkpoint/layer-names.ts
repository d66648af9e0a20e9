/** How the checkpoint's model.json names layers and activations (core's checkpoint.ts layout). */
import { type ModelSpec, TFJS_ACTIVATION } from '@aekit/core';

export { TFJS_ACTIVATION };

/** Name of the layer whose output is the latent code. */
export function encoderOutputLayerName(spec: ModelSpec): string {
  return TFJS_ACTIVATION[spec.latent.activation.name] === null ? 'latent_act' : 'latent';
}
