/**
 * Parses a TensorFlow.js layers-format model (model.json + weight shards) into a chain of steps.
 * Supported: Sequential or a functional chain (one input, one output, no branches) of InputLayer,
 * Dense, Activation, LeakyReLU, ReLU, ELU, Dropout and the noise layers (identity at inference), Flatten, Reshape, Conv2D,
 * Conv2DTranspose, MaxPooling2D, AveragePooling2D and UpSampling2D (nearest), channels last; any of
 * them may sit inside nested Sequential / functional sub-models (`tf.sequential({layers: [encoder,
 * decoder]})`), which are flattened into the one chain.
 */
import { type ActivationName, type ActivationSpec, CheckpointError, ExportError, TFJS_ACTIVATION } from '@aekit/core';
import { type DenseChain, type Hwc, type LayerOrigin, type Step, hasWeights, size } from './chain.js';
import { type NamedTensor, type WeightFiles, readWeights } from './weights.js';

/** The parts of a tfjs/Keras layer config the exporter reads. */
interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Activation',
  'LeakyReLU',
  'ReLU',
  'ELU',
  'Dropout',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'SpatialDropout1D',
  'Flatten',
  'Reshape',
  'Conv2D',
  'Conv2DTranspose',
  'MaxPooling2D',
  'AveragePooling2D',
  'UpSampling2D',
] as const;

/** tfjs / Keras activation identifiers → aekit names. Anything else is unsupported. */
const TFJS_ACTIVATIONS: Record<string, ActivationName> = {
  // The identifiers aekit checkpoints write (core's table), plus Keras's alias for swish.
  ...Object.fromEntries(
    Object.entries(TFJS_ACTIVATION).flatMap(([name, id]) => (id === null ? [] : [[id, name as ActivationName]])),
  ),
  silu: 'swish',
};

/** tfjs's LeakyReLU layer default negative slope (the layer's, not `tf.leakyRelu`'s 0.2). */
const TFJS_LEAKY_RELU_LAYER_ALPHA = 0.3;

function decodeJson(input: string | Uint8Array | object, file: string): Record<string, unknown> {
  if (typeof input === 'object' && !(input instanceof Uint8Array)) return input as Record<string, unknown>;
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
}

export { decodeJson as parseJsonFile };

/** The model_config (class_name + config) inside model.json's modelTopology. */
function modelConfig(modelJson: Record<string, unknown>): { className: string; config: unknown } {
  const topo = modelJson['modelTopology'] as Record<string, unknown> | undefined;
  if (typeof topo !== 'object' || topo === null) {
    throw new CheckpointError('model.json has no modelTopology: it is not a tfjs layers model (graph models cannot be exported)', {
      file: 'model.json',
    });
  }
  // Keras-converted files wrap the config in model_config; tfjs's own saves do not.
  const mc = (topo['model_config'] ?? topo) as Record<string, unknown>;
  if (typeof mc['class_name'] !== 'string') {
    throw new CheckpointError('model.json: modelTopology has no class_name', { file: 'model.json' });
  }
  return { className: mc['class_name'], config: mc['config'] };
}

/** Model classes a layer list may nest: their layers are flattened into the chain. */
const MODEL_CLASSES: readonly string[] = ['Sequential', 'Model', 'Functional'];

/**
 * Layers in execution order; a functional model must be a single chain. `scope` names a nested
 * sub-model in messages (empty for the top-level model).
 */
