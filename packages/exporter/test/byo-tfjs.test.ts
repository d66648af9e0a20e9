/**
 * tfjs autoencoders as people write and save them (issue 18): encoder and decoder as nested
 * Sequential / functional sub-models, files named by tfjs's browser `downloads://` handler
 * (`my-model.json`, `"paths": ["./my-model.weights.bin"]`), an encoder or a decoder on its own
 * (`part`), and weights quantised by the tfjs converter (uint8 / uint16 affine, float16). Every export
 * is compared with tfjs `predict` (≤ 1e-5).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleError, type CheckpointMeta, CheckpointError, ExportError, float32ArrayToFloat16Bits, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { parseLayersModel } from '@aekit/exporter/graphs';
import { readCheckpointFiles } from '@aekit/exporter/node';
import { Codec } from '@aekit/runtime';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { aekitCheckpoint, encode, initTf, maxAbsDiff, predict, randomRows, randomizeWeights, runOnnx, tf } from './helpers/fixtures.js';

const TOL = 1e-5;
const root = mkdtempSync(join(tmpdir(), 'aekit-byo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const checked: Record<string, Uint8Array> = {};

interface Artifacts {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: Uint8Array;
}

async function artifactsOf(model: tf.LayersModel): Promise<Artifacts> {
  let a: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (x) => {
      a = x;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return { modelTopology: a!.modelTopology as object, weightSpecs: a!.weightSpecs!, weightData: new Uint8Array((a!.weightData as ArrayBuffer).slice(0)) };
}

/** The two files tfjs's browser `downloads://NAME` handler writes (browser_files.ts): NAME.json and NAME.weights.bin. */
function downloadsFiles(a: Artifacts, name = 'my-model'): Record<string, Uint8Array> {
  const json = {
    modelTopology: a.modelTopology,
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    weightsManifest: [{ paths: [`./${name}.weights.bin`], weights: a.weightSpecs }],
  };
  return { [`${name}.json`]: encode(json), [`${name}.weights.bin`]: a.weightData };
}

function writeDir(files: Record<string, Uint8Array>): string {
  const dir = join(root, `m${dirs++}`);
  mkdirSync(dir);
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  return dir;
}

/** Writes the files into a fresh directory and reads them back as `aekit export` does. */
async function viaDisk(files: Record<string, Uint8Array>): Promise<{ dir: string; files: Record<string, Uint8Array> }> {
  const dir = writeDir(files);
  return { dir, files: await readCheckpointFiles(dir) };
}

/** Dense encoder 12 → 8 (relu) → dropout → 2 ("code") and decoder 2 → 8 (tanh) → 12 (sigmoid), as sub-models. */
function subModels(): { encoder: tf.Sequential; decoder: tf.Sequential } {
  const encoder = tf.sequential({
    name: 'encoder',
    layers: [
      tf.layers.dense({ units: 8, inputShape: [12], activation: 'relu', name: 'enc_h' }),
      tf.layers.dropout({ rate: 0.3, name: 'enc_drop' }),
      tf.layers.dense({ units: 2, name: 'code' }),
    ],
  });
  const decoder = tf.sequential({
    name: 'decoder',
    layers: [tf.layers.dense({ units: 8, inputShape: [2], activation: 'tanh', name: 'dec_h' }), tf.layers.dense({ units: 12, activation: 'sigmoid', name: 'dec_out' })],
  });
  return { encoder, decoder };
}

/** Exported graphs vs tfjs: autoencoder vs the model, encoder vs `encoder`, decoder (on tfjs latents) vs `decoder`. */
async function expectParity(bundle: Record<string, Uint8Array>, model: tf.LayersModel, encoder: tf.LayersModel, decoder: tf.LayersModel, inputDim: number) {
  const rows = 65;
  const x = randomRows(rows, inputDim, 5);
  const z = predict(encoder, x, rows);
  expect(maxAbsDiff(await runOnnx(bundle['autoencoder.onnx']!, 'x', x, rows), predict(model, x, rows))).toBeLessThanOrEqual(TOL);
  expect(maxAbsDiff(await runOnnx(bundle['encoder.onnx']!, 'x', x, rows), z)).toBeLessThanOrEqual(TOL);
  expect(maxAbsDiff(await runOnnx(bundle['decoder.onnx']!, 'z', z, rows), predict(decoder, z, rows))).toBeLessThanOrEqual(TOL);
}

