/**
 * The input side of the encoder and autoencoder graphs: raw x → the first layer's pre-activation,
 * with the normalisation folded into that layer's weights, plus the `x_check` output the runtime uses
 * instead of scanning inputs for NaN/Infinity in JavaScript (docs/bundle.md).
 *
 * A convolution first: a normalisation without offset and with one scale for every column (scale255)
 * is folded into its kernel (exact with zero padding: padded zeros scale to zeros); any other
 * (minmax: per-column offsets, which padding would break) stays as explicit Sub / Mul nodes on the
 * flat input. x_check is the sum of the convolution's output when every input value falls inside
 * one of its windows (a 'valid' convolution may skip the last rows or columns); otherwise, and when a
 * pooling or upsampling layer comes first, the graph has no x_check and the runtime scans in JavaScript.
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
import type { ConvStep, DenseStep, Step } from '../model/chain.js';
import { DTYPE_CODE, type GraphBuilder, attr } from '@aekit/onnx';
import type { DenseOp, Stage, StepOverride } from './plan.js';

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

/** Raw input → what the network sees, as explicit nodes: Cast (uint8 input), then the normalisation. */
export function normalizationStages(o: InputHeadOptions, dim: number, cast = true): Stage[] {
  const stages: Stage[] = [];
  if (cast && o.inputDtype === 'uint8') stages.push((g, x, out) => g.op('Cast', [x], { to: attr.int(DTYPE_CODE.float32) }, out));
  const n = o.normalization;
  if (n.kind === 'scale255') stages.push((g, x, out) => g.op('Mul', [x, g.constFloat(1 / 255)], {}, out));
  else if (n.kind === 'minmax') {
    const { offset, scale } = toAffine(n, dim);
    stages.push((g, x, out) => g.op('Sub', [x, g.constFloat(offset, [dim], 'norm.offset')], {}, out));
    stages.push((g, x, out) => g.op('Mul', [x, g.constFloat(scale, [dim], 'norm.scale')], {}, out));
  }
  return stages;
}

/** True when every input row/column of a convolution falls inside at least one of its windows. */
export function convCoversInput(s: ConvStep): boolean {
  for (const d of [0, 1] as const) {
    const n = s.inShape[d];
    const k = s.kernelSize[d];
    const st = s.strides[d];
    const out = s.outShape[d];
    const before = s.pads[d];
    for (let i = 0; i < n; i++) {
      let hit = false;
      if (s.kind === 'conv') {
        // Windows start at j·s − before, j in [0, out).
        for (let j = 0; j < out && !hit; j++) hit = i >= j * st - before && i < j * st - before + k;
      } else {
        // Input i reaches full-output positions [i·s, i·s + k); the kept ones are [before, before + out − extra).
        const kept = out - s.outputPadding[d];
        hit = i * st + k > before && i * st < before + kept;
      }
      if (!hit) return false;
    }
  }
  return true;
}

/** The start of an encoder / autoencoder graph: stages before the first layer, its folded weights, and whether x_check exists. */
export interface InputHead {
  stages: Stage[];
  /** Step index → weights with the normalisation folded in (and the x_check output). */
  overrides: Map<number, StepOverride>;
  check: boolean;
}

export function planInputHead(o: InputHeadOptions, steps: readonly Step[], inputDim: number): InputHead {
  const cast: Stage[] = o.inputDtype === 'uint8' ? [(g, x, out) => g.op('Cast', [x], { to: attr.int(DTYPE_CODE.float32) }, out)] : [];
  const check = o.inputDtype === 'float32' ? GRAPH_IO.xCheck : undefined;
  let f = 0;
  while (steps[f]?.kind === 'reshape') f++;
  const first = steps[f];
  const explicit = (): InputHead => ({ stages: normalizationStages(o, inputDim), overrides: new Map(), check: false });
  if (first === undefined) return explicit();
  if (first.kind === 'dense') {
    const folded = foldNormalization(o.normalization, first);
    const stages = [...cast];
    if (folded.subtract) {
      const sub = folded.subtract;
      stages.push((g, x, out) => g.op('Sub', [x, g.constFloat(sub, [first.inputDim], 'norm.offset')], {}, out));
    }
    return { stages, overrides: new Map([[f, { kernel: folded.kernel, bias: folded.bias, ...(check ? { check } : {}) }]]), check: check !== undefined };
  }
  if (first.kind !== 'conv' && first.kind !== 'convTranspose') return explicit();
  const hasCheck = check !== undefined && convCoversInput(first);
  const ov: StepOverride = hasCheck ? { check } : {};
  const n = o.normalization;
  if (n.kind === 'none') return { stages: cast, overrides: new Map([[f, ov]]), check: hasCheck };
  const { offset, scale } = toAffine(n, inputDim);
  const s0 = scale[0]!;
  if (offset.every((v) => v === 0) && scale.every((v) => v === s0)) {
    // One scale for every input value: folded into the kernel (the bias does not see the input).
    return { stages: cast, overrides: new Map([[f, { ...ov, kernel: Float32Array.from(first.kernel, (w) => w * s0) }]]), check: hasCheck };
  }
  return { stages: [...cast, ...normalizationStages(o, inputDim, false)], overrides: new Map([[f, ov]]), check: hasCheck };
}

/** Declares `x_check` as a graph output (after the main output, so output 0 stays z / x_hat). */
export function declareInputCheck(g: GraphBuilder, o: InputHeadOptions): void {
  if (o.inputDtype === 'float32') g.output(GRAPH_IO.xCheck, 'float32', []);
}
