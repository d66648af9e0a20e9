/**
 * A tfjs LayersModel built and saved with plain tfjs (no aekit.json): Sequential and functional
 * chains of Dense, Activation, LeakyReLU, Dropout and Flatten, split by layer name, export and match
 * tfjs `predict`.
 */
import { describe, expect, it } from 'vitest';
import { exportBundle } from '@aekit/exporter';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { foreignFiles, initTf, maxAbsDiff, randomRows, randomizeWeights, runOnnx, tf } from './helpers/fixtures.js';

const TOL = 1e-5;
const checked: Record<string, Uint8Array> = {};

async function compare(model: tf.LayersModel, files: Record<string, Uint8Array>, inputDim: number, split: string, inputShape: number[]) {
  const { files: bundle, manifest } = await exportBundle(files, { splitAfter: split });
  const rows = 257;
  const x = randomRows(rows, inputDim, 17);
  const xt = tf.tensor(x, [rows, ...inputShape]);
  const ref = model.predict(xt) as tf.Tensor;
  const enc = tf.model({ inputs: model.inputs, outputs: model.getLayer(split).output as tf.SymbolicTensor });
  const zRef = enc.predict(xt) as tf.Tensor;
  const y = await runOnnx(bundle['autoencoder.onnx']!, 'x', x, rows);
  const z = await runOnnx(bundle['encoder.onnx']!, 'x', x, rows);
  const yz = await runOnnx(bundle['decoder.onnx']!, 'z', z as Float32Array, rows);
  expect(maxAbsDiff(y, ref.dataSync())).toBeLessThanOrEqual(TOL);
  expect(maxAbsDiff(z, zRef.dataSync())).toBeLessThanOrEqual(TOL);
  expect(maxAbsDiff(yz, y)).toBeLessThanOrEqual(TOL);
  tf.dispose([xt, ref, zRef]);
  return { bundle, manifest };
}

describe('foreign tfjs models', () => {
  it('Sequential: Dense + Dropout + LeakyReLU + Activation, split by name', async () => {
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.dense({ units: 16, inputShape: [20], activation: 'relu', name: 'h1' }));
    m.add(tf.layers.dropout({ rate: 0.3, name: 'drop1' }));
    m.add(tf.layers.dense({ units: 5, name: 'code' }));
    m.add(tf.layers.leakyReLU({ name: 'code_leaky' })); // tfjs layer default alpha 0.3
    m.add(tf.layers.dense({ units: 16, activation: 'selu', name: 'h2' }));
    m.add(tf.layers.dropout({ rate: 0.5 }));
    m.add(tf.layers.dense({ units: 20, name: 'out' }));
    m.add(tf.layers.activation({ activation: 'sigmoid', name: 'out_act' }));
    randomizeWeights(m, 11);
    const { bundle, manifest } = await compare(m, await foreignFiles(m), 20, 'code_leaky', [20]);
    expect(manifest.latentDim).toBe(5);
    expect(manifest.normalization).toEqual({ kind: 'none' });
    expect(manifest.source.spec!.latent.activation).toEqual({ name: 'leakyRelu', alpha: 0.3 });
    expect(manifest.source.spec!.outputActivation).toEqual({ name: 'sigmoid' });
    Object.entries(bundle).forEach(([k, v]) => k.endsWith('.onnx') && (checked[`seq-${k}`] = v));
  });

  it('functional chain with a Flatten over a 2-D input, Activation layers, no bias', async () => {
    await initTf();
    const input = tf.input({ shape: [4, 3], name: 'pixels' });
    let t = tf.layers.flatten({ name: 'flat' }).apply(input) as tf.SymbolicTensor;
    t = tf.layers.dense({ units: 8, name: 'e1', useBias: false }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.activation({ activation: 'tanh', name: 'e1_tanh' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.dropout({ rate: 0.2, name: 'e_drop' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.dense({ units: 3, name: 'z', activation: 'gelu' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.dense({ units: 8, name: 'd1', activation: 'swish' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.dense({ units: 12, name: 'd_out', activation: 'linear' }).apply(t) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: t });
    randomizeWeights(m, 12);
    const { bundle, manifest } = await compare(m, await foreignFiles(m, 'weights-a.bin'), 12, 'z', [4, 3]);
    expect(manifest.inputDim).toBe(12);
    expect(manifest.source.spec!.encoder).toEqual([{ units: 8, activation: { name: 'tanh' } }]);
    Object.entries(bundle).forEach(([k, v]) => k.endsWith('.onnx') && (checked[`fn-${k}`] = v));
  });

  it.skipIf(!checkerAvailable())('every exported graph passes onnx.checker with full_check', () => {
    expect(Object.keys(checked)).toHaveLength(6);
    checkModels(checked);
  });
});
