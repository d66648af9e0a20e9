/**
 * core's tfjs-free model.json / weights.bin writer against tfjs itself: the bytes equal what tfjs
 * `model.save` writes for the same layers model (every activation), and a checkpoint written by
 * writeCheckpoint loads with `tf.loadLayersModel` and predicts what its parameters compute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVATION_NAMES,
  AEKIT_VERSION,
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  DEFAULT_ADAM,
  LEAKY_RELU_DEFAULT_ALPHA,
  type ModelSpec,
  Rng,
  TFJS_ACTIVATION,
  TFJS_LAYERS_VERSION,
  activationReference,
  modelLayers,
  encoderOutputLayerName,
  makeSpec,
  writeLayersModel,
} from '@aekit/core';
import { readCheckpoint, writeCheckpoint } from '../src/checkpoint/io.js';
import type { ParamSet } from '../src/engine.js';
import { glorotUniformParams } from '../src/init.js';
import { tempDir } from './helpers.js';
import { tfjsSavedFiles } from './tfjs-saved.js';

const tmp = tempDir('aekit-layers-model-');
afterAll(() => tmp.cleanup());
beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** Seeded Glorot kernels and non-zero biases, so a swapped kernel/bias or layer shows. */
function paramsOf(spec: ModelSpec, seed: number): ParamSet {
  const params = glorotUniformParams(spec, new Rng(seed));
  params.forEach((p, j) => p.bias.forEach((_, i) => (p.bias[i] = 0.01 * (i + 1) * (j % 2 ? -1 : 1))));
  return params;
}

/** What tfjs `model.save` writes for the spec's layers model with these parameters (model.json text, weights.bin). */
async function tfjsSaved(spec: ModelSpec, params: ParamSet): Promise<{ modelJson: string; weights: Uint8Array }> {
  const model = tf.sequential({ name: 'aekit_autoencoder' });
  for (const l of modelLayers(spec)) {
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
    if (act === null) model.add(tf.layers.leakyReLU({ name: `${l.name}_act`, alpha: l.activation.alpha ?? LEAKY_RELU_DEFAULT_ALPHA }));
  }
  try {
    const tensors = params.flatMap((p) => [tf.tensor2d(p.kernel, [p.inputDim, p.units]), tf.tensor1d(p.bias)]);
    model.setWeights(tensors);
    tf.dispose(tensors);
    return await tfjsSavedFiles(model);
  } finally {
    model.dispose();
  }
}

/** The autoencoder's output in float64 JS from the parameters (core's activation references). */
function forward(spec: ModelSpec, params: ParamSet, x: Float32Array, rows: number): Float64Array {
  let a = Float64Array.from(x);
  modelLayers(spec).forEach((l, j) => {
    const p = params[j]!;
    const f = activationReference(l.activation);
    const out = new Float64Array(rows * l.units);
    for (let r = 0; r < rows; r++) {
      for (let u = 0; u < l.units; u++) {
        let s = p.bias[u]!;
        for (let i = 0; i < l.inputDim; i++) s += a[r * l.inputDim + i]! * p.kernel[i * l.units + u]!;
        out[r * l.units + u] = f(s);
      }
    }
    a = out;
  });
  return a;
}

/** Every activation at least once, hidden and latent, plus leakyRelu's default and explicit alpha. */
const SPECS: ModelSpec[] = [
  makeSpec({ inputDim: 9, layers: [7, 6], latent: 3, activation: ['relu', 'tanh', 'elu', 'selu'], outputActivation: 'sigmoid' }),
  makeSpec({ inputDim: 9, layers: [7, 6], latent: 3, activation: ['softplus', 'swish', 'gelu', 'relu'], latentActivation: 'tanh', outputActivation: 'linear' }),
  makeSpec({ inputDim: 12, layers: [8], latent: 3, activation: 'leakyRelu:0.1', latentActivation: 'leakyRelu', outputActivation: 'leakyRelu:0.3' }),
];

describe('writeLayersModel against tfjs', () => {
  it('covers every activation', () => {
    const used = new Set(SPECS.flatMap((s) => modelLayers(s).map((l) => l.activation.name)));
    expect([...used].sort()).toEqual([...ACTIVATION_NAMES].sort());
  });

  it('writes the bytes tfjs model.save writes (same tfjs-layers version)', async () => {
    expect(tf.version_layers).toBe(TFJS_LAYERS_VERSION);
    for (const [i, spec] of SPECS.entries()) {
      const params = paramsOf(spec, i + 1);
      const ours = writeLayersModel(spec, params);
      const theirs = await tfjsSaved(spec, params);
      expect(ours.modelJson).toBe(theirs.modelJson);
      expect(ours.weights).toEqual(theirs.weights);
    }
  });

  it('writes checkpoints tf.loadLayersModel loads and that predict what the parameters compute', async () => {
    for (const [i, spec] of SPECS.entries()) {
      const params = paramsOf(spec, 10 + i);
      const dir = join(tmp.dir, `ck${i}`);
      await writeCheckpoint(dir, {
        meta: {
          format: CHECKPOINT_FORMAT,
          formatVersion: CHECKPOINT_FORMAT_VERSION,
          spec,
          encoderOutputLayer: encoderOutputLayerName(spec),
          normalization: { kind: 'none' },
          latentRange: { min: [-1, -1, -1], max: [1, 1, 1] },
          training: {
            engine: 'tfjs',
            backend: 'cpu',
            loss: 'mse',
            optimizer: { name: 'adam', ...DEFAULT_ADAM },
            batchSize: 4,
            epochs: 1,
            seed: i,
            valSplit: 0,
            l1: 0,
            l2: 0,
          },
          history: [],
          epochsCompleted: 1,
          versions: { aekit: AEKIT_VERSION },
          createdAt: new Date(0).toISOString(),
        },
        params,
      });
      const modelJson = JSON.parse(readFileSync(join(dir, CHECKPOINT_FILES.model), 'utf8')) as tf.io.ModelJSON;
      const bin = readFileSync(join(dir, CHECKPOINT_FILES.weights));
      const model = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest[0]!.weights,
          weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
        }),
      );
      try {
        const rows = 5;
        const x = Float32Array.from({ length: rows * spec.inputDim }, (_, k) => ((k * 7) % 11) / 5 - 1);
        const got = tf.tidy(() => (model.predict(tf.tensor2d(x, [rows, spec.inputDim])) as tf.Tensor).dataSync());
        const want = forward(spec, params, x, rows);
        got.forEach((v, k) => expect(Math.abs(v - want[k]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[k]!))));
        expect(model.getLayer(encoderOutputLayerName(spec)).name).toBe(encoderOutputLayerName(spec));
      } finally {
        model.dispose();
      }
      const back = await readCheckpoint(dir);
      expect(back.params).toEqual(params);
    }
  });
});
