/**
 * A checkpoint's outputs as tfjs computes them (cpu backend): the reference `aekit export` holds the
 * ONNX graphs against. Works on any tfjs layers model's files (model.json + weight shards), not only
 * aekit checkpoints.
 */
import type * as Tf from '@tensorflow/tfjs';
import { concatBytes } from '@aekit/core';

export interface CheckpointPrediction {
  /** The output of layer `splitAfter` (the latent), rows × its width. */
  z: Float32Array;
  /** The model's output (the reconstruction), rows × its width. */
  y: Float32Array;
}


const isModel = (l: Tf.layers.Layer): l is Tf.LayersModel => Array.isArray((l as Partial<Tf.LayersModel>).layers);

/**
 * The output after layer `splitAfter` of a chain model with nested sub-models, run layer by layer
 * (Dropout and the like at inference). `splitAfter` names a layer (own or qualified name,
 * `encoder/code`) or a sub-model (after its last layer), as the exporter's split does.
 */
function latentOfChain(tf: typeof Tf, model: Tf.LayersModel, x: Tf.Tensor, splitAfter: string): Tf.Tensor {
  return tf.tidy(() => {
    let t = x;
    let z: Tf.Tensor | undefined;
    const walk = (m: Tf.LayersModel, scope: string): void => {
      for (const layer of m.layers) {
        const qualified = scope === '' ? layer.name : `${scope}/${layer.name}`;
        if (isModel(layer)) walk(layer, qualified);
        else if (layer.getClassName() !== 'InputLayer') t = layer.apply(t) as Tf.Tensor;
        if (z === undefined && (qualified === splitAfter || layer.name === splitAfter)) z = t;
      }
    };
    walk(model, '');
    if (z === undefined) throw new Error(`no layer "${splitAfter}" in the model`);
    return z;
  });
}

/**
 * Runs `rows` rows of `normalised` input (row-major) through the model in `files` with tfjs `predict`,
 * returning the latent at `splitAfter` and the output. Puts back the caller's tfjs backend and flags
 * afterwards (export may run in the same process as training, e.g. `aekit demo`).
 */
export async function predictCheckpoint(
  files: Readonly<Record<string, Uint8Array>>,
  splitAfter: string,
  normalised: Float32Array,
  rows: number,
): Promise<CheckpointPrediction> {
  const tf = await import('@tensorflow/tfjs');
  const before = { backend: tf.engine().backendName as string | null, prod: tf.env().getBool('PROD') };
  tf.env().set('PROD', true); // no "install tfjs-node" banner
  await tf.setBackend('cpu');
  try {
    const json = JSON.parse(new TextDecoder().decode(files['model.json']!)) as {
      modelTopology: object;
      weightsManifest: Array<{ paths: string[]; weights: Tf.io.WeightsManifestEntry[] }>;
    };
    const weightData = concatBytes(json.weightsManifest.flatMap((g) => g.paths.map((p) => files[p]!)));
    const m = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer,
      }),
    );
    const inputDim = normalised.length / rows;
    // The model's own input shape (a foreign image model takes [H, W, C], not flat rows).
    const shape = m.inputs[0]!.shape.slice(1).map((d) => d ?? inputDim);
    const x = tf.tensor(normalised, [rows, ...(shape.reduce((a, b) => a * b, 1) === inputDim ? shape : [inputDim])]);
    const nested = m.layers.some(isModel);
    // With nested sub-models the latent may be inside one (`encoder/code`) or be a whole sub-model's
    // output: the chain's layers run one by one and the latent is read where `splitAfter` ends.
    const zt = nested
      ? latentOfChain(tf, m, x, splitAfter)
      : (tf.model({ inputs: m.inputs, outputs: m.getLayer(splitAfter).output as Tf.SymbolicTensor }).predict(x, { batchSize: rows }) as Tf.Tensor);
    const yt = m.predict(x, { batchSize: rows }) as Tf.Tensor;
    const z = Float32Array.from(zt.dataSync());
    const y = Float32Array.from(yt.dataSync());
    tf.dispose([x, zt, yt]);
    m.dispose();
    return { z, y };
  } finally {
    tf.env().set('PROD', before.prod);
    if (before.backend && before.backend !== 'cpu') await tf.setBackend(before.backend);
  }
}
