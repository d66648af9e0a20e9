/**
 * model.json + weights.bin exactly as tfjs `model.save` writes them: the tf.sequential of Dense layers
 * (plus a LeakyReLU layer after a Dense whose activation tfjs-layers cannot name) is built, given the
 * weights, and saved through an IOHandler that hands back the artifacts.
 */
import * as tf from '@tensorflow/tfjs';
import { type ModelSpec, LEAKY_RELU_DEFAULT_ALPHA, denseLayers } from '@aekit/core';
import { selectTfjsBackend } from '../engines/tfjs/backend.js';
import { TFJS_ACTIVATION } from './layer-names.js';
import type { ParamSet } from '../engine.js';


/** The tfjs layers model of the spec (weights left as initialised by tfjs). Dispose it after use. */
export function buildLayersModel(spec: ModelSpec): tf.Sequential {
  const model = tf.sequential({ name: 'aekit_autoencoder' });
  for (const l of denseLayers(spec)) {
    const act = TFJS_ACTIVATION[l.activation.name];
    model.add(
      tf.layers.dense({
        name: l.name,
        units: l.units,
        activation: (act ?? 'linear') as 'linear',
        useBias: true,
        ...(l.index === 0 ? { inputShape: [spec.inputDim] } : {}),
      }),
    );
    if (act === null) {
      model.add(tf.layers.leakyReLU({ name: `${l.name}_act`, alpha: l.activation.alpha ?? LEAKY_RELU_DEFAULT_ALPHA }));
    }
  }
  return model;
}

export interface LayersArtifacts {
  modelJson: tf.io.ModelJSON;
  weights: Uint8Array;
}

/** Serialises the parameters as tfjs would save the equivalent layers model to `weightsFile`. */
export async function layersArtifacts(spec: ModelSpec, params: ParamSet, weightsFile: string): Promise<LayersArtifacts> {
  // After training on another engine tfjs has no backend yet: pick one as training would, rather than
  // let tfjs fall back to `cpu` (which prints its "install tfjs-node" banner).
  if (tf.engine().backendName == null) await selectTfjsBackend('auto');
  const model = buildLayersModel(spec);
  try {
    const tensors = params.flatMap((p) => [tf.tensor2d(p.kernel, [p.inputDim, p.units]), tf.tensor1d(p.bias)]);
    model.setWeights(tensors);
    tf.dispose(tensors);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const a = saved!;
    // The same fields, in the same order, as tfjs-core's getModelJSONForModelArtifacts (what file
    // handlers such as tfjs-node's `file://` write).
    const modelJson: tf.io.ModelJSON = {
      modelTopology: a.modelTopology as tf.io.ModelJSON['modelTopology'],
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy,
      weightsManifest: [{ paths: [weightsFile], weights: a.weightSpecs ?? [] }],
    };
    if (a.trainingConfig !== undefined) modelJson.trainingConfig = a.trainingConfig;
    if (a.userDefinedMetadata !== undefined) modelJson.userDefinedMetadata = a.userDefinedMetadata;
    const data = a.weightData;
    const buf = data === undefined ? new ArrayBuffer(0) : tf.io.concatenateArrayBuffers(data);
    return { modelJson, weights: new Uint8Array(buf) };
  } finally {
    model.dispose();
  }
}
