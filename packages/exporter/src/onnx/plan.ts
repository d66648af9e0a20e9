/**
 * Turns a run of steps into graph stages while tracking where the data physically sits. Graph inputs
 * and outputs are flat rows in tfjs's row-major (HWC) order; convolutions run NCHW. Layouts are known
 * statically, so the conversions are planned before any node is written:
 *
 *  - `flat`: [batch, n], tfjs order of the logical shape.
 *  - `nchw`: [batch, c, h, w] of an image `hwc`.
 *  - `chw`: [batch, n] holding an image `hwc` in CHW order (a Reshape away from NCHW).
 *
 * Reshape / Flatten steps change only the logical shape (row-major data does not move). Where a Dense
 * layer meets an image layout its kernel rows are permuted to read CHW order (no Transpose); a Dense
 * layer whose output is reshaped into the next convolution's input writes CHW order directly (its
 * columns permuted). Transposes remain only at the graph's input and output and around Reshapes that
 * regroup an image.
 */
import { ExportError } from '@aekit/core';
import { ACTIVATIONS, type GraphBuilder, attr, i64 } from '@aekit/onnx';
import { type ConvStep, type DenseStep, type Hwc, type PoolStep, type SpatialStep, type Step, type UpsampleStep, size } from '../model/chain.js';

/** One stage of a graph: transforms tensor `x`, naming its result `out` when given. */
export type Stage = (g: GraphBuilder, x: string, out?: string) => string;

/** How a Dense layer is written (graphs.ts). */
export type DenseOp = 'gemm' | 'matmul';

export type Layout = { kind: 'flat' } | { kind: 'nchw' | 'chw'; hwc: Hwc };

const FLAT: Layout = { kind: 'flat' };

const sameHwc = (a: Hwc, b: readonly number[]) => b.length === 3 && a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** perm[i] = the HWC-order index of the value at CHW-order index i. */
export function chwToHwc([h, w, c]: Hwc): Uint32Array {
  const perm = new Uint32Array(h * w * c);
  let i = 0;
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) perm[i++] = (y * w + x) * c + ch;
  return perm;
}

/** A 4-D row-major tensor [a, b, c, d] transposed to [d, c, a, b] (tfjs conv kernels → ONNX Conv / ConvTranspose W). */
export function transpose3201(k: Float32Array, [a, b, c, d]: readonly number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let i = 0; i < a; i++)
    for (let j = 0; j < b; j++)
      for (let m = 0; m < c; m++)
        for (let n = 0; n < d; n++) out[((n * c + m) * a + i) * b + j] = k[((i * b + j) * c + m) * d + n]!;
  return out;
}

/** Dense weights with rows (input order) and/or columns (output order) permuted. */
export function permuteDense(
  step: Pick<DenseStep, 'inputDim' | 'units' | 'kernel' | 'bias'>,
  rows?: Uint32Array,
  cols?: Uint32Array,
): { kernel: Float32Array; bias: Float32Array | null } {
  if (!rows && !cols) return { kernel: step.kernel, bias: step.bias };
  const { inputDim: n, units: u } = step;
  const kernel = new Float32Array(n * u);
  for (let r = 0; r < n; r++) {
    const src = (rows ? rows[r]! : r) * u;
    for (let c = 0; c < u; c++) kernel[r * u + c] = step.kernel[src + (cols ? cols[c]! : c)]!;
  }
  const bias = step.bias && cols ? Float32Array.from(cols, (c) => step.bias![c]!) : step.bias;
  return { kernel, bias };
}

export function denseNode(g: GraphBuilder, x: string, layer: string, w: { kernel: Float32Array; bias: Float32Array | null }, dims: [number, number], op: DenseOp, out?: string): string {
  const k = g.initializer(`${layer}.kernel`, 'float32', dims, w.kernel);
  const b = w.bias ? g.initializer(`${layer}.bias`, 'float32', [dims[1]], w.bias) : undefined;
  if (op === 'gemm') return g.op('Gemm', b ? [x, k, b] : [x, k], {}, out);
  const y = g.op('MatMul', [x, k], {}, b ? undefined : out);
  return b ? g.op('Add', [y, b], {}, out) : y;
}

