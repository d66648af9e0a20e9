/**
 * Training-step and forward graphs for a ModelSpec, as ONNX bytes for onnxruntime (node or web; CPU,
 * CUDA, WebGPU). The state (parameters, Adam m and v) goes in as inputs and comes back as outputs, so
 * a caller feeds each run's outputs to the next run without touching their values.
 *
 * `stepsPerRun: 'loop'` wraps the step in an ONNX Loop over x shaped [steps, batch, inputDim]: one
 * `run()` then performs `steps` optimizer steps, amortising the per-run cost (~22 µs on this machine)
 * and the copy of the state in and out of onnxruntime.
 */
import {
  AEKIT_VERSION,
  DEFAULT_ADAM,
  LOSS_NAMES,
  UsageError,
  validateSpec,
  type AdamConfig,
  type LossName,
  type ModelSpec,
} from '@aekit/core';
import { attr, type Dim, GraphBuilder } from '@aekit/onnx';
import { encoderDepth } from '@aekit/core';
import { checkRateWeight } from '../variants/rate-math.js';
import { CONV_LOWERINGS, type ConvLowering, DEFAULT_CONV_LOWERING } from './conv.js';
import { PARAM_LAYOUTS, parameterSlots, stateInputNames, updatedName, type ParamLayout, type ParamSlot } from './layout.js';
import { emitForward, emitLoss, emitRate, emitTrainingStep, unpackParams } from './step.js';

/**
 * A rate graph's extra inputs: the step's latent noise `u` (shaped like x with latentDim columns) and
 * the density [2, latentDim] (row 0 μ, row 1 ℓ) with its Adam moments; outputs `new.<input>`.
 */
export const RATE_INPUTS = { noise: 'u', density: 'density', m: 'm.density', v: 'v.density' } as const;

/** Opset of the generated graphs (IR 8; onnxruntime ≥ 1.12 and the Debian onnx checker accept it). */
export const TRAINING_OPSET = 17;

/**
 * How rows reach a graph: `float32`, normalised (input `x`), or `bytes`: uint8 rows (input `x_bytes`,
 * same dims) that the graph scales itself, x = bytes / 255, the scale255 normalisation to the same
 * float32 values JavaScript computes. Bytes move a quarter of the memory per epoch (gather, copy in).
 */
export type GraphInput = 'float32' | 'bytes';
export const BYTES_INPUT = 'x_bytes';

/** Declares the rows input; the rest of the graph reads float32 rows `x` either way. */
function rowsInput(g: GraphBuilder, dims: readonly Dim[], input: GraphInput = 'float32'): void {
  if (input === 'float32') {
    g.input('x', 'float32', dims);
    return;
  }
  g.input(BYTES_INPUT, 'uint8', dims);
  // Cast to 1 = FLOAT; Div (correctly rounded) gives fround(v / 255) for every byte v, as JS does.
  g.node('Div', [g.op('Cast', [BYTES_INPUT], { to: attr.int(1) }, 'x.float'), g.constFloat(255, [], 'x.scale')], ['x']);
}

export interface TrainingGraphOptions {
  loss?: LossName;
  /** β1, β2, ε are baked in; the learning rate is the `lr` input (so schedules need no rebuild). */
  adam?: Partial<AdamConfig>;
  l1?: number;
  l2?: number;
  /** Default `flat`. */
  layout?: ParamLayout;
  /** `single`: x is [batch, inputDim]; `loop` (default): x is [steps, batch, inputDim]. */
  stepsPerRun?: 'single' | 'loop';
  /**
   * Adds an input `y` shaped like `x` that the output is scored against instead of `x` (denoising:
   * `x` the corrupted rows, `y` the clean ones).
   */
  targets?: boolean;
  /** Rate–distortion training with weight λ > 0 (variants/rate-math.ts): adds the RATE_INPUTS. */
  rate?: { weight: number };
  /** How convolutions are written (graphs/conv.ts); default `ops`. */
  conv?: ConvLowering;
  /** How `x` arrives (default float32); `y` is float32 either way. */
  input?: GraphInput;
}

export interface TrainingGraph {
  bytes: Uint8Array;
  layout: ParamLayout;
  loop: boolean;
  slots: ParamSlot[];
  /** Input names: `x` (`x_bytes` with bytes input), `y` (targets option), `t` (float32 scalar, steps taken so far), `lr` (float32 scalar), the state. */
  inputs: { x: string; y?: string; t: string; lr: string; params: string[]; m: string[]; v: string[] };
  /** `loss` is a scalar, or one value per step ([steps]) for a loop graph; state outputs are `new.<input>`. */
  outputs: { loss: string; params: string[]; m: string[]; v: string[] };
  /** With the rate option: the density's state inputs (and `u`); their outputs are `new.<input>`. */
  rate?: typeof RATE_INPUTS;
}

