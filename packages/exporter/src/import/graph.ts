/**
 * Reading a foreign ONNX model (PyTorch's `torch.onnx.export`) for import, and cutting it in two:
 *
 * - `readForeignModel`: one float32 input and one float32 output, Constant nodes turned into
 *   initializers, shapes inferred with a symbolic batch (shapes.ts), and every Reshape whose target
 *   holds the batch size (a fixed export batch, or `x.size(0)` computed by Shape → Gather → Concat)
 *   rewritten to a constant target that copies the batch (0) or infers it (-1), so the halves take any
 *   batch; Flatten(axis 1) becomes the same Reshape(0, -1) (one op fewer for the device op table).
 * - `cutModel`: the nodes each half needs — the encoder everything the cut tensor depends on, the
 *   decoder what the output needs given the cut — refusing a cut that some decoder node bypasses.
 */
import { ExportError } from '@aekit/core';
import { type OnnxTypes, onnx, tensorProto } from '@aekit/onnx';
import { FLOAT, type SymDim, type TensorInfo, attrOf, inferShapes, num, tensorInfo } from './shapes.js';

export interface ForeignModel {
  /** The file it came from (messages). */
  file: string;
  model: OnnxTypes.IModelProto;
  /** Default-domain opset. */
  opset: number;
  /** Nodes after the rewrites above, in topological order. */
  nodes: OnnxTypes.INodeProto[];
  initializers: Map<string, OnnxTypes.ITensorProto>;
  input: { name: string; shape: SymDim[] };
  output: { name: string; shape: SymDim[] | undefined };
  info: Map<string, TensorInfo>;
}

const fail = (file: string, what: string): never => {
  throw new ExportError(`${file}: ${what}`, { file });
};

export const showShape = (s: readonly SymDim[] | undefined): string => (s ? `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]` : 'unknown shape');

/** Every tensor a node reads, the outer-scope names its Loop / If bodies read included. */
export function nodeInputs(n: OnnxTypes.INodeProto): string[] {
  const names = (n.input ?? []).filter((s): s is string => !!s);
  for (const a of n.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) for (const sub of g.node ?? []) names.push(...nodeInputs(sub));
  return names;
}

/** The value of a Constant node as a TensorProto named `name`. */
function constantTensor(n: OnnxTypes.INodeProto, name: string, file: string): OnnxTypes.ITensorProto {
  const a = (n.attribute ?? [])[0];
  if (a?.name === 'value' && a.t) return { ...a.t, name };
  if (a?.name === 'value_float') return tensorProto(name, 'float32', [], Float32Array.of(a.f ?? 0));
  if (a?.name === 'value_floats') return tensorProto(name, 'float32', [a.floats!.length], Float32Array.from(a.floats!));
  if (a?.name === 'value_int') return tensorProto(name, 'int64', [], BigInt64Array.of(BigInt(num(a.i))));
  if (a?.name === 'value_ints') return tensorProto(name, 'int64', [a.ints!.length], BigInt64Array.from(a.ints!.map((v) => BigInt(num(v)))));
  return fail(file, `Constant node ${n.name || name} holds a ${a?.name ?? 'missing'} value, which the importer does not read`);
}

function dimsOf(v: OnnxTypes.IValueInfoProto): (number | string | null)[] | undefined {
  const dims = v.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && num(d.dimValue) > 0 ? num(d.dimValue) : d.dimParam || null));
}