function orderedLayers(className: string, config: unknown, scope = ''): LayerJson[] {
  const what = scope === '' ? 'the model' : `sub-model "${scope}"`;
  if (className === 'Sequential') {
    const layers = Array.isArray(config) ? config : (config as { layers?: unknown })?.layers;
    if (!Array.isArray(layers)) throw new CheckpointError(`model.json: the Sequential config of ${what} has no layers`, { file: 'model.json' });
    return layers as LayerJson[];
  }
  if (className !== 'Model' && className !== 'Functional') {
    throw new ExportError(`model class "${className}" is not supported; export a Sequential or functional tfjs LayersModel`);
  }
  const c = config as { layers?: LayerJson[]; input_layers?: unknown[]; output_layers?: unknown[] };
  if (!Array.isArray(c.layers)) throw new CheckpointError(`model.json: the config of ${what} has no layers`, { file: 'model.json' });
  const outs = c.output_layers ?? [];
  if ((c.input_layers ?? []).length !== 1 || outs.length !== 1) {
    throw new ExportError(
      `${what} has ${(c.input_layers ?? []).length} inputs and ${outs.length} outputs; only single-input, single-output chains can be exported ` +
        '(a VAE encoder with z_mean and z_log_var outputs: export a model whose output is z_mean)',
    );
  }
  const byName = new Map(c.layers.map((l) => [l.name ?? (l.config['name'] as string), l]));
  const chain: LayerJson[] = [];
  let name = (outs[0] as unknown[])[0] as string;
  const seen = new Set<string>();
  for (;;) {
    const layer = byName.get(name);
    if (!layer) throw new CheckpointError(`model.json: layer "${name}" is referenced but not defined`, { file: 'model.json' });
    if (seen.has(name)) throw new ExportError(`layer "${name}" is used twice; only plain chains can be exported`);
    seen.add(name);
    chain.push(layer);
    const inbound = layer.inbound_nodes ?? [];
    if (inbound.length === 0) break;
    const node = inbound[0];
    // tfjs/Keras 2: [[[name, nodeIndex, tensorIndex, kwargs], …]]; one node with one input tensor.
    if (inbound.length !== 1 || !Array.isArray(node) || node.length !== 1 || !Array.isArray(node[0])) {
      throw new ExportError(
        `layer "${name}" (${layer.class_name}) in ${what} has several inputs or is shared; only plain chains can be exported ` +
          '(skip connections, Add and Concatenate have no place in an encoder → latent → decoder chain)',
      );
    }
    name = (node[0] as unknown[])[0] as string;
  }
  chain.reverse();
  if (chain.length !== c.layers.length) {
    const extra = c.layers.map((l) => l.name ?? '').filter((n) => !seen.has(n));
    throw new ExportError(`layers ${extra.map((n) => `"${n}"`).join(', ')} of ${what} are not on the input→output chain; only plain chains can be exported`);
  }
  return chain;
}

const layerName = (l: LayerJson, fallback: string): string => String(l.name ?? l.config?.['name'] ?? fallback);

/** A layer of the flattened model. */
interface Leaf {
  layer: LayerJson;
  /** Its own name (what its weights are named after). */
  name: string;
  /** Its name qualified by the sub-models holding it, outermost first (`encoder/dense_1`); its own name at the top level. */
  qualified: string;
  /** The sub-models (qualified names) whose last layer this is, innermost first. */
  closes: string[];
}

/** The model's layers with nested sub-models flattened, in execution order. */
function flattenLayers(className: string, config: unknown, scope: string, out: Leaf[]): void {
  orderedLayers(className, config, scope).forEach((layer, i) => {
    const name = layerName(layer, `#${i + 1}`);
    const qualified = scope === '' ? name : `${scope}/${name}`;
    if (MODEL_CLASSES.includes(layer.class_name)) {
      const before = out.length;
      flattenLayers(layer.class_name, layer.config, qualified, out);
      if (out.length > before) out[out.length - 1]!.closes.push(qualified);
    } else out.push({ layer, name, qualified, closes: [] });
  });
}

/** The layer to split after by default: the first of two sub-models that make up the whole model (`[encoder, decoder]`). */
function defaultSplit(className: string, config: unknown): string | undefined {
  const top = orderedLayers(className, config).filter((l) => l.class_name !== 'InputLayer');
  return top.length === 2 && top.every((l) => MODEL_CLASSES.includes(l.class_name)) ? layerName(top[0]!, '#1') : undefined;
}

