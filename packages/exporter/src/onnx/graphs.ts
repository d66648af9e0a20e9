/**
 * Builds the three inference graphs of a split model: encoder x → z, decoder z → x_hat and
 * autoencoder x → x_hat, batch dimension `batch`. Graphs take and return raw units: the encoder
 * starts with the normalisation, the decoder ends with its inverse (core bundle.ts).
 */
import { AEKIT_VERSION, ExportError, GRAPH_IO, type GraphName, type IoDtype, type Normalization, toAffine } from '@aekit/core';
import type { SplitModel } from '../model/split.js';
import type { Step } from '../model/chain.js';
import { ACTIVATIONS, DTYPE_CODE, EXECUTION_PROVIDERS, GraphBuilder, attr } from '@aekit/onnx';
import { declareInputCheck, emitInputHead } from './input-head.js';

/**
 * How a Dense layer is written. Gemm is the default: never slower than MatMul + Add, one node instead
 * of two, and no fusion pass needed from the runtime (docs/export.md, `pnpm bench export`).
 */
export type DenseOp = 'gemm' | 'matmul';

export interface GraphOptions {
  opset: number;
  inputDtype: IoDtype;
  outputDtype: IoDtype;
  normalization: Normalization;
  denseOp: DenseOp;
  /** metadata_props common to the three graphs (the graph role is added per graph). */
  metadata: Record<string, string>;
}

/** One stage of a graph: transforms tensor `x`, naming its result `out` when given. */
type Stage = (g: GraphBuilder, x: string, out?: string) => string;

function denseStage(step: Step & { kind: 'dense' }, op: DenseOp): Stage {
  return (g, x, out) => {
    const layer = step.origin.layer;
    const w = g.initializer(`${layer}.kernel`, 'float32', [step.inputDim, step.units], step.kernel);
    const b = step.bias ? g.initializer(`${layer}.bias`, 'float32', [step.units], step.bias) : undefined;
    if (op === 'gemm') return g.op('Gemm', b ? [x, w, b] : [x, w], {}, out);
    const y = g.op('MatMul', [x, w], {}, b ? undefined : out);
    return b ? g.op('Add', [y, b], {}, out) : y;
  };
}

function stepStages(steps: readonly Step[], op: DenseOp): Stage[] {
  return steps.map((s) =>
    s.kind === 'dense' ? denseStage(s, op) : (g, x, out) => ACTIVATIONS[s.activation.name](g, x, s.activation, out).out,
  );
}

/** Raw input → what the network sees: Cast (uint8 input), then the normalisation. */
function inputStages(o: GraphOptions, dim: number): Stage[] {
  const stages: Stage[] = [];
  if (o.inputDtype === 'uint8') stages.push((g, x, out) => g.op('Cast', [x], { to: attr.int(DTYPE_CODE.float32) }, out));
  const n = o.normalization;
  if (n.kind === 'scale255') stages.push((g, x, out) => g.op('Mul', [x, g.constFloat(1 / 255)], {}, out));
  else if (n.kind === 'minmax') {
    const { offset, scale } = toAffine(n, dim);
    stages.push((g, x, out) => g.op('Sub', [x, g.constFloat(offset, [dim], 'norm.offset')], {}, out));
    stages.push((g, x, out) => g.op('Mul', [x, g.constFloat(scale, [dim], 'norm.scale')], {}, out));
  }
  return stages;
}

/** Network output → raw units: the inverse normalisation, then Clip/Round/Cast for uint8 output. */
function outputStages(o: GraphOptions, dim: number): Stage[] {
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

export function buildEncoder(m: SplitModel, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('aekit_encoder');
  g.input(GRAPH_IO.x, o.inputDtype, [GRAPH_IO.batch, m.inputDim]);
  // Normalisation folded into the first Dense layer, plus the x_check output (input-head.ts).
  const head = emitInputHead(g, o, GRAPH_IO.x, m.encoder);
  if (head) runStages(g, head.h, stepStages(head.rest, o.denseOp), GRAPH_IO.z);
  else runStages(g, GRAPH_IO.x, [...inputStages(o, m.inputDim), ...stepStages(m.encoder, o.denseOp)], GRAPH_IO.z);
  g.output(GRAPH_IO.z, 'float32', [GRAPH_IO.batch, m.latentDim]);
  if (head) declareInputCheck(g, o);
  return finish(g, 'encoder', o);
}

export function buildDecoder(m: SplitModel, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('aekit_decoder');
  g.input(GRAPH_IO.z, 'float32', [GRAPH_IO.batch, m.latentDim]);
  runStages(g, GRAPH_IO.z, [...stepStages(m.decoder, o.denseOp), ...outputStages(o, m.inputDim)], GRAPH_IO.xHat);
  g.output(GRAPH_IO.xHat, o.outputDtype, [GRAPH_IO.batch, m.inputDim]);
  return finish(g, 'decoder', o);
}

export function buildAutoencoder(m: SplitModel, o: GraphOptions): Uint8Array {
  const g = new GraphBuilder('aekit_autoencoder');
  g.input(GRAPH_IO.x, o.inputDtype, [GRAPH_IO.batch, m.inputDim]);
  const steps = [...m.encoder, ...m.decoder];
  const head = emitInputHead(g, o, GRAPH_IO.x, steps);
  const stages = [
    ...(head ? [] : inputStages(o, m.inputDim)),
    ...stepStages(head ? head.rest : steps, o.denseOp),
    ...outputStages(o, m.inputDim),
  ];
  runStages(g, head ? head.h : GRAPH_IO.x, stages, GRAPH_IO.xHat);
  g.output(GRAPH_IO.xHat, o.outputDtype, [GRAPH_IO.batch, m.inputDim]);
  if (head) declareInputCheck(g, o);
  return finish(g, 'autoencoder', o);
}

export function buildGraphs(m: SplitModel, o: GraphOptions): Record<GraphName, Uint8Array> {
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
export function buildVaeEncoder(m: SplitModel, head: LogVarHead, o: GraphOptions): Uint8Array {
  let lastDense = -1;
  m.encoder.forEach((s, i) => {
    if (s.kind === 'dense') lastDense = i;
  });
  const latentDense = m.encoder[lastDense];
  if (latentDense === undefined || latentDense.kind !== 'dense' || latentDense.inputDim !== head.inputDim || latentDense.units !== head.units) {
    throw new ExportError(`the VAE log-variance head (${head.inputDim}×${head.units}) does not fit the encoder's latent layer; the checkpoint's aekit.json is inconsistent, retrain it`);
  }
  const g = new GraphBuilder('aekit_vae_encoder');
  g.input(GRAPH_IO.x, o.inputDtype, [GRAPH_IO.batch, m.inputDim]);
  runStages(g, GRAPH_IO.x, [...inputStages(o, m.inputDim), ...stepStages(m.encoder.slice(0, lastDense), o.denseOp)], 'features');
  runStages(g, 'features', stepStages(m.encoder.slice(lastDense), o.denseOp), GRAPH_IO.zMean);
  const w = g.initializer('latent_log_var.kernel', 'float32', [head.inputDim, head.units], Float32Array.from(head.kernel));
  const b = g.initializer('latent_log_var.bias', 'float32', [head.units], Float32Array.from(head.bias));
  g.op('Gemm', ['features', w, b], {}, GRAPH_IO.zLogVar);
  g.output(GRAPH_IO.zMean, 'float32', [GRAPH_IO.batch, m.latentDim]);
  g.output(GRAPH_IO.zLogVar, 'float32', [GRAPH_IO.batch, m.latentDim]);
  return finish(g, 'encoder', o);
}
