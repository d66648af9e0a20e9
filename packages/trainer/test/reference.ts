/**
 * A plain float64 JavaScript training step with the same semantics as the generated graph (and the
 * tfjs engine): a ground truth for tests that owes nothing to onnxruntime or tfjs. Slow; tiny models only.
 */
import {
  type ActivationName,
  type ActivationSpec,
  activationReference,
  DEFAULT_ADAM,
  modelLayers,
  LEAKY_RELU_DEFAULT_ALPHA,
  type AdamConfig,
  type LossName,
  type ModelSpec,
  SELU_ALPHA,
  SELU_GAMMA,
} from '@aekit/core';
import { BCE_EPSILON } from '../src/losses.js';
import { RATE_PROB_FLOOR } from '../src/variants/rate-math.js';

/** da/dz from z and a = f(z), mirroring ACTIVATION_GRAPHS. */
const DERIVATIVE: Record<ActivationName, (z: number, a: number, s: ActivationSpec) => number> = {
  linear: () => 1,
  relu: (z) => (z > 0 ? 1 : 0),
  sigmoid: (_z, a) => a * (1 - a),
  tanh: (_z, a) => 1 - a * a,
  leakyRelu: (z, _a, s) => (z > 0 ? 1 : (s.alpha ?? LEAKY_RELU_DEFAULT_ALPHA)),
  elu: (z) => (z > 0 ? 1 : Math.exp(z)),
  selu: (z) => (z > 0 ? SELU_GAMMA : SELU_GAMMA * SELU_ALPHA * Math.exp(z)),
  softplus: (z) => 1 / (1 + Math.exp(-z)),
  swish: (z) => {
    const s = 1 / (1 + Math.exp(-z));
    return s + z * s * (1 - s);
  },
  gelu: (z) => {
    const cdf = 0.5 * (1 + erfViaGelu(z));
    return cdf + (z * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI);
  },
};

// erf(z/√2) recovered from core's float64 gelu reference: gelu(z) = z·0.5·(1 + erf(z/√2)).
const geluRef = activationReference({ name: 'gelu' });
function erfViaGelu(z: number): number {
  if (z === 0) return 0;
  return (2 * geluRef(z)) / z - 1;
}

export interface ReferenceState {
  /** One array per parameter slot (kernel [in, out] row-major, bias), in `parameterSlots` order. */
  params: Float64Array[];
  m: Float64Array[];
  v: Float64Array[];
  /** Steps taken so far. */
  t: number;
}

export interface ReferenceSettings {
  loss: LossName;
  adam?: Partial<AdamConfig>;
  l1?: number;
  l2?: number;
  /**
   * Rate–distortion term (variants/rate-math.ts) with this step's latent noise ([rows, latent]): the
   * state's params then end with the density's locations μ and log-scales ℓ (two more slots).
   */
  rate?: { weight: number; noise: ArrayLike<number> };
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * λ · R (R = Σ −log2 p / (rows · inputDim)) for latents `yt` [rows, L] in float64, and its gradients
 * wrt yt, μ and ℓ, derived by hand (the graph's emitRate follows the same formulas; the tests check
 * these against finite differences).
 */
export function referenceRate(
  yt: ArrayLike<number>,
  loc: ArrayLike<number>,
  logScale: ArrayLike<number>,
  rows: number,
  inputDim: number,
  weight: number,
): { value: number; dLatent: Float64Array; dLoc: Float64Array; dLogScale: Float64Array } {
  const L = loc.length;
  const k = weight / (rows * inputDim * Math.LN2);
  const dLatent = new Float64Array(yt.length);
  const dLoc = new Float64Array(L);
  const dLogScale = new Float64Array(L);
  let value = 0;
  for (let i = 0; i < yt.length; i++) {
    const d = i % L;
    const e = yt[i]! - loc[d]!;
    const t = Math.abs(e);
    const inv = Math.exp(-logScale[d]!);
    const a = (0.5 - t) * inv;
    const b = (-0.5 - t) * inv;
    const sa = sigmoid(a);
    const sb = sigmoid(b);
    const p = sa - sb;
    const pf = Math.max(p, RATE_PROB_FLOOR);
    value -= k * Math.log(pf);
    if (p < RATE_PROB_FLOOR) continue;
    const dP = -k / pf;
    const dsa = sa * (1 - sa);
    const dsb = sb * (1 - sb);
    const dT = dP * -(dsa - dsb) * inv;
    dLatent[i] = dT * Math.sign(e);
    dLoc[d]! -= dT * Math.sign(e);
    dLogScale[d]! += dP * -(a * dsa - b * dsb);
  }
  return { value, dLatent, dLoc, dLogScale };
}

function forward(spec: ModelSpec, params: Float64Array[], x: ArrayLike<number>, rows: number, noise?: ArrayLike<number>) {
  const layers = modelLayers(spec);
  const inputs: Float64Array[] = [];
  const zs: Float64Array[] = [];
  const as: Float64Array[] = [];
  let a = Float64Array.from(x);
  layers.forEach((l, li) => {
    inputs.push(a);
    const W = params[2 * li]!;
    const b = params[2 * li + 1]!;
    const z = new Float64Array(rows * l.units);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < l.units; j++) {
        let s = b[j]!;
        for (let k = 0; k < l.inputDim; k++) s += a[r * l.inputDim + k]! * W[k * l.units + j]!;
        z[r * l.units + j] = s;
      }
    }
    const f = activationReference(l.activation);
    const out = z.map(f);
    zs.push(z);
    as.push(out);
    a = out;
    if (noise !== undefined && l.role === 'latent') a = out.map((v, i) => v + noise[i]!);
  });
  return { layers, inputs, zs, as, y: a };
}