describe('nested sub-models', () => {
  it('tf.sequential([encoder, decoder]) saved by downloads://: found as my-model.json, ./ paths read, split between the sub-models by default', async () => {
    await initTf();
    const { encoder, decoder } = subModels();
    const ae = tf.sequential({ layers: [encoder, decoder] });
    randomizeWeights(ae, 21);
    const { files } = await viaDisk(downloadsFiles(await artifactsOf(ae)));
    expect(Object.keys(files).sort()).toEqual(['./my-model.weights.bin', 'model.json']);
    const { files: bundle, manifest, model } = await exportBundle(files);
    expect(model.splitAfter).toBe('encoder');
    expect([manifest.inputDim, manifest.latentDim]).toEqual([12, 2]);
    // Flattened, the chain is a plain dense autoencoder: the manifest records it as a spec.
    expect(manifest.source.spec?.latent).toEqual({ units: 2, activation: { name: 'linear' } });
    expect(manifest.source.spec?.outputActivation).toEqual({ name: 'sigmoid' });
    await expectParity(bundle, ae, encoder, decoder, 12);
    Object.entries(bundle).forEach(([k, v]) => k.endsWith('.onnx') && (checked[`nested-seq-${k}`] = v));
  });

  it('a functional model calling a Sequential encoder and a functional decoder; split by sub-model, inner or qualified layer name', async () => {
    await initTf();
    const { encoder } = subModels();
    const zIn = tf.input({ shape: [2], name: 'z_in' });
    let t = tf.layers.dense({ units: 8, activation: 'elu', name: 'dec_h' }).apply(zIn) as tf.SymbolicTensor;
    t = tf.layers.leakyReLU({ alpha: 0.2, name: 'dec_leaky' }).apply(t) as tf.SymbolicTensor;
    t = tf.layers.dense({ units: 12, name: 'dec_out' }).apply(t) as tf.SymbolicTensor;
    const decoder = tf.model({ inputs: zIn, outputs: t, name: 'decoder' });
    const x = tf.input({ shape: [12], name: 'pixels' });
    const ae = tf.model({ inputs: x, outputs: decoder.apply(encoder.apply(x)) as tf.SymbolicTensor, name: 'ae' });
    randomizeWeights(ae, 22);
    const a = await artifactsOf(ae);
    const files = { 'model.json': encode({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }), 'w.bin': a.weightData };
    let first: Uint8Array | undefined;
    for (const split of [undefined, 'encoder', 'code', 'encoder/code']) {
      const { files: bundle, model } = await exportBundle(files, split === undefined ? {} : { splitAfter: split });
      expect(model.splitAfter).toBe(split ?? 'encoder');
      await expectParity(bundle, ae, encoder, decoder, 12);
      // The same cut, however it is named: the same encoder graph up to the bundle id in its metadata.
      first ??= bundle['encoder.onnx'];
      expect(bundle['encoder.onnx']!.length).toBe(first!.length);
    }
    // A layer inside the encoder: the latent is its 8 hidden units.
    const { manifest } = await exportBundle(files, { splitAfter: 'encoder/enc_drop' });
    expect(manifest.latentDim).toBe(8);
    await expect(exportBundle(files, { splitAfter: 'nope' })).rejects.toThrow(
      /split layer "nope" does not exist; the model's layers are: pixels, encoder\/enc_h, encoder\/enc_drop, encoder\/code, encoder \(sub-model\), decoder\/z_in, decoder\/dec_h/,
    );
  });

  it('a convolutional encoder and decoder as sub-models', async () => {
    await initTf();
    const encoder = tf.sequential({
      name: 'encoder',
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'p1' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 3, name: 'code' }),
      ],
    });
    const decoder = tf.sequential({
      name: 'decoder',
      layers: [
        tf.layers.dense({ units: 64, inputShape: [3], activation: 'relu', name: 'd1' }),
        tf.layers.reshape({ targetShape: [4, 4, 4], name: 'r' }),
        tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid', name: 'up' }),
      ],
    });
    const ae = tf.sequential({ layers: [encoder, decoder] });
    randomizeWeights(ae, 23);
    const a = await artifactsOf(ae);
    const { files: bundle, manifest } = await exportBundle({
      'model.json': encode({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['./w.bin'], weights: a.weightSpecs }] }),
      'w.bin': a.weightData,
    });
    expect(manifest.inputShape).toEqual([8, 8, 1]);
    const rows = 9;
    const x = randomRows(rows, 64, 6, 0, 1);
    const xt = tf.tensor(x, [rows, 8, 8, 1]);
    const ref = (t: tf.LayersModel, input: tf.Tensor) => Float32Array.from((t.predict(input) as tf.Tensor).dataSync());
    const z = ref(encoder, xt);
    expect(maxAbsDiff(await runOnnx(bundle['autoencoder.onnx']!, 'x', x, rows), ref(ae, xt))).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(await runOnnx(bundle['encoder.onnx']!, 'x', x, rows), z)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(await runOnnx(bundle['decoder.onnx']!, 'z', z, rows), ref(decoder, tf.tensor2d(z, [rows, 3])))).toBeLessThanOrEqual(TOL);
    Object.entries(bundle).forEach(([k, v]) => k.endsWith('.onnx') && (checked[`nested-conv-${k}`] = v));
  });

  it('two layers with one name in different sub-models: the weights cannot be told apart', async () => {
    await initTf();
    const enc = tf.sequential({ name: 'encoder', layers: [tf.layers.dense({ units: 2, inputShape: [4], name: 'dense' })] });
    const dec = tf.sequential({ name: 'decoder', layers: [tf.layers.dense({ units: 4, inputShape: [2], name: 'dense' })] });
    const a = await artifactsOf(tf.sequential({ layers: [enc, dec] }));
    const files = { 'model.json': encode({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }), 'w.bin': a.weightData };
    await expect(exportBundle(files)).rejects.toThrow(/another layer is also named "dense".*give the layers unique names/);
  });
});

