/**
 * Parses a TensorFlow.js layers-format model (model.json + weight shards) into a DenseChain.
 * Supported: Sequential or a functional chain (one input, one output, no branches) of InputLayer,
 * Dense, Activation, LeakyReLU, Dropout (identity at inference) and Flatten.
 */
import { type ActivationName, type ActivationSpec, CheckpointError, ExportError, TFJS_ACTIVATION } from '@aekit/core';
import type { DenseChain, LayerOrigin, Step } from './chain.js';
import { type NamedTensor, type WeightFiles, readWeights } from './weights.js';

/** The parts of a tfjs/Keras layer config the exporter reads. */
interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

export const SUPPORTED_LAYERS = ['InputLayer', 'Dense', 'Activation', 'LeakyReLU', 'Dropout', 'Flatten'] as const;

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

/** Layers in execution order; a functional model must be a single chain. */
function orderedLayers(className: string, config: unknown): LayerJson[] {
  if (className === 'Sequential') {
    const layers = Array.isArray(config) ? config : (config as { layers?: unknown })?.layers;
    if (!Array.isArray(layers)) throw new CheckpointError('model.json: Sequential config has no layers', { file: 'model.json' });
    return layers as LayerJson[];
  }
  if (className !== 'Model' && className !== 'Functional') {
    throw new ExportError(`model class "${className}" is not supported; export a Sequential or functional tfjs LayersModel`);
  }
  const c = config as { layers?: LayerJson[]; input_layers?: unknown[]; output_layers?: unknown[] };
  if (!Array.isArray(c.layers)) throw new CheckpointError('model.json: model config has no layers', { file: 'model.json' });
  const outs = c.output_layers ?? [];
  if ((c.input_layers ?? []).length !== 1 || outs.length !== 1) {
    throw new ExportError(
      `the model has ${(c.input_layers ?? []).length} inputs and ${outs.length} outputs; only single-input, single-output chains can be exported`,
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
      throw new ExportError(`layer "${name}" (${layer.class_name}) has several inputs or is shared; only plain chains can be exported`);
    }
    name = (node[0] as unknown[])[0] as string;
  }
  chain.reverse();
  if (chain.length !== c.layers.length) {
    const extra = c.layers.map((l) => l.name ?? '').filter((n) => !seen.has(n));
    throw new ExportError(`layers ${extra.map((n) => `"${n}"`).join(', ')} are not on the input→output chain; only plain chains can be exported`);
  }
  return chain;
}

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

function findWeight(weights: Map<string, NamedTensor>, layer: string, kind: 'kernel' | 'bias'): NamedTensor | undefined {
  const exact = weights.get(`${layer}/${kind}`);
  if (exact) return exact;
  // Keras-converted files may prefix names with their scope (`model/dense/kernel`).
  for (const [n, t] of weights) if (n.endsWith(`/${layer}/${kind}`)) return t;
  return undefined;
}

function shapeMismatch(origin: LayerOrigin, t: NamedTensor, expected: number[]): CheckpointError {
  return new CheckpointError(
    `weight "${t.name}" of Dense layer "${origin.layer}" (position ${origin.position} of ${origin.count}) has shape ` +
      `[${t.shape.join(', ')}] but the topology needs [${expected.join(', ')}]; model.json and the weights do not belong together`,
    { file: t.file },
  );
}

/**
 * Parses model.json (object, string or bytes) and its weight shards (manifest path → bytes) into a
 * chain of dense and activation steps.
 */
