/**
 * The model spec: a plain, JSON-serialisable description of an autoencoder — dense, or convolutional
 * over images (a conv stack before the dense layers, mirrored by transposed convolutions, with a vector
 * or a spatial latent). Both training engines and the exporter build from it; checkpoints and bundles
 * record it. Every layer with its shapes is listed by `modelLayers` (layers.ts).
 */
import { type ActivationSpec, formatActivation, parseActivation } from './activations.js';
import { SpecError } from './errors.js';
import { modelLayers } from './layers.js';

export interface DenseSpec {
  units: number;
  activation: ActivationSpec;
}

/** An image's shape: a data row holds height × width × channels values, channels last (row-major HWC). */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/** One convolution of the encoder's conv stack: square kernel, equal strides, "same" padding. */
export interface ConvSpec {
  filters: number;
  kernel: number;
  stride: number;
  activation: ActivationSpec;
}

/**
 * The latent layer. A vector latent is a Dense layer of `units`; a spatial latent (`shape` [h, w, c],
 * `units` = h·w·c) is a convolution with `kernel` (default 3) whose stride takes the conv stack's
 * output down to h × w, and the model is then fully convolutional. Latent values are always handled
 * as rows of `units` values (a spatial latent row-major HWC).
 */
export interface LatentSpec extends DenseSpec {
  shape?: [number, number, number];
  kernel?: number;
}

