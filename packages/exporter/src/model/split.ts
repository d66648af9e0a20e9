/**
 * Splits a model's chain of steps into encoder and decoder at a named layer, and describes it: as a
 * core ModelSpec when the chain is one (dense, or convolutional in aekit's layout), else as a
 * one-line layer description (pooling, upsampling, 'valid' padding, several activations in a row…).
 */
import {
  type ActivationSpec,
  type ConvSpec,
  type DenseSpec,
  ExportError,
  type ModelSpec,
  canonicalJson,
  formatActivation,
  modelLayers,
  validateSpec,
} from '@aekit/core';
import { type ConvStep, type DenseChain, type DenseStep, type Hwc, type Step, chainShape, hasWeights, size } from './chain.js';

/** A model split into encoder and decoder steps: what the graphs are built from. */
export interface SplitModel {
  inputDim: number;
  latentDim: number;
  /** The input rows' logical shape ([inputDim], or [h, w, c] for image input); flat when absent. */
  inputShape?: number[];
  /** The encoder output's logical shape ([latentDim], or [h, w, c] for a spatial latent); flat when absent. */
  latentShape?: number[];
  encoder: Step[];
  decoder: Step[];
  /** The model as a ModelSpec, when it is one. */
  spec?: ModelSpec;
  /** One line naming every step, latent in brackets (for manifests of models without a spec). */
  layers?: string;
}

/** What `splitChain` returns: a SplitModel with its shapes and description. */
export interface SplitResult extends SplitModel {
  inputShape: number[];
  latentShape: number[];
  layers: string;
}

type Weighted = DenseStep | ConvStep;

/** A weighted step with the activation that follows it. */
interface Unit {
  step: Weighted;
  activation: ActivationSpec;
}

/**
 * Weighted steps with their activation, or undefined when the steps are not a run of "weighted
 * layer, at most one activation" (pooling, upsampling, activations before a layer or stacked).
 */
function units(steps: readonly Step[]): Unit[] | undefined {
  const out: Unit[] = [];
  for (const s of steps) {
    if (hasWeights(s)) out.push({ step: s, activation: { name: 'linear' } });
    else if (s.kind === 'activation') {
      const last = out[out.length - 1];
      if (last === undefined) return undefined;
      if (s.activation.name === 'linear') continue;
      if (last.activation.name !== 'linear') return undefined;
      last.activation = s.activation;
    } else if (s.kind !== 'reshape') return undefined;
  }
  return out;
}

const dense = (u: Unit): DenseSpec => ({ units: (u.step as DenseStep).units, activation: u.activation });

/** A ModelSpec for the chain split after `encoderUnits` weighted layers, or undefined when it is none. */
function specOf(all: Unit[], encoderUnits: number, inputDim: number): ModelSpec | undefined {
  const enc = all.slice(0, encoderUnits);
  const dec = all.slice(encoderUnits);
  const latent = enc[enc.length - 1]!;
  let candidate: ModelSpec;
  if (all.every((u) => u.step.kind === 'dense')) {
    candidate = {
      inputDim,
      encoder: enc.slice(0, -1).map(dense),
      latent: dense(latent),
      decoder: dec.slice(0, -1).map(dense),
      outputActivation: dec[dec.length - 1]!.activation,
    };
  } else {
    const first = all[0]!.step;
    if (first.kind !== 'conv') return undefined;
    const convs = enc.slice(0, latent.step.kind === 'conv' ? -1 : undefined).filter((u) => u.step.kind === 'conv');
    const encDense = enc.filter((u) => u.step.kind === 'dense').slice(0, -1);
    const decDense = dec.filter((u) => u.step.kind === 'dense').slice(0, -1);
    const square = (s: ConvStep) => s.kernelSize[0] === s.kernelSize[1] && s.strides[0] === s.strides[1];
    if (!convs.every((u) => square(u.step as ConvStep)) || (latent.step.kind === 'conv' && !square(latent.step))) return undefined;
    const [height, width, channels] = first.inShape;
    const conv: ConvSpec[] = convs.map((u) => {
      const s = u.step as ConvStep;
      return { filters: s.outShape[2], kernel: s.kernelSize[0], stride: s.strides[0], activation: u.activation };
    });
    const l = latent.step;
    candidate = {
      inputDim,
      image: { height, width, channels },
      ...(conv.length > 0 ? { conv } : {}),
      encoder: encDense.map(dense),
      latent:
        l.kind === 'conv'
          ? { units: size(l.outShape), activation: latent.activation, shape: [...l.outShape] as Hwc, kernel: l.kernelSize[0] }
          : dense(latent),
      decoder: decDense.map(dense),
      outputActivation: dec[dec.length - 1]!.activation,
    };
  }
  let spec: ModelSpec;
  try {
    spec = validateSpec(candidate);
  } catch {
    return undefined;
  }
  // The spec must describe exactly these layers: kinds, widths, geometry ("same" padding) and activations.
  const layers = modelLayers(spec);
  if (layers.length !== all.length) return undefined;
  const same = layers.every((l, i) => {
    const { step, activation } = all[i]!;
    if (l.kind !== step.kind || canonicalJson(l.activation) !== canonicalJson(activation)) return false;
    if (step.kind === 'dense') return l.units === step.units && l.inputDim === step.inputDim;
    const c = l.conv!;
    return (
      step.padding === 'same' &&
      step.kernelSize[0] === c.kernel &&
      step.strides[0] === c.stride &&
      canonicalJson(step.inShape) === canonicalJson(c.inShape) &&
      canonicalJson(step.outShape) === canonicalJson(c.outShape) &&
      canonicalJson(step.pads) === canonicalJson(c.pads) &&
      step.outputPadding.every((p) => p === 0)
    );
  });
  return same ? spec : undefined;
}