export function parseLayersModel(modelJson: string | Uint8Array | object, files: WeightFiles): DenseChain {
  const json = decodeJson(modelJson, 'model.json');
  const { className, config } = modelConfig(json);
  const layers = orderedLayers(className, config);
  const weights = readWeights(json['weightsManifest'], files);
  const steps: Step[] = [];
  const stepsThrough = new Map<string, number>();
  let inputShape: number[] | undefined;
  let width: number | undefined;
  let flat = true;
  const used = new Set<string>();

  layers.forEach((layer, i) => {
    const cfg = (layer.config ?? {}) as Record<string, unknown>;
    const name = String(layer.name ?? cfg['name'] ?? `#${i + 1}`);
    const origin: LayerOrigin = { layer: name, position: i + 1, count: layers.length };
    const declared = shapeOf(cfg);
    if (declared && width === undefined && inputShape === undefined) {
      if (declared.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new ExportError(`layer "${name}" declares input shape [${declared.join(', ')}]; every dimension but the batch must be fixed`);
      }
      inputShape = declared;
      width = declared.reduce((a, b) => a * b, 1);
      flat = declared.length === 1;
    }
    switch (layer.class_name) {
      case 'InputLayer':
      case 'Dropout':
        break;
      case 'Flatten':
        flat = true;
        break;
      case 'Activation':
        steps.push({ kind: 'activation', origin, activation: parseTfjsActivation(cfg['activation'], origin, layer.class_name) });
        break;
      case 'LeakyReLU': {
        const a = cfg['alpha'] ?? cfg['negative_slope'] ?? TFJS_LEAKY_RELU_LAYER_ALPHA;
        if (typeof a !== 'number' || !Number.isFinite(a)) {
          throw new ExportError(`LeakyReLU layer "${name}" (position ${origin.position}) has alpha ${String(a)}; expected a number`);
        }
        steps.push({ kind: 'activation', origin, activation: { name: 'leakyRelu', alpha: a } });
        break;
      }
      case 'Dense': {
        if (!flat) {
          throw new ExportError(
            `Dense layer "${name}" (position ${origin.position} of ${origin.count}) gets an input of shape [${inputShape?.join(', ')}]; ` +
              'add a Flatten layer before it (only 2-D inputs can be exported)',
          );
        }
        const units = cfg['units'];
        if (typeof units !== 'number' || !Number.isInteger(units) || units < 1) {
          throw new CheckpointError(`Dense layer "${name}" has no valid "units" in model.json`, { file: 'model.json' });
        }
        const kernel = findWeight(weights, name, 'kernel');
        if (!kernel) {
          throw new CheckpointError(`weight "${name}/kernel" of Dense layer "${name}" (position ${origin.position}) is not in the weights manifest`, {
            file: 'model.json',
          });
        }
        const inputDim = width ?? kernel.shape[0]!;
        if (kernel.shape.length !== 2 || kernel.shape[0] !== inputDim || kernel.shape[1] !== units) {
          throw shapeMismatch(origin, kernel, [inputDim, units]);
        }
        const useBias = cfg['use_bias'] !== false;
        const bias = useBias ? findWeight(weights, name, 'bias') : undefined;
        if (useBias && !bias) {
          throw new CheckpointError(`weight "${name}/bias" of Dense layer "${name}" (position ${origin.position}) is not in the weights manifest`, {
            file: 'model.json',
          });
        }
        if (bias && (bias.shape.length !== 1 || bias.shape[0] !== units)) throw shapeMismatch(origin, bias, [units]);
        used.add(kernel.name);
        if (bias) used.add(bias.name);
        if (width === undefined) inputShape = [inputDim];
        steps.push({ kind: 'dense', origin, inputDim, units, kernel: kernel.data, bias: bias?.data ?? null });
        width = units;
        const act = parseTfjsActivation(cfg['activation'], origin, layer.class_name);
        if (act.name !== 'linear') steps.push({ kind: 'activation', origin, activation: act });
        break;
      }
      default:
        throw new ExportError(
          `unsupported layer "${name}" (${layer.class_name}) at position ${origin.position} of ${origin.count}; ` +
            `the exporter handles ${SUPPORTED_LAYERS.join(', ')}`,
        );
    }
    stepsThrough.set(name, steps.length);
  });
  if (width === undefined || !steps.some((s) => s.kind === 'dense')) {
    throw new ExportError('the model has no Dense layer: nothing to export');
  }
  const unused = [...weights.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new CheckpointError(`weights ${unused.map((n) => `"${n}"`).join(', ')} belong to no Dense layer of model.json`, {
      file: 'model.json',
    });
  }
  return { inputDim: inputShape!.reduce((a, b) => a * b, 1), steps, stepsThrough, layerNames: layers.map((l, i) => String(l.name ?? l.config?.['name'] ?? `#${i + 1}`)) };
}