export interface ModelSpec {
  /** Width of one data row (784 for 28×28 images). */
  inputDim: number;
  /** The rows' image shape; required by convolutional models (height·width·channels = inputDim). */
  image?: ImageShape;
  /**
   * The encoder's convolutions, input side first; the decoder mirrors them with transposed
   * convolutions (the last one, to the image's channels, is the output layer).
   */
  conv?: ConvSpec[];
  /** Hidden layers of the encoder, input side first (the latent layer is not included). */
  encoder: DenseSpec[];
  /** The latent (code) layer: its width and activation (linear in the Keras example). */
  latent: LatentSpec;
  /** Hidden layers of the decoder, latent side first (the output layer is not included). */
  decoder: DenseSpec[];
  /** Activation of the output layer, whose width is `inputDim`. */
  outputActivation: ActivationSpec;
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

/** One conv layer as options take it: kernel 3 and stride 2 unless given. */
export interface ConvOption {
  filters: number;
  kernel?: number;
  stride?: number;
}

export interface SpecOptions {
  inputDim?: number;
  /** The rows' image shape (conv models); inputDim follows from it when not given. */
  image?: ImageShape;
  /** The encoder's conv stack, e.g. [{filters: 32}, {filters: 64}] (3×3, stride 2 by default). */
  conv?: ConvOption[];
  /** Encoder hidden widths, e.g. [64, 32]. The decoder mirrors them unless `decoderLayers` is given. */
  layers?: number[];
  decoderLayers?: number[];
  latent?: number;
  /** A spatial latent [h, w, c] (conv models without dense layers); `latent` is then h·w·c. */
  latentShape?: [number, number, number];
  /** Kernel of a spatial latent's convolution (default 3). */
  latentKernel?: number;
  /**
   * One activation for every hidden layer, or (dense models) one per hidden layer: encoder layers then
   * decoder layers (e.g. `['relu', 'tanh', 'tanh', 'relu']` for layers [64, 32]).
   */
  activation?: string | ActivationSpec | Array<string | ActivationSpec>;
  latentActivation?: string | ActivationSpec;
  outputActivation?: string | ActivationSpec;
}

export const DEFAULT_CONV_KERNEL = 3;
export const DEFAULT_CONV_STRIDE = 2;
export const DEFAULT_LATENT_KERNEL = 3;

/** Builds a spec from CLI-style options; unspecified parts take the Keras example's values. */
export function makeSpec(options: SpecOptions = {}): ModelSpec {
  const conv = options.conv ?? [];
  const convModel = conv.length > 0 || options.latentShape !== undefined;
  const image = options.image;
  if (convModel && image === undefined) {
    throw new SpecError('a convolutional model needs the image shape (height, width, channels): IDX files give it, else pass --input-shape H,W,C');
  }
  const inputDim = options.inputDim ?? (image ? image.height * image.width * image.channels : DEFAULT_SPEC.inputDim);
  // A spatial latent makes the model fully convolutional: no dense layers unless asked for.
  const enc = options.layers ?? (options.latentShape !== undefined ? [] : convModel ? [] : DEFAULT_SPEC.encoder.map((l) => l.units));
  const dec = options.decoderLayers ?? [...enc].reverse();
  const hidden = enc.length + dec.length;
  let acts: ActivationSpec[];
  let convAct: ActivationSpec = { name: 'relu' };
  const a = options.activation;
  if (a === undefined) {
    acts = Array.from({ length: hidden }, () => ({ name: 'relu' }));
  } else if (Array.isArray(a)) {
    if (convModel && a.length !== 1) {
      throw new SpecError('--activation: a convolutional model takes one activation for every hidden layer, not a list');
    }
    if (!convModel && a.length !== hidden) {
      throw new SpecError(
        `--activation lists ${a.length} activations but the model has ${hidden} hidden layers ` +
          `(${enc.length} encoder + ${dec.length} decoder); give one, or one per hidden layer`,
      );
    }
    acts = convModel ? Array.from({ length: hidden }, () => parseActivation(a[0]!)) : a.map((x) => parseActivation(x));
    if (convModel) convAct = parseActivation(a[0]!);
  } else {
    const one = parseActivation(a);
    acts = Array.from({ length: hidden }, () => ({ ...one }));
    convAct = one;
  }
  const shape = options.latentShape;
  const latentUnits = shape ? shape[0] * shape[1] * shape[2] : (options.latent ?? DEFAULT_SPEC.latent.units);
  if (shape && options.latent !== undefined && options.latent !== latentUnits) {
    throw new SpecError(`latent ${options.latent} does not match the spatial latent ${shape.join('x')} (${latentUnits} values)`);
  }
  const spec: ModelSpec = {
    inputDim,
    ...(image ? { image: { ...image } } : {}),
    ...(conv.length > 0
      ? { conv: conv.map((c) => ({ filters: c.filters, kernel: c.kernel ?? DEFAULT_CONV_KERNEL, stride: c.stride ?? DEFAULT_CONV_STRIDE, activation: { ...convAct } })) }
      : {}),
    encoder: enc.map((units, i) => ({ units, activation: acts[i]! })),
    latent: {
      units: latentUnits,
      activation: parseActivation(options.latentActivation ?? DEFAULT_SPEC.latent.activation),
      ...(shape ? { shape: [...shape] as [number, number, number], kernel: options.latentKernel ?? DEFAULT_LATENT_KERNEL } : {}),
    },
    decoder: dec.map((units, i) => ({ units, activation: acts[enc.length + i]! })),
    outputActivation: parseActivation(options.outputActivation ?? DEFAULT_SPEC.outputActivation),
  };
  return validateSpec(spec);
}

function checkInt(value: unknown, where: string, what: string, max = 1 << 20): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new SpecError(`${where}: ${what} must be an integer between 1 and ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkUnits(value: unknown, where: string): number {
  return checkInt(value, where, 'units');
}

function activationOf(v: Record<string, unknown>, where: string): ActivationSpec {
  const act = v['activation'];
  if (typeof act !== 'string' && (typeof act !== 'object' || act === null)) throw new SpecError(`${where}.activation is missing`);
  return parseActivation(act as string | ActivationSpec);
}

function objectAt(v: unknown, where: string, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpecError(`${where} must be an object ${what}`);
  return v as Record<string, unknown>;
}

/** Validates an untrusted spec (e.g. parsed from JSON) and returns a normalised copy. */
export function validateSpec(input: unknown): ModelSpec {
  if (typeof input !== 'object' || input === null) throw new SpecError('model spec must be an object');
  const s = input as Record<string, unknown>;
  const dense = (v: unknown, where: string): DenseSpec => {
    const d = objectAt(v, where, '{units, activation}');
    return { units: checkUnits(d['units'], where), activation: activationOf(d, where) };
  };
  const list = (v: unknown, where: string): DenseSpec[] => {
    if (!Array.isArray(v)) throw new SpecError(`${where} must be an array of layers`);
    return v.map((x, i) => dense(x, `${where}[${i}]`));
  };
  const out = s['outputActivation'];
  if (typeof out !== 'string' && (typeof out !== 'object' || out === null)) {
    throw new SpecError('outputActivation is missing');
  }
  const spec: ModelSpec = {
    inputDim: checkUnits(s['inputDim'], 'inputDim'),
    encoder: list(s['encoder'], 'encoder'),
    latent: dense(s['latent'], 'latent'),
    decoder: list(s['decoder'], 'decoder'),
    outputActivation: parseActivation(out as string | ActivationSpec),
  };
  if (s['image'] !== undefined) {
    const im = objectAt(s['image'], 'image', '{height, width, channels}');
    spec.image = {
      height: checkInt(im['height'], 'image', 'height', 1 << 16),
      width: checkInt(im['width'], 'image', 'width', 1 << 16),
      channels: checkInt(im['channels'], 'image', 'channels', 4096),
    };
    const size = spec.image.height * spec.image.width * spec.image.channels;
    if (size !== spec.inputDim) {
      throw new SpecError(
        `image ${spec.image.height}×${spec.image.width}×${spec.image.channels} holds ${size} values but a data row has ${spec.inputDim}; ` +
          'give the shape of one row (--input-shape H,W,C)',
      );
    }
  }
  if (s['conv'] !== undefined) {
    if (!Array.isArray(s['conv'])) throw new SpecError('conv must be an array of layers');
    spec.conv = s['conv'].map((v, i) => {
      const where = `conv[${i}]`;
      const c = objectAt(v, where, '{filters, kernel, stride, activation}');
      return {
        filters: checkInt(c['filters'], where, 'filters', 1 << 16),
        kernel: checkInt(c['kernel'], where, 'kernel', 64),
        stride: checkInt(c['stride'], where, 'stride', 64),
        activation: activationOf(c, where),
      };
    });
    if (spec.conv.length === 0) delete spec.conv;
  }
  const lat = s['latent'] as Record<string, unknown>;
  if (lat['shape'] !== undefined) {
    const sh = lat['shape'];
    if (!Array.isArray(sh) || sh.length !== 3) throw new SpecError(`latent.shape must be [height, width, channels], got ${JSON.stringify(sh)}`);
    const shape = sh.map((d, i) => checkInt(d, 'latent.shape', ['height', 'width', 'channels'][i]!, 1 << 16)) as [number, number, number];
    spec.latent.shape = shape;
    spec.latent.kernel = checkInt(lat['kernel'] ?? DEFAULT_LATENT_KERNEL, 'latent', 'kernel', 64);
    if (shape[0] * shape[1] * shape[2] !== spec.latent.units) {
      throw new SpecError(`latent.units is ${spec.latent.units} but the spatial latent ${shape.join('×')} holds ${shape[0] * shape[1] * shape[2]} values`);
    }
  }
  // Shapes must chain: modelLayers throws a SpecError naming the layer that does not fit.
  modelLayers(spec);
  return spec;
}
