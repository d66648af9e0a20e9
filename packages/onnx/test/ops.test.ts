import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { ACTIVATION_NAMES, ExportError, activationReference } from '@aekit/core';
import { ACTIVATIONS, EXECUTION_PROVIDERS, GraphBuilder, opTypesOf, opsMissingOn } from '../src/index.js';

/** One activation as a model y = f(x) with its derivative as a second output. */
function activationModel(name: (typeof ACTIVATION_NAMES)[number]): GraphBuilder {
  const g = new GraphBuilder(`act_${name}`);
  g.input('x', 'float32', ['batch', 4]);
  const nodes = ACTIVATIONS[name](g, 'x', { name }, 'y');
  g.output('y', 'float32', ['batch', 4]);
  const d = nodes.derivative();
  if (d !== null) {
    g.op('Identity', [d], {}, 'dy');
    g.output('dy', 'float32', ['batch', 4]);
  }
  return g;
}

describe('activation → ops table', () => {
  it.each(ACTIVATION_NAMES)('%s lowers to ops every execution provider runs', (name) => {
    const g = activationModel(name);
    const ops = opTypesOf(g.toGraphProto());
    for (const ep of EXECUTION_PROVIDERS) expect(opsMissingOn(ep, ops), `${name} on ${ep}`).toEqual([]);
    expect(() => g.toBytes({ opset: 13, runsOn: EXECUTION_PROVIDERS })).not.toThrow();
  });

  it.each(ACTIVATION_NAMES)('%s computes what core says it computes', async (name) => {
    const bytes = activationModel(name).toBytes({ opset: 13 });
    const s = await ort.InferenceSession.create(bytes);
    const x = Float32Array.from([-2.5, -0.3, 0, 1.7, 3, -1, 0.5, 10]);
    const out = await s.run({ x: new ort.Tensor('float32', x, [2, 4]) });
    const y = out['y']!.data as Float32Array;
    const ref = activationReference({ name });
    x.forEach((v, i) => expect(y[i]).toBeCloseTo(ref(v), 5));
    await s.release();
  });

  it('refuses to build a graph with an op an execution provider lacks, naming op and provider', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [2]);
    g.op('Sign', ['x'], {}, 'y');
    g.output('y', 'float32', [2]);
    expect(() => g.toBytes({ opset: 13, runsOn: ['cpu'] })).not.toThrow();
    expect(() => g.toBytes({ opset: 13, runsOn: ['webgpu'] })).toThrow(ExportError);
    expect(() => g.toBytes({ opset: 13, runsOn: ['webgpu'] })).toThrow(/Sign.*webgpu/);
  });

  it('treats an op nobody recorded as unsupported everywhere', () => {
    expect(opsMissingOn('cpu', ['Gemm', 'SomeNewOp'])).toEqual(['SomeNewOp']);
  });
});
