/**
 * An aekit checkpoint (core's checkpoint.ts layout: tfjs layers-format model.json + weights.bin +
 * aekit.json) built in memory from trained parameters, without tfjs: the page trains with the
 * onnxruntime engine, and exportBundle reads checkpoint files. The layers are named and laid out as
 * the trainer's writer (tfjs `model.save`) names them, so @aekit/exporter and tf.loadLayersModel read it.
 */
import {
  AEKIT_VERSION,
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  LEAKY_RELU_DEFAULT_ALPHA,
  type ModelSpec,
  denseLayers,
} from '@aekit/core';
import { sha256Hex } from '@aekit/exporter';
// Module files of @aekit/trainer, not its main entry (which loads tfjs): both are browser-safe.
import type { ParamSet } from '../../trainer/src/engine.js';
import { TFJS_ACTIVATION, encoderOutputLayerName } from '../../trainer/src/checkpoint/layer-names.js';

/** What the checkpoint records beside the parameters (aekit.json), all but the derived fields. */
export type CheckpointInfo = Omit<
  CheckpointMeta,
  'format' | 'formatVersion' | 'spec' | 'encoderOutputLayer' | 'weightsSha256' | 'createdAt'
> & { createdAt?: string };

interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/** tfjs Sequential topology of the spec: Dense layers, plus `<name>_act` LeakyReLU layers. */
function topology(spec: ModelSpec): LayerJson[] {
  const layers: LayerJson[] = [];
  for (const l of denseLayers(spec)) {
    const act = TFJS_ACTIVATION[l.activation.name];
    layers.push({
      class_name: 'Dense',
      config: {
        name: l.name,
        trainable: true,
        dtype: 'float32',
        units: l.units,
        activation: act ?? 'linear',
        use_bias: true,
        ...(l.index === 0 ? { batch_input_shape: [null, spec.inputDim] } : {}),
      },
    });
    if (act === null) {
      layers.push({ class_name: 'LeakyReLU', config: { name: `${l.name}_act`, trainable: true, dtype: 'float32', alpha: l.activation.alpha ?? LEAKY_RELU_DEFAULT_ALPHA } });
    }
  }
  return layers;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** model.json, weights.bin (float32 little-endian, kernel then bias per layer) and aekit.json. */
export async function checkpointFiles(spec: ModelSpec, params: ParamSet, info: CheckpointInfo): Promise<Record<string, Uint8Array>> {
  const layers = denseLayers(spec);
  if (params.length !== layers.length) throw new Error(`${params.length} parameter sets for a model of ${layers.length} dense layers`);
  const floats = new Float32Array(params.reduce((n, p) => n + p.kernel.length + p.bias.length, 0));
  const weights: Array<{ name: string; shape: number[]; dtype: 'float32' }> = [];
  let offset = 0;
  params.forEach((p, i) => {
    const l = layers[i]!;
    if (p.kernel.length !== l.inputDim * l.units || p.bias.length !== l.units) {
      throw new Error(`parameters of ${p.name} do not fit layer ${l.name} (${l.inputDim}×${l.units})`);
    }
    floats.set(p.kernel, offset);
    offset += p.kernel.length;
    floats.set(p.bias, offset);
    offset += p.bias.length;
    weights.push({ name: `${l.name}/kernel`, shape: [l.inputDim, l.units], dtype: 'float32' }, { name: `${l.name}/bias`, shape: [l.units], dtype: 'float32' });
  });
  // Float32Array's bytes are in platform order; every browser platform is little-endian, as tfjs assumes.
  const weightsBin = new Uint8Array(floats.buffer);
  const modelJson = {
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'aekit_autoencoder', layers: topology(spec) },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    format: 'layers-model',
    generatedBy: `aekit ${AEKIT_VERSION} (web demo)`,
    convertedBy: null,
    weightsManifest: [{ paths: [CHECKPOINT_FILES.weights], weights }],
  };
  const { createdAt, ...rest } = info;
  const meta: CheckpointMeta = {
    ...rest,
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    spec,
    encoderOutputLayer: encoderOutputLayerName(spec),
    weightsSha256: await sha256Hex(weightsBin),
    createdAt: createdAt ?? new Date().toISOString(),
  };
  return { [CHECKPOINT_FILES.model]: json(modelJson), [CHECKPOINT_FILES.weights]: weightsBin, [CHECKPOINT_FILES.meta]: json(meta) };
}
