/**
 * Builds the three inference graphs of a split model: encoder x → z, decoder z → x_hat and
 * autoencoder x → x_hat, batch dimension `batch`. Graphs take and return raw units: the encoder
 * starts with the normalisation, the decoder ends with its inverse (core bundle.ts).
 */
import { AEKIT_VERSION, ExportError, GRAPH_IO, type GraphName, type IoDtype, type Normalization } from '@aekit/core';
import type { SplitModel } from '../model/split.js';
import { hasWeights } from '../model/chain.js';
import { DTYPE_CODE, EXECUTION_PROVIDERS, GraphBuilder, attr, i64 } from '@aekit/onnx';
import { declareInputCheck, normalizationStages, planInputHead } from './input-head.js';
import { type DenseOp, type PlanState, type Stage, chwToHwc, denseNode, permuteDense, planSteps, toFlat } from './plan.js';

/**
 * How a Dense layer is written. Gemm is the default: never slower than MatMul + Add, one node instead
 * of two, and no fusion pass needed from the runtime (docs/export.md, `pnpm bench export`).
 */
export type { DenseOp } from './plan.js';

export interface GraphOptions {
  opset: number;
  inputDtype: IoDtype;
  outputDtype: IoDtype;
  normalization: Normalization;
  denseOp: DenseOp;
  /** metadata_props common to the three graphs (the graph role is added per graph). */
  metadata: Record<string, string>;
}

/**
 * What the graphs are built from: the split model (model/split.ts). `inputShape` / `latentShape`
 * default to flat rows ([inputDim] / [latentDim]).
 */
export type GraphModel = Pick<SplitModel, 'inputDim' | 'latentDim' | 'encoder' | 'decoder' | 'inputShape' | 'latentShape'>;

const flatState = (shape: readonly number[] | undefined, dim: number): PlanState => ({ layout: { kind: 'flat' }, shape: shape ? [...shape] : [dim] });

/** Network output → raw units: the inverse normalisation, then Clip/Round/Cast for uint8 output. */
export function outputStages(o: Pick<GraphOptions, 'normalization' | 'outputDtype'>, dim: number): Stage[] {
  const stages: Stage[] = [];
  const n = o.normalization;
  if (n.kind === 'scale255') stages.push((g, x, out) => g.op('Mul', [x, g.constFloat(255)], {}, out));
  else if (n.kind === 'minmax') {
    const range = Float32Array.from(n.max, (mx, c) => mx - n.min[c]!);
    stages.push((g, x, out) => g.op('Mul', [x, g.constFloat(range, [dim], 'denorm.range')], {}, out));
    stages.push((g, x, out) => g.op('Add', [x, g.constFloat(n.min, [dim], 'denorm.min')], {}, out));
  }
  if (o.outputDtype === 'uint8') {
    stages.push((g, x, out) => g.op('Clip', [x, g.constFloat(0), g.constFloat(255)], {}, out));
    // Round is half-to-even, like numpy and tf.round.
    stages.push((g, x, out) => g.op('Round', [x], {}, out));
    stages.push((g, x, out) => g.op('Cast', [x], { to: attr.int(DTYPE_CODE.uint8) }, out));
  }
  return stages;
}

function runStages(g: GraphBuilder, input: string, stages: readonly Stage[], output: string): void {
  if (stages.length === 0) {
    g.op('Identity', [input], {}, output);
    return;
  }
  let x = input;
  stages.forEach((s, i) => {
    x = s(g, x, i === stages.length - 1 ? output : undefined);
  });
}

function finish(g: GraphBuilder, role: GraphName, o: GraphOptions): Uint8Array {
  return g.toBytes({
    opset: o.opset,
    producerName: 'aekit',
    producerVersion: AEKIT_VERSION,
    docString: `aekit ${role}`,
    metadata: { ...o.metadata, graph: role },
    // A float32 bundle is portable: every graph runs whole on every execution provider the runtime
    // offers. uint8 I/O needs Cast/Round on uint8, which the WebGPU EPs leave to the CPU.
    runsOn: o.inputDtype === 'float32' && o.outputDtype === 'float32' ? EXECUTION_PROVIDERS : ['cpu', 'wasm', 'cuda'],
  });
}

/** x → (head) → steps → flat rows named `output`; returns whether x_check was emitted. */
function buildForward(g: GraphBuilder, m: GraphModel, o: GraphOptions, steps: GraphModel['encoder'], output: string, tail: Stage[]): boolean {
  const head = planInputHead(o, steps, m.inputDim);
  const state = flatState(m.inputShape, m.inputDim);
  const stages = [...head.stages, ...planSteps(steps, state, o.denseOp, head.overrides), ...toFlat(state.layout, state.shape), ...tail];
  runStages(g, GRAPH_IO.x, stages, output);
  return head.check;
}

