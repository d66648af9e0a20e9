/**
 * One training step as ONNX nodes: forward (per layer: Gemm, or a convolution as graphs/conv.ts writes
 * it, + activation), loss, backward written out per layer, L1/L2 on kernels, Adam. Emitted into any GraphBuilder, so the same code builds the
 * single-step graph and the body of the K-step Loop.
 *
 * Semantics follow tfjs (the reference engine):
 *  - mse: mean over every element; bce: tfjs-layers binaryCrossentropy (prediction clipped to
 *    [1e-7, 1 - 1e-7], gradient zero outside the clip, mean over every element).
 *  - penalties: l1·Σ|W| + l2·ΣW² per kernel (Keras regularizers), added to the loss; Sign(0) = 0 as in tfjs.
 *  - Adam as tf.train.adam: m' = β1·m + (1-β1)·g, v' = β2·v + (1-β2)·g²,
 *    p' = p - lr·(m'/(1-β1^t)) / (sqrt(v'/(1-β2^t)) + ε), t counted from 1.
 * Products stay as Gemm with transA/transB flags rather than Transpose + MatMul: fewer nodes, and no
 * slower. Measured on the default model's six backward product pairs, 1 thread, 2 shared cores
 * (µs per set, median / best of 9×50 runs): batch 32 Gemm 1391 / 435 vs Transpose+MatMul 1354 / 448;
 * batch 256 Gemm 5463 / 3288 vs 5254 / 4202 (onnxruntime fuses Transpose+MatMul itself at level 'all').
 */
import { type LayerInfo, type Shape3, modelLayers, type AdamConfig, type LossName, type ModelSpec } from '@aekit/core';
import { ACTIVATIONS, type ActivationNodes, type GraphBuilder, attr, f32, i64, sign } from '@aekit/onnx';
import { BCE_EPSILON } from '../losses.js';
import { RATE_PROB_FLOOR } from '../variants/rate-math.js';
import { type ConvLowering, DEFAULT_CONV_LOWERING, type Form, type LayerEmitter, convertForm, layerEmitter } from './conv.js';
import { parameterSlots, type ParamLayout, type ParamSlot } from './layout.js';


export interface StepSettings {
  loss: LossName;
  /** β1, β2, ε are baked into the graph; the learning rate is an input. */
  adam: Pick<AdamConfig, 'beta1' | 'beta2' | 'epsilon'>;
  l1: number;
  l2: number;
  layout: ParamLayout;
  /** Rate–distortion term (variants/rate-math.ts) with weight λ; the step then needs `noise` and `density`. */
  rate?: { weight: number };
  /** How convolutions are written (graphs/conv.ts); default `ops`. */
  conv?: ConvLowering;
}

/** A state tensor with its Adam moments (names). */
export interface StateTriple {
  params: string;
  m: string;
  v: string;
}

/** Tensor names a step reads. `params`/`m`/`v` hold one name per slot, or one flat vector each. */
export interface StepInputs {
  x: string;
  /** What the output is scored against (denoising: the clean rows); `x` when omitted. */
  target?: string;
  params: string[];
  m: string[];
  v: string[];
  /** float32 scalar: optimizer steps taken before this one. */
  t: string;
  /** float32 scalar learning rate. */
  lr: string;
  /** Rate: the step's uniform noise [batch, latent], added to the latent. */
  noise?: string;
  /** Rate: the density [2, latent] (row 0 locations μ, row 1 log-scales ℓ) and its moments. */
  density?: StateTriple;
}

/** Optional names for what a step produces (else fresh names). */
export interface StepOutputNames {
  loss?: string;
  params?: string[];
  m?: string[];
  v?: string[];
  t?: string;
  density?: StateTriple;
}

export interface StepOutputs {
  loss: string;
  params: string[];
  m: string[];
  v: string[];
  t: string;
  density?: StateTriple;
}

/** Per-slot tensors from the state inputs: the inputs themselves, or Split + Reshape of a flat vector. */
export function unpackParams(g: GraphBuilder, slots: ParamSlot[], layout: ParamLayout, state: string[]): string[] {
  if (layout === 'tensors') return state;
  const parts = g.node('Split', [state[0]!, i64(g, slots.map((s) => s.size))], slots.length, { axis: attr.int(0) });
  return slots.map((s, i) => (s.shape.length === 1 ? parts[i]! : g.op('Reshape', [parts[i]!, i64(g, s.shape)])));
}

