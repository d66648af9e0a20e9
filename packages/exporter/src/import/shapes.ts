/**
 * Static shapes of a foreign ONNX graph (PyTorch's `torch.onnx.export` writes no value_info), with the
 * batch dimension kept symbolic (`'N'`), and the values of the small integer tensors that compute
 * shapes (Shape → Gather → Unsqueeze → Concat → Reshape, PyTorch's `x.view(x.size(0), …)`), so the
 * importer can learn the latent's size and make the batch dynamic without running the model.
 *
 * Covers the ops autoencoders are exported with; an op it does not know leaves its outputs unknown,
 * and the importer names that op only when it needs a shape it could not work out.
 */
import { onnx, type OnnxTypes } from '@aekit/onnx';

/** A dimension: a size, the symbolic batch `'N'`, or unknown (`null`). */
export type SymDim = number | 'N' | null;

/** What is known about a tensor: its shape, element type, and (small integer tensors) its values. */
export interface TensorInfo {
  shape?: SymDim[];
  /** ONNX TensorProto.DataType code (1 float, 7 int64, …). */
  elemType?: number;
  /** Values of small int tensors, row-major; `'N'` where a value is the batch size. */
  value?: SymDim[];
  /** Values of small float32 constants (Resize / Upsample scales). */
  floats?: number[];
}

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;
const INT32 = onnx.TensorProto.DataType.INT32;
const BOOL = onnx.TensorProto.DataType.BOOL;

/** protobufjs decodes int64 fields as Long objects: their decimal text is exact. */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

/** Integer values of an int64 / int32 tensor (raw_data or the typed fields); undefined for other types. */
export function intValues(t: OnnxTypes.ITensorProto): number[] | undefined {
  const raw = t.rawData;
  if (t.dataType === INT64) {
    if (raw && raw.length > 0) {
      const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Array.from({ length: raw.length / 8 }, (_, i) => Number(v.getBigInt64(i * 8, true)));
    }
    return (t.int64Data ?? []).map(num);
  }
  if (t.dataType === INT32) {
    if (raw && raw.length > 0) {
      const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Array.from({ length: raw.length / 4 }, (_, i) => v.getInt32(i * 4, true));
    }
    return (t.int32Data ?? []).map(num);
  }
  return undefined;
}

export function attrOf(n: OnnxTypes.INodeProto, name: string): OnnxTypes.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}
const attrInt = (n: OnnxTypes.INodeProto, name: string, dflt: number): number => {
  const a = attrOf(n, name);
  return a?.i !== undefined && a.i !== null ? num(a.i) : dflt;
};
const attrInts = (n: OnnxTypes.INodeProto, name: string): number[] | undefined => {
  const a = attrOf(n, name);
  return a && (a.ints ?? []).length > 0 ? (a.ints ?? []).map(num) : undefined;
};
const attrString = (n: OnnxTypes.INodeProto, name: string): string | undefined => {
  const s = attrOf(n, name)?.s;
  return s && s.length > 0 ? new TextDecoder().decode(s) : undefined;
};

/** Info about a tensor constant (initializer or Constant node's value). */
export function tensorInfo(t: OnnxTypes.ITensorProto): TensorInfo {
  const shape = (t.dims ?? []).map(num);
  const info: TensorInfo = { shape, elemType: t.dataType ?? undefined };
  const count = shape.reduce((a, b) => a * b, 1);
  if (count <= 64) {
    const v = intValues(t);
    if (v !== undefined && v.length === count) info.value = v;
    if (t.dataType === FLOAT) {
      const raw = t.rawData;
      const f = raw && raw.length > 0 ? Array.from(new Float32Array(new Uint8Array(raw).buffer, 0, raw.length / 4)) : (t.floatData ?? []);
      if (f.length === count) info.floats = f;
    }
  }
  return info;
}

/** Ops whose (first) output has the shape and type of their first input. */
const SAME_SHAPE = new Set([
  'Abs', 'BatchNormalization', 'Ceil', 'Celu', 'Clip', 'Cos', 'Dropout', 'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'HardSigmoid',
  'HardSwish', 'Identity', 'InstanceNormalization', 'LayerNormalization', 'LeakyRelu', 'Log', 'LogSoftmax', 'Mish', 'Neg',
  'PRelu', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Sigmoid', 'Sign', 'Sin', 'Softmax', 'Softplus', 'Softsign', 'Sqrt', 'Tanh',
  'ThresholdedRelu', 'LRN',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or']);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not']);

