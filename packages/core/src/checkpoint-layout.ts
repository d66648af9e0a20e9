/**
 * The tfjs half of an aekit checkpoint, written and read without tfjs: `model.json` (TensorFlow.js
 * layers format, what `tf.loadLayersModel` reads) and `weights.bin`. The trainer, the web demo and
 * any other writer produce the same bytes, byte for byte what tfjs `model.save` writes for the model.
 *
 * Layout (so readers find the encoder/decoder split without aekit.json): a Sequential named
 * `aekit_autoencoder` whose Dense / Conv2D / Conv2DTranspose layers are named as `modelLayers(spec)`
 * names them (`conv_0`, …, `enc_0`, …, `latent`, `dec_0`, …, `dec_proj`, `deconv_0`, …, `output`); an
 * activation that tfjs cannot express by name (leakyRelu) follows as its own layer named `<layer>_act`.
 * A conv model starts with a Reshape named `image` (rows → H×W×C), flattens the conv stack's output
 * (`flatten`) before a dense layer, reshapes a dense projection (`dec_reshape`) before a transposed
 * convolution, and ends with a Flatten (`output_flat`), so it takes and returns flat rows. Weights are
 * `<layer>/kernel` (tfjs layout, `LayerInfo.kernelShape`, row-major) then `<layer>/bias`, layer by
 * layer, as float32 little-endian in weights.bin.
 */
import { type ActivationName, LEAKY_RELU_DEFAULT_ALPHA } from './activations.js';
import { CHECKPOINT_FILES } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import type { ModelSpec } from './spec.js';
import { isConvSpec, modelLayers } from './layers.js';

/**
 * The tfjs-layers activation identifier that model.json uses for each aekit activation; `null` means
 * tfjs-layers has no identifier for it, so the checkpoint writes Dense(linear) + its own layer
 * (`LeakyReLU`, named `<dense>_act`). Writers (trainer, web demo) and readers (exporter) use this table.
 */
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

/**
 * The tfjs-layers version model.json names as its writer (`keras_version`, `generatedBy`): the one
 * the trainer depends on, so checkpoints stay byte-identical to what that tfjs saves.
 */
export const TFJS_LAYERS_VERSION = '4.22.0';

/** One dense layer's parameters: kernel [inputDim, units] row-major (tfjs layout) and bias [units]. */
/** One layer's parameters: the kernel in tfjs layout (`LayerInfo.kernelShape`, inputDim × units values) and the bias [units]. */
export interface LayerParams {
  /** Layer name from `modelLayers(spec)` (`enc_0`, …, `latent`, …, `output`). */
  name: string;
  inputDim: number;
  units: number;
  kernel: Float32Array;
  bias: Float32Array;
}

/** One tensor of weights.bin as model.json's weightsManifest lists it. */
export interface LayersWeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** One layer of the Sequential topology (`class_name` + Keras-style config). */
export interface LayersLayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/** model.json as aekit writes it (tfjs `ModelJSON` of a Sequential, no training config). */
export interface LayersModelJson {
  modelTopology: {
    class_name: 'Sequential';
    config: { name: string; layers: LayersLayerJson[] };
    keras_version: string;
    backend: string;
  };
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  weightsManifest: Array<{ paths: string[]; weights: LayersWeightEntry[] }>;
}

/** The two files' contents: model.json text (as written to disk) and weights.bin bytes. */
export interface LayersModelFiles {
  modelJson: string;
  weights: Uint8Array;
}

/** File names used in reader error messages (default: the checkpoint's own file names). */
export interface LayersModelPaths {
  model?: string;
  weights?: string;
}

/** Name of the layer whose output is the latent code (the latent Dense, or its `_act` layer). */
export function encoderOutputLayerName(spec: ModelSpec): string {
  return TFJS_ACTIVATION[spec.latent.activation.name] === null ? 'latent_act' : 'latent';
}

/**
 * model.json of the spec, naming `weightsPath` as its weights file. Fields are in the order tfjs
 * writes them, so `JSON.stringify` of it is byte-identical to tfjs `model.save` output.
 */