describe('an encoder or a decoder on its own (part)', () => {
  it('a decoder 2 → 784 exports with part "decoder"; without it the width error points to --part', async () => {
    await initTf();
    const decoder = tf.sequential({
      layers: [tf.layers.dense({ units: 32, inputShape: [2], activation: 'relu', name: 'h' }), tf.layers.dense({ units: 784, activation: 'sigmoid', name: 'out' })],
    });
    randomizeWeights(decoder, 31);
    const { files } = await viaDisk(downloadsFiles(await artifactsOf(decoder), 'vae-decoder'));
    await expect(exportBundle(files, { splitAfter: 'h' })).rejects.toThrow(/maps 2 inputs to 784 outputs.*--part encoder or --part decoder/);
    await expect(exportBundle(files)).rejects.toThrow(/--split-after LAYER .*or export an encoder or decoder on its own with --part/);
    const { files: bundle, manifest } = await exportBundle(files, { part: 'decoder', normalization: { kind: 'scale255' } });
    expect(Object.keys(bundle).sort()).toEqual(['decoder.onnx', 'manifest.json']);
    expect(manifest).toMatchObject({ part: 'decoder', inputDim: 784, latentDim: 2 });
    expect(Object.keys(manifest.files)).toEqual(['decoder']);
    expect(manifest.source.layers).toBe('[latent 2] → dense 32 → relu → dense 784 → sigmoid → 784');
    const rows = 33;
    const z = randomRows(rows, 2, 7);
    const want = predict(decoder, z, rows).map((v) => v * 255);
    const codec = await Codec.load({ manifest: bundle['manifest.json']!, files: { decoder: bundle['decoder.onnx']! } }, { device: 'cpu' });
    try {
      expect(maxAbsDiff((await codec.decode(z, rows)).data, want)).toBeLessThanOrEqual(TOL * 255);
      await expect(codec.encode(new Float32Array(784), 1)).rejects.toThrow(BundleError);
      await expect(codec.encode(new Float32Array(784), 1)).rejects.toThrow(/encode: this bundle is the decoder alone .*--part encoder/);
      await expect(codec.reconstruct(new Float32Array(784), 1)).rejects.toThrow(/needs the whole autoencoder/);
      await expect(codec.compress(new Float32Array(784))).rejects.toThrow(/compression needs a whole bundle/);
    } finally {
      await codec.dispose();
    }
    checked['part-decoder'] = bundle['decoder.onnx']!;
  });

  it('an encoder on its own, and each half of an [encoder, decoder] model', async () => {
    await initTf();
    const { encoder, decoder } = subModels();
    const ae = tf.sequential({ layers: [encoder, decoder] });
    randomizeWeights(ae, 32);
    const a = await artifactsOf(ae);
    const files = { 'model.json': encode({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }), 'w.bin': a.weightData };
    const rows = 17;
    const x = randomRows(rows, 12, 8);
    const z = predict(encoder, x, rows);

    const enc = await exportBundle(files, { part: 'encoder' });
    expect(Object.keys(enc.files).sort()).toEqual(['encoder.onnx', 'manifest.json']);
    expect(enc.manifest).toMatchObject({ part: 'encoder', inputDim: 12, latentDim: 2 });
    const codec = await Codec.load({ manifest: enc.files['manifest.json']!, files: { encoder: enc.files['encoder.onnx']! } }, { device: 'cpu' });
    try {
      expect(maxAbsDiff((await codec.encode(x, rows)).data, z)).toBeLessThanOrEqual(TOL);
      await expect(codec.decode(z, rows)).rejects.toThrow(/decode: this bundle is the encoder alone \(manifest part "encoder"\).*--part decoder/);
    } finally {
      await codec.dispose();
    }

    const dec = await exportBundle(files, { part: 'decoder' });
    expect(dec.manifest).toMatchObject({ part: 'decoder', inputDim: 12, latentDim: 2 });
    expect(maxAbsDiff(await runOnnx(dec.files['decoder.onnx']!, 'z', z, rows), predict(decoder, z, rows))).toBeLessThanOrEqual(TOL);
    // The whole model as an encoder (12 → 12): part without a split takes every layer.
    const whole = await exportBundle(files, { part: 'encoder', splitAfter: 'decoder' });
    expect(whole.manifest.latentDim).toBe(12);
    expect(enc.manifest.bundleId).not.toBe(dec.manifest.bundleId);

    // Graphs and manifest must agree on the part: the other half's files are refused.
    const m = JSON.parse(new TextDecoder().decode(enc.files['manifest.json']!));
    m.files.decoder = m.files.encoder;
    await expect(Codec.load({ manifest: m, files: { encoder: enc.files['encoder.onnx']! } })).rejects.toThrow(/files.decoder is listed but the bundle holds the encoder only/);
    await expect(exportBundle(files, { part: 'both' as 'encoder' })).rejects.toThrow(ExportError);
  });
});