function broadcast(shapes: (SymDim[] | undefined)[]): SymDim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: SymDim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: SymDim = 1;
    for (const s of shapes) {
      const v = s![s!.length - rank + i];
      if (v === undefined || v === 1) continue;
      if (d === 1) d = v;
      else if (d !== v) d = null;
    }
    out.push(d);
  }
  return out;
}

/** A product of dims as `N^k · c` (null when a dim is unknown). */
function product(dims: readonly SymDim[]): { n: number; c: number } | null {
  let n = 0;
  let c = 1;
  for (const d of dims) {
    if (d === null) return null;
    if (d === 'N') n++;
    else c *= d;
  }
  return { n, c };
}

function fromProduct(p: { n: number; c: number } | null): SymDim {
  if (p === null) return null;
  if (p.n === 0) return p.c;
  return p.n === 1 && p.c === 1 ? 'N' : null;
}

function reshape(input: SymDim[] | undefined, target: SymDim[], allowZero: boolean): SymDim[] | undefined {
  const out = target.map((d, i) => (d === 0 && !allowZero ? (input?.[i] ?? null) : d));
  const neg = out.findIndex((d) => d === -1);
  if (neg < 0) return out;
  const total = input ? product(input) : null;
  const rest = product(out.filter((_, i) => i !== neg));
  if (total === null || rest === null || rest.c === 0 || total.c % rest.c !== 0 || total.n < rest.n) out[neg] = null;
  else out[neg] = fromProduct({ n: total.n - rest.n, c: total.c / rest.c });
  return out;
}

/** Spatial output size of a Conv / pool window (floor, or ceil with ceil_mode). */
function windowOut(inSize: SymDim, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): SymDim {
  if (typeof inSize !== 'number') return null;
  const span = (k - 1) * d + 1;
  const q = (inSize + pb + pe - span) / s;
  return (ceil ? Math.ceil(q) : Math.floor(q)) + 1;
}