/** Parses and prepares a model for cutting (see the module comment). `file` names it in errors. */
export function readForeignModel(bytes: Uint8Array, file: string): ForeignModel {
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ExportError(`${file} is not an ONNX model (${(e as Error).message}); give the .onnx file torch.onnx.export wrote`, { file, cause: e });
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0) fail(file, 'the model has no graph nodes; give the .onnx file torch.onnx.export wrote');
  const opset = num((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (!(opset >= 7)) fail(file, `the model imports default-domain opset ${opset}; re-export it with torch.onnx.export(…, opset_version=13) or later`);
  const initializers = new Map<string, OnnxTypes.ITensorProto>();
  for (const t of graph!.initializer ?? []) initializers.set(t.name ?? '', t);
  const nodes: OnnxTypes.INodeProto[] = [];
  for (const n of graph!.node ?? []) {
    if (n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx') && n.output?.[0]) initializers.set(n.output[0], constantTensor(n, n.output[0], file));
    else nodes.push(n);
  }
  const inputs = (graph!.input ?? []).filter((v) => !initializers.has(v.name ?? ''));
  const outputs = graph!.output ?? [];
  const list = (vs: OnnxTypes.IValueInfoProto[]) => vs.map((v) => v.name).join(', ');
  if (inputs.length !== 1) {
    fail(file, `the model has ${inputs.length} inputs (${list(inputs)}); an aekit bundle takes one: export the autoencoder's forward(x) with a single input tensor`);
  }
  if (outputs.length !== 1) {
    fail(file, `the model has ${outputs.length} outputs (${list(outputs)}); an aekit bundle's autoencoder returns one: export a forward that returns only the reconstruction (the importer makes the latent the encoder's output)`);
  }
  const [inp, outp] = [inputs[0]!, outputs[0]!];
  for (const [v, what] of [[inp, 'input'], [outp, 'output']] as const) {
    const t = v.type?.tensorType?.elemType;
    if (t !== FLOAT) fail(file, `the model's ${what} ${v.name} is not float32 (ONNX type ${t}); aekit bundles take and return float32 rows`);
  }
  const inDims = dimsOf(inp);
  if (!inDims || inDims.length < 2) fail(file, `the model's input ${inp.name} has shape ${JSON.stringify(inDims ?? 'unknown')}; expected [batch, …] with the batch first`);
  // The export batch: dynamic (a dim_param), or fixed when torch.onnx.export ran without dynamic_axes.
  const staticBatch = typeof inDims![0] === 'number' ? inDims![0] : undefined;
  inDims!.slice(1).forEach((d, i) => {
    if (typeof d !== 'number') fail(file, `dimension ${i + 1} of the input ${inp.name} is dynamic (${d ?? '?'}); aekit bundles take fixed-width rows: export with a fixed size (dynamic_axes only on dimension 0)`);
  });
  const inputShape: SymDim[] = ['N', ...(inDims!.slice(1) as number[])];
  const known = new Map<string, TensorInfo>();
  known.set(inp.name!, { shape: inputShape, elemType: FLOAT });
  for (const [name, t] of initializers) known.set(name, tensorInfo(t));

  const used = new Set<string>([...initializers.keys(), ...nodes.flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])])]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const constShape = (values: number[], base: string): string => {
    const name = fresh(base);
    initializers.set(name, tensorProto(name, 'int64', [values.length], BigInt64Array.from(values.map(BigInt))));
    known.set(name, { shape: [values.length], elemType: 7, value: values });
    return name;
  };
  // Flatten(axis 1) is Reshape(x, [0, -1]) for every input rank ≥ 2.
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    const axis = attrOf(n, 'axis');
    if (n.opType === 'Flatten' && (!n.domain || n.domain === 'ai.onnx') && (axis === undefined || num(axis.i) === 1)) {
      nodes[i] = { name: n.name, opType: 'Reshape', input: [n.input![0]!, constShape([0, -1], `${n.name || 'flatten'}/shape`)], output: n.output };
    }
  }
  // Shapes node by node, rewriting each Reshape whose target holds the batch before its output is inferred.
  const graphView: OnnxTypes.IGraphProto = { node: [] };
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.opType === 'Reshape' && (!n.domain || n.domain === 'ai.onnx')) {
      const x = known.get(n.input?.[0] ?? '')?.shape;
      const target = known.get(n.input?.[1] ?? '')?.value;
      const fixed = target && x ? batchFreeTarget(x, target, staticBatch) : undefined;
      if (fixed) nodes[i] = { ...n, input: [n.input![0]!, constShape(fixed, `${n.name || 'reshape'}/shape`)], attribute: [] };
    }
    graphView.node = [nodes[i]!];
    inferShapes(graphView, known);
  }
  return {
    file,
    model,
    opset,
    nodes,
    initializers,
    input: { name: inp.name!, shape: inputShape },
    output: { name: outp.name!, shape: known.get(outp.name!)?.shape },
    info: known,
  };
}

