/**
 * The ops image models export to (Conv, ConvTranspose, Transpose, Reshape, MaxPool, AveragePool,
 * Expand) run whole on onnxruntime-node's WebGPU EP (SwiftShader's software Vulkan here): sessions are
 * created with CPU fallback disabled, so a node the EP lacks fails the test, and the results match the
 * CPU EP. Skips visibly without libvulkan1 + chromium's SwiftShader; under CI it fails instead.
 */
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportBundle } from '@aekit/exporter';
import { foreignFiles, initTf, maxAbsDiff, randomRows, randomizeWeights, runOnnx, tf } from './helpers/fixtures.js';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];
const haveVulkan = existsSync(ICD) && LOADERS.some((p) => existsSync(p));
if (!haveVulkan && process.env['CI']) {
  throw new Error(`CI is set but the WebGPU EP test needs libvulkan1 and chromium (${ICD}): apt-get install -y libvulkan1 chromium`);
}
process.env['VK_ICD_FILENAMES'] ??= ICD;

async function runWebgpu(bytes: Uint8Array, input: string, data: Float32Array, rows: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } });
  try {
    const out = await s.run({ [input]: new ort.Tensor('float32', data, [rows, data.length / rows]) });
    return Float32Array.from(out[s.outputNames[0]!]!.data as Float32Array);
  } finally {
    await s.release();
  }
}

describe.skipIf(!haveVulkan)('image graphs on the WebGPU EP (SwiftShader)', () => {
  it('every graph runs without CPU fallback and matches the CPU EP', async () => {
    await initTf();
    const input = tf.input({ shape: [8, 8, 3] });
    let t = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(input) as tf.SymbolicTensor;
    t = tf.layers.maxPooling2d({ poolSize: 2, name: 'p' }).apply(t) as tf.SymbolicTensor; // 4×4×4
    t = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'a' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.flatten({}).apply(t) as tf.SymbolicTensor;
    t = tf.layers.dense({ units: 6, name: 'code' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.dense({ units: 32, activation: 'tanh', name: 'proj' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.reshape({ targetShape: [2, 2, 8] }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(t) as tf.SymbolicTensor; // 4×4×8
    t = tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid', name: 'd' }).apply(t) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: t });
    randomizeWeights(m, 31);
    const { files } = await exportBundle(await foreignFiles(m), { splitAfter: 'code', normalization: { kind: 'scale255' } });
    const rows = 5;
    const x = randomRows(rows, 192, 3, 0, 255);
    const z = (await runOnnx(files['encoder.onnx']!, 'x', x, rows)) as Float32Array;
    for (const [graph, input, data] of [['encoder', 'x', x], ['decoder', 'z', z], ['autoencoder', 'x', x]] as const) {
      const cpu = await runOnnx(files[`${graph}.onnx`]!, input, data, rows);
      const gpu = await runWebgpu(files[`${graph}.onnx`]!, input, data, rows);
      // Reconstructions are in raw units (×255): compare in normalised units.
      const scale = graph === 'encoder' ? 1 : 1 / 255;
      expect(maxAbsDiff(Float32Array.from(gpu, (v) => v * scale), Float32Array.from(cpu, (v) => v * scale)), graph).toBeLessThanOrEqual(1e-4);
    }
  });
});