/** Unsupported layer classes with the nearest fix (the rest get the list of supported layers). */
const UNSUPPORTED_HINTS: Record<string, string> = {
  BatchNormalization: 'fold it into the preceding Dense or Conv2D layer\'s kernel and bias before saving, or train without it',
  LayerNormalization: 'train without it (a per-row normalisation has no aekit graph yet)',
  Conv1D: 'use a Conv2D over a [1, width, channels] input (a Reshape before it)',
  Conv3D: 'use Conv2D',
  SeparableConv2D: 'use Conv2D',
  DepthwiseConv2D: 'use Conv2D',
  GlobalAveragePooling2D: 'use AveragePooling2D over the whole image, then Flatten',
  GlobalMaxPooling2D: 'use MaxPooling2D over the whole image, then Flatten',
  ZeroPadding2D: 'use padding "same" on the next Conv2D',
  Cropping2D: 'use padding "same" on the Conv2DTranspose before it',
  Softmax: 'an autoencoder output is not a distribution over classes: use a sigmoid Activation',
  PReLU: 'use LeakyReLU (one fixed slope)',
  ThresholdedReLU: 'use ReLU',
  Lambda: 'custom layers cannot be exported; rebuild the model from built-in layers',
  Concatenate: 'only plain chains can be exported',
  Add: 'only plain chains can be exported',
  Multiply: 'only plain chains can be exported',
  LSTM: 'recurrent layers cannot be exported; flatten the sequence and use Dense layers',
  GRU: 'recurrent layers cannot be exported; flatten the sequence and use Dense layers',
  SimpleRNN: 'recurrent layers cannot be exported; flatten the sequence and use Dense layers',
  Embedding: 'feed one-hot or float rows to a Dense layer instead',
};

function parseTfjsActivation(raw: unknown, origin: LayerOrigin, className: string): ActivationSpec {
  const id = typeof raw === 'string' ? raw : (raw as { class_name?: string } | null)?.class_name;
  const name = id === undefined || id === null ? 'linear' : TFJS_ACTIVATIONS[id] ?? TFJS_ACTIVATIONS[id.toLowerCase()];
  if (name === undefined) {
    throw new ExportError(
      `unsupported activation "${String(id)}" in layer "${origin.layer}" (${className}, position ${origin.position} of ${origin.count}); ` +
        `supported: ${Object.keys(TFJS_ACTIVATIONS).join(', ')}, and LeakyReLU layers`,
    );
  }
  return { name };
}


function shapeOf(config: Record<string, unknown>): number[] | undefined {
  const s = config['batch_input_shape'] ?? config['batch_shape'] ?? config['batchInputShape'];
  return Array.isArray(s) ? s.slice(1).map((d) => (typeof d === 'number' ? d : NaN)) : undefined;
}

/** The names a layer's weights may have: tfjs saves `<layer>/kernel`; Keras-converted files may qualify it by sub-model or scope. */
interface WeightKey {
  name: string;
  qualified: string;
  /** True when another layer of the model has the same own name (only the qualified name can tell them apart). */
  shared: boolean;
}

function findWeight(weights: Map<string, NamedTensor>, key: WeightKey, kind: 'kernel' | 'bias'): NamedTensor | undefined {
  const names = key.shared ? [key.qualified] : [key.qualified, key.name];
  for (const n of names) {
    const exact = weights.get(`${n}/${kind}`);
    if (exact) return exact;
  }
  // Keras-converted files may prefix names with their scope (`model/dense/kernel`).
  for (const n of names) for (const [w, t] of weights) if (w.endsWith(`/${n}/${kind}`)) return t;
  return undefined;
}

function shapeMismatch(origin: LayerOrigin, className: string, t: NamedTensor, expected: number[]): CheckpointError {
  return new CheckpointError(
    `weight "${t.name}" of ${className} layer "${origin.layer}" (position ${origin.position} of ${origin.count}) has shape ` +
      `[${t.shape.join(', ')}] but the topology needs [${expected.join(', ')}]; model.json and the weights do not belong together`,
    { file: t.file },
  );
}

const where = (origin: LayerOrigin, className: string) => `${className} layer "${origin.layer}" (position ${origin.position} of ${origin.count})`;