export interface ForwardTrace {
  /** Input of each layer in the layer's own form (the batch, reshaped, for layer 0). */
  inputs: string[];
  acts: ActivationNodes[];
  /** Each layer's nodes (its backward emits from what its forward kept). */
  emitters: LayerEmitter[];
  /** The form each layer got its input in (before converting it to its own). */
  inForms: Form[];
  /** The form each layer hands its output on in (flat for the latent and the output layer). */
  outForms: Form[];
  /** Output of the last layer (the reconstruction), flat. */
  output: string;
  /** Output of the latent layer, flat [batch, units] (row-major HWC for a spatial latent). */
  latent: string;
  /** What the decoder got: the latent, plus `latentNoise` when given. */
  decoderInput: string;
}

/** The [h, w, c] shape of layer i's input (a dense layer after a conv gets the conv's output). */
function inputShape(layers: LayerInfo[], i: number): Shape3 {
  const l = layers[i]!;
  return l.conv?.inShape ?? layers[i - 1]?.conv?.outShape ?? [1, 1, l.inputDim];
}

/**
 * Layers `from`… of the model (all of them by default; `until: 'latent'` stops after the latent) on
 * flat rows `x`: for each, its input converted to the layer's form, the pre-activation and the
 * activation. The latent and the last layer hand on flat rows. `tensors` holds kernel, bias per
 * layer, in slot order (every layer's, whatever `from` is).
 */
export function emitForward(
  g: GraphBuilder,
  spec: ModelSpec,
  x: string,
  tensors: string[],
  until: 'output' | 'latent' = 'output',
  latentNoise?: string,
  conv: ConvLowering = DEFAULT_CONV_LOWERING,
  from = 0,
): ForwardTrace {
  const all = modelLayers(spec);
  const end = until === 'latent' ? all.findIndex((l) => l.role === 'latent') + 1 : all.length;
  const trace: ForwardTrace = { inputs: [], acts: [], emitters: [], inForms: [], outForms: [], output: x, latent: x, decoderInput: x };
  let a = x;
  let form: Form = 'flat';
  for (let i = from; i < end; i++) {
    const l = all[i]!;
    const e = layerEmitter(g, l, tensors[2 * i]!, tensors[2 * i + 1]!, conv);
    const input = convertForm(g, a, form, e.form, inputShape(all, i));
    trace.inForms[i] = form;
    trace.inputs[i] = input;
    trace.emitters[i] = e;
    const act = ACTIVATIONS[l.activation.name](g, e.linear(input), l.activation);
    trace.acts[i] = act;
    a = act.out;
    form = e.form;
    if (l.role === 'latent' || i === all.length - 1) {
      a = convertForm(g, a, form, 'flat', l.conv?.outShape ?? [1, 1, l.units]);
      form = 'flat';
    }
    trace.outForms[i] = form;
    if (l.role === 'latent') {
      trace.latent = a;
      if (latentNoise !== undefined) a = g.op('Add', [a, latentNoise]);
      trace.decoderInput = a;
    }
  }
  trace.output = a;
  return trace;
}

/**
 * λ · R for latents `yt` [batch, latent] under the density [2, latent] (rate-math.ts: R = Σ −log2 p /
 * (rows · inputDim)), and with `withGradient` its hand-written gradients: wrt yt, and wrt the density
 * ([2, latent]: row 0 dμ, row 1 dℓ). With e = yt − μ, t = |e|, s = e^ℓ, a = (½ − t)/s, b = (−½ − t)/s,
 * p = σ(a) − σ(b), p̂ = max(p, floor):
 *   dL/dp = −λ / (rows · inputDim · ln 2 · p̂)   (0 where p < floor, as tfjs's maximum)
 *   dp/dt = −(σ'(a) − σ'(b)) / s,  dt/dyt = sign(e) = −dt/dμ,  dp/dℓ = −(a·σ'(a) − b·σ'(b)).
 */
