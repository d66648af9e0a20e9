/**
 * Smaller weight variants of an exported ONNX model, as a post-pass over its bytes:
 *
 *  - float16: each Dense weight (Gemm B/C, MatMul B, the bias Add after a MatMul) is stored as float16
 *    and widened by a Cast node, so graph inputs and outputs and all arithmetic stay float32. ~2×
 *    smaller files at float32 speed: onnxruntime's constant folding evaluates a Cast of an initializer
 *    once at load (bench/compress.bench.mjs "weights" table: 0.98–1.17× float32's rows/s over four
 *    runs on the shared machine). Float16 arithmetic is not attempted: it would change results
 *    beyond the rounding of the weights.
 *  - int8: each Dense kernel is quantised symmetrically per output column (scale = max|w| / 127,
 *    zero point 0) and expanded by DequantizeLinear (opset 13, per-axis); biases are stored as float16.
 *    ~3.7× smaller; 0.74–1.44× float32's rows/s over four bench runs (noise), test MSE +0.3–0.7 %.
 *    onnxruntime 1.30 keeps the weights int8: it fuses DequantizeLinear + Gemm of the large layers
 *    into MatMulNBits (8-bit weights) and dequantizes the small ones on each run.
 *    Weight-only QDQ was chosen over dynamic activation quantisation (DynamicQuantizeLinear +
 *    MatMulInteger, built by hand for the comparison): on the default model trained 20 epochs, 10k
 *    test rows, 1 thread, 3 runs, test MSE rose +0.67 % (QDQ) vs +1.11 % (dynamic), and speeds stayed
 *    within the shared machine's noise (best-of-7 rows/s: QDQ 156–171k, dynamic 129–253k, float32
 *    183–205k) — no speed win to pay the extra error for.
 *
 * Pure (no Node APIs): runs in browsers too.
 */
import { ExportError, type WeightsDtype } from '@aekit/core';
import { DTYPE_CODE, type OnnxTypes, onnx, toFloat16Bits } from '@aekit/onnx';

export type QuantizedWeights = Exclude<WeightsDtype, 'float32'>;
export const WEIGHTS_DTYPES: readonly WeightsDtype[] = ['float32', 'float16', 'int8'];

export interface QuantizeReport {
  weights: WeightsDtype;
  /** Initializers rewritten. */
  tensors: number;
  /** Values in them. */
  values: number;
  /** Largest |w − dequantised w| over all rewritten weights. */
  maxAbsError: number;
  bytesBefore: number;
  bytesAfter: number;
}

export function parseWeightsDtype(name: string): WeightsDtype {
  if ((WEIGHTS_DTYPES as readonly string[]).includes(name)) return name as WeightsDtype;
  throw new ExportError(`unknown weights type "${name}"; valid: ${WEIGHTS_DTYPES.join(', ')}`);
}

interface Target {
  name: string;
  /** For int8: the axis of the output channels (per-axis scales); undefined for biases. */
  channelAxis?: number;
}

function attrInt(node: OnnxTypes.INodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
}

/**
 * The weights of a graph: Gemm B (and C), MatMul B, a bias Add fed by a MatMul, and convolution
 * kernels and biases (Conv W [cout, cin, kh, kw]: output channels on axis 0; ConvTranspose W
 * [cin, cout, kh, kw]: axis 1).
 */
