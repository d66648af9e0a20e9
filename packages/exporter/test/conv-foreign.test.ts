/**
 * Foreign tfjs image models (no aekit.json) built with tf.layers: Conv2D, Conv2DTranspose, Reshape,
 * Flatten, UpSampling2D, MaxPooling2D, AveragePooling2D, 'same' and 'valid', strides 1/2 (and
 * rectangular), channels 1 and 3, every activation, with and without bias. The exported graphs run in
 * onnxruntime-node and match tfjs predict within 1e-5, encoder → decoder equals the autoencoder, the
 * normalisation (folded or explicit) and uint8 input work in front of a convolution, x_check catches
 * NaN/Infinity, and every graph passes the official checker.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { type BundleManifest, type Normalization, makeSpec, parseManifest } from '@aekit/core';
import { type ExportOptions, exportBundle } from '@aekit/exporter';
import { decodeModel, opTypesOf } from '@aekit/onnx';
import { parseLayersModel, splitChain } from '@aekit/exporter/graphs';
import { buildVaeEncoder } from '../src/onnx/graphs.js';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { foreignFiles, initTf, maxAbsDiff, randomRows, randomizeWeights, runOnnx, tf } from './helpers/fixtures.js';

const TOL = 1e-5;
const ROWS = 37;
const checked: Record<string, Uint8Array> = {};

type Sym = tf.SymbolicTensor;

/** Exports with `split`, runs the three graphs and tfjs predict on the same rows; returns the bundle. */
async function compare(
  model: tf.LayersModel,
  split: string,
  tag: string,
  options: ExportOptions = {},
): Promise<{ bundle: Record<string, Uint8Array>; manifest: BundleManifest }> {
  const files = await foreignFiles(model);
  const { files: bundle, manifest } = await exportBundle(files, { splitAfter: split, ...options });
  const inShape = model.inputs[0]!.shape.slice(1) as number[];
  const dim = inShape.reduce((a, b) => a * b, 1);
  const x = randomRows(ROWS, dim, 5);
  const xt = tf.tensor(x, [ROWS, ...inShape]);
  const ref = model.predict(xt) as tf.Tensor;
  const enc = tf.model({ inputs: model.inputs, outputs: model.getLayer(split).output as Sym });
  const zRef = enc.predict(xt) as tf.Tensor;
  const y = await runOnnx(bundle['autoencoder.onnx']!, 'x', x, ROWS);
  const z = await runOnnx(bundle['encoder.onnx']!, 'x', x, ROWS);
  const yz = await runOnnx(bundle['decoder.onnx']!, 'z', z as Float32Array, ROWS);
  expect(z.length).toBe(ROWS * manifest.latentDim);
  expect(maxAbsDiff(z, zRef.dataSync())).toBeLessThanOrEqual(TOL);
  expect(maxAbsDiff(y, ref.dataSync())).toBeLessThanOrEqual(TOL);
  expect(maxAbsDiff(yz, y)).toBeLessThanOrEqual(TOL);
  tf.dispose([xt, ref, zRef]);
  parseManifest(JSON.parse(new TextDecoder().decode(bundle['manifest.json']!)));
  for (const [k, v] of Object.entries(bundle)) if (k.endsWith('.onnx')) checked[`${tag}-${k}`] = v;
  return { bundle, manifest };
}

const ops = (bytes: Uint8Array) => opTypesOf(decodeModel(bytes).graph!);

