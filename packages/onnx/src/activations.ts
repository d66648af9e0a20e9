/**
 * The one activation → ONNX ops table, used by the inference graphs (exporter) and the training-step
 * graphs (trainer) alike, so both emit the same ops. A `Record<ActivationName, …>`: a name added to
 * core's ACTIVATION_NAMES fails to compile until it is lowered here, and the op-support test
 * (test/ops.test.ts) fails until every op it emits is recorded in `OP_SUPPORT` for each execution
 * provider. Forward values follow tfjs; derivatives follow the gradients tfjs registers (relu: x > 0;
 * leakyRelu: x > 0 ? 1 : alpha; elu from its output), written from the forward values where that saves
 * ops (sigmoid' = a(1 - a)).
 */
import {
  type ActivationName,
  type ActivationSpec,
  LEAKY_RELU_DEFAULT_ALPHA,
  SELU_ALPHA,
  SELU_GAMMA,
} from '@aekit/core';
import { attr, type GraphBuilder } from './builder.js';
import { f32 } from './consts.js';

export interface ActivationNodes {
  /** The activation's output. */
  out: string;
  /** Emits da/dz (same shape as z) and returns its name; null when it is 1 everywhere (linear). */
  derivative(): string | null;
}

/** Emits the activation of `z`, naming its output `out` when given. */
export type ActivationLowering = (g: GraphBuilder, z: string, a: ActivationSpec, out?: string) => ActivationNodes;

/** 1 where z > 0, else 0 (tfjs's relu gradient). Not Sign(relu(z)): WebGPU has no Sign kernel. */
export function step(g: GraphBuilder, z: string): string {
  return g.op('Cast', [g.op('Greater', [z, f32(g, 0)])], { to: attr.int(1) });
}

/** sign(w) with sign(0) = 0, from comparisons (WebGPU has no Sign kernel). */
export function sign(g: GraphBuilder, w: string): string {
  return g.op('Sub', [step(g, w), g.op('Cast', [g.op('Less', [w, f32(g, 0)])], { to: attr.int(1) })]);
}

export const ACTIVATIONS: Record<ActivationName, ActivationLowering> = {
  linear: (g, z, _a, out) => ({ out: out === undefined ? z : g.op('Identity', [z], {}, out), derivative: () => null }),
  relu: (g, z, _a, name) => {
    const out = g.op('Relu', [z], {}, name);
    return { out, derivative: () => step(g, z) };
  },
  sigmoid: (g, z, _a, name) => {
    const out = g.op('Sigmoid', [z], {}, name);
    return { out, derivative: () => g.op('Mul', [out, g.op('Sub', [f32(g, 1), out])]) };
  },
  tanh: (g, z, _a, name) => {
    const out = g.op('Tanh', [z], {}, name);
    return { out, derivative: () => g.op('Sub', [f32(g, 1), g.op('Mul', [out, out])]) };
  },
  leakyRelu: (g, z, a, name) => {
    const alpha = a.alpha ?? LEAKY_RELU_DEFAULT_ALPHA;
    const out = g.op('LeakyRelu', [z], { alpha: attr.float(alpha) }, name);
    return {
      out,
      derivative: () => g.op('Where', [g.op('Greater', [z, f32(g, 0)]), f32(g, 1), f32(g, alpha)]),
    };
  },
  elu: (g, z, _a, name) => {
    const out = g.op('Elu', [z], { alpha: attr.float(1) }, name);
    // z > 0: 1; else exp(z) = out + 1 (Where, not Min: onnxruntime-web's WebGPU EP has no Min).
    return { out, derivative: () => g.op('Where', [g.op('Greater', [z, f32(g, 0)]), f32(g, 1), g.op('Add', [out, f32(g, 1)])]) };
  },
  selu: (g, z, _a, name) => {
    // γ·elu_α(z) is selu exactly; written so because onnxruntime's WebGPU EP has Elu but no Selu.
    const out = g.op('Mul', [g.op('Elu', [z], { alpha: attr.float(SELU_ALPHA) }), f32(g, SELU_GAMMA)], {}, name);
    return {
      out,
      derivative: () =>
        g.op('Where', [
          g.op('Greater', [z, f32(g, 0)]),
          f32(g, SELU_GAMMA),
          g.op('Add', [out, f32(g, SELU_GAMMA * SELU_ALPHA)]),
        ]),
    };
  },
  softplus: (g, z, _a, name) => {
    // relu(z) + log1p(exp(−|z|)) is softplus without overflow; written so because onnxruntime-web's
    // WebGPU EP has no Softplus kernel. ONNX has no Log1p: log1p(u) = u·log(w)/(w − 1) with w = 1 + u
    // (Kahan), and u itself where w rounds to 1, which keeps full precision for very negative z.
    const u = g.op('Exp', [g.op('Neg', [g.op('Abs', [z])])]);
    const w = g.op('Add', [f32(g, 1), u]);
    const wm1 = g.op('Sub', [w, f32(g, 1)]);
    // Where w − 1 is 0 the quotient is NaN, but Where takes u there.
    const exact = g.op('Mul', [u, g.op('Div', [g.op('Log', [w]), wm1])]);
    const log1p = g.op('Where', [g.op('Equal', [wm1, f32(g, 0)]), u, exact]);
    const out = g.op('Add', [g.op('Relu', [z]), log1p], {}, name);
    return { out, derivative: () => g.op('Sigmoid', [z]) };
  },
  swish: (g, z, _a, name) => {
    const s = g.op('Sigmoid', [z]);
    const out = g.op('Mul', [z, s], {}, name);
    // d/dz z·s = s + z·s·(1 - s) = s + out·(1 - s)
    return { out, derivative: () => g.op('Add', [s, g.op('Mul', [out, g.op('Sub', [f32(g, 1), s])])]) };
  },
  gelu: (g, z, _a, name) => {
    // Exact (erf) form, as tfjs's 'gelu': z·Φ(z); derivative Φ(z) + z·φ(z).
    const cdf = g.op('Mul', [
      f32(g, 0.5),
      g.op('Add', [f32(g, 1), g.op('Erf', [g.op('Mul', [z, f32(g, Math.SQRT1_2)])])]),
    ]);
    const out = g.op('Mul', [z, cdf], {}, name);
    return {
      out,
      derivative: () => {
        const pdf = g.op('Mul', [
          g.op('Exp', [g.op('Mul', [g.op('Mul', [z, z]), f32(g, -0.5)])]),
          f32(g, 1 / Math.sqrt(2 * Math.PI)),
        ]);
        return g.op('Add', [cdf, g.op('Mul', [z, pdf])]);
      },
    };
  },
};