function spatial(n: OnnxTypes.INodeProto, x: SymDim[], kernel: number[], transposed: boolean): SymDim[] | null {
  const r = kernel.length;
  const strides = attrInts(n, 'strides') ?? kernel.map(() => 1);
  const dil = attrInts(n, 'dilations') ?? kernel.map(() => 1);
  const autoPad = attrString(n, 'auto_pad') ?? 'NOTSET';
  const pads = attrInts(n, 'pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  const out: SymDim[] = [];
  for (let i = 0; i < r; i++) {
    const inSize = x[2 + i] ?? null;
    if (typeof inSize !== 'number') return null;
    const k = kernel[i]!;
    const s = strides[i]!;
    const d = dil[i]!;
    if (transposed) {
      const explicit = attrInts(n, 'output_shape');
      if (explicit) {
        out.push(explicit[explicit.length - r + i]!);
        continue;
      }
      const op = attrInts(n, 'output_padding')?.[i] ?? 0;
      const full = s * (inSize - 1) + op + (k - 1) * d + 1;
      out.push(autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' ? inSize * s : full - pads[i]! - pads[i + r]!);
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(Math.ceil(inSize / s));
    else if (autoPad === 'VALID') out.push(windowOut(inSize, k, s, d, 0, 0, ceil));
    else out.push(windowOut(inSize, k, s, d, pads[i]!, pads[i + r]!, ceil));
  }
  return out;
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/**
 * Infers what it can for every tensor of `graph` (nodes in topological order). `known` holds the
 * graph inputs and initializers; it is filled in place and returned.
 */
export function inferShapes(graph: OnnxTypes.IGraphProto, known: Map<string, TensorInfo>): Map<string, TensorInfo> {
  const get = (name: string | undefined | null): TensorInfo => (name ? (known.get(name) ?? {}) : {});
  for (const n of graph.node ?? []) {
    const ins = (n.input ?? []).map(get);
    const out = n.output ?? [];
    const set = (i: number, info: TensorInfo) => {
      if (out[i]) known.set(out[i]!, info);
    };
    const x = ins[0] ?? {};
    const op = n.opType ?? '';
    try {
      if (n.domain && n.domain !== 'ai.onnx') continue;
      if (SAME_SHAPE.has(op)) {
        set(0, { shape: x.shape, elemType: x.elemType });
      } else if (BROADCAST.has(op) || op === 'Not') {
        const shapes = (op === 'Where' ? ins : ins).map((i) => i.shape);
        const elemType = COMPARE.has(op) ? BOOL : op === 'Where' ? ins[1]?.elemType : x.elemType;
        const info: TensorInfo = { shape: broadcast(shapes), elemType };
        // Shape arithmetic (e.g. x.size(0) * 2): fold when every value is a known number.
        const vals = ins.map((i) => i.value);
        if ((op === 'Add' || op === 'Sub' || op === 'Mul' || op === 'Div') && vals.every((v) => v && v.every((e) => typeof e === 'number'))) {
          const [a, b] = vals as number[][];
          const len = Math.max(a!.length, b!.length);
          const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q, Div: (p: number, q: number) => Math.trunc(p / q) }[op];
          info.value = Array.from({ length: len }, (_, i) => f(a![a!.length === 1 ? 0 : i]!, b![b!.length === 1 ? 0 : i]!));
        }
        set(0, info);
      } else if (op === 'Cast') {
        set(0, { shape: x.shape, elemType: attrInt(n, 'to', FLOAT), ...(x.value ? { value: x.value } : {}) });
      } else if (op === 'Gemm') {
        const a = x.shape;
        const b = ins[1]?.shape;
        if (a?.length === 2 && b?.length === 2) {
          const m = attrInt(n, 'transA', 0) ? a[1]! : a[0]!;
          const cols = attrInt(n, 'transB', 0) ? b[0]! : b[1]!;
          set(0, { shape: [m, cols], elemType: x.elemType });
        }
      } else if (op === 'MatMul') {
        const a = x.shape;
        const b = ins[1]?.shape;
        if (a && b && a.length >= 2 && b.length >= 1) {
          if (b.length === 1) set(0, { shape: a.slice(0, -1), elemType: x.elemType });
          else {
            const lead = broadcast([a.slice(0, -2), b.slice(0, -2)]);
            set(0, { shape: [...(lead ?? []), a[a.length - 2]!, b[b.length - 1]!], elemType: x.elemType });
          }
        }
      } else if (op === 'Conv' || op === 'ConvTranspose') {
        const w = ins[1]?.shape;
        if (x.shape && w && typeof w[0] === 'number') {
          const kernel = attrInts(n, 'kernel_shape') ?? (w.slice(2) as number[]);
          const sp = spatial(n, x.shape, kernel, op === 'ConvTranspose');
          const ch = op === 'Conv' ? w[0] : typeof w[1] === 'number' ? w[1] * attrInt(n, 'group', 1) : null;
          if (sp) set(0, { shape: [x.shape[0]!, ch!, ...sp], elemType: x.elemType });
        }
      } else if (op === 'MaxPool' || op === 'AveragePool' || op === 'LpPool') {
        const kernel = attrInts(n, 'kernel_shape');
        if (x.shape && kernel) {
          const sp = spatial(n, x.shape, kernel, false);
          if (sp) set(0, { shape: [x.shape[0]!, x.shape[1]!, ...sp], elemType: x.elemType });
        }
      } else if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') {
        if (x.shape) set(0, { shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)], elemType: x.elemType });
      } else if (op === 'Reshape') {
        const target = ins[1]?.value;
        if (target) set(0, { shape: reshape(x.shape, target, attrInt(n, 'allowzero', 0) === 1), elemType: x.elemType, ...(x.value ? { value: x.value } : {}) });
      } else if (op === 'Flatten') {
        if (x.shape) {
          const axis = normAxis(attrInt(n, 'axis', 1), x.shape.length);
          set(0, { shape: [fromProduct(product(x.shape.slice(0, axis))), fromProduct(product(x.shape.slice(axis)))], elemType: x.elemType });
        }
      } else if (op === 'Transpose') {
        if (x.shape) {
          const perm = attrInts(n, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
          set(0, { shape: perm.map((p) => x.shape![p]!), elemType: x.elemType });
        }
      } else if (op === 'Unsqueeze' || op === 'Squeeze') {
        const axes = attrInts(n, 'axes') ?? (ins[1]?.value as number[] | undefined);
        if (x.shape) {
          let shape: SymDim[] | undefined;
          if (op === 'Unsqueeze' && axes) {
            const rank = x.shape.length + axes.length;
            const at = new Set(axes.map((a) => normAxis(a, rank)));
            const rest = [...x.shape];
            shape = Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : rest.shift()!));
          } else if (op === 'Squeeze') {
            const at = axes ? new Set(axes.map((a) => normAxis(a, x.shape!.length))) : undefined;
            shape = x.shape.filter((d, i) => (at ? !at.has(i) : d !== 1));
          }
          set(0, { shape, elemType: x.elemType, ...(x.value ? { value: x.value } : {}) });
        }
      } else if (op === 'Shape') {
        if (x.shape) {
          const rank = x.shape.length;
          const start = normAxis(attrInt(n, 'start', 0), rank);
          const end = attrOf(n, 'end') ? normAxis(attrInt(n, 'end', rank), rank) : rank;
          const value = x.shape.slice(start, end);
          set(0, { shape: [value.length], elemType: INT64, value });
        }
      } else if (op === 'Gather') {
        const idx = ins[1];
        const axis = attrInt(n, 'axis', 0);
        if (x.value && x.shape?.length === 1 && axis === 0 && idx?.value && idx.shape) {
          const value = (idx.value as number[]).map((i) => x.value![normAxis(i, x.value!.length)] ?? null);
          set(0, { shape: idx.shape, elemType: x.elemType, value });
        } else if (x.shape && idx?.shape) {
          const a = normAxis(axis, x.shape.length);
          set(0, { shape: [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)], elemType: x.elemType });
        }
      } else if (op === 'Concat') {
        const shapes = ins.map((i) => i.shape);
        if (shapes.every((s) => s !== undefined) && shapes.length > 0) {
          const rank = shapes[0]!.length;
          const axis = normAxis(attrInt(n, 'axis', 0), rank);
          const shape = [...shapes[0]!];
          let total: SymDim = 0;
          for (const s of shapes) total = typeof total === 'number' && typeof s![axis] === 'number' ? total + (s![axis] as number) : null;
          shape[axis] = total;
          const info: TensorInfo = { shape, elemType: x.elemType };
          if (rank === 1 && ins.every((i) => i.value)) info.value = ins.flatMap((i) => i.value!);
          set(0, info);
        }
      } else if (op === 'Slice') {
        const [starts, ends, axes, steps] = [ins[1]?.value, ins[2]?.value, ins[3]?.value, ins[4]?.value] as (number[] | undefined)[];
        if (x.shape && starts && ends) {
          const shape = [...x.shape];
          let value = x.value;
          starts.forEach((s0, j) => {
            const ax = normAxis(axes?.[j] ?? j, shape.length);
            const step = steps?.[j] ?? 1;
            const dim = shape[ax];
            if (typeof dim !== 'number' || step !== 1) {
              shape[ax] = null;
              value = undefined;
              return;
            }
            const clamp = (v: number) => Math.max(0, Math.min(dim, v < 0 ? v + dim : v));
            const [b, e] = [clamp(s0), clamp(ends[j]!)];
            shape[ax] = Math.max(0, e - b);
            if (value && shape.length === 1) value = value.slice(b, e);
          });
          set(0, { shape, elemType: x.elemType, ...(value ? { value } : {}) });
        }
      } else if (op === 'Resize' || op === 'Upsample') {
        const scales = op === 'Upsample' ? ins[1] : ins[2];
        const sizes = op === 'Resize' ? ins[3]?.value : undefined;
        if (sizes && sizes.length > 0) set(0, { shape: sizes, elemType: x.elemType });
        else if (x.shape && scales?.floats && scales.floats.length === x.shape.length) {
          const f = scales.floats;
          set(0, { shape: x.shape.map((d, i) => (f[i] === 1 ? d : typeof d === 'number' ? Math.floor(d * f[i]!) : null)), elemType: x.elemType });
        }
      }
    } catch {
      // A malformed node leaves its outputs unknown; the importer reports the shape it could not work out.
    }
  }
  return known;
}
