/**
 * ONNX graphs compute what tfjs `predict` computes: every activation (hidden and latent layers), both
 * typical output activations, batch 1 and 257, within 1e-5 max abs; encoder → decoder equals the
 * autoencoder graph; every file passes the official ONNX checker.
 */
import { describe, expect, it } from 'vitest';
import { ACTIVATION_NAMES, type ActivationSpec, type Normalization, makeSpec, normalize } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { decodeModel } from '@aekit/onnx';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { aekitCheckpoint, maxAbsDiff, predict, randomRows, runOnnx, tf } from './helpers/fixtures.js';

const TOL = 1e-5;
const checked: Record<string, Uint8Array> = {};

function activation(name: (typeof ACTIVATION_NAMES)[number]): ActivationSpec {
  return name === 'leakyRelu' ? { name, alpha: 0.1 } : { name };
}

describe.each(['sigmoid', 'linear'] as const)('output activation %s', (output) => {
  it.each([...ACTIVATION_NAMES])('hidden and latent activation %s: ONNX equals tfjs predict at batch 1 and 257', async (name) => {
    const spec = makeSpec({ inputDim: 12, layers: [10], latent: 6, activation: activation(name), latentActivation: activation(name), outputActivation: output });
    const ck = await aekitCheckpoint(spec, { seed: name.length * 7 + (output === 'sigmoid' ? 1 : 2), normalization: { kind: 'none' } });
    const { files } = await exportBundle(ck.files);
    const encoderRef = tf.model({ inputs: ck.model.inputs, outputs: ck.model.getLayer(ck.meta.encoderOutputLayer).output as tf.SymbolicTensor });
    for (const rows of [1, 257]) {
      const x = randomRows(rows, 12, rows);
      const ref = predict(ck.model, x, rows);
      const zRef = predict(encoderRef, x, rows);
      const y = await runOnnx(files['autoencoder.onnx']!, 'x', x, rows);
      const z = await runOnnx(files['encoder.onnx']!, 'x', x, rows);
      const yz = await runOnnx(files['decoder.onnx']!, 'z', z as Float32Array, rows);
      expect(maxAbsDiff(y, ref)).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(z, zRef)).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(yz, y)).toBeLessThanOrEqual(TOL);
      // The check must be able to fail: outputs are not constant across rows.
      if (rows > 1) expect(maxAbsDiff(y.subarray(0, 12), y.subarray(12, 24))).toBeGreaterThan(1e-3);
    }
    for (const [k, v] of Object.entries(files)) if (k.endsWith('.onnx')) checked[`${output}-${name}-${k}`] = v;
  });
});

describe.each<[string, Normalization]>([
  ['scale255', { kind: 'scale255' }],
  ['minmax', { kind: 'minmax', min: Array.from({ length: 12 }, (_, i) => i - 6), max: Array.from({ length: 12 }, (_, i) => (i === 3 ? -3 : i + 10)) }],
])('normalisation %s inside the graphs', (label, normalization) => {
  it('takes and returns raw units', async () => {
    const spec = makeSpec({ inputDim: 12, layers: [8], latent: 4, outputActivation: 'sigmoid' });
    const ck = await aekitCheckpoint(spec, { seed: 5, normalization });
    const { files, manifest } = await exportBundle(ck.files);
    expect(manifest.normalization).toEqual(normalization);
    const rows = 33;
    const raw = label === 'scale255' ? randomRows(rows, 12, 9, 0, 255) : randomRows(rows, 12, 9, -6, 21);
    const ref = predict(ck.model, normalize(normalization, raw, 12), rows);
    const y = (await runOnnx(files['autoencoder.onnx']!, 'x', raw, rows)) as Float32Array;
    // Back to normalised units for the comparison (a zero-range minmax column maps to its min).
    const back = normalize(normalization, y, 12);
    const expected = ref.map((v, i) => (normalization.kind === 'minmax' && i % 12 === 3 ? 0 : v));
    expect(maxAbsDiff(back, expected)).toBeLessThanOrEqual(TOL);
    if (normalization.kind === 'minmax') for (let r = 0; r < rows; r++) expect(y[r * 12 + 3]).toBe(-3);
    for (const [k, v] of Object.entries(files)) if (k.endsWith('.onnx')) checked[`${label}-${k}`] = v;
  });
});

it('writes named dynamic batch dims, I/O names and metadata_props', async () => {
  const spec = makeSpec({ inputDim: 12, layers: [8], latent: 4 });
  const ck = await aekitCheckpoint(spec, { seed: 3 });
  const { files } = await exportBundle(ck.files);
  const io = (bytes: Uint8Array) => {
    const g = decodeModel(bytes).graph!;
    type Info = { name?: string | null; type?: { tensorType?: { shape?: { dim?: Array<{ dimParam?: string | null; dimValue?: unknown }> | null } | null } | null } | null };
    const desc = (v: Info) => `${v.name}[${v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || String(d.dimValue)).join(',')}]`;
    return `${g.input!.map(desc).join(' ')} -> ${g.output!.map(desc).join(' ')}`;
  };
  expect(io(files['encoder.onnx']!)).toBe('x[batch,12] -> z[batch,4] x_check[]'); // x_check: the runtime's NaN/Inf check (docs/bundle.md)
  expect(io(files['decoder.onnx']!)).toBe('z[batch,4] -> x_hat[batch,12]');
  expect(io(files['autoencoder.onnx']!)).toBe('x[batch,12] -> x_hat[batch,12] x_check[]');
  const meta = Object.fromEntries(decodeModel(files['decoder.onnx']!).metadataProps.map((p) => [p.key, p.value]));
  expect(meta['producer']).toBe('@aekit/exporter');
  expect(meta['graph']).toBe('decoder');
  expect(meta['aekit_version']).toMatch(/^\d+\.\d+\.\d+/);
  expect(JSON.parse(meta['spec']!)).toEqual(spec);
  expect(JSON.parse(meta['normalization']!)).toEqual({ kind: 'scale255' });
});

// Runs last (tests in a file run in order): checks every graph the tests above exported.
it.skipIf(!checkerAvailable())('every exported graph passes onnx.checker with full_check', () => {
  expect(Object.keys(checked)).toHaveLength(2 * ACTIVATION_NAMES.length * 3 + 2 * 3);
  checkModels(checked);
});