/** A kernel_size / strides / pool_size / size value: one integer or a pair. */
function pair(v: unknown, key: string, origin: LayerOrigin, className: string, fallback?: [number, number]): [number, number] {
  if ((v === undefined || v === null) && fallback) return fallback;
  const a = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(a) || a.length !== 2 || !a.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new CheckpointError(`${where(origin, className)}: "${key}" is ${JSON.stringify(v)}; expected a positive integer or two`, { file: 'model.json' });
  }
  return [a[0], a[1]];
}

function checkChannelsLast(cfg: Record<string, unknown>, origin: LayerOrigin, className: string): void {
  const f = cfg['data_format'];
  if (f !== undefined && f !== null && f !== 'channels_last') {
    throw new ExportError(`${where(origin, className)} uses data_format ${JSON.stringify(f)}; the exporter supports channels_last (tfjs's default) only`);
  }
}

function paddingOf(cfg: Record<string, unknown>, origin: LayerOrigin, className: string): 'same' | 'valid' {
  const p = cfg['padding'] ?? 'valid';
  if (p !== 'same' && p !== 'valid') {
    throw new ExportError(`${where(origin, className)} uses padding ${JSON.stringify(p)}; supported: same, valid`);
  }
  return p;
}

/** The input of a 2-D layer must be [height, width, channels]. */
function imageShape(shape: number[] | undefined, origin: LayerOrigin, className: string): Hwc {
  if (shape === undefined || shape.length !== 3) {
    throw new ExportError(
      `${where(origin, className)} gets an input of shape ${shape ? `[${shape.join(', ')}]` : '(unknown)'}; it needs [height, width, channels]: ` +
        'declare the input as an image or add a Reshape layer before it',
    );
  }
  return shape as Hwc;
}

/**
 * Output length and [before, after] padding of a window of `k` at stride `s` over `n` values, as
 * TensorFlow computes it ("same": ceil(n/s) outputs, the odd padding value at the end).
 */
function window1d(n: number, k: number, s: number, padding: 'same' | 'valid', what: () => string): { out: number; pads: [number, number] } {
  if (padding === 'same') {
    const out = Math.ceil(n / s);
    const total = Math.max((out - 1) * s + k - n, 0);
    return { out, pads: [Math.floor(total / 2), total - Math.floor(total / 2)] };
  }
  if (n < k) throw new ExportError(`${what()}: a window of ${k} does not fit its input of ${n} with padding "valid"`);
  return { out: Math.floor((n - k) / s) + 1, pads: [0, 0] };
}

/** Keras options the exporter does not implement, refused with their value. */
function refuse(cfg: Record<string, unknown>, origin: LayerOrigin, className: string, key: string, ok: (v: unknown) => boolean, what: string): void {
  const v = cfg[key];
  if (v !== undefined && v !== null && !ok(v)) {
    throw new ExportError(`${where(origin, className)} has ${key} ${JSON.stringify(v)}; the exporter supports ${what}`);
  }
}

const ones = (v: unknown) => (Array.isArray(v) ? v : [v]).every((d) => d === 1);

/**
 * Parses model.json (object, string or bytes) and its weight shards (manifest path → bytes) into a
 * chain of steps with their shapes.
 */
