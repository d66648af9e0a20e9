/**
 * aekit convolutional checkpoints (model.json + weights.bin from core's writeLayersModel, aekit.json)
 * export: vector and spatial latents, dense layers between, a leakyRelu latent; the graphs match tfjs
 * running the checkpoint itself (tf.loadLayersModel: the encoder output layer and predict) within 1e-5 with the
 * normalisation baked in, the manifest records spec and shapes, a model.json that disagrees with its
 * aekit.json's conv fields is refused, and int8 / float16 weight variants cover the conv kernels.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type BundleManifest,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  CheckpointError,
  DEFAULT_ADAM,
  type LayerParams,
  type ModelSpec,
  type Normalization,
  Rng,
  checkManifestFingerprint,
  encoderOutputLayerName,
  makeSpec,
  modelLayers,
  parseManifest,
  writeLayersModel,
} from '@aekit/core';
import { exportBundle, quantizeBundle, weightsTolerance } from '@aekit/exporter';
import { decodeModel } from '@aekit/onnx';
import * as tf from '@tensorflow/tfjs';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { encode, initTf, maxAbsDiff, runOnnx } from './helpers/fixtures.js';

const TOL = 1e-5;
const ROWS = 19;
const checked: Record<string, Uint8Array> = {};

function randomParams(spec: ModelSpec, seed: number): LayerParams[] {
  const rng = new Rng(seed);
  return modelLayers(spec).map((l) => {
    const limit = Math.sqrt(6 / (l.fanIn + l.fanOut));
    return {
      name: l.name,
      inputDim: l.inputDim,
      units: l.units,
      kernel: Float32Array.from({ length: l.inputDim * l.units }, () => (rng.next() * 2 - 1) * limit),
      bias: Float32Array.from({ length: l.units }, () => (rng.next() * 2 - 1) * 0.1),
    };
  });
}

function checkpoint(spec: ModelSpec, params: LayerParams[], normalization: Normalization): Record<string, Uint8Array> {
  const { modelJson, weights } = writeLayersModel(spec, params);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    spec,
    encoderOutputLayer: encoderOutputLayerName(spec),
    normalization,
    latentRange: { min: new Array(spec.latent.units).fill(-1), max: new Array(spec.latent.units).fill(1) },
    training: {
      engine: 'tfjs',
      backend: 'cpu',
      loss: 'mse',
      optimizer: { name: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      batchSize: 8,
      epochs: 1,
      seed: 1,
      valSplit: 0,
      l1: 0,
      l2: 0,
    },
    history: [],
    epochsCompleted: 1,
    weightsSha256: createHash('sha256').update(weights).digest('hex'),
    versions: {},
    createdAt: '2026-11-26T00:00:00.000Z',
  };
  return { 'model.json': new TextEncoder().encode(modelJson), 'weights.bin': weights, 'aekit.json': encode(meta) };
}

const image = { height: 8, width: 8, channels: 2 };
const SPECS: Array<[string, ModelSpec, Normalization]> = [
  ['vector latent', makeSpec({ image, conv: [{ filters: 4 }, { filters: 6 }], latent: 5 }), { kind: 'scale255' }],
  ['dense layers, leakyRelu latent', makeSpec({ image, conv: [{ filters: 3, kernel: 5 }], layers: [12], latent: 4, activation: 'tanh', latentActivation: { name: 'leakyRelu', alpha: 0.1 } }), { kind: 'none' }],
  [
    'spatial latent',
    makeSpec({ image: { height: 8, width: 8, channels: 3 }, conv: [{ filters: 4 }], latentShape: [2, 2, 3], activation: 'swish', outputActivation: 'linear' }),
    { kind: 'minmax', min: Array.from({ length: 192 }, (_, c) => (c % 9) - 4), max: Array.from({ length: 192 }, (_, c) => (c % 9) + 1 + (c % 4)) },
  ],
];

describe('aekit conv checkpoints', () => {
  it.each(SPECS)('%s: graphs match the checkpoint run by tfjs (encoder output, predict)', async (name, spec, normalization) => {
    await initTf(); // cpu backend, no tfjs-node banner
    const params = randomParams(spec, name.length);
    const { files: bundle, manifest } = await exportBundle(checkpoint(spec, params, normalization));
    expect(manifest.source.spec).toEqual(spec);
    expect(manifest.inputShape).toEqual([spec.image!.height, spec.image!.width, spec.image!.channels]);
    expect(manifest.latentShape).toEqual(spec.latent.shape);
    expect(manifest.latentDim).toBe(spec.latent.units);

    const dim = spec.inputDim;
    const norm = (v: number, c: number) =>
      normalization.kind === 'minmax' ? (v - normalization.min[c]!) / (normalization.max[c]! - normalization.min[c]!) : normalization.kind === 'scale255' ? v / 255 : v;
    const rng = new Rng(7);
    const raw = Float32Array.from({ length: ROWS * dim }, (_, i) =>
      normalization.kind === 'minmax' ? normalization.min[i % dim]! + rng.next() * (normalization.max[i % dim]! - normalization.min[i % dim]!) : normalization.kind === 'scale255' ? Math.floor(rng.next() * 256) : rng.next() * 4 - 2,
    );
    const xn = Float32Array.from(raw, (v, i) => norm(v, i % dim));
    const { modelJson, weights } = writeLayersModel(spec, params);
    const json = JSON.parse(modelJson) as tf.io.ModelJSON;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: weights.slice().buffer }),
    );
    const encoder = tf.model({ inputs: model.inputs, outputs: model.getLayer(encoderOutputLayerName(spec)).output as tf.SymbolicTensor });
    const [zRef, yRef] = tf.tidy(() => {
      const x = tf.tensor2d(xn, [ROWS, dim]);
      const flat = (t: tf.Tensor) => t.reshape([ROWS, -1]).dataSync().slice() as Float32Array;
      return [flat(encoder.predict(x) as tf.Tensor), flat(model.predict(x) as tf.Tensor)];
    });
    model.dispose();

    const z = await runOnnx(bundle['encoder.onnx']!, 'x', raw, ROWS);
    const y = await runOnnx(bundle['autoencoder.onnx']!, 'x', raw, ROWS);
    const yz = await runOnnx(bundle['decoder.onnx']!, 'z', z as Float32Array, ROWS);
    const yn = Float32Array.from(y, (v, i) => norm(v, i % dim));
    expect(maxAbsDiff(z, zRef)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(yn, yRef)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(Float32Array.from(yz, (v, i) => norm(v, i % dim)), yn)).toBeLessThanOrEqual(TOL);
    for (const [k, v] of Object.entries(bundle)) if (k.endsWith('.onnx')) checked[`${name}-${k}`] = v;
  });

  it('a model.json whose conv layers disagree with aekit.json is refused', async () => {
    const spec = SPECS[0]![1];
    const files = checkpoint(spec, randomParams(spec, 3), { kind: 'none' });
    const other = makeSpec({ image, conv: [{ filters: 4 }, { filters: 6, stride: 1 }], latent: 5 });
    const meta = JSON.parse(new TextDecoder().decode(files['aekit.json']!)) as CheckpointMeta;
    meta.spec = other;
    const e = await exportBundle({ ...files, 'aekit.json': encode(meta) }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/model\.json \(8×8×2 → conv 4 3×3\/2 relu → conv 6 3×3\/2 relu → .*\) does not match the spec in aekit\.json \(8×8×2 → conv 4 3×3\/2 relu → conv 6 3×3\/1 relu/);
  });

  it('the manifest validates the shapes it records, and its fingerprint covers them', async () => {
    const spec = SPECS[2]![1];
    const { manifest } = await exportBundle(checkpoint(spec, randomParams(spec, 4), { kind: 'none' }));
    expect(() => parseManifest(manifest)).not.toThrow();
    await expect(checkManifestFingerprint(manifest)).resolves.toBeUndefined();
    const edited = (patch: Record<string, unknown>) => ({ ...JSON.parse(JSON.stringify(manifest)), ...patch }) as BundleManifest;
    expect(() => parseManifest(edited({ latentShape: [3, 2, 3] }))).toThrow(/latentShape 3×2×3 holds 18 values but the manifest's latentDim is 12/);
    expect(() => parseManifest(edited({ inputShape: [8, 8] }))).toThrow(/inputShape must be \[height, width, channels\]/);
    expect(() => parseManifest(edited({ source: { ...manifest.source, layers: 7 } }))).toThrow(/source\.layers must be a non-empty string/);
    // Same sizes, another arrangement: valid on its own, but the fingerprint names the edit.
    await expect(checkManifestFingerprint(edited({ latentShape: [1, 4, 3] }))).rejects.toThrow(/group "model"/);
  });

  it('float16 and int8 weight variants quantise the conv kernels too', async () => {
    const spec = SPECS[2]![1];
    const { files, manifest } = await exportBundle(checkpoint(spec, randomParams(spec, 5), { kind: 'none' }));
    for (const weights of ['float16', 'int8'] as const) {
      const q = await quantizeBundle({ files, manifest }, weights);
      const enc = decodeModel(q.files['encoder.onnx']!).graph!;
      const conv = enc.node!.filter((n) => n.opType === 'Conv');
      expect(conv.length).toBe(2);
      const produced = new Map(enc.node!.flatMap((n) => (n.output ?? []).map((o) => [o, n.opType!] as const)));
      // Every conv kernel is now computed from its narrower storage (Cast or DequantizeLinear).
      for (const n of conv) expect(produced.get(n.input![1]!), `${weights} ${n.input![1]}`).toBe(weights === 'int8' ? 'DequantizeLinear' : 'Cast');
      if (weights === 'int8') {
        // One scale per output channel: ONNX Conv W is [cout, cin, kh, kw], ConvTranspose W [cin, cout, kh, kw].
        const dec = decodeModel(q.files['decoder.onnx']!).graph!;
        const inits = new Map([...enc.initializer!, ...dec.initializer!].map((t) => [t.name!, t]));
        const nodes = [...enc.node!, ...dec.node!];
        const convs = nodes.filter((n) => n.opType === 'Conv' || n.opType === 'ConvTranspose');
        expect(convs.map((n) => n.opType).sort()).toEqual(['Conv', 'Conv', 'ConvTranspose', 'ConvTranspose']);
        for (const n of convs) {
          const dq = nodes.find((d) => d.opType === 'DequantizeLinear' && d.output![0] === n.input![1])!;
          const w = inits.get(dq.input![0]!)!.dims!.map(Number);
          expect(inits.get(dq.input![1]!)!.dims!.map(Number), n.input![1]!).toEqual([n.opType === 'Conv' ? w[0] : w[1]]);
        }
      }
      // Per-channel scales on the right axis (Conv: 0, ConvTranspose: 1) keep the reconstruction close.
      const x = Float32Array.from({ length: ROWS * spec.inputDim }, (_, i) => ((i * 13) % 17) / 8 - 1);
      const ref = await runOnnx(files['autoencoder.onnx']!, 'x', x, ROWS);
      const got = await runOnnx(q.files['autoencoder.onnx']!, 'x', x, ROWS);
      const d = maxAbsDiff(got, ref);
      expect(d).toBeGreaterThan(0);
      expect(d, weights).toBeLessThanOrEqual(weightsTolerance(weights, 'autoencoder', 'float32', TOL));
      for (const [k, v] of Object.entries(q.files)) if (k.endsWith('.onnx')) checked[`q-${weights}-${k}`] = v;
    }
  });

  it.skipIf(!checkerAvailable())('every exported graph passes onnx.checker with full_check', () => {
    expect(Object.keys(checked).length).toBe(15);
    checkModels(checked);
  });
});