/** A Conv / ConvTranspose node on NCHW input, weights from the step (or `kernel` in tfjs layout when given, e.g. folded). */
export function convNode(g: GraphBuilder, x: string, s: ConvStep, out?: string, kernel: Float32Array = s.kernel): string {
  const [kh, kw] = s.kernelSize;
  const cin = s.inShape[2];
  const cout = s.outShape[2];
  const tfShape = s.kind === 'conv' ? [kh, kw, cin, cout] : [kh, kw, cout, cin];
  const w = g.initializer(`${s.origin.layer}.kernel`, 'float32', [tfShape[3]!, tfShape[2]!, kh, kw], transpose3201(kernel, tfShape));
  const b = s.bias ? g.initializer(`${s.origin.layer}.bias`, 'float32', [cout], s.bias) : undefined;
  const attrs = {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints([...s.strides]),
    pads: attr.ints([...s.pads]),
    ...(s.kind === 'convTranspose' && s.outputPadding.some((p) => p > 0) ? { output_padding: attr.ints([...s.outputPadding]) } : {}),
  };
  return g.op(s.kind === 'conv' ? 'Conv' : 'ConvTranspose', b ? [x, w, b] : [x, w], attrs, out);
}

function poolNode(g: GraphBuilder, x: string, s: PoolStep, out?: string): string {
  const attrs = { kernel_shape: attr.ints([...s.poolSize]), strides: attr.ints([...s.strides]), pads: attr.ints([...s.pads]) };
  // TensorFlow averages over the cells inside the image only.
  if (s.op === 'average') return g.op('AveragePool', [x], { ...attrs, count_include_pad: attr.int(0) }, out);
  return g.op('MaxPool', [x], attrs, out);
}

/** Nearest upsampling by whole factors: each value copied into an sh × sw block (pure data movement, exact). */
function upsampleNodes(g: GraphBuilder, x: string, s: UpsampleStep, out?: string): string {
  const [h, w, c] = s.inShape;
  const [sh, sw] = s.size;
  const r6 = g.op('Reshape', [x, i64(g, [0, c, h, 1, w, 1])]);
  const e = g.op('Expand', [r6, i64(g, [1, 1, 1, sh, 1, sw])]);
  return g.op('Reshape', [e, i64(g, [0, c, h * sh, w * sw])], {}, out);
}

/** Stages that bring a value from `from` (logical `shape`) to NCHW of `hwc`. */
function toNchw(from: Layout, shape: readonly number[], hwc: Hwc): Stage[] {
  const [h, w, c] = hwc;
  if (from.kind === 'nchw' && sameHwc(from.hwc, hwc)) return [];
  if (from.kind === 'chw' && sameHwc(from.hwc, hwc)) return [(g, x, out) => g.op('Reshape', [x, i64(g, [0, c, h, w])], {}, out)];
  return [
    ...toFlat(from, shape),
    (g, x, out) => g.op('Reshape', [x, i64(g, [0, h, w, c])], {}, out),
    (g, x, out) => g.op('Transpose', [x], { perm: attr.ints([0, 3, 1, 2]) }, out),
  ];
}

/** Stages that bring a value to flat rows in tfjs order. */
export function toFlat(from: Layout, shape: readonly number[]): Stage[] {
  if (from.kind === 'flat') return [];
  const [h, w, c] = from.hwc;
  return [
    ...(from.kind === 'chw' ? [(g: GraphBuilder, x: string, out?: string) => g.op('Reshape', [x, i64(g, [0, c, h, w])], {}, out)] : []),
    (g, x, out) => g.op('Transpose', [x], { perm: attr.ints([0, 2, 3, 1]) }, out),
    (g, x, out) => g.op('Reshape', [x, i64(g, [0, size(shape)])], {}, out),
  ];
}

