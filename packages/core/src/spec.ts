/**
 * The model spec: a plain, JSON-serialisable description of a dense autoencoder. Both training engines
 * and the exporter build from it; checkpoints and bundles record it.
 */
import { type ActivationSpec, formatActivation, parseActivation } from './activations.js';
import { SpecError } from './errors.js';

export interface DenseSpec {
  units: number;
  activation: ActivationSpec;
}

export interface ModelSpec {
  /** Width of one data row (784 for 28×28 images). */
  inputDim: number;
  /** Hidden layers of the encoder, input side first (the latent layer is not included). */
  encoder: DenseSpec[];
  /** The latent (code) layer: its width and activation (linear in the Keras example). */
  latent: DenseSpec;
  /** Hidden layers of the decoder, latent side first (the output layer is not included). */
  decoder: DenseSpec[];
  /** Activation of the output layer, whose width is `inputDim`. */
  outputActivation: ActivationSpec;
}

/** Where a dense layer sits in the autoencoder. */
export type LayerRole = 'encoder' | 'latent' | 'decoder' | 'output';

export interface DenseLayerInfo {
  /** Position among the dense layers, 0-based. */
  index: number;
  role: LayerRole;
  /** Stable layer name used in checkpoints (tfjs layer names) and ONNX initializer names. */
  name: string;
  inputDim: number;
  units: number;
  activation: ActivationSpec;
}

/** The classic Keras example: 784 → 64 relu → 32 relu → 32 linear → 32 relu → 64 relu → 784 sigmoid. */
export const DEFAULT_SPEC: ModelSpec = Object.freeze({
  inputDim: 784,
  encoder: [
    { units: 64, activation: { name: 'relu' } },
    { units: 32, activation: { name: 'relu' } },
  ],
  latent: { units: 32, activation: { name: 'linear' } },
  decoder: [
    { units: 32, activation: { name: 'relu' } },
    { units: 64, activation: { name: 'relu' } },
  ],
  outputActivation: { name: 'sigmoid' },
}) as ModelSpec;

export interface SpecOptions {
  inputDim?: number;
  /** Encoder hidden widths, e.g. [64, 32]. The decoder mirrors them unless `decoderLayers` is given. */
  layers?: number[];
  decoderLayers?: number[];
  latent?: number;
  /**
   * One activation for every hidden layer, or one per hidden layer: encoder layers then decoder layers
   * (e.g. `['relu', 'tanh', 'tanh', 'relu']` for layers [64, 32]).
   */
  activation?: string | ActivationSpec | Array<string | ActivationSpec>;
  latentActivation?: string | ActivationSpec;
  outputActivation?: string | ActivationSpec;
}

/** Builds a spec from CLI-style options; unspecified parts take the Keras example's values. */
export function makeSpec(options: SpecOptions = {}): ModelSpec {
  const inputDim = options.inputDim ?? DEFAULT_SPEC.inputDim;
  const enc = options.layers ?? DEFAULT_SPEC.encoder.map((l) => l.units);
  const dec = options.decoderLayers ?? [...enc].reverse();
  const hidden = enc.length + dec.length;
  let acts: ActivationSpec[];
  const a = options.activation;
  if (a === undefined) {
    acts = Array.from({ length: hidden }, () => ({ name: 'relu' }));
  } else if (Array.isArray(a)) {
    if (a.length !== hidden) {
      throw new SpecError(
        `--activation lists ${a.length} activations but the model has ${hidden} hidden layers ` +
          `(${enc.length} encoder + ${dec.length} decoder); give one, or one per hidden layer`,
      );
    }
    acts = a.map((x) => parseActivation(x));
  } else {
    const one = parseActivation(a);
    acts = Array.from({ length: hidden }, () => ({ ...one }));
  }
  const spec: ModelSpec = {
    inputDim,
    encoder: enc.map((units, i) => ({ units, activation: acts[i]! })),
    latent: {
      units: options.latent ?? DEFAULT_SPEC.latent.units,
      activation: parseActivation(options.latentActivation ?? DEFAULT_SPEC.latent.activation),
    },
    decoder: dec.map((units, i) => ({ units, activation: acts[enc.length + i]! })),
    outputActivation: parseActivation(options.outputActivation ?? DEFAULT_SPEC.outputActivation),
  };
  return validateSpec(spec);
}