/** 8×8×1: conv same s1 → maxpool → conv same s2 [spatial latent 2×2×8] → upsample → deconv same s2 → conv same s1. */
function poolingModel(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
  m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh', name: 'code' }));
  m.add(tf.layers.upSampling2d({ size: [2, 2], name: 'up' }));
  m.add(tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu', name: 'd1' }));
  m.add(tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid', name: 'out' }));
  return m;
}

describe('foreign image models', () => {
  it('Sequential: Conv2D, MaxPooling2D, a spatial latent, UpSampling2D, Conv2DTranspose (same, strides 1/2, 1 channel)', async () => {
    await initTf();
    const m = poolingModel();
    randomizeWeights(m, 21);
    const { bundle, manifest } = await compare(m, 'code', 'pool');
    expect(manifest.inputDim).toBe(64);
    expect(manifest.latentDim).toBe(32);
    expect(manifest.inputShape).toEqual([8, 8, 1]);
    expect(manifest.latentShape).toEqual([2, 2, 8]);
    // Pooling and upsampling are not a ModelSpec: the manifest describes the layers instead.
    expect(manifest.source.spec).toBeUndefined();
    expect(manifest.source.layers).toBe(
      '8×8×1 → conv 4 3×3/1×1 same → relu → maxpool 2×2/2×2 valid → conv 8 3×3/2×2 same → tanh → [latent 2×2×8] → ' +
        'upsample 2×2 → deconv 4 3×3/2×2 same → elu → conv 1 3×3/1×1 same → sigmoid → 8×8×1',
    );
    const enc = ops(bundle['encoder.onnx']!);
    for (const op of ['Conv', 'MaxPool', 'Transpose']) expect(enc.has(op), op).toBe(true);
    expect([...ops(bundle['decoder.onnx']!)].filter((o) => ['Expand', 'ConvTranspose', 'Conv'].includes(o)).sort()).toEqual(['Conv', 'ConvTranspose', 'Expand']);
  });

  it('functional, 3 channels, odd sizes: valid convolutions, Flatten → Dense → Reshape, every other activation', async () => {
    await initTf();
    const input = tf.input({ shape: [9, 9, 3], name: 'img' });
    let t = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid', activation: 'selu', name: 'c1' }).apply(input) as Sym; // 4×4×6
    t = tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'p1' }).apply(t) as Sym; // 4×4×6
    t = tf.layers.flatten({ name: 'flat' }).apply(t) as Sym;
    t = tf.layers.dense({ units: 10, activation: 'swish', name: 'code' }).apply(t) as Sym;
    t = tf.layers.dense({ units: 96, activation: 'softplus', name: 'proj' }).apply(t) as Sym;
    t = tf.layers.reshape({ targetShape: [4, 4, 6], name: 'unflat' }).apply(t) as Sym;
    t = tf.layers.conv2dTranspose({ filters: 5, kernelSize: 3, strides: 2, padding: 'valid', activation: 'gelu', name: 'd1' }).apply(t) as Sym; // 9×9×5
    t = tf.layers.conv2dTranspose({ filters: 3, kernelSize: 1, padding: 'valid', name: 'd2' }).apply(t) as Sym; // linear
    t = tf.layers.leakyReLU({ alpha: 0.15, name: 'leaky' }).apply(t) as Sym;
    const m = tf.model({ inputs: input, outputs: t });
    randomizeWeights(m, 22);
    const { bundle, manifest } = await compare(m, 'code', 'valid');
    expect(manifest.inputShape).toEqual([9, 9, 3]);
    expect(manifest.latentShape).toBeUndefined();
    expect(manifest.latentDim).toBe(10);
    // Flatten → Dense reads NCHW through permuted kernel rows; Dense → Reshape writes CHW through permuted columns:
    // the only Transposes are at the graph input and output.
    const count = (bytes: Uint8Array, op: string) => decodeModel(bytes).graph!.node!.filter((n) => n.opType === op).length;
    expect(count(bundle['autoencoder.onnx']!, 'Transpose')).toBe(2);
    expect(count(bundle['encoder.onnx']!, 'Transpose')).toBe(1);
    expect(count(bundle['decoder.onnx']!, 'Transpose')).toBe(1);
  });

  it('Reshape from flat rows, rectangular kernels and strides, no bias, kernel smaller than stride, AveragePooling2D', async () => {
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.reshape({ inputShape: [48], targetShape: [4, 4, 3], name: 'image' }));
    m.add(tf.layers.conv2d({ filters: 2, kernelSize: [3, 2], strides: [1, 2], padding: 'same', activation: 'relu', name: 'c1' })); // 4×2×2
    m.add(tf.layers.flatten({ name: 'flat' }));
    m.add(tf.layers.dense({ units: 5, name: 'code' }));
    m.add(tf.layers.dense({ units: 16, activation: 'tanh', name: 'proj' }));
    m.add(tf.layers.reshape({ targetShape: [4, 2, 2], name: 'unflat' }));
    m.add(tf.layers.conv2dTranspose({ filters: 3, kernelSize: 1, strides: [1, 2], padding: 'same', useBias: false, name: 'd1' })); // 4×4×3
    m.add(tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avg' }));
    m.add(tf.layers.flatten({ name: 'out' }));
    randomizeWeights(m, 23);
    const { bundle, manifest } = await compare(m, 'code', 'rect', { opset: 17 });
    expect(Number(decodeModel(bundle['autoencoder.onnx']!).opsetImport[0]!.version)).toBe(17);
    expect(manifest.inputShape).toEqual([4, 4, 3]);
    expect(manifest.source.layers).toContain('deconv 3 1×1/1×2 same');
  });

  it('a foreign model in aekit\'s conv layout gets a ModelSpec', async () => {
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.reshape({ inputShape: [64], targetShape: [8, 8, 1], name: 'image' }));
    m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'a' }));
    m.add(tf.layers.flatten({}));
    m.add(tf.layers.dense({ units: 6, name: 'z' }));
    m.add(tf.layers.dense({ units: 64, activation: 'relu', name: 'b' }));
    m.add(tf.layers.reshape({ targetShape: [4, 4, 4] }));
    m.add(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid', name: 'c' }));
    m.add(tf.layers.flatten({}));
    randomizeWeights(m, 24);
    const { manifest } = await compare(m, 'z', 'spec');
    expect(manifest.source.spec).toEqual(makeSpec({ image: { height: 8, width: 8, channels: 1 }, conv: [{ filters: 4 }], latent: 6 }));
    expect(manifest.source.layers).toBeUndefined();
  });

  it('normalisation in front of a convolution: scale255 folded into the kernel, minmax as nodes, uint8 input', async () => {
    await initTf();
    const m = poolingModel();
    randomizeWeights(m, 25);
    const files = await foreignFiles(m);
    const dim = 64;
    const min = Array.from({ length: dim }, (_, c) => -3 + (c % 5));
    const max = Array.from({ length: dim }, (_, c) => 4 + (c % 7));
    const cases: Array<{ n: Normalization; raw: (i: number) => number; u8?: boolean }> = [
      { n: { kind: 'scale255' }, raw: (i) => (i * 37) % 256 },
      { n: { kind: 'scale255' }, raw: (i) => (i * 53) % 256, u8: true },
      { n: { kind: 'minmax', min, max }, raw: (i) => min[i % dim]! + ((i * 7) % 11) / 10 * (max[i % dim]! - min[i % dim]!) },
    ];
    for (const { n, raw, u8 } of cases) {
      const { files: bundle } = await exportBundle(files, { splitAfter: 'code', normalization: n, ...(u8 ? { inputDtype: 'uint8' as const } : {}) });
      const xRaw = Float32Array.from({ length: ROWS * dim }, (_, i) => raw(i));
      const xn = Float32Array.from(xRaw, (v, i) => (n.kind === 'minmax' ? (v - n.min[i % dim]!) / (n.max[i % dim]! - n.min[i % dim]!) : v / 255));
      const xt = tf.tensor(xn, [ROWS, 8, 8, 1]);
      const ref = m.predict(xt) as tf.Tensor;
      const zRef = tf.model({ inputs: m.inputs, outputs: m.getLayer('code').output as Sym }).predict(xt) as tf.Tensor;
      const input = u8 ? Uint8Array.from(xRaw) : xRaw;
      const z = await runOnnx(bundle['encoder.onnx']!, 'x', input, ROWS);
      const y = await runOnnx(bundle['autoencoder.onnx']!, 'x', input, ROWS);
      const yNorm = Float32Array.from(y, (v, i) => (n.kind === 'minmax' ? (v - n.min[i % dim]!) / (n.max[i % dim]! - n.min[i % dim]!) : v / 255));
      expect(maxAbsDiff(z, zRef.dataSync()), `${n.kind} z`).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(yNorm, ref.dataSync()), `${n.kind} x_hat`).toBeLessThanOrEqual(TOL);
      const encOps = ops(bundle['encoder.onnx']!);
      // scale255 lives in the conv kernel; minmax needs its per-column Sub and Mul.
      expect(encOps.has('Sub'), n.kind).toBe(n.kind === 'minmax');
      tf.dispose([xt, ref, zRef]);
      checked[`norm-${n.kind}-${u8 ? 'u8' : 'f32'}`] = bundle['encoder.onnx']!;
    }
  });

  it('x_check: the sum of the first convolution\'s output is non-finite exactly when an input value is, and absent when a valid convolution skips pixels', async () => {
    await initTf();
    const m = poolingModel();
    randomizeWeights(m, 26);
    const { files: bundle } = await exportBundle(await foreignFiles(m), { splitAfter: 'code', normalization: { kind: 'scale255' } });
    const s = await ort.InferenceSession.create(bundle['encoder.onnx']!);
    expect(s.outputNames).toEqual(['z', 'x_check']);
    const rows = 2;
    const x = Float32Array.from({ length: rows * 64 }, (_, i) => (i * 29) % 256);
    const check = async (data: Float32Array) => ((await s.run({ x: new ort.Tensor('float32', data, [rows, 64]) }))['x_check']!.data as Float32Array)[0]!;
    expect(Number.isFinite(await check(x))).toBe(true);
    for (const [at, bad] of [[0, NaN], [63, Infinity], [64 + 7 * 8 + 7, -Infinity], [100, NaN]] as const) {
      const y = x.slice();
      y[at] = bad;
      expect(Number.isFinite(await check(y)), `value ${bad} at ${at}`).toBe(false);
    }
    await s.release();

    // A 2×2 'valid' convolution at stride 2 over 5×5 never reads row 4 / column 4: no x_check there.
    const v = tf.sequential();
    v.add(tf.layers.conv2d({ inputShape: [5, 5, 1], filters: 2, kernelSize: 2, strides: 2, padding: 'valid', name: 'code' }));
    v.add(tf.layers.flatten({}));
    v.add(tf.layers.dense({ units: 25, activation: 'sigmoid', name: 'out' }));
    randomizeWeights(v, 27);
    const { bundle: vb } = await compare(v, 'code', 'skip');
    const sv = await ort.InferenceSession.create(vb['encoder.onnx']!);
    expect(sv.outputNames).toEqual(['z']);
    await sv.release();
  });

  it('a Reshape from one image shape to another between convolutions', async () => {
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }));
    m.add(tf.layers.reshape({ targetShape: [8, 2, 4], name: 'regroup' }));
    m.add(tf.layers.conv2d({ filters: 2, kernelSize: 3, strides: [2, 1], padding: 'same', name: 'code' })); // 4×2×2
    m.add(tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: [1, 2], padding: 'same', activation: 'sigmoid', name: 'd' })); // 4×4×2
    randomizeWeights(m, 28);
    const { manifest } = await compare(m, 'code', 'regroup');
    expect(manifest.latentShape).toEqual([4, 2, 2]);
  });

  it('a VAE log-variance head after a conv stack reads the same (CHW-ordered) features as the latent layer', async () => {
    await initTf();
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'c1' }));
    m.add(tf.layers.flatten({ name: 'flat' }));
    m.add(tf.layers.dense({ units: 4, name: 'code' }));
    m.add(tf.layers.dense({ units: 72, name: 'out' }));
    randomizeWeights(m, 29);
    const files = await foreignFiles(m);
    const split = splitChain(parseLayersModel(files['model.json']!, files), 'code');
    const head = { inputDim: 27, units: 4, kernel: randomRows(27, 4, 30, -0.5, 0.5), bias: randomRows(1, 4, 31, -0.1, 0.1) };
    const bytes = buildVaeEncoder(split, head, { opset: 13, inputDtype: 'float32', outputDtype: 'float32', normalization: { kind: 'none' }, denseOp: 'gemm', metadata: {} });
    const x = randomRows(ROWS, 72, 32);
    const xt = tf.tensor(x, [ROWS, 6, 6, 2]);
    const features = tf.model({ inputs: m.inputs, outputs: m.getLayer('flat').output as Sym }).predict(xt) as tf.Tensor2D;
    const zMean = tf.model({ inputs: m.inputs, outputs: m.getLayer('code').output as Sym }).predict(xt) as tf.Tensor;
    const logVar = tf.add(tf.matMul(features, tf.tensor2d(head.kernel, [27, 4])), tf.tensor1d(head.bias));
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ x: new ort.Tensor('float32', x, [ROWS, 72]) });
    expect(maxAbsDiff(out['z_mean']!.data as Float32Array, zMean.dataSync())).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(out['z_log_var']!.data as Float32Array, logVar.dataSync())).toBeLessThanOrEqual(TOL);
    await s.release();
    tf.dispose([xt, features, zMean, logVar]);
  });

  it.skipIf(!checkerAvailable())('every exported graph passes onnx.checker with full_check', () => {
    expect(Object.keys(checked).length).toBeGreaterThanOrEqual(18);
    checkModels(checked);
  });
});