/** Reconstruction loss of a batch (no penalties), float64. */
export function referenceLoss(spec: ModelSpec, params: Float64Array[], x: ArrayLike<number>, rows: number, loss: LossName): number {
  return lossAndGrad(forward(spec, params, x, rows).y, x, loss).loss;
}

function lossAndGrad(y: Float64Array, x: ArrayLike<number>, loss: LossName): { loss: number; dy: Float64Array } {
  const n = y.length;
  const dy = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t = x[i]!;
    if (loss === 'mse') {
      const d = y[i]! - t;
      sum += d * d;
      dy[i] = (2 * d) / n;
    } else {
      const inside = y[i]! >= BCE_EPSILON && y[i]! <= 1 - BCE_EPSILON;
      const p = Math.min(Math.max(y[i]!, BCE_EPSILON), 1 - BCE_EPSILON);
      sum -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
      dy[i] = inside ? (p - t) / (p * (1 - p)) / n : 0;
    }
  }
  return { loss: sum / n, dy };
}

/**
 * One Adam step on `state` (updated in place) over a batch of `rows` rows; returns the training loss.
 * `target` (same shape as x) is what the output is scored against, x when omitted.
 */
export function referenceTrainStep(
  spec: ModelSpec,
  settings: ReferenceSettings,
  state: ReferenceState,
  x: ArrayLike<number>,
  rows: number,
  target: ArrayLike<number> = x,
): number {
  const adam = { ...DEFAULT_ADAM, ...settings.adam };
  const l1 = settings.l1 ?? 0;
  const l2 = settings.l2 ?? 0;
  const { params } = state;
  const f = forward(spec, params, x, rows, settings.rate?.noise);
  const { loss: recon, dy } = lossAndGrad(f.y, target, settings.loss);
  let penalty = 0;
  const grads: Float64Array[] = params.map((p) => new Float64Array(p.length));
  const nDense = f.layers.length;
  const latentAt = f.layers.findIndex((l) => l.role === 'latent');
  const rate = settings.rate
    ? referenceRate(f.inputs[latentAt + 1]!, params[2 * nDense]!, params[2 * nDense + 1]!, rows, spec.inputDim, settings.rate.weight)
    : undefined;
  if (rate) {
    penalty += rate.value;
    grads[2 * nDense]!.set(rate.dLoc);
    grads[2 * nDense + 1]!.set(rate.dLogScale);
  }
  let dA = dy;
  for (let li = f.layers.length - 1; li >= 0; li--) {
    const l = f.layers[li]!;
    const z = f.zs[li]!;
    const a = f.as[li]!;
    const d = DERIVATIVE[l.activation.name];
    const dZ = dA.map((g, i) => g * d(z[i]!, a[i]!, l.activation));
    const input = f.inputs[li]!;
    const W = params[2 * li]!;
    const gW = grads[2 * li]!;
    const gb = grads[2 * li + 1]!;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < l.units; j++) {
        const g = dZ[r * l.units + j]!;
        gb[j]! += g;
        for (let k = 0; k < l.inputDim; k++) gW[k * l.units + j]! += input[r * l.inputDim + k]! * g;
      }
    }
    for (let i = 0; i < W.length; i++) {
      const w = W[i]!;
      penalty += l1 * Math.abs(w) + l2 * w * w;
      gW[i]! += l1 * Math.sign(w) + 2 * l2 * w;
    }
    if (li > 0) {
      const next = new Float64Array(rows * l.inputDim);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < l.inputDim; k++) {
          let s = 0;
          for (let j = 0; j < l.units; j++) s += dZ[r * l.units + j]! * W[k * l.units + j]!;
          next[r * l.inputDim + k] = s;
        }
      }
      if (rate && li - 1 === latentAt) next.forEach((v, i) => (next[i] = v + rate.dLatent[i]!));
      dA = next;
    }
  }
  state.t += 1;
  const bc1 = 1 - adam.beta1 ** state.t;
  const bc2 = 1 - adam.beta2 ** state.t;
  params.forEach((p, s) => {
    const g = grads[s]!;
    const m = state.m[s]!;
    const v = state.v[s]!;
    for (let i = 0; i < p.length; i++) {
      m[i] = adam.beta1 * m[i]! + (1 - adam.beta1) * g[i]!;
      v[i] = adam.beta2 * v[i]! + (1 - adam.beta2) * g[i]! * g[i]!;
      p[i]! -= (adam.learningRate * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + adam.epsilon);
    }
  });
  return recon + penalty;
}
