#!/usr/bin/env node
// Cost of the bundle integrity checks at load (docs/reliability.md, "Integrity") on the default
// 784-64-32-[32]-32-64-784 model with seeded random weights and 784-wide minmax normalisation: the
// ONNX framing scan, the graph-metadata cross-check and the manifest fingerprint, next to the SHA-256
// of the graphs (checked before this change too) and a whole Codec.load. Mean µs per call.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { DEFAULT_SPEC, modelLayers, writeLayersModel, sha256Hex, Rng, computeManifestFingerprint, CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, DEFAULT_ADAM } = await import(join(root, 'packages/core/dist/index.js'));
const { exportBundle } = await import(join(root, 'packages/exporter/dist/index.js'));
const { Codec } = await import(join(root, 'packages/runtime/dist/node.js'));
const { scanOnnx } = await import(join(root, 'packages/runtime/dist/onnx-scan.js'));
const { checkGraphsAgainstManifest } = await import(join(root, 'packages/runtime/dist/integrity.js'));
const spec = DEFAULT_SPEC;
const rng = new Rng(1);
const params = modelLayers(spec).map((l) => ({ name: l.name, inputDim: l.inputDim, units: l.units, kernel: Float32Array.from({ length: l.inputDim * l.units }, () => rng.next() - 0.5), bias: new Float32Array(l.units) }));
const { modelJson, weights } = writeLayersModel(spec, params);
const D = spec.inputDim;
const meta = { format: CHECKPOINT_FORMAT, formatVersion: CHECKPOINT_FORMAT_VERSION, spec, encoderOutputLayer: 'latent',
  normalization: { kind: 'minmax', min: Array.from({ length: D }, (_, i) => i / 1000), max: Array.from({ length: D }, (_, i) => 1 + i / 1000) },
  latentRange: { min: new Array(spec.latent.units).fill(-1), max: new Array(spec.latent.units).fill(1) },
  training: { engine: 'tfjs', backend: 'cpu', loss: 'mse', optimizer: { name: 'adam', ...DEFAULT_ADAM }, batchSize: 8, epochs: 1, seed: 1, valSplit: 0, l1: 0, l2: 0 },
  history: [], epochsCompleted: 1, weightsSha256: await sha256Hex(weights), versions: {}, createdAt: 'x' };
const enc = new TextEncoder();
const b = await exportBundle({ 'model.json': typeof modelJson === 'string' ? enc.encode(modelJson) : modelJson, 'weights.bin': weights, 'aekit.json': enc.encode(JSON.stringify(meta)) });
const files = { encoder: b.files['encoder.onnx'], decoder: b.files['decoder.onnx'], autoencoder: b.files['autoencoder.onnx'] };
const time = async (name, f, n = 200) => { for (let i = 0; i < 20; i++) await f(); const t = performance.now(); for (let i = 0; i < n; i++) await f(); console.log(`${name}: ${((performance.now() - t) / n * 1000).toFixed(1)} µs`); };
console.log('graph bytes', Object.values(files).map((f) => f.length).join(' '));
await time('scanOnnx x3', () => { for (const g of ['encoder','decoder','autoencoder']) scanOnnx(files[g], g); });
await time('checkGraphsAgainstManifest', () => checkGraphsAgainstManifest(b.manifest, files));
await time('computeManifestFingerprint', () => computeManifestFingerprint(b.manifest));
await time('sha256 of the 3 graphs', () => Promise.all(Object.values(files).map((f) => sha256Hex(f))));
await time('Codec.load (cpu, 1 thread)', async () => (await Codec.load({ manifest: b.files['manifest.json'], files }, { device: 'cpu', threads: 1 })).dispose(), 20);