describe('halves of an aekit checkpoint', () => {
  it("a VAE's decoder stays a VAE bundle (sample works); its encoder keeps z_log_var", async () => {
    const spec = makeSpec({ inputDim: 10, layers: [6], latent: 2 });
    const { files, model, meta } = await aekitCheckpoint(spec, { seed: 61 });
    const vae: CheckpointMeta = { ...meta, vae: { beta: 1, logVar: { inputDim: 6, units: 2, kernel: Array.from({ length: 12 }, (_, i) => i / 12 - 0.5), bias: [0.1, -0.1] } } };
    const vaeFiles = { ...files, 'aekit.json': encode(vae) };
    const dec = await exportBundle(vaeFiles, { part: 'decoder' });
    expect(dec.manifest).toMatchObject({ variant: 'vae', part: 'decoder', inputDim: 10, latentDim: 2 });
    const codec = await Codec.load({ manifest: dec.files['manifest.json']!, files: { decoder: dec.files['decoder.onnx']! } }, { device: 'cpu' });
    try {
      const drawn = await codec.sample(5, 7);
      expect([drawn.rows, drawn.cols]).toEqual([5, 10]);
      // The decoder is the checkpoint's: latents → the layers after "latent", then ×255 (scale255).
      const z = randomRows(5, 2, 3);
      let t: tf.Tensor = tf.tensor2d(z, [5, 2]);
      for (const l of model.layers.slice(model.layers.findIndex((x) => x.name === 'latent') + 1)) t = l.apply(t) as tf.Tensor;
      const want = Float32Array.from(t.dataSync(), (v) => v * 255);
      expect(maxAbsDiff((await codec.decode(z, 5)).data, want)).toBeLessThanOrEqual(255 * TOL);
    } finally {
      await codec.dispose();
    }
    const enc = await exportBundle(vaeFiles, { part: 'encoder' });
    expect(enc.manifest).toMatchObject({ variant: 'vae', part: 'encoder' });
    expect(enc.manifest.source.spec).toBeUndefined();
    const s = await (await import('onnxruntime-node')).InferenceSession.create(enc.files['encoder.onnx']!);
    expect(s.outputNames).toContain('z_log_var');
    await s.release();
    // The spec check still covers the whole model: a checkpoint whose split disagrees is refused.
    await expect(exportBundle(vaeFiles, { part: 'encoder', splitAfter: 'enc_0' })).rejects.toThrow(/records its encoder's last layer/);
  });
});

/**
 * What the tfjs converter writes for `--quantize_uint8` / `--quantize_uint16` (affine, min nudged so
 * that 0 is exact: tensorflowjs/quantization.py) and `--quantize_float16`.
 */
function quantize(a: Artifacts, dtype: 'uint8' | 'uint16' | 'float16'): Artifacts {
  const all = new Float32Array(a.weightData.buffer, a.weightData.byteOffset, a.weightData.byteLength / 4);
  const parts: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  let at = 0;
  for (const s of a.weightSpecs) {
    const n = s.shape.reduce((x, y) => x * y, 1);
    const v = all.subarray(at, at + n);
    at += n;
    if (dtype === 'float16') {
      parts.push(new Uint8Array(float32ArrayToFloat16Bits(v).buffer));
      specs.push({ ...s, quantization: { dtype: 'float16' } });
      continue;
    }
    const qmax = dtype === 'uint8' ? 255 : 65535;
    const lo = Math.min(0, ...v);
    const hi = Math.max(0, ...v);
    const scale = hi > lo ? (hi - lo) / qmax : 1;
    const zero = Math.round(-lo / scale);
    const min = -zero * scale;
    const q = Array.from(v, (x) => Math.max(0, Math.min(qmax, Math.round((x - min) / scale))));
    parts.push(dtype === 'uint8' ? Uint8Array.from(q) : new Uint8Array(Uint16Array.from(q).buffer));
    specs.push({ ...s, quantization: { dtype, scale, min } });
  }
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { modelTopology: a.modelTopology, weightSpecs: specs, weightData: data };
}

describe('weights quantised by the tfjs converter', () => {
  it.each(['uint8', 'uint16', 'float16'] as const)('%s: dequantised as tfjs does, within the quantisation error of the float model', async (dtype) => {
    await initTf();
    const { encoder, decoder } = subModels();
    const ae = tf.sequential({ layers: [encoder, decoder] });
    randomizeWeights(ae, 41);
    const float = await artifactsOf(ae);
    const q = quantize(float, dtype);
    const files = { 'model.json': encode({ modelTopology: q.modelTopology, weightsManifest: [{ paths: ['q.bin'], weights: q.weightSpecs }] }), 'q.bin': q.weightData };
    // Each weight within half a quantisation step of the float one (float16: its relative precision).
    const deq = parseLayersModel(files['model.json'], files).steps;
    const exact = parseLayersModel(encode({ modelTopology: float.modelTopology, weightsManifest: [{ paths: ['f.bin'], weights: float.weightSpecs }] }), { 'f.bin': float.weightData }).steps;
    deq.forEach((s, i) => {
      if (s.kind !== 'dense') return;
      const f = exact[i] as typeof s;
      const spec = q.weightSpecs.find((w) => w.name.endsWith(`${s.origin.layer.split('/').at(-1)}/kernel`))!.quantization as { scale?: number };
      const bound = dtype === 'float16' ? Math.max(...Array.from(f.kernel, Math.abs)) * 2 ** -11 : spec.scale! / 2;
      expect(maxAbsDiff(s.kernel, f.kernel)).toBeLessThanOrEqual(bound * (1 + 1e-6));
      expect(maxAbsDiff(s.kernel, f.kernel)).toBeGreaterThan(0);
    });
    const { files: bundle } = await exportBundle(files);
    // tfjs loading the quantised files is the reference: the same numbers.
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: q.modelTopology, weightSpecs: q.weightSpecs, weightData: q.weightData.slice().buffer }));
    const rows = 40;
    const x = randomRows(rows, 12, 9);
    const y = await runOnnx(bundle['autoencoder.onnx']!, 'x', x, rows);
    expect(maxAbsDiff(y, predict(loaded, x, rows))).toBeLessThanOrEqual(TOL);
    const drift = maxAbsDiff(y, predict(ae, x, rows));
    expect(drift).toBeGreaterThan(0);
    expect(drift).toBeLessThan(dtype === 'uint8' ? 0.05 : 1e-3);
    loaded.dispose();
  });

  it('an unknown quantisation dtype names the weight and the supported ones', async () => {
    await initTf();
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], name: 'a' }), tf.layers.dense({ units: 3, name: 'b' })] });
    const a = await artifactsOf(m);
    const specs = a.weightSpecs.map((s, i) => (i === 0 ? { ...s, quantization: { dtype: 'int4' } } : s));
    const files = { 'model.json': encode({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: specs }] }), 'w.bin': a.weightData };
    const e = await exportBundle(files, { splitAfter: 'a' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/weight "a\/kernel" is quantised as "int4"; the tfjs converter's quantisations uint8, uint16 and float16 are supported/);
  });
});

