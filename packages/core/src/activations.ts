/**
 * The one list of activation functions aekit supports. The trainer (tfjs and onnxruntime engines) and
 * the exporter each map every name here to their own ops through a `Record<ActivationName, …>`, so
 * adding a name here fails type-checking until every engine and the exporter handle it.
 */
import { SpecError } from './errors.js';

export const ACTIVATION_NAMES = [
  'linear',
  'relu',
  'sigmoid',
  'tanh',
  'leakyRelu',
  'elu',
  'selu',
  'softplus',
  'swish',
  'gelu',
] as const;

export type ActivationName = (typeof ACTIVATION_NAMES)[number];

/** An activation with its parameters. Only `leakyRelu` takes one (`alpha`, the negative slope). */
export interface ActivationSpec {
  name: ActivationName;
  /** Negative slope of leakyRelu; ignored by every other activation. */
  alpha?: number;
}

/** Default negative slope of leakyRelu (the same as `tf.leakyRelu`). */
export const LEAKY_RELU_DEFAULT_ALPHA = 0.2;

/** SELU constants (Klambauer et al. 2017), as tfjs and ONNX use them. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_GAMMA = 1.0507009873554805;

const ALIASES: Record<string, ActivationName> = {
  leaky_relu: 'leakyRelu',
  leakyrelu: 'leakyRelu',
  silu: 'swish',
  none: 'linear',
  identity: 'linear',
};

export function isActivationName(name: string): name is ActivationName {
  return (ACTIVATION_NAMES as readonly string[]).includes(name);
}

/**
 * Parses `relu`, `leakyRelu`, `leakyRelu:0.1` or an `ActivationSpec` object into a normalised spec.
 * Throws a SpecError listing the valid names for an unknown one.
 */
export function parseActivation(input: string | ActivationSpec): ActivationSpec {
  let name: string;
  let alpha: number | undefined;
  if (typeof input === 'string') {
    const [rawName = '', rawAlpha] = input.trim().split(':');
    name = rawName;
    if (rawAlpha !== undefined) {
      alpha = Number(rawAlpha);
      if (!Number.isFinite(alpha)) {
        throw new SpecError(`activation "${input}": parameter "${rawAlpha}" is not a number (write e.g. leakyRelu:0.1)`);
      }
    }
  } else {
    name = input.name;
    alpha = input.alpha;
  }
  const canonical = isActivationName(name) ? name : ALIASES[name.toLowerCase()];
  if (canonical === undefined) {
    throw new SpecError(`unknown activation "${name}"; valid activations: ${ACTIVATION_NAMES.join(', ')}`);
  }
  if (canonical === 'leakyRelu') {
    const a = alpha ?? LEAKY_RELU_DEFAULT_ALPHA;
    if (!Number.isFinite(a) || a < 0) throw new SpecError(`leakyRelu alpha must be a finite number >= 0, got ${a}`);
    return { name: canonical, alpha: a };
  }
  if (alpha !== undefined) {
    throw new SpecError(`activation "${canonical}" takes no parameter (only leakyRelu:ALPHA does)`);
  }
  return { name: canonical };
}

/** `leakyRelu:0.2`, `relu`: the inverse of parseActivation. */
export function formatActivation(a: ActivationSpec): string {
  return a.name === 'leakyRelu' ? `leakyRelu:${a.alpha ?? LEAKY_RELU_DEFAULT_ALPHA}` : a.name;
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for 1e-5 checks; use a series / continued fraction.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  // erfc continued fraction (Lentz) for large |x|.
  let f = ax;
  let c = ax;
  let d = 0;
  for (let i = 1; i < 200; i++) {
    const an = i / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  const r = 1 - erfc;
  return x < 0 ? -r : r;
}

/**
 * Reference scalar implementation of each activation in float64, for tests and for tools that need a
 * ground truth independent of tfjs and onnxruntime. gelu is the exact (erf) form, as tfjs's `gelu`.
 */
export function activationReference(a: ActivationSpec): (x: number) => number {
  switch (a.name) {
    case 'linear':
      return (x) => x;
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'sigmoid':
      return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh;
    case 'leakyRelu': {
      const alpha = a.alpha ?? LEAKY_RELU_DEFAULT_ALPHA;
      return (x) => (x >= 0 ? x : alpha * x);
    }
    case 'elu':
      return (x) => (x > 0 ? x : Math.expm1(x));
    case 'selu':
      return (x) => SELU_GAMMA * (x > 0 ? x : SELU_ALPHA * Math.expm1(x));
    case 'softplus':
      return (x) => (x > 20 ? x : Math.log1p(Math.exp(x)));
    case 'swish':
      return (x) => x / (1 + Math.exp(-x));
    case 'gelu':
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
  }
}
