/**
 * Initial parameters, generated in JS from the seed so every engine (tfjs on any backend, onnxruntime)
 * starts from the same numbers: Glorot-uniform kernels (Keras's default for Dense and Conv2D; fans from `LayerInfo`), zero biases.
 */
import { type ModelSpec, Rng, modelLayers } from '@aekit/core';
import type { ParamSet } from './engine.js';

export function glorotUniformParams(spec: ModelSpec, rng: Rng): ParamSet {
  return modelLayers(spec).map((l) => {
    const limit = Math.sqrt(6 / (l.fanIn + l.fanOut));
    const kernel = new Float32Array(l.inputDim * l.units);
    for (let i = 0; i < kernel.length; i++) kernel[i] = (2 * rng.next() - 1) * limit;
    return { name: l.name, inputDim: l.inputDim, units: l.units, kernel, bias: new Float32Array(l.units) };
  });
}

/** A deep copy of a parameter set (shape-alike zeros when `zero`). */
export function cloneParams(params: ParamSet, zero = false): ParamSet {
  return params.map((p) => ({
    ...p,
    kernel: zero ? new Float32Array(p.kernel.length) : p.kernel.slice(),
    bias: zero ? new Float32Array(p.bias.length) : p.bias.slice(),
  }));
}
