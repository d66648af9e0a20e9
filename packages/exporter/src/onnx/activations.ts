/**
 * Each aekit activation as ONNX ops, computed the way tfjs computes it. A Record over
 * ActivationName: a new name in core fails to compile here until it has an emitter.
 */
import { type ActivationName, type ActivationSpec, LEAKY_RELU_DEFAULT_ALPHA, SELU_ALPHA, SELU_GAMMA } from '@aekit/core';
import { type GraphBuilder, attr } from './builder.js';

/** Emits the activation of `x`; names the result `out` when given. Returns the result's name. */
export type ActivationEmitter = (g: GraphBuilder, x: string, a: ActivationSpec, out?: string) => string;

export const ACTIVATION_EMITTERS: Record<ActivationName, ActivationEmitter> = {
  linear: (g, x, _a, out) => (out === undefined ? x : g.op('Identity', [x], {}, out)),
  relu: (g, x, _a, out) => g.op('Relu', [x], {}, out),
  sigmoid: (g, x, _a, out) => g.op('Sigmoid', [x], {}, out),
  tanh: (g, x, _a, out) => g.op('Tanh', [x], {}, out),
  leakyRelu: (g, x, a, out) => g.op('LeakyRelu', [x], { alpha: attr.float(a.alpha ?? LEAKY_RELU_DEFAULT_ALPHA) }, out),
  elu: (g, x, _a, out) => g.op('Elu', [x], { alpha: attr.float(1) }, out),
  selu: (g, x, _a, out) => g.op('Selu', [x], { alpha: attr.float(SELU_ALPHA), gamma: attr.float(SELU_GAMMA) }, out),
  softplus: (g, x, _a, out) => g.op('Softplus', [x], {}, out),
  // tfjs: sigmoid(x) · x
  swish: (g, x, _a, out) => g.op('Mul', [g.op('Sigmoid', [x]), x], {}, out),
  // tfjs: x · (0.5 · (1 + erf(x / √2))), the exact (erf) form; ONNX Gelu only exists from opset 20.
  gelu: (g, x, _a, out) => {
    const e = g.op('Erf', [g.op('Div', [x, g.constFloat(Math.SQRT2)])]);
    const cdf = g.op('Mul', [g.constFloat(0.5), g.op('Add', [g.constFloat(1), e])]);
    return g.op('Mul', [x, cdf], {}, out);
  },
};