export function buildEncoder(m: GraphModel, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('aekit_encoder');
  g.input(GRAPH_IO.x, o.inputDtype, [GRAPH_IO.batch, m.inputDim]);
  // Normalisation folded into the first layer where possible, plus the x_check output (input-head.ts).
  const check = buildForward(g, m, o, m.encoder, GRAPH_IO.z, []);
  g.output(GRAPH_IO.z, 'float32', [GRAPH_IO.batch, m.latentDim]);
  if (check) declareInputCheck(g, o);
  return finish(g, 'encoder', o);
}

export function buildDecoder(m: GraphModel, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('aekit_decoder');
  g.input(GRAPH_IO.z, 'float32', [GRAPH_IO.batch, m.latentDim]);
  const state = flatState(m.latentShape, m.latentDim);
  const stages = [...planSteps(m.decoder, state, o.denseOp), ...toFlat(state.layout, state.shape), ...outputStages(o, m.inputDim)];
  runStages(g, GRAPH_IO.z, stages, GRAPH_IO.xHat);
  g.output(GRAPH_IO.xHat, o.outputDtype, [GRAPH_IO.batch, m.inputDim]);
  return finish(g, 'decoder', o);
}

export function buildAutoencoder(m: GraphModel, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('aekit_autoencoder');
  g.input(GRAPH_IO.x, o.inputDtype, [GRAPH_IO.batch, m.inputDim]);
  const check = buildForward(g, m, o, [...m.encoder, ...m.decoder], GRAPH_IO.xHat, outputStages(o, m.inputDim));
  g.output(GRAPH_IO.xHat, o.outputDtype, [GRAPH_IO.batch, m.inputDim]);
  if (check) declareInputCheck(g, o);
  return finish(g, 'autoencoder', o);
}

export function buildGraphs(m: GraphModel, o: GraphOptions): Record<GraphName, Uint8Array> {
  return { encoder: buildEncoder(m, o), decoder: buildDecoder(m, o), autoencoder: buildAutoencoder(m, o) };
}

/** The log-variance head of a VAE: a dense layer (linear) fed by the same features as the latent layer. */
export interface LogVarHead {
  inputDim: number;
  units: number;
  kernel: ArrayLike<number>;
  bias: ArrayLike<number>;
}

/**
 * A VAE's encoder: x → z_mean (the split model's encoder) and x → z_log_var (the head, applied to the
 * input of the latent layer). Same input and normalisation as the plain encoder.
 */
export function buildVaeEncoder(m: GraphModel, head: LogVarHead, o: GraphOptions): Uint8Array {
  const lastWeighted = m.encoder.reduce((k, s, i) => (hasWeights(s) ? i : k), -1);
  const latentDense = m.encoder[lastWeighted];
  if (latentDense === undefined || latentDense.kind !== 'dense' || latentDense.inputDim !== head.inputDim || latentDense.units !== head.units) {
    throw new ExportError(`the VAE log-variance head (${head.inputDim}×${head.units}) does not fit the encoder's latent layer; the checkpoint's aekit.json is inconsistent, retrain it`);
  }
  const g = new GraphBuilder('aekit_vae_encoder');
  g.input(GRAPH_IO.x, o.inputDtype, [GRAPH_IO.batch, m.inputDim]);
  const state = flatState(m.inputShape, m.inputDim);
  const prefix = [...normalizationStages(o, m.inputDim), ...planSteps(m.encoder.slice(0, lastWeighted), state, o.denseOp)];
  // The features both heads read: flat rows, in CHW order after a convolution (their kernels' rows permuted to match).
  if (state.layout.kind === 'nchw') {
    const n = state.shape.reduce((a, b) => a * b, 1);
    prefix.push((g, x, out) => g.op('Reshape', [x, i64(g, [0, n])], {}, out));
    state.layout = { kind: 'chw', hwc: state.layout.hwc };
  }
  const rows = state.layout.kind === 'flat' ? undefined : chwToHwc(state.layout.hwc);
  runStages(g, GRAPH_IO.x, prefix, 'features');
  const rest = [...planSteps(m.encoder.slice(lastWeighted), state, o.denseOp), ...toFlat(state.layout, state.shape)];
  runStages(g, 'features', rest, GRAPH_IO.zMean);
  const w = permuteDense({ inputDim: head.inputDim, units: head.units, kernel: Float32Array.from(head.kernel), bias: Float32Array.from(head.bias) }, rows);
  denseNode(g, 'features', 'latent_log_var', w, [head.inputDim, head.units], 'gemm', GRAPH_IO.zLogVar);
  g.output(GRAPH_IO.zMean, 'float32', [GRAPH_IO.batch, m.latentDim]);
  g.output(GRAPH_IO.zLogVar, 'float32', [GRAPH_IO.batch, m.latentDim]);
  return finish(g, 'encoder', o);
}