export function layersModelJson(spec: ModelSpec, weightsPath: string = CHECKPOINT_FILES.weights): LayersModelJson {
  const layers: LayersLayerJson[] = [];
  const weights: LayersWeightEntry[] = [];
  const all = modelLayers(spec);
  const image = isConvSpec(spec) ? spec.image! : undefined;
  const inputShape = { batch_input_shape: [null, spec.inputDim], dtype: 'float32' };
  // A conv model takes flat rows like any other: a Reshape to the image comes first, a Flatten last.
  if (image) layers.push({ class_name: 'Reshape', config: { target_shape: [image.height, image.width, image.channels], name: 'image', trainable: true, ...inputShape } });
  for (const l of all) {
    const act = TFJS_ACTIVATION[l.activation.name];
    const common = {
      activation: act ?? 'linear',
      use_bias: true,
      // tfjs's default initialisers as its getConfig records them (never used when loading).
      kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name: l.name,
      trainable: true,
    };
    if (l.conv) {
      // Dense → conv inside the decoder: reshape the projection to the conv stack's output shape.
      if (all[l.index - 1]?.kind === 'dense') layers.push({ class_name: 'Reshape', config: { target_shape: l.conv.inShape, name: 'dec_reshape', trainable: true } });
      layers.push({
        class_name: l.kind === 'conv' ? 'Conv2D' : 'Conv2DTranspose',
        config: {
          filters: l.units,
          kernel_initializer: common.kernel_initializer,
          kernel_regularizer: null,
          kernel_constraint: null,
          kernel_size: [l.conv.kernel, l.conv.kernel],
          strides: [l.conv.stride, l.conv.stride],
          padding: 'same',
          data_format: 'channels_last',
          ...(l.kind === 'conv' ? { dilation_rate: [1, 1] } : {}),
          activation: common.activation,
          use_bias: true,
          bias_initializer: common.bias_initializer,
          bias_regularizer: null,
          activity_regularizer: null,
          bias_constraint: null,
          name: l.name,
          trainable: true,
        },
      });
    } else {
      // Conv → dense inside the encoder: flatten the conv stack's HWC output.
      if (all[l.index - 1]?.conv) layers.push({ class_name: 'Flatten', config: { name: 'flatten', trainable: true } });
      layers.push({ class_name: 'Dense', config: { units: l.units, ...common, ...(l.index === 0 ? inputShape : {}) } });
    }
    if (act === null) {
      layers.push({ class_name: 'LeakyReLU', config: { alpha: l.activation.alpha ?? LEAKY_RELU_DEFAULT_ALPHA, name: `${l.name}_act`, trainable: true } });
    }
    weights.push({ name: `${l.name}/kernel`, shape: l.kernelShape, dtype: 'float32' }, { name: `${l.name}/bias`, shape: [l.units], dtype: 'float32' });
  }
  if (image) layers.push({ class_name: 'Flatten', config: { name: 'output_flat', trainable: true } });
  return {
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'aekit_autoencoder', layers },
      keras_version: `tfjs-layers ${TFJS_LAYERS_VERSION}`,
      backend: 'tensor_flow.js',
    },
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${TFJS_LAYERS_VERSION}`,
    convertedBy: null,
    weightsManifest: [{ paths: [weightsPath], weights }],
  };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** float32 values as little-endian bytes appended at `at`. */
function putFloats(out: Uint8Array, at: number, values: Float32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < values.length; i++) view.setFloat32(at + 4 * i, values[i]!, true);
}

/** `n` little-endian float32 values from byte `at`, copied into their own aligned buffer. */
function getFloats(bytes: Uint8Array, at: number, n: number): Float32Array {
  // A fresh Uint8Array copy (a Node Buffer's own `slice` would share the Buffer's memory).
  if (LITTLE_ENDIAN) return new Float32Array(new Uint8Array(bytes.buffer, bytes.byteOffset + at, 4 * n).slice().buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: n }, (_, i) => view.getFloat32(at + 4 * i, true));
}

/**
 * model.json and weights.bin of the spec with these parameters (one per dense layer, in
 * `modelLayers(spec)` order; a VAE's log-variance head is not part of them). Throws a CheckpointError
 * when the parameters do not fit the spec.
 */
export function writeLayersModel(spec: ModelSpec, params: readonly LayerParams[], weightsPath: string = CHECKPOINT_FILES.weights): LayersModelFiles {
  const layers = modelLayers(spec);
  if (params.length !== layers.length) {
    throw new CheckpointError(`${params.length} parameter sets for a model of ${layers.length} dense layers`);
  }
  let size = 0;
  layers.forEach((l, i) => {
    const p = params[i]!;
    if (p.name !== l.name || p.kernel.length !== l.inputDim * l.units || p.bias.length !== l.units) {
      throw new CheckpointError(
        `parameters ${p.name} (${p.kernel.length} kernel, ${p.bias.length} bias values) do not fit layer ${l.name} (kernel [${l.kernelShape.join(', ')}], ${l.units} biases)`,
      );
    }
    size += 4 * (p.kernel.length + p.bias.length);
  });
  const weights = new Uint8Array(size);
  let at = 0;
  for (const p of params) {
    putFloats(weights, at, p.kernel);
    at += p.kernel.byteLength;
    putFloats(weights, at, p.bias);
    at += p.bias.byteLength;
  }
  return { modelJson: JSON.stringify(layersModelJson(spec, weightsPath)), weights };
}

/**
 * The spec's dense parameters from model.json's text and weights.bin: each tensor is found by name
 * through the weightsManifest (in manifest order, float32). Throws a CheckpointError naming the file
 * when model.json is not JSON, weights.bin's size differs from what the manifest describes, or a
 * layer's weights are missing or shaped otherwise than the spec says.
 */
export function readLayersModel(spec: ModelSpec, modelJson: string, weights: Uint8Array, paths: LayersModelPaths = {}): LayerParams[] {
  const modelPath = paths.model ?? CHECKPOINT_FILES.model;
  const weightsPath = paths.weights ?? CHECKPOINT_FILES.weights;
  let parsed: unknown;
  try {
    parsed = JSON.parse(modelJson);
  } catch (e) {
    throw new CheckpointError(`${modelPath}: not valid JSON (${(e as Error).message}); the checkpoint is damaged, train again`, { file: modelPath, cause: e });
  }
  const manifest = (parsed as { weightsManifest?: unknown } | null)?.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new CheckpointError(`${modelPath}: weightsManifest is not a list; the checkpoint is damaged`, { file: modelPath });
  const entries = new Map<string, { shape: number[]; offset: number }>();
  let offset = 0;
  for (const group of manifest as Array<{ weights?: unknown }>) {
    for (const w of Array.isArray(group?.weights) ? (group.weights as Array<Partial<LayersWeightEntry>>) : []) {
      const shape = w?.shape;
      if (typeof w?.name !== 'string' || !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new CheckpointError(`${modelPath}: a weightsManifest entry has no name or no valid shape; the checkpoint is damaged`, { file: modelPath });
      }
      if (w.dtype !== undefined && w.dtype !== 'float32') {
        throw new CheckpointError(`${modelPath}: weights ${w.name} are ${String(w.dtype)}, only float32 is supported`, { file: modelPath });
      }
      entries.set(w.name, { shape, offset });
      offset += 4 * shape.reduce((a, b) => a * b, 1);
    }
  }
  if (offset !== weights.length) {
    throw new CheckpointError(`${weightsPath}: ${weights.length} bytes, model.json describes ${offset}; the checkpoint is damaged`, { file: weightsPath });
  }
  const tensor = (layer: string, name: string, shape: number[]): Float32Array => {
    const e = entries.get(name);
    if (e === undefined) {
      throw new CheckpointError(`${modelPath}: no weights for layer ${layer}; the checkpoint does not match its aekit.json`, { file: modelPath });
    }
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `${modelPath}: weights ${name} have shape [${e.shape.join(', ')}], layer ${layer} needs [${shape.join(', ')}]; the checkpoint does not match its aekit.json`,
        { file: modelPath },
      );
    }
    return getFloats(weights, e.offset, shape.reduce((a, b) => a * b, 1));
  };
  return modelLayers(spec).map((l) => ({
    name: l.name,
    inputDim: l.inputDim,
    units: l.units,
    kernel: tensor(l.name, `${l.name}/kernel`, l.kernelShape),
    bias: tensor(l.name, `${l.name}/bias`, [l.units]),
  }));
}
