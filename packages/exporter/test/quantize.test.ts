/**
 * float16 / int8 weight variants: files ~2× / ~4× smaller, float32 inputs and outputs kept, outputs
 * close to the float32 model, the manifest updated, every file accepted by the official checker.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC, ExportError } from '@aekit/core';
import { exportBundle, parseWeightsDtype, quantizeBundle } from '@aekit/exporter';
import { quantizeInt8PerChannel, quantizeModelWeights } from '@aekit/exporter/graphs';
import { GraphBuilder, decodeModel } from '@aekit/onnx';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { aekitCheckpoint, maxAbsDiff, randomRows, runOnnx } from './helpers/fixtures.js';

const ROWS = 64;

describe('weights variants', async () => {
  const variants: Record<string, Uint8Array> = {};
  const ck = await aekitCheckpoint(DEFAULT_SPEC, { seed: 5 });
  const base = await exportBundle(ck.files, { createdAt: '2026-11-26T00:00:00.000Z' });
  const x = Float32Array.from(randomRows(ROWS, 784, 9, 0, 256), Math.floor);
  const ref = {
    z: (await runOnnx(base.files['encoder.onnx']!, 'x', x, ROWS)) as Float32Array,
    y: (await runOnnx(base.files['autoencoder.onnx']!, 'x', x, ROWS)) as Float32Array,
  };

  it.each([
    ['float16', 0.52, 2e-3, 0.5],
    ['int8', 0.28, 5e-2, 8],
  ] as const)('%s: smaller files, float32 I/O, outputs close to float32', async (weights, maxRatio, zTol, yTol) => {
    const q = await quantizeBundle(base, weights);
    expect(q.manifest.weights).toBe(weights);
    for (const g of ['encoder', 'decoder', 'autoencoder'] as const) {
      const bytes = q.files[`${g}.onnx`]!;
      const ratio = bytes.length / base.files[`${g}.onnx`]!.length;
      expect([g, ratio]).toEqual([g, expect.any(Number)]);
      expect(ratio, g).toBeLessThan(maxRatio);
      expect(q.manifest.files[g]).toEqual({ path: `${g}.onnx`, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
      const m = decodeModel(bytes);
      expect(m.graph?.input?.[0]?.type?.tensorType?.elemType).toBe(1); // float32 in
      expect(m.graph?.output?.[0]?.type?.tensorType?.elemType).toBe(1); // float32 out
      expect(m.metadataProps?.find((p) => p.key === 'weights')?.value).toBe(weights);
      expect(q.reports[g]!.tensors).toBeGreaterThan(0);
    }
    expect(JSON.parse(new TextDecoder().decode(q.files['manifest.json']))).toMatchObject({ weights });
    const z = (await runOnnx(q.files['encoder.onnx']!, 'x', x, ROWS)) as Float32Array;
    const y = (await runOnnx(q.files['autoencoder.onnx']!, 'x', x, ROWS)) as Float32Array; // raw units, 0..255
    const zRange = Math.max(...ref.z.map(Math.abs));
    expect(maxAbsDiff(z, ref.z) / zRange).toBeLessThan(zTol);
    expect(maxAbsDiff(y, ref.y)).toBeLessThan(yTol);
    expect(maxAbsDiff(y, ref.y)).toBeGreaterThan(0); // the weights really changed
    for (const [k, v] of Object.entries(q.files)) if (k.endsWith('.onnx')) variants[`${weights}-${k}`] = v;
  });

  it.skipIf(!checkerAvailable())('every variant file passes the official onnx.checker', () => {
    expect(Object.keys(variants)).toHaveLength(6);
    checkModels(variants);
  });

  it('float32 is a no-op and unknown names are refused', async () => {
    expect(quantizeModelWeights(base.files['decoder.onnx']!, 'float32').bytes).toBe(base.files['decoder.onnx']);
    expect(() => parseWeightsDtype('int4')).toThrow(/valid: float32, float16, int8/);
  });
});

describe('int8 per-channel quantisation', () => {
  it('scales each output column by its max |w| / 127, zero point 0', () => {
    // [2, 3] kernel, channels are columns (axis 1)
    const w = Float32Array.of(1, -0.5, 0, -2, 0.25, 0);
    const { q, scale } = quantizeInt8PerChannel(w, [2, 3], 1);
    expect(Array.from(scale)).toEqual([2 / 127, 0.5 / 127, 1].map(Math.fround));
    expect(Array.from(q)).toEqual([64, -127, 0, -127, 64, 0]);
    const byRow = quantizeInt8PerChannel(w, [2, 3], 0);
    expect(Array.from(byRow.scale)).toEqual([1 / 127, 2 / 127].map(Math.fround));
  });

  it('handles MatMul + Add graphs and refuses models without Dense weights or with huge weights', async () => {
    const g = new GraphBuilder('mm');
    g.input('x', 'float32', ['batch', 3]);
    const w = g.initializer('w', 'float32', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6));
    const b = g.initializer('b', 'float32', [2], Float32Array.of(0.5, -0.5));
    g.op('Add', [g.op('MatMul', ['x', w]), b], {}, 'y');
    g.output('y', 'float32', ['batch', 2]);
    const bytes = g.toBytes({ opset: 13 });
    for (const weights of ['float16', 'int8'] as const) {
      const out = quantizeModelWeights(bytes, weights);
      expect(out.report.tensors).toBe(2);
      const y = await runOnnx(out.bytes, 'x', Float32Array.of(1, 1, 1), 1);
      expect(maxAbsDiff(y, [9.5, 11.5])).toBeLessThan(0.05);
    }
    const none = new GraphBuilder('none');
    none.input('x', 'float32', [1]);
    none.op('Relu', ['x'], {}, 'y');
    none.output('y', 'float32', [1]);
    expect(() => quantizeModelWeights(none.toBytes({ opset: 13 }), 'int8')).toThrow(ExportError);
    const big = new GraphBuilder('big');
    big.input('x', 'float32', ['batch', 1]);
    big.op('Gemm', ['x', big.initializer('w', 'float32', [1, 1], Float32Array.of(1e6))], {}, 'y');
    big.output('y', 'float32', ['batch', 1]);
    expect(() => quantizeModelWeights(big.toBytes({ opset: 13 }), 'float16')).toThrow(/does not fit float16/);
  });
});
