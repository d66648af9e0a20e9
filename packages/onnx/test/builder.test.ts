import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr, decodeModel, toFloat16Bits } from '../src/index.js';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';

describe('GraphBuilder', () => {
  const build = () => {
    const g = new GraphBuilder('tiny');
    g.input('x', 'float32', ['batch', 3]);
    const w = g.initializer('w', 'float32', [3, 2], Float32Array.from([1, -1, 2, 0, -3, 1]));
    const b = g.constFloat([0.5, -0.5], [2], 'b');
    const y = g.op('Gemm', ['x', w, b], { alpha: attr.float(1), transB: attr.int(0) });
    g.op('LeakyRelu', [y], { alpha: attr.float(0.1) }, 'y');
    g.output('y', 'float32', ['batch', 2]);
    return g.toBytes({ opset: 13, metadata: { producer: 'test' } });
  };

  it('writes a model onnxruntime runs with a dynamic batch', async () => {
    const bytes = build();
    const s = await ort.InferenceSession.create(bytes);
    const x = Float32Array.from([1, 2, 3, -1, 0, 1]);
    const out = await s.run({ x: new ort.Tensor('float32', x, [2, 3]) });
    const y = out['y']!.data as Float32Array;
    // row 0: [1+4-9+0.5, -1+0+3-0.5] = [-3.5, 1.5]; row 1: [-1-3+0.5, 1+1-0.5]; leaky → [-0.35, 1.5] both
    expect(Array.from(y).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([-0.35, 1.5, -0.35, 1.5]);
    const m = decodeModel(bytes);
    expect(m.graph?.input?.[0]?.type?.tensorType?.shape?.dim?.[0]?.dimParam).toBe('batch');
    expect(m.metadataProps?.[0]).toMatchObject({ key: 'producer', value: 'test' });
  });

  it('passes the official checker', () => {
    if (!checkerAvailable()) return;
    checkModels({ tiny: build() });
  });

  it('rejects duplicate names and shape/data mismatches', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/used twice/);
    expect(() => g.initializer('w', 'float32', [2, 2], new Float32Array(3))).toThrow(/needs 4 values/);
    expect(() => g.initializer('v', 'float32', [1], new Uint8Array(1))).toThrow(/does not hold float32/);
  });

  it('names constants automatically without clashing', async () => {
    const g = new GraphBuilder('consts');
    g.input('x', 'float32', ['batch', 2]);
    const a = g.constFloat(2);
    const b = g.constFloat([1, -1], [2]);
    const i = g.constInt64([1, 2]);
    expect(new Set([a, b, i]).size).toBe(3);
    g.op('Add', [g.op('Mul', ['x', a]), b], {}, 'y');
    g.output('y', 'float32', ['batch', 2]);
    const s = await ort.InferenceSession.create(g.toBytes({ opset: 13 }));
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2]), [1, 2]) });
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([3, 3]);
  });

  it('converts to float16 bits with round-to-nearest-even', () => {
    expect(Array.from(toFloat16Bits(Float32Array.from([0, 1, -2, 65504, 1e6, 5.960464477539063e-8, 0.1])))).toEqual([
      0, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x2e66,
    ]);
  });
});