function findTargets(graph: OnnxTypes.IGraphProto, inits: Map<string, OnnxTypes.ITensorProto>): Map<string, Target> {
  const targets = new Map<string, Target>();
  const producedByMatMul = new Set<string>();
  const isFloatInit = (n: string | undefined | null): n is string =>
    typeof n === 'string' && inits.get(n)?.dataType === DTYPE_CODE.float32;
  for (const node of graph.node ?? []) {
    const ins = node.input ?? [];
    if (node.opType === 'Gemm') {
      if (isFloatInit(ins[1]) && inits.get(ins[1])!.dims?.length === 2) {
        targets.set(ins[1], { name: ins[1], channelAxis: attrInt(node, 'transB', 0) === 1 ? 0 : 1 });
      }
      if (isFloatInit(ins[2])) targets.set(ins[2], { name: ins[2] });
    } else if (node.opType === 'MatMul') {
      if (isFloatInit(ins[1]) && inits.get(ins[1])!.dims?.length === 2) targets.set(ins[1], { name: ins[1], channelAxis: 1 });
      for (const o of node.output ?? []) producedByMatMul.add(o);
    } else if (node.opType === 'Conv' || node.opType === 'ConvTranspose') {
      if (isFloatInit(ins[1]) && inits.get(ins[1])!.dims?.length === 4) {
        if (attrInt(node, 'group', 1) !== 1) continue;
        targets.set(ins[1], { name: ins[1], channelAxis: node.opType === 'Conv' ? 0 : 1 });
      }
      if (isFloatInit(ins[2])) targets.set(ins[2], { name: ins[2] });
    } else if (node.opType === 'Add' && ins.length === 2) {
      const [a, b] = ins;
      if (isFloatInit(b) && producedByMatMul.has(a!)) targets.set(b, { name: b });
      else if (isFloatInit(a) && producedByMatMul.has(b!)) targets.set(a, { name: a });
    }
  }
  return targets;
}

function floatValues(t: OnnxTypes.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(t.floatData ?? []);
}

function bytesOf(a: Float32Array | Uint16Array | Int8Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

function freshName(taken: Set<string>, base: string): string {
  let n = base;
  for (let i = 1; taken.has(n); i++) n = `${base}_${i}`;
  taken.add(n);
  return n;
}

/** The channel (index along `axis`) of each element of a row-major tensor of `dims`. */
function channelOf(dims: readonly number[], axis: number): (i: number) => number {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  return (i) => Math.floor(i / inner) % channels;
}

/** Symmetric per-channel int8: q = round(w / s), s = max|w| / 127 over the channel (the index along `axis`). */
export function quantizeInt8PerChannel(w: Float32Array, dims: readonly number[], axis: number): { q: Int8Array; scale: Float32Array } {
  const ch = channelOf(dims, axis);
  const maxAbs = new Float32Array(dims[axis]!);
  for (let i = 0; i < w.length; i++) {
    const v = Math.abs(w[i]!);
    if (v > maxAbs[ch(i)]!) maxAbs[ch(i)] = v;
  }
  const scale = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / scale[ch(i)]!)));
  return { q, scale };
}

/**
 * Rewrites a model's Dense and convolution weights to float16 or int8 storage (see the module comment). Inputs,
 * outputs and every other node are unchanged; metadata gains `weights`. Returns the new bytes and what
 * changed. Throws ExportError for weights float16 cannot hold (|w| > 65504) or a model with no Dense
 * weights.
 */