/**
 * The image the output of the Dense step at `i` is reshaped into by the next spatial step of this
 * graph (through activations and reshapes only), or undefined.
 */
function feedsImage(steps: readonly Step[], i: number): Hwc | undefined {
  for (let j = i + 1; j < steps.length; j++) {
    const s = steps[j]!;
    if (s.kind === 'activation' || s.kind === 'reshape') continue;
    if (s.kind === 'dense') return undefined;
    return s.inShape;
  }
  return undefined;
}

/** The layout-tracking state of a plan in progress. */
export interface PlanState {
  layout: Layout;
  shape: number[];
}

/** Per-step overrides: weights to use instead of the step's own (normalisation folded in). */
export interface StepOverride {
  kernel?: Float32Array;
  bias?: Float32Array | null;
  /** Emits `x_check` = ReduceSum of this step's output (its pre-activation). */
  check?: string;
}

function spatialStage(s: SpatialStep, override?: StepOverride): Stage {
  return (g, x, out) => {
    let y: string;
    if (s.kind === 'pool') y = poolNode(g, x, s, out);
    else if (s.kind === 'upsample') y = upsampleNodes(g, x, s, out);
    else {
      const step = override?.bias !== undefined ? { ...s, bias: override.bias } : s;
      y = convNode(g, x, step, out, override?.kernel ?? s.kernel);
    }
    if (override?.check) g.op('ReduceSum', [y], { keepdims: attr.int(0) }, override.check);
    return y;
  };
}

/**
 * Plans `steps` from `state` (mutated to the state after them). `overrides` (by step index) replace
 * a step's weights. Dense inputs in an image layout get permuted kernel rows (`rowPerms` records them
 * by step index, for heads that share the input, like a VAE's log-variance layer).
 */
export function planSteps(
  steps: readonly Step[],
  state: PlanState,
  op: DenseOp,
  overrides: ReadonlyMap<number, StepOverride> = new Map(),
  rowPerms?: Map<number, Uint32Array>,
): Stage[] {
  const stages: Stage[] = [];
  steps.forEach((s, i) => {
    const ov = overrides.get(i);
    switch (s.kind) {
      case 'activation': {
        const a = s.activation;
        stages.push((g, x, out) => ACTIVATIONS[a.name](g, x, a, out).out);
        return;
      }
      case 'reshape':
        state.shape = [...s.to];
        return;
      case 'dense': {
        let rows: Uint32Array | undefined;
        if (state.layout.kind !== 'flat') {
          const { hwc } = state.layout;
          if (state.layout.kind === 'nchw') stages.push((g, x, out) => g.op('Reshape', [x, i64(g, [0, size(hwc)])], {}, out));
          rows = chwToHwc(hwc);
          rowPerms?.set(i, rows);
        }
        const image = feedsImage(steps, i);
        const cols = image && size(image) === s.units ? chwToHwc(image) : undefined;
        const w = permuteDense({ ...s, kernel: ov?.kernel ?? s.kernel, bias: ov?.bias !== undefined ? ov.bias : s.bias }, rows, cols);
        stages.push((g, x, out) => {
          const y = denseNode(g, x, s.origin.layer, w, [s.inputDim, s.units], op, out);
          if (ov?.check) g.op('ReduceSum', [y], { keepdims: attr.int(0) }, ov.check);
          return y;
        });
        state.layout = cols ? { kind: 'chw', hwc: image! } : FLAT;
        state.shape = [s.units];
        return;
      }
      default: {
        if (state.shape.length !== 3 || !sameHwc(s.inShape, state.shape)) {
          throw new ExportError(`layer "${s.origin.layer}" expects an input of [${s.inShape.join(', ')}] but gets [${state.shape.join(', ')}]`);
        }
        stages.push(...toNchw(state.layout, state.shape, s.inShape), spatialStage(s, ov));
        state.layout = { kind: 'nchw', hwc: s.outShape };
        state.shape = [...s.outShape];
      }
    }
  });
  return stages;
}