/**
 * A constant Reshape target that keeps the batch dynamic, or undefined when `target` needs no change
 * (or cannot be made batch-free). The batch is position 0 of the input (`'N'`): a target entry that
 * is the batch — `'N'` from Shape(x)[0], or the fixed export batch followed by one row's worth of
 * values — becomes 0 (copy input dim 0).
 */
function batchFreeTarget(x: readonly SymDim[], target: readonly SymDim[], staticBatch: number | undefined): number[] | undefined {
  if (x[0] !== 'N') return undefined;
  const perRow = x.slice(1).reduce<number | null>((a, d) => (a !== null && typeof d === 'number' ? a * d : null), 1);
  if (target.some((d) => d === null)) return undefined;
  const t = [...target];
  if (t.includes('N')) {
    // Only the leading entry may be the batch (a view that moves the batch elsewhere mixes rows).
    if (t.indexOf('N') !== 0 || t.lastIndexOf('N') !== 0) return undefined;
    t[0] = 0;
    return t as number[];
  }
  if (staticBatch === undefined || t[0] !== staticBatch || perRow === null) return undefined;
  const rest = t.slice(1) as number[];
  const known = rest.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const fits = rest.includes(-1) ? known > 0 && perRow % known === 0 : known === perRow;
  return fits ? [0, ...rest] : undefined;
}

/** Tensor name → index of the node that produces it. */
function producers(nodes: readonly OnnxTypes.INodeProto[]): Map<string, number> {
  const m = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && m.set(o, i)));
  return m;
}

/** Indices (in graph order) of the nodes needed to compute `targets`, not looking past `stop`. */
function closure(nodes: readonly OnnxTypes.INodeProto[], prod: Map<string, number>, targets: readonly string[], stop: ReadonlySet<string>): number[] {
  const seen = new Set<number>();
  const stack = targets.filter((t) => !stop.has(t));
  while (stack.length > 0) {
    const t = stack.pop()!;
    const i = prod.get(t);
    if (i === undefined || seen.has(i)) continue;
    seen.add(i);
    for (const s of nodeInputs(nodes[i]!)) if (!stop.has(s)) stack.push(s);
  }
  return [...seen].sort((a, b) => a - b);
}

export interface CutResult {
  encoder: OnnxTypes.INodeProto[];
  decoder: OnnxTypes.INodeProto[];
  /** Every node the output needs: the original model, as the autoencoder graph. */
  whole: OnnxTypes.INodeProto[];
  /** The cut tensor's shape, batch first. */
  shape: SymDim[];
}

/** Why cutting at `tensor` fails, or undefined when it separates the graph. */
function whyNotSeparating(m: ForeignModel, prod: Map<string, number>, tensor: string): string | undefined {
  const enc = closure(m.nodes, prod, [tensor], new Set());
  // Tensors computed from the input before the cut (constants both halves use may be shared).
  const fromInput = new Set<string>([m.input.name]);
  for (const n of m.nodes) if (nodeInputs(n).some((s) => fromInput.has(s))) for (const o of n.output ?? []) if (o) fromInput.add(o);
  const before = new Set<string>([m.input.name, ...enc.flatMap((i) => m.nodes[i]!.output ?? []).filter((o) => fromInput.has(o))]);
  before.delete(tensor);
  for (const i of closure(m.nodes, prod, [m.output.name], new Set([tensor]))) {
    const n = m.nodes[i]!;
    const bad = nodeInputs(n).find((s) => before.has(s));
    if (bad !== undefined) return `node ${n.name || n.opType} (${n.opType}) after the cut reads ${bad}, which is computed before it`;
  }
  if (!enc.some((i) => nodeInputs(m.nodes[i]!).includes(m.input.name))) return `${tensor} does not depend on the input ${m.input.name}`;
  return undefined;
}

