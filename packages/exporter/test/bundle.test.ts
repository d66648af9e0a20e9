/**
 * Bundle options and manifest: uint8 in/out graphs agree with the float path after quantisation,
 * opsets 13–17 all load and pass the checker, the manifest records hashes, sizes and the checkpoint.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GRAPH_IO, makeSpec, parseManifestText } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { decodeModel } from '@aekit/onnx';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { aekitCheckpoint, maxAbsDiff, randomRows, runOnnx } from './helpers/fixtures.js';

const spec = makeSpec({ inputDim: 24, layers: [16], latent: 4, activation: 'elu', outputActivation: 'sigmoid' });
const checked: Record<string, Uint8Array> = {};

describe('uint8 input and output', () => {
  it('match the float32 graphs after quantisation', async () => {
    const ck = await aekitCheckpoint(spec, { seed: 21 });
    const float = await exportBundle(ck.files);
    const bytes = await exportBundle(ck.files, { inputDtype: 'uint8', outputDtype: 'uint8' });
    expect(bytes.manifest).toMatchObject({ inputDtype: 'uint8', outputDtype: 'uint8' });
    const rows = 257;
    const raw = Uint8Array.from(randomRows(rows, 24, 4, 0, 256), Math.floor);
    const zF = await runOnnx(float.files['encoder.onnx']!, 'x', Float32Array.from(raw), rows);
    const zU = await runOnnx(bytes.files['encoder.onnx']!, 'x', raw, rows);
    expect(zU).toBeInstanceOf(Float32Array);
    expect(maxAbsDiff(zU, zF)).toBeLessThanOrEqual(1e-6);

    const yF = await runOnnx(float.files['autoencoder.onnx']!, 'x', Float32Array.from(raw), rows);
    const yU = await runOnnx(bytes.files['autoencoder.onnx']!, 'x', raw, rows);
    const dF = await runOnnx(float.files['decoder.onnx']!, 'z', zF as Float32Array, rows);
    const dU = await runOnnx(bytes.files['decoder.onnx']!, 'z', zF as Float32Array, rows);
    expect(yU).toBeInstanceOf(Uint8Array);
    const quantised = (a: ArrayLike<number>) => Array.from(a, (v) => Math.round(Math.min(255, Math.max(0, v))));
    expect(maxAbsDiff(yU, quantised(yF))).toBeLessThanOrEqual(1);
    expect(maxAbsDiff(dU, quantised(dF))).toBeLessThanOrEqual(1);
    // Nearly every value is exact; a float rounding can only tip values sitting on a .5 boundary.
    const exact = quantised(yF).filter((v, i) => v === yU[i]).length;
    expect(exact / yU.length).toBeGreaterThan(0.999);
    Object.entries(bytes.files).forEach(([k, v]) => k.endsWith('.onnx') && (checked[`u8-${k}`] = v));
  });

  it('clip to [0, 255] when the network overshoots', async () => {
    // Linear output on scale255 data overshoots [0, 1] with random weights: Clip must hold it.
    const ck = await aekitCheckpoint(makeSpec({ inputDim: 24, layers: [16], latent: 4, outputActivation: 'linear' }), { seed: 8 });
    const { files } = await exportBundle(ck.files, { outputDtype: 'uint8' });
    const float = await exportBundle(ck.files);
    const raw = randomRows(64, 24, 5, 0, 255).map(Math.floor);
    const yF = await runOnnx(float.files['autoencoder.onnx']!, 'x', raw, 64);
    const yU = await runOnnx(files['autoencoder.onnx']!, 'x', raw, 64);
    expect(Math.min(...yF)).toBeLessThan(0);
    expect(Math.max(...yF)).toBeGreaterThan(255);
    expect(maxAbsDiff(yU, Array.from(yF, (v) => Math.round(Math.min(255, Math.max(0, v)))))).toBeLessThanOrEqual(1);
  });
});

describe('opset', () => {
  it.each([13, 14, 15, 16, 17])('opset %i loads in onnxruntime and records its version', async (opset) => {
    const ck = await aekitCheckpoint(makeSpec({ inputDim: 24, layers: [16], latent: 4, activation: 'gelu' }), { seed: opset });
    const { files, manifest } = await exportBundle(ck.files, { opset, inputDtype: 'uint8', outputDtype: 'uint8' });
    expect(manifest.opset).toBe(opset);
    for (const name of ['encoder.onnx', 'decoder.onnx', 'autoencoder.onnx']) {
      const imp = decodeModel(files[name]!).opsetImport[0]!;
      expect([imp.domain, Number(imp.version)]).toEqual(['', opset]);
      checked[`opset${opset}-${name}`] = files[name]!;
    }
    const y = await runOnnx(files['autoencoder.onnx']!, 'x', new Uint8Array(24 * 3).fill(128), 3);
    expect(y).toHaveLength(72);
  });
});

describe('manifest', () => {
  it('records dims, dtypes, normalisation, latent range, hashes and sizes', async () => {
    const ck = await aekitCheckpoint(spec, { seed: 2 });
    const { files, manifest } = await exportBundle(ck.files, { createdAt: '2026-01-01T00:00:00.000Z' });
    expect(manifest).toMatchObject({
      format: 'aekit-bundle',
      formatVersion: 1,
      opset: 13,
      variant: 'ae',
      inputDim: 24,
      latentDim: 4,
      inputDtype: 'float32',
      outputDtype: 'float32',
      weights: 'float32',
      normalization: { kind: 'scale255' },
      latentRange: ck.meta.latentRange,
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(manifest.source.spec).toEqual(spec);
    for (const g of ['encoder', 'decoder', 'autoencoder'] as const) {
      const bytes = files[`${g}.onnx`]!;
      expect(manifest.files[g]).toEqual({ path: `${g}.onnx`, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    const h = createHash('sha256');
    for (const f of ['model.json', 'weights.bin', 'aekit.json']) h.update(ck.files[f]!);
    expect(manifest.source.checkpointSha256).toBe(h.digest('hex'));
    expect(JSON.parse(new TextDecoder().decode(files['manifest.json']!))).toEqual(manifest);
  });

  it('the manifest.json written passes the one parser (core, used by the runtime) unchanged; graphs use GRAPH_IO names', async () => {
    const ck = await aekitCheckpoint(spec, { seed: 2 });
    const { files, manifest } = await exportBundle(ck.files);
    expect(parseManifestText(files['manifest.json']!)).toEqual(manifest);
    const io = (g: string) => {
      const graph = decodeModel(files[`${g}.onnx`]!).graph!;
      const names = (vs: typeof graph.input) => (vs ?? []).map((v) => v.name);
      const dims = (graph.input ?? []).flatMap((v) => v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam ?? d.dimValue);
      return { inputs: names(graph.input), outputs: names(graph.output), batch: dims[0] };
    };
    expect(io('encoder')).toEqual({ inputs: [GRAPH_IO.x], outputs: [GRAPH_IO.z, GRAPH_IO.xCheck], batch: GRAPH_IO.batch });
    expect(io('decoder')).toEqual({ inputs: [GRAPH_IO.z], outputs: [GRAPH_IO.xHat], batch: GRAPH_IO.batch });
    expect(io('autoencoder')).toEqual({ inputs: [GRAPH_IO.x], outputs: [GRAPH_IO.xHat, GRAPH_IO.xCheck], batch: GRAPH_IO.batch });
  });

  it('is reproducible: same checkpoint and options give the same bytes', async () => {
    const ck = await aekitCheckpoint(spec, { seed: 2 });
    const a = await exportBundle(ck.files, { createdAt: 'fixed' });
    const b = await exportBundle(ck.files, { createdAt: 'fixed' });
    expect(a.files).toEqual(b.files);
  });
});

it.skipIf(!checkerAvailable())('every exported graph passes onnx.checker with full_check', () => {
  expect(Object.keys(checked)).toHaveLength(3 + 5 * 3);
  checkModels(checked);
});