export function parseLayersModel(modelJson: string | Uint8Array | object, files: WeightFiles): DenseChain {
  const json = decodeJson(modelJson, 'model.json');
  const { className, config } = modelConfig(json);
  const layers: Leaf[] = [];
  flattenLayers(className, config, '', layers);
  const nameCount = new Map<string, number>();
  for (const l of layers) nameCount.set(l.name, (nameCount.get(l.name) ?? 0) + 1);
  const weights = readWeights(json['weightsManifest'], files);
  const steps: Step[] = [];
  const stepsThrough = new Map<string, number>();
  let inputShape: number[] | undefined;
  /** The logical shape of the current tensor (per row), once known. */
  let shape: number[] | undefined;
  const used = new Set<string>();

  const weight = (key: WeightKey, kind: 'kernel' | 'bias', origin: LayerOrigin, cls: string, expected: number[]): NamedTensor => {
    const t = findWeight(weights, key, kind);
    if (!t) {
      const twin = key.shared
        ? `; another layer is also named "${key.name}", so tfjs saved both under "${key.name}/${kind}": give the layers unique names and save the model again`
        : '';
      throw new CheckpointError(
        `weight "${key.name}/${kind}" of ${cls} layer "${origin.layer}" (position ${origin.position}) is not in the weights manifest${twin}`,
        { file: 'model.json' },
      );
    }
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) throw shapeMismatch(origin, cls, t, expected);
    used.add(t.name);
    return t;
  };
  const optionalBias = (cfg: Record<string, unknown>, key: WeightKey, origin: LayerOrigin, cls: string, units: number): Float32Array | null =>
    cfg['use_bias'] === false ? null : weight(key, 'bias', origin, cls, [units]).data;
  const activationAfter = (cfg: Record<string, unknown>, origin: LayerOrigin, cls: string) => {
    const act = parseTfjsActivation(cfg['activation'], origin, cls);
    if (act.name !== 'linear') steps.push({ kind: 'activation', origin, activation: act });
  };

  layers.forEach((leaf, i) => {
    const { layer, name } = leaf;
    const cfg = (layer.config ?? {}) as Record<string, unknown>;
    const cls = layer.class_name;
    const origin: LayerOrigin = { layer: leaf.qualified, position: i + 1, count: layers.length };
    const key: WeightKey = { name, qualified: leaf.qualified, shared: nameCount.get(name)! > 1 };
    const declared = shapeOf(cfg);
    if (declared && shape === undefined) {
      if (declared.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new ExportError(`layer "${origin.layer}" declares input shape [${declared.join(', ')}]; every dimension but the batch must be fixed`);
      }
      inputShape = declared;
      shape = [...declared];
    }
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
      case 'SpatialDropout1D':
        break;
      case 'Flatten':
        if (shape === undefined) throw new ExportError(`${where(origin, cls)} comes before the input shape is known; declare the input shape`);
        if (shape.length > 1) {
          refuse(cfg, origin, cls, 'data_format', (v) => v === 'channels_last', 'channels_last (tfjs\'s default) only');
          steps.push({ kind: 'reshape', origin, from: [...shape], to: [size(shape)] });
          shape = [size(shape)];
        }
        break;
      case 'Reshape': {
        if (shape === undefined) throw new ExportError(`${where(origin, cls)} comes before the input shape is known; declare the input shape`);
        const t = cfg['target_shape'];
        if (!Array.isArray(t) || t.length === 0 || !t.every((d) => Number.isInteger(d) && (d >= 1 || d === -1)) || t.filter((d) => d === -1).length > 1) {
          throw new CheckpointError(`${where(origin, cls)}: target_shape ${JSON.stringify(t)} is not a list of positive integers (and at most one -1)`, {
            file: 'model.json',
          });
        }
        const known = size((t as number[]).filter((d) => d !== -1));
        const to = (t as number[]).map((d) => (d === -1 ? size(shape!) / known : d));
        if (!to.every((d) => Number.isInteger(d)) || size(to) !== size(shape)) {
          throw new ExportError(`${where(origin, cls)} reshapes [${shape.join(', ')}] (${size(shape)} values) to ${JSON.stringify(t)}, which does not hold them`);
        }
        steps.push({ kind: 'reshape', origin, from: [...shape], to });
        shape = to;
        break;
      }
      case 'Activation':
        steps.push({ kind: 'activation', origin, activation: parseTfjsActivation(cfg['activation'], origin, cls) });
        break;
      case 'LeakyReLU': {
        const a = cfg['alpha'] ?? cfg['negative_slope'] ?? TFJS_LEAKY_RELU_LAYER_ALPHA;
        if (typeof a !== 'number' || !Number.isFinite(a)) {
          throw new ExportError(`LeakyReLU layer "${origin.layer}" (position ${origin.position}) has alpha ${String(a)}; expected a number`);
        }
        steps.push({ kind: 'activation', origin, activation: { name: 'leakyRelu', alpha: a } });
        break;
      }
      case 'ReLU': {
        const cap = cfg['maxValue'] ?? cfg['max_value'];
        refuse(cfg, origin, cls, 'negative_slope', (v) => v === 0, 'negative_slope 0 only (use a LeakyReLU layer for a slope)');
        refuse(cfg, origin, cls, 'threshold', (v) => v === 0, 'threshold 0 only');
        if (cap !== undefined && cap !== null) {
          throw new ExportError(`${where(origin, cls)} caps its output at ${JSON.stringify(cap)}; a capped ReLU has no aekit activation: use a plain ReLU or a sigmoid`);
        }
        steps.push({ kind: 'activation', origin, activation: { name: 'relu' } });
        break;
      }
      case 'ELU': {
        const a = cfg['alpha'] ?? 1;
        if (a !== 1) throw new ExportError(`${where(origin, cls)} has alpha ${JSON.stringify(a)}; the exporter's elu has alpha 1: use the "elu" activation`);
        steps.push({ kind: 'activation', origin, activation: { name: 'elu' } });
        break;
      }
      case 'Dense': {
        if (shape !== undefined && shape.length !== 1) {
          throw new ExportError(
            `Dense layer "${origin.layer}" (position ${origin.position} of ${origin.count}) gets an input of shape [${shape.join(', ')}]; ` +
              'add a Flatten layer before it (Dense layers are exported on flat rows only)',
          );
        }
        const units = cfg['units'];
        if (typeof units !== 'number' || !Number.isInteger(units) || units < 1) {
          throw new CheckpointError(`Dense layer "${origin.layer}" has no valid "units" in model.json`, { file: 'model.json' });
        }
        const found = findWeight(weights, key, 'kernel');
        const inputDim = shape?.[0] ?? (found?.shape.length === 2 ? found.shape[0]! : NaN);
        const kernel = weight(key, 'kernel', origin, cls, [inputDim, units]);
        const bias = optionalBias(cfg, key, origin, cls, units);
        if (shape === undefined) inputShape = [inputDim];
        steps.push({ kind: 'dense', origin, inputDim, units, kernel: kernel.data, bias });
        shape = [units];
        activationAfter(cfg, origin, cls);
        break;
      }
      case 'Conv2D':
      case 'Conv2DTranspose': {
        const transpose = cls === 'Conv2DTranspose';
        const [h, w, cin] = imageShape(shape, origin, cls);
        checkChannelsLast(cfg, origin, cls);
        refuse(cfg, origin, cls, 'dilation_rate', ones, 'dilation 1 only');
        refuse(cfg, origin, cls, 'groups', ones, 'groups 1 only');
        refuse(cfg, origin, cls, 'output_padding', () => false, 'no output_padding (tfjs has none)');
        const filters = cfg['filters'];
        if (typeof filters !== 'number' || !Number.isInteger(filters) || filters < 1) {
          throw new CheckpointError(`${where(origin, cls)} has no valid "filters" in model.json`, { file: 'model.json' });
        }
        const [kh, kw] = pair(cfg['kernel_size'], 'kernel_size', origin, cls);
        const [sh, sw] = pair(cfg['strides'], 'strides', origin, cls, [1, 1]);
        const padding = paddingOf(cfg, origin, cls);
        let outShape: Hwc;
        let pads: [number, number, number, number] = [0, 0, 0, 0];
        let outputPadding: [number, number] = [0, 0];
        if (!transpose) {
          const r = window1d(h, kh, sh, padding, () => `${where(origin, cls)} (height)`);
          const c = window1d(w, kw, sw, padding, () => `${where(origin, cls)} (width)`);
          outShape = [r.out, c.out, filters];
          pads = [r.pads[0], c.pads[0], r.pads[1], c.pads[1]];
        } else {
          // tfjs: out = in·s ("same") or in·s + max(k − s, 0) ("valid"); the full transposed
          // convolution gives (in − 1)·s + k: the excess is cropped as TensorFlow pads the forward
          // convolution (odd value at the end), a shortfall (k < s) is zeros at the end.
          const dim = (n: number, k: number, s: number): { out: number; crop: [number, number]; extra: number } => {
            const out = n * s + (padding === 'valid' ? Math.max(k - s, 0) : 0);
            const full = (n - 1) * s + k;
            const crop = Math.max(full - out, 0);
            return { out, crop: [Math.floor(crop / 2), crop - Math.floor(crop / 2)], extra: Math.max(out - full, 0) };
          };
          const r = dim(h, kh, sh);
          const c = dim(w, kw, sw);
          outShape = [r.out, c.out, filters];
          pads = [r.crop[0], c.crop[0], r.crop[1], c.crop[1]];
          outputPadding = [r.extra, c.extra];
        }
        const kernel = weight(key, 'kernel', origin, cls, transpose ? [kh, kw, filters, cin] : [kh, kw, cin, filters]);
        const bias = optionalBias(cfg, key, origin, cls, filters);
        steps.push({
          kind: transpose ? 'convTranspose' : 'conv',
          origin,
          inShape: [h, w, cin],
          outShape,
          kernelSize: [kh, kw],
          strides: [sh, sw],
          pads,
          outputPadding,
          padding,
          kernel: kernel.data,
          bias,
        });
        shape = outShape;
        activationAfter(cfg, origin, cls);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [h, w, c] = imageShape(shape, origin, cls);
        checkChannelsLast(cfg, origin, cls);
        const poolSize = pair(cfg['pool_size'], 'pool_size', origin, cls, [2, 2]);
        const strides = pair(cfg['strides'], 'strides', origin, cls, poolSize);
        const padding = paddingOf(cfg, origin, cls);
        const r = window1d(h, poolSize[0], strides[0], padding, () => `${where(origin, cls)} (height)`);
        const q = window1d(w, poolSize[1], strides[1], padding, () => `${where(origin, cls)} (width)`);
        const outShape: Hwc = [r.out, q.out, c];
        const op = cls === 'MaxPooling2D' ? 'max' : 'average';
        steps.push({ kind: 'pool', origin, op, inShape: [h, w, c], outShape, poolSize, strides, pads: [r.pads[0], q.pads[0], r.pads[1], q.pads[1]], padding });
        shape = outShape;
        break;
      }
      case 'UpSampling2D': {
        const [h, w, c] = imageShape(shape, origin, cls);
        checkChannelsLast(cfg, origin, cls);
        refuse(cfg, origin, cls, 'interpolation', (v) => v === 'nearest', 'interpolation "nearest" only');
        const s = pair(cfg['size'], 'size', origin, cls, [2, 2]);
        const outShape: Hwc = [h * s[0], w * s[1], c];
        steps.push({ kind: 'upsample', origin, inShape: [h, w, c], outShape, size: s });
        shape = outShape;
        break;
      }
      default: {
        const hint = UNSUPPORTED_HINTS[cls];
        throw new ExportError(
          `unsupported layer "${origin.layer}" (${cls}) at position ${origin.position} of ${origin.count}; ` +
            `the exporter handles ${SUPPORTED_LAYERS.join(', ')}${hint !== undefined ? `; nearest fix: ${hint}` : ''}`,
        );
      }
    }
    // Split points: the qualified name, the own name when no other layer has it, and the sub-models this layer ends.
    stepsThrough.set(leaf.qualified, steps.length);
    if (!key.shared) stepsThrough.set(name, steps.length);
    for (const sub of leaf.closes) stepsThrough.set(sub, steps.length);
  });
  const defaultSplitAfter = defaultSplit(className, config);
  if (inputShape === undefined || !steps.some(hasWeights)) {
    throw new ExportError('the model has no Dense or convolution layer: nothing to export');
  }
  const unused = [...weights.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new CheckpointError(`weights ${unused.map((n) => `"${n}"`).join(', ')} belong to no Dense or convolution layer of model.json`, {
      file: 'model.json',
    });
  }
  return {
    inputDim: size(inputShape),
    inputShape,
    steps,
    stepsThrough,
    layerNames: layers.flatMap((l) => [l.qualified, ...l.closes.map((c) => `${c} (sub-model)`)]),
    outputLayer: layerName(orderedLayers(className, config).at(-1) ?? { class_name: '', config: {} }, '#1'),
    ...(defaultSplitAfter !== undefined ? { defaultSplitAfter } : {}),
  };
}