/** Tensors where the graph can be cut (float32, batch first, separating), in graph order. */
export function cutCandidates(m: ForeignModel, limit = 24): { name: string; shape: SymDim[] }[] {
  const prod = producers(m.nodes);
  const out: { name: string; shape: SymDim[] }[] = [];
  if (m.nodes.length > 2000) return out;
  for (const n of m.nodes) {
    for (const t of n.output ?? []) {
      if (!t || t === m.output.name || out.length >= limit) continue;
      const info = m.info.get(t);
      if (info?.shape?.[0] !== 'N' || info.elemType !== FLOAT) continue;
      if (whyNotSeparating(m, prod, t) === undefined) out.push({ name: t, shape: info.shape });
    }
  }
  return out;
}

/** The cut candidates for a message, the narrowest (most likely the latent) named first. */
export function candidatesText(m: ForeignModel): string {
  const c = cutCandidates(m);
  if (c.length === 0) return 'the model has no tensor that separates it into an encoder and a decoder';
  const size = (s: SymDim[]) => s.slice(1).reduce<number>((a, d) => a * (typeof d === 'number' ? d : Infinity), 1);
  const narrowest = c.reduce((a, b) => (size(b.shape) < size(a.shape) ? b : a));
  return `the narrowest tensor is ${narrowest.name} ${showShape(narrowest.shape)}; tensors where the model can be cut: ${c.map((t) => `${t.name} ${showShape(t.shape)}`).join(', ')}`;
}

/** Splits `m` at tensor `tensor` (ExportError naming the tensor and what to do when it cannot). */
export function cutModel(m: ForeignModel, tensor: string): CutResult {
  const prod = producers(m.nodes);
  const candidates = () => candidatesText(m);
  if (tensor === m.input.name || tensor === m.output.name) {
    fail(m.file, `--split-at ${tensor} is the model's ${tensor === m.input.name ? 'input' : 'output'}, which leaves one half empty; ${candidates()}`);
  }
  if (!prod.has(tensor)) {
    const what = m.initializers.has(tensor) ? 'is a constant (weights), not a tensor the model computes' : 'does not exist in the model';
    fail(m.file, `--split-at ${tensor} ${what}; ${candidates()}`);
  }
  const why = whyNotSeparating(m, prod, tensor);
  if (why !== undefined) fail(m.file, `cutting at ${tensor} does not separate the model into an encoder and a decoder: ${why}; ${candidates()}`);
  const shape = m.info.get(tensor)?.shape;
  const enc = closure(m.nodes, prod, [tensor], new Set());
  if (!shape || shape.some((d) => d === null)) {
    const unknown = enc.map((i) => m.nodes[i]!).find((n) => !(n.output ?? []).some((o) => m.info.get(o)?.shape));
    fail(
      m.file,
      `the shape of ${tensor} cannot be worked out ${showShape(shape)}` +
        (unknown ? `: the importer does not infer the shape of ${unknown.opType} (node ${unknown.name})` : '') +
        '; cut at a tensor before it, or re-export the model with ops the importer knows (Gemm, MatMul, Conv, ConvTranspose, Reshape, Flatten, activations)',
    );
  }
  if (shape![0] !== 'N') fail(m.file, `${tensor} has shape ${showShape(shape)}, whose first dimension is not the batch; cut at a tensor shaped [batch, …]`);
  if (m.info.get(tensor)?.elemType !== FLOAT) fail(m.file, `${tensor} is not a float32 tensor; cut at the float32 latent`);
  const dec = closure(m.nodes, prod, [m.output.name], new Set([tensor]));
  const whole = closure(m.nodes, prod, [m.output.name], new Set());
  return { encoder: enc.map((i) => m.nodes[i]!), decoder: dec.map((i) => m.nodes[i]!), whole: whole.map((i) => m.nodes[i]!), shape: shape! };
}

/** The nodes needed for the output (a half given as its own file). */
export function wholeModel(m: ForeignModel): OnnxTypes.INodeProto[] {
  return closure(m.nodes, producers(m.nodes), [m.output.name], new Set()).map((i) => m.nodes[i]!);
}