function checkFactor(name: string, value: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= max) {
    throw new UsageError(`${name} must be a finite number >= 0${max < Infinity ? ` and < ${max}` : ''}, got ${value}`);
  }
  return value;
}

interface Resolved {
  spec: ModelSpec;
  loss: LossName;
  adam: AdamConfig;
  l1: number;
  l2: number;
  layout: ParamLayout;
  conv: ConvLowering;
}

function resolve(specInput: ModelSpec, o: Pick<TrainingGraphOptions, 'loss' | 'adam' | 'l1' | 'l2' | 'layout' | 'conv'>): Resolved {
  const spec = validateSpec(specInput);
  const loss = o.loss ?? 'mse';
  if (!LOSS_NAMES.includes(loss)) throw new UsageError(`unknown loss "${String(loss)}"; valid: ${LOSS_NAMES.join(', ')}`);
  const layout = o.layout ?? 'flat';
  if (!PARAM_LAYOUTS.includes(layout)) {
    throw new UsageError(`unknown parameter layout "${String(layout)}"; valid: ${PARAM_LAYOUTS.join(', ')}`);
  }
  const adam = { ...DEFAULT_ADAM, ...o.adam };
  checkFactor('Adam beta1', adam.beta1, 1);
  checkFactor('Adam beta2', adam.beta2, 1);
  if (!(adam.epsilon > 0) || !Number.isFinite(adam.epsilon)) {
    throw new UsageError(`Adam epsilon must be a finite number > 0, got ${adam.epsilon}`);
  }
  const conv = o.conv ?? DEFAULT_CONV_LOWERING;
  if (!CONV_LOWERINGS.includes(conv)) {
    throw new UsageError(`unknown convolution lowering "${String(conv)}"; valid: ${CONV_LOWERINGS.join(', ')}`);
  }
  return { spec, loss, adam, l1: checkFactor('l1', o.l1 ?? 0), l2: checkFactor('l2', o.l2 ?? 0), layout, conv };
}

function stateDims(slots: ParamSlot[], layout: ParamLayout): number[][] {
  return layout === 'flat' ? [[slots.reduce((n, s) => n + s.size, 0)]] : slots.map((s) => s.shape);
}