export function emitRate(
  g: GraphBuilder,
  yt: string,
  density: string,
  weight: number,
  inputDim: number,
  withGradient: boolean,
): { term: string; dLatent?: string; dDensity?: string } {
  const row = (i: number) => g.op('Gather', [density, i64(g, [i], true)], { axis: attr.int(0) });
  const loc = row(0);
  const logScale = row(1);
  const e = g.op('Sub', [yt, loc]);
  const t = g.op('Abs', [e]);
  const invScale = g.op('Exp', [g.op('Neg', [logScale])]);
  const a = g.op('Mul', [g.op('Sub', [f32(g, 0.5), t]), invScale]);
  const b = g.op('Mul', [g.op('Sub', [f32(g, -0.5), t]), invScale]);
  const sa = g.op('Sigmoid', [a]);
  const sb = g.op('Sigmoid', [b]);
  const p = g.op('Sub', [sa, sb]);
  const floor = f32(g, RATE_PROB_FLOOR);
  const pf = g.op('Clip', [p, floor]);
  const rows = g.op('Cast', [g.op('Gather', [g.op('Shape', [yt]), i64(g, [0], true)], { axis: attr.int(0) })], { to: attr.int(1) });
  // d(λ·R)/d(log p̂) for each element: −λ / (rows · inputDim · ln 2).
  const scale = g.op('Div', [f32(g, -weight / (inputDim * Math.LN2)), rows]);
  const term = g.op('Mul', [g.op('ReduceSum', [g.op('Log', [pf])], { keepdims: attr.int(0) }), scale]);
  if (!withGradient) return { term };
  const mask = g.op('Cast', [g.op('GreaterOrEqual', [p, floor])], { to: attr.int(1) });
  const dP = g.op('Mul', [g.op('Div', [mask, pf]), scale]);
  const one = f32(g, 1);
  const dsa = g.op('Mul', [sa, g.op('Sub', [one, sa])]);
  const dsb = g.op('Mul', [sb, g.op('Sub', [one, sb])]);
  const dT = g.op('Mul', [dP, g.op('Neg', [g.op('Mul', [g.op('Sub', [dsa, dsb]), invScale])])]);
  const dLatent = g.op('Mul', [dT, sign(g, e)]);
  const axis0 = i64(g, [0]);
  const dLoc = g.op('Neg', [g.op('ReduceSum', [dLatent, axis0], { keepdims: attr.int(1) })]);
  const dPdl = g.op('Neg', [g.op('Sub', [g.op('Mul', [a, dsa]), g.op('Mul', [b, dsb])])]);
  const dLogScale = g.op('ReduceSum', [g.op('Mul', [dP, dPdl]), axis0], { keepdims: attr.int(1) });
  return { term, dLatent, dDensity: g.op('Concat', [dLoc, dLogScale], { axis: attr.int(0) }) };
}

/** Reconstruction loss (scalar) and, when asked, dLoss/dy. */
export function emitLoss(
  g: GraphBuilder,
  loss: LossName,
  y: string,
  x: string,
  withGradient: boolean,
  name?: string,
): { loss: string; dy?: string } {
  // Number of elements of the batch (the batch size is dynamic), for the mean's gradient.
  const count = () => g.op('Cast', [g.op('Size', [y])], { to: attr.int(1) });
  if (loss === 'mse') {
    const diff = g.op('Sub', [y, x]);
    const value = g.op('ReduceMean', [g.op('Mul', [diff, diff])], { keepdims: attr.int(0) }, name);
    if (!withGradient) return { loss: value };
    return { loss: value, dy: g.op('Mul', [diff, g.op('Div', [f32(g, 2), count()])]) };
  }
  const lo = f32(g, BCE_EPSILON);
  const hi = f32(g, 1 - BCE_EPSILON);
  const p = g.op('Clip', [y, lo, hi]);
  const q = g.op('Sub', [f32(g, 1), p]);
  const logP = g.op('Log', [p]);
  const logQ = g.op('Log', [q]);
  // x·log p + (1-x)·log(1-p) = log(1-p) + x·(log p - log(1-p))
  const ll = g.op('Add', [logQ, g.op('Mul', [x, g.op('Sub', [logP, logQ])])]);
  const value = g.op('Neg', [g.op('ReduceMean', [ll], { keepdims: attr.int(0) })], {}, name);
  if (!withGradient) return { loss: value };
  const inside = g.op('Cast', [g.op('And', [g.op('GreaterOrEqual', [y, lo]), g.op('LessOrEqual', [y, hi])])], {
    to: attr.int(1),
  });
  // d/dp of -(x log p + (1-x) log(1-p)) = (p - x) / (p (1 - p)), zero where the clip is active.
  const perElement = g.op('Div', [g.op('Sub', [p, x]), g.op('Mul', [p, q])]);
  const dy = g.op('Div', [g.op('Mul', [perElement, inside]), count()]);
  return { loss: value, dy };
}