export function quantizeModelWeights(modelBytes: Uint8Array, weights: WeightsDtype): { bytes: Uint8Array; report: QuantizeReport } {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  const report: QuantizeReport = {
    weights,
    tensors: 0,
    values: 0,
    maxAbsError: 0,
    bytesBefore: modelBytes.length,
    bytesAfter: modelBytes.length,
  };
  if (weights === 'float32') return { bytes: modelBytes, report };
  if (!graph) throw new ExportError('the model has no graph');
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const targets = findTargets(graph, inits);
  if (targets.size === 0) throw new ExportError('the model has no Dense or convolution (Gemm / MatMul / Conv / ConvTranspose) weights to quantise');
  const taken = new Set<string>([
    ...inits.keys(),
    ...(graph.node ?? []).flatMap((n) => [...(n.output ?? []), n.name ?? '']),
    ...(graph.input ?? []).map((i) => i.name ?? ''),
  ]);
  const newInits: OnnxTypes.ITensorProto[] = [];
  const newNodes: OnnxTypes.INodeProto[] = [];
  for (const t of graph.initializer ?? []) {
    const target = targets.get(t.name!);
    if (!target) {
      newInits.push(t);
      continue;
    }
    const w = floatValues(t);
    const dims = (t.dims ?? []).map(Number);
    report.tensors++;
    report.values += w.length;
    if (weights === 'float16' || target.channelAxis === undefined) {
      // float16 storage + Cast (int8 mode stores biases this way too: per-channel int8 gains nothing there)
      for (let i = 0; i < w.length; i++) {
        if (!(Math.abs(w[i]!) <= 65504)) {
          throw new ExportError(`weight ${t.name}[${i}] = ${w[i]} does not fit float16 (|w| ≤ 65504); export with --weights float32 or int8`);
        }
      }
      const bits = toFloat16Bits(w);
      const half = freshName(taken, `${t.name}.f16`);
      newInits.push({ name: half, dataType: DTYPE_CODE.float16, dims, rawData: bytesOf(bits) });
      newNodes.push({
        opType: 'Cast',
        input: [half],
        output: [t.name!],
        name: freshName(taken, `Cast_${t.name}`),
        attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DTYPE_CODE.float32 }],
      });
      report.maxAbsError = Math.max(report.maxAbsError, maxHalfError(w, bits));
      continue;
    }
    const { q, scale } = quantizeInt8PerChannel(w, dims, target.channelAxis);
    const qName = freshName(taken, `${t.name}.int8`);
    const sName = freshName(taken, `${t.name}.scale`);
    newInits.push({ name: qName, dataType: DTYPE_CODE.int8, dims, rawData: bytesOf(q) });
    newInits.push({ name: sName, dataType: DTYPE_CODE.float32, dims: [scale.length], rawData: bytesOf(scale) });
    newNodes.push({
      opType: 'DequantizeLinear',
      // no zero-point input: it defaults to 0 of x's type (int8), which symmetric quantisation uses
      input: [qName, sName],
      output: [t.name!],
      name: freshName(taken, `DequantizeLinear_${t.name}`),
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: target.channelAxis }],
    });
    const ch = channelOf(dims, target.channelAxis);
    for (let i = 0; i < w.length; i++) {
      const s = scale[ch(i)]!;
      report.maxAbsError = Math.max(report.maxAbsError, Math.abs(w[i]! - q[i]! * s));
    }
  }
  graph.initializer = newInits;
  graph.node = [...newNodes, ...(graph.node ?? [])];
  const meta = (model.metadataProps ?? []).filter((p) => p.key !== 'weights');
  meta.push({ key: 'weights', value: weights });
  model.metadataProps = meta;
  const bytes = onnx.ModelProto.encode(model).finish();
  report.bytesAfter = bytes.length;
  return { bytes, report };
}

function maxHalfError(w: Float32Array, bits: Uint16Array): number {
  let m = 0;
  for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(w[i]! - halfToFloat(bits[i]!)));
  return m;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/**
 * Verification tolerances for weight variants against the float32 reference (tfjs or the float32
 * graphs): latents in absolute units, reconstructions in normalised units, or levels for uint8 output.
 * Loose on purpose — they catch a broken graph, not rounding. Measured on the default model trained
 * on Fashion-MNIST (2 000 test rows and random probe rows): float16 max |Δz| 5.9e-3, max |Δx̂| 5.1e-3;
 * int8 max |Δz| 0.29, max |Δx̂| 0.16 (mean MSE change +0.7 %). `aekit eval` on the bundle reports the
 * real accuracy change.
 */
export const WEIGHTS_TOLERANCE: Readonly<Record<QuantizedWeights, { latent: number; output: number; levels: number }>> = {
  float16: { latent: 5e-2, output: 2e-2, levels: 6 },
  int8: { latent: 1, output: 0.35, levels: 90 },
};

/** Tolerance for one graph's verification when the bundle's weights are `weights`. */
export function weightsTolerance(weights: WeightsDtype, graph: 'encoder' | 'decoder' | 'autoencoder', outputDtype: 'float32' | 'uint8', float32Tolerance: number): number {
  if (weights === 'float32') return float32Tolerance;
  const t = WEIGHTS_TOLERANCE[weights];
  if (graph === 'encoder') return t.latent;
  return outputDtype === 'uint8' ? t.levels : t.output;
}
