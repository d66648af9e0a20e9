/**
 * The input side of the encoder and autoencoder graphs: raw x → the first Dense layer's pre-activation,
 * with the normalisation folded into that layer's weights, plus the `x_check` output the runtime uses
 * instead of scanning inputs for NaN/Infinity in JavaScript (docs/bundle.md).
 *
 * Folding: x_norm = (x − offset) · scale, so x_norm·W + b = x·(scale ⊙ W) + (b − Σ_c offset_c·scale_c·W_c).
 * The graph then has no normalisation node: one pass over the input (the widest tensor) less
 * (measured in docs/runtime.md).
 * The offset is folded into the bias only where |offset·scale| ≤ 1 in every column: with larger
 * offsets x·W' and the bias would cancel and lose float32 precision, so a Sub stays in the graph.
 *
 * x_check = ReduceSum(first pre-activation), a float32 scalar: a NaN or ±Infinity anywhere in x makes
 * every product of its column non-finite (Inf·0 is NaN), hence its row's pre-activations and the sum.
 * A finite x_check proves x finite; a non-finite one means a bad value or an overflowed sum, and the
 * runtime scans the rows to find (or rule out) the bad value. It is read before the activation
 * because Relu may map NaN (and does map −Infinity) to 0. It costs far less than a JavaScript scan of
 * the input, and less than reducing x itself (docs/runtime.md has the figures).
 * uint8 input cannot hold NaN, so uint8 graphs have no x_check.
 */
import { GRAPH_IO, type Normalization, toAffine } from '@aekit/core';
import type { DenseStep, Step } from '../model/chain.js';
import { DTYPE_CODE, type GraphBuilder, attr } from '@aekit/onnx';
import type { DenseOp } from './graphs.js';

/** Where |offset · scale| may reach before the offset is kept as a Sub instead of folded into the bias. */
const MAX_FOLDED_OFFSET = 1;

export interface InputHeadOptions {
  inputDtype: 'float32' | 'uint8';
  normalization: Normalization;
  denseOp: DenseOp;
}

/** The first Dense layer with the normalisation folded in, and an offset Sub when it could not be folded. */
export function foldNormalization(n: Normalization, dense: DenseStep): { kernel: Float32Array; bias: Float32Array | null; subtract?: Float32Array } {
  const { inputDim: rows, units: cols } = dense;
  if (n.kind === 'none') return { kernel: dense.kernel, bias: dense.bias };
  const { offset, scale } = toAffine(n, rows);
  const kernel = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = scale[r]!;
    for (let c = 0; c < cols; c++) kernel[r * cols + c] = dense.kernel[r * cols + c]! * s;
  }
  let foldOffset = true;
  for (let r = 0; r < rows; r++) if (!(Math.abs(offset[r]! * scale[r]!) <= MAX_FOLDED_OFFSET)) foldOffset = false;
  if (!foldOffset) return { kernel, bias: dense.bias, subtract: offset };
  if (!offset.some((v) => v !== 0)) return { kernel, bias: dense.bias };
  const bias = new Float64Array(cols);
  if (dense.bias) bias.set(dense.bias);
  for (let r = 0; r < rows; r++) {
    const shift = offset[r]! * scale[r]!;
    if (shift === 0) continue;
    for (let c = 0; c < cols; c++) bias[c]! -= shift * dense.kernel[r * cols + c]!;
  }
  return { kernel, bias: Float32Array.from(bias) };
}

/**
 * Emits x → Cast (uint8) → the first Dense layer with the normalisation folded in, and `x_check` for
 * float32 input. Returns the pre-activation's name and the steps after that layer, or undefined when
 * the chain does not start with a Dense layer (then the caller emits the plain normalisation stages).
 */
export function emitInputHead(g: GraphBuilder, o: InputHeadOptions, input: string, steps: readonly Step[]): { h: string; rest: Step[] } | undefined {
  const first = steps[0];
  if (first === undefined || first.kind !== 'dense') return undefined;
  const folded = foldNormalization(o.normalization, first);
  let x = input;
  if (o.inputDtype === 'uint8') x = g.op('Cast', [x], { to: attr.int(DTYPE_CODE.float32) });
  if (folded.subtract) x = g.op('Sub', [x, g.constFloat(folded.subtract, [first.inputDim], 'norm.offset')]);
  const layer = first.origin.layer;
  const w = g.initializer(`${layer}.kernel`, 'float32', [first.inputDim, first.units], folded.kernel);
  const b = folded.bias ? g.initializer(`${layer}.bias`, 'float32', [first.units], folded.bias) : undefined;
  let h: string;
  if (o.denseOp === 'gemm') h = g.op('Gemm', b ? [x, w, b] : [x, w]);
  else {
    h = g.op('MatMul', [x, w]);
    if (b) h = g.op('Add', [h, b]);
  }
  if (o.inputDtype === 'float32') {
    g.op('ReduceSum', [h], { keepdims: attr.int(0) }, GRAPH_IO.xCheck);
  }
  return { h, rest: steps.slice(1) };
}

/** Declares `x_check` as a graph output (after the main output, so output 0 stays z / x_hat). */
export function declareInputCheck(g: GraphBuilder, o: InputHeadOptions): void {
  if (o.inputDtype === 'float32') g.output(GRAPH_IO.xCheck, 'float32', []);
}