const dims = (s: readonly number[]) => s.join('×');

function describeStep(s: Step): string {
  switch (s.kind) {
    case 'dense':
      return `dense ${s.units}`;
    case 'activation':
      return formatActivation(s.activation);
    case 'reshape':
      return s.to.length === 1 ? `flatten ${s.to[0]}` : `reshape ${dims(s.to)}`;
    case 'conv':
    case 'convTranspose':
      return `${s.kind === 'conv' ? 'conv' : 'deconv'} ${s.outShape[2]} ${dims(s.kernelSize)}/${dims(s.strides)} ${s.padding}`;
    case 'pool':
      return `${s.op === 'max' ? 'maxpool' : 'avgpool'} ${dims(s.poolSize)}/${dims(s.strides)} ${s.padding}`;
    case 'upsample':
      return `upsample ${dims(s.size)}`;
  }
}

/** e.g. `28×28×1 → conv 8 3×3/1×1 same → relu → maxpool 2×2/2×2 valid → [latent 14×14×8] → … → 28×28×1`. */
export function describeChain(inputShape: readonly number[], encoder: readonly Step[], decoder: readonly Step[]): string {
  const latent = chainShape(encoder, inputShape);
  const out = chainShape(decoder, latent);
  return [dims(inputShape), ...encoder.map(describeStep), `[latent ${dims(latent)}]`, ...decoder.map(describeStep), dims(out)].join(' → ');
}

/** Number of steps up to and including layer `splitAfter`. */
function splitIndex(chain: DenseChain, splitAfter: string): number {
  const k = chain.stepsThrough.get(splitAfter);
  if (k === undefined) {
    throw new ExportError(`split layer "${splitAfter}" does not exist; the model's layers are: ${chain.layerNames.join(', ')}`);
  }
  return k;
}

/** Which half of an autoencoder a bundle holds (core manifest `part`). */
export type ModelPart = 'encoder' | 'decoder';

/**
 * One half of a model: the encoder (everything up to and including `splitAfter`, the whole model
 * without it) or the decoder (everything after `splitAfter`, the whole model without it). The half
 * maps data rows to latents or back, so its input and output widths need not match. The result's
 * `inputDim` / `inputShape` describe the data rows (a decoder's output), `latentDim` / `latentShape`
 * the latent (a decoder's input); the other half's steps are empty.
 */
export function splitPart(chain: DenseChain, part: ModelPart, splitAfter?: string): SplitResult {
  const k = splitAfter !== undefined ? splitIndex(chain, splitAfter) : part === 'encoder' ? chain.steps.length : 0;
  const at = splitAfter !== undefined ? `${part === 'encoder' ? 'up to' : 'after'} "${splitAfter}"` : '(the whole model)';
  const steps = part === 'encoder' ? chain.steps.slice(0, k) : chain.steps.slice(k);
  if (!steps.some(hasWeights)) {
    throw new ExportError(
      `the ${part} ${at} has no layer with weights (Dense, Conv2D, Conv2DTranspose); ` +
        (splitAfter !== undefined ? `name another layer with --split-after` : `the model has nothing to export as a ${part}`),
    );
  }
  const latentShape = part === 'encoder' ? chainShape(steps, chain.inputShape) : chainShape(chain.steps.slice(0, k), chain.inputShape);
  const dataShape = part === 'encoder' ? [...chain.inputShape] : chainShape(steps, latentShape);
  const described = steps.map(describeStep);
  const layers =
    part === 'encoder'
      ? [dims(dataShape), ...described, `[latent ${dims(latentShape)}]`].join(' → ')
      : [`[latent ${dims(latentShape)}]`, ...described, dims(dataShape)].join(' → ');
  return {
    inputDim: size(dataShape),
    latentDim: size(latentShape),
    inputShape: dataShape,
    latentShape,
    encoder: part === 'encoder' ? steps : [],
    decoder: part === 'decoder' ? steps : [],
    layers,
  };
}

/** Splits after layer `splitAfter` (encoder = everything up to and including it). */
export function splitChain(chain: DenseChain, splitAfter: string): SplitResult {
  const k = splitIndex(chain, splitAfter);
  const encoder = chain.steps.slice(0, k);
  const decoder = chain.steps.slice(k);
  if (!encoder.some(hasWeights)) {
    throw new ExportError(`splitting after "${splitAfter}" leaves the encoder without a layer with weights (Dense, Conv2D, Conv2DTranspose); pick a later layer`);
  }
  if (!decoder.some(hasWeights)) {
    throw new ExportError(`splitting after "${splitAfter}" leaves the decoder without a layer with weights (Dense, Conv2D, Conv2DTranspose); pick an earlier layer`);
  }
  const latentShape = chainShape(encoder, chain.inputShape);
  const latentDim = size(latentShape);
  const outDim = size(chainShape(decoder, latentShape));
  if (outDim !== chain.inputDim) {
    throw new ExportError(
      `the model maps ${chain.inputDim} inputs to ${outDim} outputs; an autoencoder's output width must equal its input width. ` +
        'An encoder or a decoder on its own exports with --part encoder or --part decoder (API option `part`)',
    );
  }
  const all = units(chain.steps);
  // The encoder must end on its latent layer's activation for the split to be a spec's.
  const enc = units(encoder);
  const spec = all && enc && enc.length > 0 && units(decoder)?.[0] !== undefined ? specOf(all, enc.length, chain.inputDim) : undefined;
  return {
    inputDim: chain.inputDim,
    latentDim,
    inputShape: [...chain.inputShape],
    latentShape,
    encoder,
    decoder,
    ...(spec ? { spec } : {}),
    layers: describeChain(chain.inputShape, encoder, decoder),
  };
}