/** Emits one whole training step and returns the names of what it produces. */
export function emitTrainingStep(
  g: GraphBuilder,
  spec: ModelSpec,
  settings: StepSettings,
  io: StepInputs,
  names: StepOutputNames = {},
): StepOutputs {
  const slots = parameterSlots(spec);
  const tensors = unpackParams(g, slots, settings.layout, io.params);
  const rateOn = settings.rate !== undefined;
  if (rateOn && (io.noise === undefined || io.density === undefined)) throw new Error('emitTrainingStep: the rate term needs the noise and density inputs');
  const fwd = emitForward(g, spec, io.x, tensors, 'output', io.noise, settings.conv);
  const { l1, l2 } = settings;
  const penalised = l1 > 0 || l2 > 0;
  const recon = emitLoss(g, settings.loss, fwd.output, io.target ?? io.x, true, penalised || rateOn ? undefined : names.loss);
  const rate = rateOn ? emitRate(g, fwd.decoderInput, io.density!.params, settings.rate!.weight, spec.inputDim, true) : undefined;

  // Penalties on kernels: value and gradient (after the rate term, the order the tfjs engines add them in).
  let lossName = recon.loss;
  const penaltyGrad: (string | null)[] = [];
  const terms: string[] = rate ? [rate.term] : [];
  if (penalised) {
    slots.forEach((s, i) => {
      if (s.kind !== 'kernel') return;
      const w = tensors[i]!;
      const grads: string[] = [];
      if (l1 > 0) {
        terms.push(g.op('Mul', [g.op('ReduceSum', [g.op('Abs', [w])], { keepdims: attr.int(0) }), f32(g, l1)]));
        grads.push(g.op('Mul', [sign(g, w), f32(g, l1)]));
      }
      if (l2 > 0) {
        terms.push(g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [w, w])], { keepdims: attr.int(0) }), f32(g, l2)]));
        grads.push(g.op('Mul', [w, f32(g, 2 * l2)]));
      }
      penaltyGrad[i] = grads.length === 1 ? grads[0]! : g.op('Add', grads);
    });
  }
  if (terms.length > 0) {
    // A chain of Adds, not Sum: WebGPU has no Sum kernel.
    const penalty = terms.reduce((acc, t) => g.op('Add', [acc, t]));
    lossName = g.op('Add', [recon.loss, penalty], {}, names.loss);
  }

  // Backward, last layer first. dA is dL/d(layer i's output) in the form it handed it on in.
  const grads: string[] = new Array<string>(slots.length);
  const layers = modelLayers(spec);
  let dA = recon.dy!;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    const e = fwd.emitters[i]!;
    dA = convertForm(g, dA, fwd.outForms[i]!, e.form, l.conv?.outShape ?? [1, 1, l.units]);
    const d = fwd.acts[i]!.derivative();
    const dZ = d === null ? dA : g.op('Mul', [dA, d]);
    const { dW: dKernel, dB, dX } = e.backward(dZ, i > 0);
    let dW = dKernel;
    const pg = penaltyGrad[2 * i];
    if (pg) dW = g.op('Add', [dW, pg]);
    grads[2 * i] = dW;
    grads[2 * i + 1] = dB;
    if (i > 0) dA = convertForm(g, dX!, e.form, fwd.inForms[i]!, inputShape(layers, i));
    // dA is now dL/d(decoder input) = dL/dỹ = dL/dy (the noise is a constant): add the rate's.
    if (rate && layers[i - 1]?.role === 'latent') dA = g.op('Add', [dA, rate.dLatent!]);
  }

  // Adam. Scalars once per step; then ~13 element-wise ops per state tensor.
  const { beta1, beta2, epsilon } = settings.adam;
  const t = g.op('Add', [io.t, f32(g, 1)], {}, names.t);
  const bc1 = g.op('Sub', [f32(g, 1), g.op('Pow', [f32(g, beta1), t])]);
  const bc2 = g.op('Sub', [f32(g, 1), g.op('Pow', [f32(g, beta2), t])]);
  const stepSize = g.op('Div', [io.lr, bc1]);
  const invSqrtBc2 = g.op('Reciprocal', [g.op('Sqrt', [bc2])]);
  const b1 = f32(g, beta1);
  const b2 = f32(g, beta2);
  const c1 = f32(g, 1 - beta1);
  const c2 = f32(g, 1 - beta2);
  const eps = f32(g, epsilon);
  const flatGrads =
    settings.layout === 'flat'
      ? [g.op('Concat', grads.map((gr) => g.op('Reshape', [gr, i64(g, [-1])])), { axis: attr.int(0) })]
      : grads;
  const out: StepOutputs = { loss: lossName, params: [], m: [], v: [], t };
  const adam = (gr: string, param: string, mIn: string, vIn: string, named?: Partial<StateTriple>): StateTriple => {
    const m = g.op('Add', [g.op('Mul', [mIn, b1]), g.op('Mul', [gr, c1])], {}, named?.m);
    const v = g.op('Add', [g.op('Mul', [vIn, b2]), g.op('Mul', [g.op('Mul', [gr, gr]), c2])], {}, named?.v);
    const denom = g.op('Add', [g.op('Mul', [g.op('Sqrt', [v]), invSqrtBc2]), eps]);
    const p = g.op('Sub', [param, g.op('Mul', [g.op('Div', [m, denom]), stepSize])], {}, named?.params);
    return { params: p, m, v };
  };
  flatGrads.forEach((gr, i) => {
    const u = adam(gr, io.params[i]!, io.m[i]!, io.v[i]!, { params: names.params?.[i], m: names.m?.[i], v: names.v?.[i] });
    out.params.push(u.params);
    out.m.push(u.m);
    out.v.push(u.v);
  });
  if (rate) out.density = adam(rate.dDensity!, io.density!.params, io.density!.m, io.density!.v, names.density);
  return out;
}