function checkUnits(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1 << 20) {
    throw new SpecError(`${where}: units must be an integer between 1 and ${1 << 20}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Validates an untrusted spec (e.g. parsed from JSON) and returns a normalised copy. */
export function validateSpec(input: unknown): ModelSpec {
  if (typeof input !== 'object' || input === null) throw new SpecError('model spec must be an object');
  const s = input as Record<string, unknown>;
  const dense = (v: unknown, where: string): DenseSpec => {
    if (typeof v !== 'object' || v === null) throw new SpecError(`${where} must be an object {units, activation}`);
    const d = v as Record<string, unknown>;
    const act = d['activation'];
    if (typeof act !== 'string' && (typeof act !== 'object' || act === null)) {
      throw new SpecError(`${where}.activation is missing`);
    }
    return { units: checkUnits(d['units'], where), activation: parseActivation(act as string | ActivationSpec) };
  };
  const list = (v: unknown, where: string): DenseSpec[] => {
    if (!Array.isArray(v)) throw new SpecError(`${where} must be an array of layers`);
    return v.map((x, i) => dense(x, `${where}[${i}]`));
  };
  const out = s['outputActivation'];
  if (typeof out !== 'string' && (typeof out !== 'object' || out === null)) {
    throw new SpecError('outputActivation is missing');
  }
  return {
    inputDim: checkUnits(s['inputDim'], 'inputDim'),
    encoder: list(s['encoder'], 'encoder'),
    latent: dense(s['latent'], 'latent'),
    decoder: list(s['decoder'], 'decoder'),
    outputActivation: parseActivation(out as string | ActivationSpec),
  };
}

/**
 * Every dense layer in order with its role, input width and name. Names are `enc_0`, `enc_1`, …,
 * `latent`, `dec_0`, …, `output`; checkpoints name tfjs layers this way and ONNX initializers
 * `<name>.kernel` / `<name>.bias`.
 */
export function denseLayers(spec: ModelSpec): DenseLayerInfo[] {
  const out: DenseLayerInfo[] = [];
  let inDim = spec.inputDim;
  const push = (role: LayerRole, name: string, units: number, activation: ActivationSpec) => {
    out.push({ index: out.length, role, name, inputDim: inDim, units, activation });
    inDim = units;
  };
  spec.encoder.forEach((l, i) => push('encoder', `enc_${i}`, l.units, l.activation));
  push('latent', 'latent', spec.latent.units, spec.latent.activation);
  spec.decoder.forEach((l, i) => push('decoder', `dec_${i}`, l.units, l.activation));
  push('output', 'output', spec.inputDim, spec.outputActivation);
  return out;
}

/** Number of dense layers that make up the encoder (hidden encoder layers + the latent layer). */
export function encoderDepth(spec: ModelSpec): number {
  return spec.encoder.length + 1;
}

/** Total trainable parameters. */
export function parameterCount(spec: ModelSpec): number {
  return denseLayers(spec).reduce((n, l) => n + l.inputDim * l.units + l.units, 0);
}

/** One-line summary, e.g. `784 → 64 relu → 32 relu → [32 linear] → 32 relu → 64 relu → 784 sigmoid`. */
export function describeSpec(spec: ModelSpec): string {
  const parts = [String(spec.inputDim)];
  for (const l of denseLayers(spec)) {
    const t = `${l.units} ${formatActivation(l.activation)}`;
    parts.push(l.role === 'latent' ? `[${t}]` : t);
  }
  return parts.join(' → ');
}
