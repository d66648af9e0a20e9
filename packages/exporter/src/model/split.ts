/**
 * Splits a DenseChain into encoder and decoder at a named layer, and describes it as a core
 * ModelSpec (one activation per dense layer) for the bundle manifest and ONNX metadata.
 */
import { type ActivationSpec, type DenseSpec, ExportError, type ModelSpec, validateSpec } from '@aekit/core';
import { type DenseChain, type Step, chainWidth } from './chain.js';

export interface SplitModel {
  inputDim: number;
  latentDim: number;
  encoder: Step[];
  decoder: Step[];
  spec: ModelSpec;
}

/** Dense layers with their activation; a run of activations after one Dense must collapse to one. */
function denseSpecs(steps: readonly Step[], part: string): DenseSpec[] {
  const out: DenseSpec[] = [];
  let acts: ActivationSpec[] = [];
  let dense: (Step & { kind: 'dense' }) | undefined;
  const flush = () => {
    if (!dense) return;
    const nonLinear = acts.filter((a) => a.name !== 'linear');
    if (nonLinear.length > 1) {
      throw new ExportError(
        `Dense layer "${dense.origin.layer}" is followed by ${nonLinear.length} activations (${nonLinear.map((a) => a.name).join(' then ')}); ` +
          'aekit models hold one activation per dense layer',
      );
    }
    out.push({ units: dense.units, activation: nonLinear[0] ?? { name: 'linear' } });
  };
  for (const s of steps) {
    if (s.kind === 'dense') {
      flush();
      dense = s;
      acts = [];
    } else if (!dense) {
      throw new ExportError(
        `activation layer "${s.origin.layer}" (position ${s.origin.position}) comes before any Dense layer of the ${part}; ` +
          'each activation must follow a Dense layer (split after the activation layer, not before it)',
      );
    } else acts.push(s.activation);
  }
  flush();
  return out;
}

/** Splits after layer `splitAfter` (encoder = everything up to and including it). */
export function splitChain(chain: DenseChain, splitAfter: string): SplitModel {
  const k = chain.stepsThrough.get(splitAfter);
  if (k === undefined) {
    throw new ExportError(`split layer "${splitAfter}" does not exist; the model's layers are: ${chain.layerNames.join(', ')}`);
  }
  const encoder = chain.steps.slice(0, k);
  const decoder = chain.steps.slice(k);
  if (!encoder.some((s) => s.kind === 'dense')) {
    throw new ExportError(`splitting after "${splitAfter}" leaves the encoder without a Dense layer; pick a later layer`);
  }
  if (!decoder.some((s) => s.kind === 'dense')) {
    throw new ExportError(`splitting after "${splitAfter}" leaves the decoder without a Dense layer; pick an earlier layer`);
  }
  const latentDim = chainWidth(encoder, chain.inputDim);
  const outDim = chainWidth(decoder, latentDim);
  if (outDim !== chain.inputDim) {
    throw new ExportError(`the model maps ${chain.inputDim} inputs to ${outDim} outputs; an autoencoder's output width must equal its input width`);
  }
  const enc = denseSpecs(encoder, 'encoder');
  const dec = denseSpecs(decoder, 'decoder');
  const spec = validateSpec({
    inputDim: chain.inputDim,
    encoder: enc.slice(0, -1),
    latent: enc[enc.length - 1],
    decoder: dec.slice(0, -1),
    outputActivation: dec[dec.length - 1]!.activation,
  });
  return { inputDim: chain.inputDim, latentDim, encoder, decoder, spec };
}
