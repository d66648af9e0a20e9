// A bundle directory for the runtime benches: the three graphs of a 784 → 32 → 784 float32 model with
// scale255 normalisation, and the manifest the runtime checks them against (hashes included).
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes `files` ({encoder, decoder, autoencoder}: ONNX bytes) with their manifest into a fresh temp dir; returns it. */
export function writeBenchBundle(files) {
  const entry = (g) => ({ path: `${g}.onnx`, sha256: createHash('sha256').update(files[g]).digest('hex'), bytes: files[g].length });
  const manifest = {
    format: 'aekit-bundle', formatVersion: 1, producer: 'bench', aekitVersion: '0.1.0', opset: 13, variant: 'ae',
    inputDim: 784, latentDim: 32, inputDtype: 'float32', outputDtype: 'float32', weights: 'float32',
    normalization: { kind: 'scale255' }, latentRange: { min: Array(32).fill(-1), max: Array(32).fill(1) },
    files: { encoder: entry('encoder'), decoder: entry('decoder'), autoencoder: entry('autoencoder') },
    source: { checkpointSha256: '0'.repeat(64), spec: {} }, createdAt: new Date().toISOString(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'aekit-bench-'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const g of ['encoder', 'decoder', 'autoencoder']) writeFileSync(join(dir, `${g}.onnx`), files[g]);
  return dir;
}

/**
 * Writes a bundle of the default 784-64-32-[32]-32-64-784 model with seeded random weights (speed does
 * not depend on the weights' values), its graphs built by the exporter's `buildGraphs` (passed in, so
 * benches that never need it do not load the exporter); returns the directory.
 */
export function writeRandomBenchBundle(buildGraphs) {
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5) * 2;
  const layers = [[784, 64, 'relu'], [64, 32, 'relu'], [32, 32, null], [32, 32, 'relu'], [32, 64, 'relu'], [64, 784, 'sigmoid']];
  const steps = layers.flatMap(([i, o, act], k) => {
    const origin = { layer: `l${k}`, position: k + 1, count: layers.length };
    const kernel = Float32Array.from({ length: i * o }, () => rand() * Math.sqrt(6 / i));
    const bias = Float32Array.from({ length: o }, () => rand() * 0.1);
    const d = { kind: 'dense', origin, inputDim: i, units: o, kernel, bias };
    return act ? [d, { kind: 'activation', origin, activation: { name: act } }] : [d];
  });
  const split = { inputDim: 784, latentDim: 32, encoder: steps.slice(0, 5), decoder: steps.slice(5), spec: {} };
  return writeBenchBundle(buildGraphs(split, { opset: 13, inputDtype: 'float32', outputDtype: 'float32', normalization: { kind: 'scale255' }, denseOp: 'gemm', metadata: {} }));
}