describe('files as tfjs names them', () => {
  it('a folder with several tfjs models is refused, naming them; the .json path picks one', async () => {
    await initTf();
    const { encoder, decoder } = subModels();
    const ae = tf.sequential({ layers: [encoder, decoder] });
    const a = await artifactsOf(ae);
    const dir = writeDir({ ...downloadsFiles(a, 'first'), ...downloadsFiles(a, 'second'), 'notes.json': encode({ hello: 1 }) });
    await expect(readCheckpointFiles(dir)).rejects.toThrow(/holds 2 tfjs models \(first\.json, second\.json\); pass the one to export as the path of its \.json file/);
    const files = await readCheckpointFiles(join(dir, 'second.json'));
    expect(Object.keys(files).sort()).toEqual(['./second.weights.bin', 'model.json']);
  });

  it('unsupported layers name the layer and the nearest fix', async () => {
    await initTf();
    const m = tf.sequential({
      layers: [
        tf.sequential({ name: 'encoder', layers: [tf.layers.dense({ units: 4, inputShape: [6], name: 'e' }), tf.layers.batchNormalization({ name: 'bn' })] }),
        tf.layers.dense({ units: 6, name: 'd' }),
      ],
    });
    const a = await artifactsOf(m);
    const files = { 'model.json': encode({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }), 'w.bin': a.weightData };
    await expect(exportBundle(files, { splitAfter: 'encoder' })).rejects.toThrow(
      /unsupported layer "encoder\/bn" \(BatchNormalization\) at position 2 of 3; the exporter handles .*; nearest fix: fold it into the preceding Dense or Conv2D/,
    );
  });
});

describe('onnx.checker', () => {
  it.skipIf(!checkerAvailable())('every graph exported here passes onnx.checker with full_check', () => {
    expect(Object.keys(checked).length).toBeGreaterThanOrEqual(7);
    checkModels(checked);
  });
});
