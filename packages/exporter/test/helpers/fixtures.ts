/**
 * Test fixtures built with plain tfjs (no trainer): a tf.sequential laid out as core's checkpoint.ts
 * documents, random weights via setWeights, saved through an in-memory IOHandler, and written as an
 * aekit checkpoint (model.json + weights.bin + aekit.json).
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  type ModelSpec,
  type Normalization,
  Rng,
  modelLayers,
} from '@aekit/core';

let ready: Promise<void> | undefined;
/** tfjs on its cpu backend, without the "install tfjs-node" banner. */
export function initTf(): Promise<void> {
  ready ??= (async () => {
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
  })();
  return ready;
}

export { tf };

/** A tf.sequential named as aekit checkpoints name layers (enc_0 … latent … output, `<dense>_act`). */
export function buildAekitModel(spec: ModelSpec): tf.Sequential {
  const m = tf.sequential();
  for (const l of modelLayers(spec)) {
    const leaky = l.activation.name === 'leakyRelu';
    m.add(
      tf.layers.dense({
        name: l.name,
        units: l.units,
        ...(l.index === 0 ? { inputShape: [l.inputDim] } : {}),
        activation: leaky ? 'linear' : (l.activation.name as 'relu'),
      }),
    );
    if (leaky) m.add(tf.layers.leakyReLU({ name: `${l.name}_act`, alpha: l.activation.alpha! }));
  }
  return m;
}

/** Glorot-uniform kernels and small random biases, from a seed. */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  const ws = model.getWeights().map((w) => {
    const shape = w.shape;
    const limit = shape.length === 2 ? Math.sqrt(6 / (shape[0]! + shape[1]!)) : 0.1;
    const data = Float32Array.from({ length: w.size }, () => (rng.next() * 2 - 1) * limit);
    return tf.tensor(data, shape);
  });
  model.setWeights(ws);
  ws.forEach((w) => w.dispose());
}

export interface SavedModel {
  /** model.json as tfjs `model.save` writes it to disk (weightsManifest pointing at `weightsFile`). */
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

/** Saves through an in-memory IOHandler. */
export async function saveModel(model: tf.LayersModel, weightsFile = 'weights.bin'): Promise<SavedModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save({
    save: async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  const a = artifacts!;
  const data = a.weightData as ArrayBuffer;
  return {
    modelJson: {
      modelTopology: a.modelTopology,
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy ?? null,
      weightsManifest: [{ paths: [weightsFile], weights: a.weightSpecs }],
    },
    weights: new Uint8Array(data.slice(0)),
  };
}

export const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

export interface CheckpointFixture {
  files: Record<string, Uint8Array>;
  model: tf.Sequential;
  meta: CheckpointMeta;
}

/** An aekit checkpoint as core checkpoint.ts documents it, with random weights. */
export async function aekitCheckpoint(
  spec: ModelSpec,
  options: { seed?: number; normalization?: Normalization } = {},
): Promise<CheckpointFixture> {
  await initTf();
  const model = buildAekitModel(spec);
  randomizeWeights(model, options.seed ?? 1);
  const saved = await saveModel(model);
  const latentUnits = spec.latent.units;
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    spec,
    encoderOutputLayer: spec.latent.activation.name === 'leakyRelu' ? 'latent_act' : 'latent',
    normalization: options.normalization ?? { kind: 'scale255' },
    latentRange: { min: new Array(latentUnits).fill(-1), max: new Array(latentUnits).fill(1) },
    training: {
      engine: 'tfjs',
      backend: 'cpu',
      loss: 'mse',
      optimizer: { name: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      batchSize: 32,
      epochs: 1,
      seed: options.seed ?? 1,
      valSplit: 0,
      l1: 0,
      l2: 0,
    },
    history: [],
    epochsCompleted: 1,
    weightsSha256: createHash('sha256').update(saved.weights).digest('hex'),
    versions: { tfjs: tf.version.tfjs },
    createdAt: '2026-11-26T00:00:00.000Z',
  };
  return {
    files: { 'model.json': encode(saved.modelJson), 'weights.bin': saved.weights, 'aekit.json': encode(meta) },
    model,
    meta,
  };
}

/** Uniform values in [lo, hi), seeded. */
export function randomRows(rows: number, cols: number, seed: number, lo = -2, hi = 2): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: rows * cols }, () => lo + (hi - lo) * rng.next());
}

/** tfjs predict on a [rows, cols] batch. */
export function predict(model: tf.LayersModel, data: Float32Array, rows: number): Float32Array {
  const x = tf.tensor2d(data, [rows, data.length / rows]);
  const y = model.predict(x, { batchSize: 1024 }) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  x.dispose();
  y.dispose();
  return Float32Array.from(out);
}

/** Runs one ONNX graph (one input, one output). */
export async function runOnnx(
  bytes: Uint8Array,
  input: string,
  data: Float32Array | Uint8Array,
  rows: number,
): Promise<Float32Array | Uint8Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const t = new ort.Tensor(data instanceof Uint8Array ? 'uint8' : 'float32', data, [rows, data.length / rows]);
    const out = await s.run({ [input]: t });
    return out[s.outputNames[0]!]!.data as Float32Array | Uint8Array;
  } finally {
    await s.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A foreign tfjs model (no aekit.json): its files as `model.save` writes them, with a custom shard name. */
export async function foreignFiles(model: tf.LayersModel, shard = 'group1-shard1of1.bin'): Promise<Record<string, Uint8Array>> {
  const saved = await saveModel(model, shard);
  return { 'model.json': encode(saved.modelJson), [shard]: saved.weights };
}

/** Replaces aekit.json's weightsSha256 after a test edits weights.bin on purpose. */
export function rehash(files: Record<string, Uint8Array>): Record<string, Uint8Array> {
  const meta = JSON.parse(new TextDecoder().decode(files['aekit.json']!)) as CheckpointMeta;
  meta.weightsSha256 = createHash('sha256').update(files['weights.bin']!).digest('hex');
  return { ...files, 'aekit.json': encode(meta) };
}

/** Edits model.json (parsed) and returns the files with the new bytes. */
export function editModelJson(
  files: Record<string, Uint8Array>,
  edit: (json: { modelTopology: { config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } }; weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[] }> }> }) => void,
): Record<string, Uint8Array> {
  const json = JSON.parse(new TextDecoder().decode(files['model.json']!));
  edit(json);
  return { ...files, 'model.json': encode(json) };
}