/** The training-step graph (forward, loss, backward, L1/L2, Adam) for `spec`. */
export function buildTrainingGraph(specInput: ModelSpec, options: TrainingGraphOptions = {}): TrainingGraph {
  const r = resolve(specInput, options);
  const loop = (options.stepsPerRun ?? 'loop') === 'loop';
  const slots = parameterSlots(r.spec);
  const names = stateInputNames(r.spec, r.layout);
  const dims = stateDims(slots, r.layout);
  const state = [...names.params, ...names.m, ...names.v];
  const rate = options.rate === undefined ? undefined : { weight: checkRateWeight(options.rate.weight, 'rate weight') };
  const L = r.spec.latent.units;
  // The density's state (params, m, v) rides after the dense state.
  const densityState = rate ? [RATE_INPUTS.density, RATE_INPUTS.m, RATE_INPUTS.v] : [];
  state.push(...densityState);
  const stateDimsAll = [...dims, ...dims, ...dims, ...densityState.map(() => [2, L])];
  const settings = { loss: r.loss, adam: r.adam, l1: r.l1, l2: r.l2, layout: r.layout, conv: r.conv, ...(rate ? { rate } : {}) };
  const densityOf = (list: string[]) => (rate ? { density: { params: list[3 * k]!, m: list[3 * k + 1]!, v: list[3 * k + 2]! } } : {});

  const g = new GraphBuilder(loop ? 'aekit_train_loop' : 'aekit_train_step');
  const D = r.spec.inputDim;
  const xDims = loop ? ['steps', 'batch', D] : ['batch', D];
  rowsInput(g, xDims, options.input);
  if (options.targets) g.input('y', 'float32', xDims);
  if (rate) g.input(RATE_INPUTS.noise, 'float32', loop ? ['steps', 'batch', L] : ['batch', L]);
  state.forEach((n, i) => g.input(n, 'float32', stateDimsAll[i]!));
  g.input('t', 'float32', []);
  g.input('lr', 'float32', []);
  const k = names.params.length;
  const split = (list: string[]) => ({ params: list.slice(0, k), m: list.slice(k, 2 * k), v: list.slice(2 * k, 3 * k) });
  const outNames = split(state.map(updatedName));

  if (!loop) {
    const target = options.targets ? { target: 'y' } : {};
    const noise = rate ? { noise: RATE_INPUTS.noise } : {};
    emitTrainingStep(g, r.spec, settings, { x: 'x', ...target, ...noise, ...names, t: 't', lr: 'lr', ...densityOf(state) }, { loss: 'loss', ...outNames, ...densityOf(state.map(updatedName)) });
  } else {
    // Body: (iter, cond, t, state…) → (cond, t + 1, state'…, loss). It reads x and lr from the outer
    // graph; its own names are prefixed so they never shadow outer ones.
    const body = new GraphBuilder('aekit_train_body');
    body.input('body.iter', 'int64', []);
    body.input('body.cond', 'bool', []);
    body.input('body.t', 'float32', []);
    const bodyState = state.map((n, i) => body.input(`body.${n}`, 'float32', stateDimsAll[i]!));
    const xb = body.op('Gather', ['x', 'body.iter'], { axis: attr.int(0) }, 'body.x');
    const target = options.targets ? { target: body.op('Gather', ['y', 'body.iter'], { axis: attr.int(0) }, 'body.y') } : {};
    const noise = rate ? { noise: body.op('Gather', [RATE_INPUTS.noise, 'body.iter'], { axis: attr.int(0) }, 'body.u') } : {};
    const bs = split(bodyState);
    const out = emitTrainingStep(body, r.spec, settings, { x: xb, ...target, ...noise, ...bs, t: 'body.t', lr: 'lr', ...densityOf(bodyState) });
    body.op('Identity', ['body.cond'], {}, 'body.cond_out');
    body.output('body.cond_out', 'bool', []);
    body.output(out.t, 'float32', []);
    const outDensity = out.density ? [out.density.params, out.density.m, out.density.v] : [];
    [...out.params, ...out.m, ...out.v, ...outDensity].forEach((n, i) => body.output(n, 'float32', stateDimsAll[i]!));
    body.output(out.loss, 'float32', []);

    // Outer: trip count = x.shape[0]. Every outer name is explicit (no clash with the body's fresh names).
    g.node('Shape', ['x'], ['outer.shape']);
    g.node('Gather', ['outer.shape', g.constInt64([0], [], 'outer.zero')], ['outer.steps'], { axis: attr.int(0) });
    g.node('Loop', ['outer.steps', '', 't', ...state], ['outer.t', ...state.map(updatedName), 'loss'], {
      body: attr.graph(body.toGraphProto()),
    });
  }
  g.output('loss', 'float32', loop ? ['steps'] : []);
  state.forEach((n, i) => g.output(updatedName(n), 'float32', stateDimsAll[i]!));
  const bytes = g.toBytes({
    opset: TRAINING_OPSET,
    producerName: 'aekit',
    producerVersion: AEKIT_VERSION,
    docString: `aekit training step (${r.loss}, Adam, l1=${r.l1}, l2=${r.l2}, layout ${r.layout})`,
    // The single-step graph runs on WebGPU too; a Loop runs on the CPU EP (ops.ts).
    runsOn: loop ? ['cpu', 'wasm'] : ['cpu', 'wasm', 'webgpu'],
  });
  return {
    bytes,
    layout: r.layout,
    loop,
    slots,
    inputs: { x: options.input === 'bytes' ? BYTES_INPUT : 'x', ...(options.targets ? { y: 'y' } : {}), t: 't', lr: 'lr', ...names },
    outputs: { loss: 'loss', ...outNames },
    ...(rate ? { rate: RATE_INPUTS } : {}),
  };
}

/**
 * A rate model's validation loss over a batch: the decoder's reconstruction of `x` from the given
 * (already rounded) latents `z` + λ · bits per value at `z` under the density (input `density`
 * [2, latentDim]). Output `loss`, a scalar; inputs x, z, the parameters (as the forward graph's) and density.
 */
