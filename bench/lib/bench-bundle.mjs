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