export function buildRateEvaluateGraph(specInput: ModelSpec, options: { loss?: LossName; layout?: ParamLayout; weight: number; conv?: ConvLowering; input?: GraphInput }): Uint8Array {
  const r = resolve(specInput, { loss: options.loss ?? 'mse', layout: options.layout ?? 'flat', ...(options.conv ? { conv: options.conv } : {}) });
  const slots = parameterSlots(r.spec);
  const names = stateInputNames(r.spec, r.layout);
  const dims = stateDims(slots, r.layout);
  const L = r.spec.latent.units;
  const g = new GraphBuilder('aekit_rate_evaluate');
  rowsInput(g, ['batch', r.spec.inputDim], options.input);
  g.input('z', 'float32', ['batch', L]);
  names.params.forEach((n, i) => g.input(n, 'float32', dims[i]!));
  g.input(RATE_INPUTS.density, 'float32', [2, L]);
  const tensors = unpackParams(g, slots, r.layout, names.params);
  const a = emitForward(g, r.spec, 'z', tensors, 'output', undefined, r.conv, encoderDepth(r.spec)).output;
  const recon = emitLoss(g, r.loss, a, 'x', false).loss;
  const { term } = emitRate(g, 'z', RATE_INPUTS.density, checkRateWeight(options.weight, 'rate weight'), r.spec.inputDim, false);
  g.op('Add', [recon, term], {}, 'loss');
  g.output('loss', 'float32', []);
  return g.toBytes({ opset: TRAINING_OPSET, producerName: 'aekit', producerVersion: AEKIT_VERSION, runsOn: ['cpu', 'wasm', 'webgpu'] });
}

export interface ForwardGraphOptions {
  layout?: ParamLayout;
  /** `latent`: output `z` [batch, latentDim]; `loss`: output `loss`, the batch's reconstruction loss (scalar). */
  output: 'latent' | 'loss';
  loss?: LossName;
  conv?: ConvLowering;
  input?: GraphInput;
}

export interface ForwardGraph {
  bytes: Uint8Array;
  inputs: { x: string; params: string[] };
  output: string;
}

/** A forward-only graph over the same parameter inputs as the training graph (evaluate / encode). */
export function buildForwardGraph(specInput: ModelSpec, options: ForwardGraphOptions): ForwardGraph {
  const r = resolve(specInput, { loss: options.loss ?? 'mse', layout: options.layout ?? 'flat', ...(options.conv ? { conv: options.conv } : {}) });
  const slots = parameterSlots(r.spec);
  const names = stateInputNames(r.spec, r.layout);
  const dims = stateDims(slots, r.layout);
  const g = new GraphBuilder(options.output === 'latent' ? 'aekit_encode' : 'aekit_evaluate');
  rowsInput(g, ['batch', r.spec.inputDim], options.input);
  names.params.forEach((n, i) => g.input(n, 'float32', dims[i]!));
  const tensors = unpackParams(g, slots, r.layout, names.params);
  let output: string;
  if (options.output === 'latent') {
    const enc = emitForward(g, r.spec, 'x', tensors, 'latent', undefined, r.conv);
    output = g.op('Identity', [enc.latent], {}, 'z');
    g.output(output, 'float32', ['batch', r.spec.latent.units]);
  } else {
    const fwd = emitForward(g, r.spec, 'x', tensors, 'output', undefined, r.conv);
    output = emitLoss(g, r.loss, fwd.output, 'x', false, 'loss').loss;
    g.output(output, 'float32', []);
  }
  const bytes = g.toBytes({ opset: TRAINING_OPSET, producerName: 'aekit', producerVersion: AEKIT_VERSION });
  return { bytes, inputs: { x: options.input === 'bytes' ? BYTES_INPUT : 'x', params: names.params }, output };
}

/**
 * Copies state tensors out of a device: Identity per input (`<name>` → `out.<name>`). An engine that
 * keeps its state in GPU buffers runs this on the same device with CPU outputs to read it back.
 */
export function buildReadoutGraph(specInput: ModelSpec, layout: ParamLayout = 'flat', rate = false): { bytes: Uint8Array; inputs: string[]; outputs: string[] } {
  const r = resolve(specInput, { layout });
  const slots = parameterSlots(r.spec);
  const names = stateInputNames(r.spec, r.layout);
  const dims = stateDims(slots, r.layout);
  const core = [...names.params, ...names.m, ...names.v];
  const all = rate ? [...core, RATE_INPUTS.density, RATE_INPUTS.m, RATE_INPUTS.v] : core;
  const dimsOf = (i: number) => (i < core.length ? dims[i % dims.length]! : [2, r.spec.latent.units]);
  const g = new GraphBuilder('aekit_readout');
  const outputs = all.map((n, i) => {
    g.input(n, 'float32', dimsOf(i));
    const o = g.op('Identity', [n], {}, `out.${n}`);
    g.output(o, 'float32', dimsOf(i));
    return o;
  });
  const bytes = g.toBytes({ opset: TRAINING_OPSET, producerName: 'aekit', producerVersion: AEKIT_VERSION });
  return { bytes, inputs: all, outputs };
}
