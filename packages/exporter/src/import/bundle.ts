/**
 * `importOnnx`: a foreign ONNX autoencoder (PyTorch's `torch.onnx.export`) → an aekit bundle, bytes
 * in and bytes out. One model cut at a named tensor, or an encoder and a decoder given as two files.
 *
 * The graphs keep the model's nodes, weights and opset; around them the importer adds what makes
 * them aekit graphs (docs/bundle.md): inputs and outputs named by GRAPH_IO with a dynamic `batch`,
 * flat rows in raw units — the normalisation the model expects applied inside (e.g. scale255:
 * × 1/255 before the first node, × 255 after the last), image inputs [N, C, H, W] taken as flat HWC
 * rows like exported bundles (Reshape, and a Transpose when C > 1), and a spatial latent [N, C, h, w]
 * given out as flat HWC rows (`latentShape`). The autoencoder graph is the whole original model.
 * No x_check output: the runtime scans inputs for NaN in JavaScript.
 */
import {
  AEKIT_VERSION,
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundleManifest,
  ExportError,
  GRAPH_IO,
  GRAPH_NAMES,
  type GraphName,
  type Normalization,
  canonicalJson,
  sha256Hex,
} from '@aekit/core';
import { type ExecutionProvider, GraphBuilder, OP_SUPPORT, type OnnxTypes, attr, i64, onnx, opTypesOf, opsMissingOn, valueInfo } from '@aekit/onnx';
import { EXPORTER_PRODUCER } from '../bundle.js';
import { packBundle } from '../bundle-pack.js';
import { normalizationStages } from '../onnx/input-head.js';
import { outputStages } from '../onnx/graphs.js';
import type { Stage } from '../onnx/plan.js';
import { type ForeignModel, candidatesText, cutModel, nodeInputs, readForeignModel, showShape, wholeModel } from './graph.js';
import { type SymDim, num } from './shapes.js';

export interface ImportOptions {
  /** The whole autoencoder (one file), cut at `splitAt`. */
  model?: Uint8Array;
  /** The tensor of `model` that is the latent: the encoder's output and the decoder's input. */
  splitAt?: string;
  /** Or the two halves as their own files (same opset; the encoder's output feeds the decoder's input). */
  encoder?: Uint8Array;
  decoder?: Uint8Array;
  /** Names of the files above, for messages and the manifest's source line. */
  files?: { model?: string; encoder?: string; decoder?: string };
  /**
   * What the model took as input relative to the raw data the bundle will take (scale255: PyTorch
   * saw pixels/255). Applied inside the graphs, undone on the output. Default none.
   */
  normalization?: Normalization;
  /**
   * Execution providers each graph must run on whole (default cpu): an op one of them lacks (the
   * @aekit/onnx op table) is refused. The CPU provider runs every standard ONNX op.
   */
  devices?: readonly ExecutionProvider[];
  /** Per-dimension latent range to record (measured by the caller on data rows); default empty. */
  latentRange?: { min: number[]; max: number[] };
  /** Timestamp recorded in the manifest (default now), for reproducible bundles. */
  createdAt?: string;
}

export interface ImportReport {
  /** One row as the model takes it (without the batch), e.g. [1, 28, 28]. */
  modelInputShape: number[];
  /** The latent as the model computes it (without the batch), e.g. [8, 7, 7]. */
  modelLatentShape: number[];
  modelOutputShape: number[];
  opset: number;
  /** Op types per graph, sorted. */
  ops: Record<GraphName, string[]>;
  /** Nodes kept from the model per graph. */
  nodes: Record<GraphName, number>;
}

export interface ImportResult {
  /** File name → bytes: the three ONNX graphs and manifest.json. */
  files: Record<string, Uint8Array>;
  manifest: BundleManifest;
  report: ImportReport;
}

/** One piece of a graph: nodes of a model, with their tensor names mapped (e.g. prefixed). */
interface Piece {
  model: ForeignModel;
  nodes: OnnxTypes.INodeProto[];
  name: (s: string) => string;
}

interface Io {
  name: string;
  dim: number;
  stages: Stage[];
  /** The piece-level tensor the input stages end in / the output stages start from. */
  tensor: string;
}

const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

/** Flat rows → a tensor of per-row `dims`; [C, H, W] rows are HWC like aekit's image rows. */
function fromRows(dims: readonly number[]): Stage[] {
  if (dims.length === 1) return [];
  if (dims.length === 3 && dims[0]! > 1) {
    const [c, h, w] = dims as [number, number, number];
    return [(g, x, out) => g.op('Reshape', [x, i64(g, [0, h, w, c])], {}, out), (g, x, out) => g.op('Transpose', [x], { perm: attr.ints([0, 3, 1, 2]) }, out)];
  }
  return [(g, x, out) => g.op('Reshape', [x, i64(g, [0, ...dims])], {}, out)];
}

/** A tensor of per-row `dims` → flat rows (HWC order for [C, H, W]). */
function toRows(dims: readonly number[]): Stage[] {
  if (dims.length === 1) return [];
  const flat: Stage = (g, x, out) => g.op('Reshape', [x, i64(g, [0, prod(dims)])], {}, out);
  if (dims.length === 3 && dims[0]! > 1) return [(g, x, out) => g.op('Transpose', [x], { perm: attr.ints([0, 2, 3, 1]) }, out), flat];
  return [flat];
}

/** The [height, width, channels] image a row of per-row `dims` holds, for the manifest. */
function hwcOf(dims: readonly number[]): [number, number, number] | undefined {
  if (dims.length === 3) return [dims[1]!, dims[2]!, dims[0]!];
  if (dims.length === 2) return [dims[0]!, dims[1]!, 1];
  return undefined;
}

/** Renames every tensor a node reads or writes (Loop / If bodies included). */
function renameNode(n: OnnxTypes.INodeProto, f: (s: string) => string): OnnxTypes.INodeProto {
  const mapList = (l: string[] | null | undefined) => (l ?? []).map((s) => (s ? f(s) : s));
  const renameGraph = (g: OnnxTypes.IGraphProto): OnnxTypes.IGraphProto => ({ ...g, node: (g.node ?? []).map((m) => renameNode(m, f)) });
  return {
    ...n,
    input: mapList(n.input),
    output: mapList(n.output),
    attribute: (n.attribute ?? []).map((a) => (a.g || (a.graphs ?? []).length > 0 ? { ...a, ...(a.g ? { g: renameGraph(a.g) } : {}), graphs: (a.graphs ?? []).map(renameGraph) } : a)),
  };
}

function runStages(g: GraphBuilder, from: string, stages: readonly Stage[], to: string): void {
  let x = from;
  stages.forEach((s, i) => {
    x = s(g, x, i === stages.length - 1 ? to : undefined);
  });
}

interface AssembleOptions {
  role: GraphName;
  input: Io;
  output: Io;
  pieces: Piece[];
  metadata: Record<string, string>;
  opsetImport: OnnxTypes.IOperatorSetIdProto[];
  irVersion: number;
  devices: readonly ExecutionProvider[];
}

/** One aekit graph: input stages, the pieces' nodes and the weights they read, output stages. */
function assemble(o: AssembleOptions): Uint8Array {
  const taken = new Set<string>();
  for (const p of o.pieces) for (const n of p.nodes) for (const s of [...nodeInputs(n), ...(n.output ?? [])]) if (s) taken.add(p.name(s));
  const unique = (base: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const g = new GraphBuilder(`aekit_${o.role}`);
  // Where the model's nodes start and end: the graph's own input / output name when no stage sits between.
  const headOut = o.input.stages.length > 0 ? unique('aekit.import/in') : o.input.name;
  const tailIn = o.output.stages.length > 0 ? unique('aekit.import/out') : o.output.name;
  runStages(g, o.input.name, o.input.stages, headOut);
  const headNodes = g.toGraphProto().node?.length ?? 0;
  runStages(g, tailIn, o.output.stages, o.output.name);
  const built = g.toGraphProto();
  const reserved = new Set<string>([o.input.name, o.output.name, ...(built.initializer ?? []).map((t) => t.name!), ...(built.node ?? []).flatMap((n) => n.output ?? [])]);
  const renamed = new Map<string, string>();
  const final = (s: string): string => {
    if (s === o.input.tensor) return headOut;
    if (s === o.output.tensor) return tailIn;
    if (!reserved.has(s)) return s;
    let r = renamed.get(s);
    if (r === undefined) renamed.set(s, (r = unique(`${s}.orig`)));
    return r;
  };
  const nodes: OnnxTypes.INodeProto[] = [];
  const inits = new Map<string, OnnxTypes.ITensorProto>();
  // Node names must be unique too (two PyTorch halves both have /0/Gemm).
  const nodeNames = new Set((built.node ?? []).map((n) => n.name ?? ''));
  for (const p of o.pieces) {
    const f = (s: string) => final(p.name(s));
    for (const n of p.nodes) {
      const r = renameNode(n, f);
      if (r.name) {
        let name = p.name(r.name);
        for (let i = 1; nodeNames.has(name); i++) name = `${p.name(r.name)}_${i}`;
        nodeNames.add(name);
        r.name = name;
      }
      nodes.push(r);
      for (const s of nodeInputs(n)) {
        const t = p.model.initializers.get(s);
        if (t && !inits.has(f(s))) inits.set(f(s), { ...t, name: f(s) });
      }
    }
  }
  const graph: OnnxTypes.IGraphProto = {
    name: `aekit_${o.role}`,
    input: [valueInfo(o.input.name, 'float32', [GRAPH_IO.batch, o.input.dim])],
    output: [valueInfo(o.output.name, 'float32', [GRAPH_IO.batch, o.output.dim])],
    initializer: [...(built.initializer ?? []), ...inits.values()],
    node: [...(built.node ?? []).slice(0, headNodes), ...nodes, ...(built.node ?? []).slice(headNodes)],
  };
  checkDevices(o.role, graph, o.devices, o.pieces.map((p) => p.model.file));
  const model: OnnxTypes.IModelProto = {
    irVersion: o.irVersion,
    opsetImport: o.opsetImport,
    producerName: 'aekit',
    producerVersion: AEKIT_VERSION,
    docString: `aekit ${o.role} (imported)`,
    graph,
    metadataProps: Object.entries({ ...o.metadata, graph: o.role }).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** ExportError when a graph holds an op one of `devices` lacks (the CPU provider runs every standard op). */
function checkDevices(role: GraphName, graph: OnnxTypes.IGraphProto, devices: readonly ExecutionProvider[], files: string[]): void {
  const standard = (graph.node ?? []).every((n) => !n.domain || n.domain === 'ai.onnx');
  for (const ep of devices) {
    if (ep === 'cpu' && standard) continue;
    const missing = ep === 'cpu' ? ['custom-domain ops'] : opsMissingOn(ep, opTypesOf(graph));
    if (missing.length > 0) {
      const file = [...new Set(files)].join(' + ');
      // Ops absent from the table have not been checked on any provider: said apart from known gaps.
      const unknown = missing.filter((op) => OP_SUPPORT[op] === undefined);
      const lacks = missing.filter((op) => OP_SUPPORT[op] !== undefined);
      const why = [
        ...(lacks.length > 0 ? [`${lacks.join(', ')}, which onnxruntime's ${ep} execution provider does not run`] : []),
        ...(unknown.length > 0 ? [`${unknown.join(', ')}, which @aekit/onnx's op table does not list (not known to run on ${ep})`] : []),
      ].join('; and ');
      throw new ExportError(
        `${file}: the ${BUNDLE_FILES[role]} graph uses ${why} (@aekit/onnx OP_SUPPORT); import for another --device (cpu runs every standard ONNX op), ` +
          `or replace ${missing.length > 1 ? 'those layers' : 'that layer'} in the PyTorch model and export it again`,
        { file: files[0] },
      );
    }
  }
}

/** Per-row dims of a shape whose first dimension is the batch (ExportError when a dim is unknown). */
function rowDims(shape: readonly SymDim[] | undefined, what: string, file: string): number[] {
  if (!shape || shape[0] !== 'N' || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new ExportError(`${file}: the shape of the ${what} cannot be worked out (${showShape(shape)}); aekit bundles need fixed-size rows [batch, …]`, { file });
  }
  return shape.slice(1) as number[];
}

function opsetImportOf(m: ForeignModel): OnnxTypes.IOperatorSetIdProto[] {
  return (m.model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: o.version }));
}

const describeOps = (nodes: readonly OnnxTypes.INodeProto[]): string => {
  const ops = nodes.map((n) => n.opType ?? '?').filter((op) => op !== 'Reshape' && op !== 'Identity');
  return (ops.length > 12 ? [...ops.slice(0, 12), '…'] : ops).join(' → ');
};
const dimsText = (d: readonly number[]) => d.join('×');

/** Packs graphs and manifest fields into bundle files: per-file SHA-256, fingerprint, manifest.json. */
/** The same bundle with `latentRange` recorded (e.g. measured with the runtime on data rows). */
export async function withLatentRange<T extends Pick<ImportResult, 'files' | 'manifest'>>(bundle: T, latentRange: { min: number[]; max: number[] }): Promise<T> {
  const n = bundle.manifest.latentDim;
  if (latentRange.min.length !== n || latentRange.max.length !== n) {
    throw new ExportError(`latentRange must hold ${n} values per side (the latent's size), got ${latentRange.min.length} and ${latentRange.max.length}`);
  }
  const graphs = Object.fromEntries(GRAPH_NAMES.map((g) => [g, bundle.files[BUNDLE_FILES[g]]!])) as Record<GraphName, Uint8Array>;
  const { files: _files, fingerprint: _fp, ...fields } = bundle.manifest;
  return { ...bundle, ...(await packBundle(graphs, { ...fields, latentRange: { min: [...latentRange.min], max: [...latentRange.max] } })) };
}

/**
 * Imports a foreign ONNX autoencoder as an aekit bundle (in memory). Throws ExportError naming the
 * file, tensor or op and what to do: a tensor that does not exist (listing where the model can be
 * cut), a cut some node bypasses, more than one input or output, an op a chosen device lacks.
 */
export async function importOnnx(options: ImportOptions): Promise<ImportResult> {
  const norm = options.normalization ?? { kind: 'none' };
  const devices = options.devices ?? ['cpu'];
  const names = { model: options.files?.model ?? 'model.onnx', encoder: options.files?.encoder ?? 'encoder.onnx', decoder: options.files?.decoder ?? 'decoder.onnx' };
  const single = options.model !== undefined;
  if (single === (options.encoder !== undefined || options.decoder !== undefined) || (!single && (options.encoder === undefined || options.decoder === undefined))) {
    throw new ExportError('give either one model with splitAt, or an encoder and a decoder');
  }
  if (single && !options.splitAt) {
    const m = readForeignModel(options.model!, names.model);
    throw new ExportError(`${names.model}: say where the latent is (--split-at TENSOR, the encoder's output); ${candidatesText(m)}`, { file: names.model });
  }

  let enc: Piece;
  let dec: Piece;
  let whole: Piece[];
  let inShape: number[];
  let latent: number[];
  let outShape: number[];
  let sourceSha: string;
  let sourceName: string;
  let io: { encIn: string; latentOut: string; latentIn: string; decOut: string; wholeIn: string; wholeOut: string };
  let opsetImport: OnnxTypes.IOperatorSetIdProto[];
  let irVersion: number;
  let opset: number;
  const id = (s: string) => s;
  if (single) {
    const m = readForeignModel(options.model!, names.model);
    const cut = cutModel(m, options.splitAt!);
    inShape = rowDims(m.input.shape, `input ${m.input.name}`, m.file);
    latent = rowDims(cut.shape, `latent ${options.splitAt}`, m.file);
    outShape = rowDims(m.output.shape, `output ${m.output.name}`, m.file);
    enc = { model: m, nodes: cut.encoder, name: id };
    dec = { model: m, nodes: cut.decoder, name: id };
    whole = [{ model: m, nodes: cut.whole, name: id }];
    io = { encIn: m.input.name, latentOut: options.splitAt!, latentIn: options.splitAt!, decOut: m.output.name, wholeIn: m.input.name, wholeOut: m.output.name };
    sourceSha = await sha256Hex(options.model!);
    sourceName = `${names.model} cut at ${options.splitAt}`;
    opsetImport = opsetImportOf(m);
    irVersion = num(m.model.irVersion);
    opset = m.opset;
  } else {
    const e = readForeignModel(options.encoder!, names.encoder);
    const d = readForeignModel(options.decoder!, names.decoder);
    if (e.opset !== d.opset) {
      throw new ExportError(`${names.encoder} uses opset ${e.opset} but ${names.decoder} uses ${d.opset}; export both with the same opset_version`, { file: names.decoder });
    }
    inShape = rowDims(e.input.shape, `input ${e.input.name}`, e.file);
    latent = rowDims(e.output.shape, `encoder output ${e.output.name}`, e.file);
    const latentIn = rowDims(d.input.shape, `decoder input ${d.input.name}`, d.file);
    outShape = rowDims(d.output.shape, `output ${d.output.name}`, d.file);
    if (latentIn.join() !== latent.join()) {
      throw new ExportError(
        `${names.decoder}: the decoder takes ${showShape(['N', ...latentIn])} but ${names.encoder} outputs ${showShape(['N', ...latent])}; give the decoder that reads this encoder's latent`,
        { file: names.decoder },
      );
    }
    enc = { model: e, nodes: wholeModel(e), name: id };
    dec = { model: d, nodes: wholeModel(d), name: id };
    // In one graph the halves' names (both PyTorch exports say /0/Gemm_output_0, 0.weight …) are prefixed.
    const encName = (s: string) => `encoder/${s}`;
    const decName = (s: string) => (s === d.input.name ? encName(e.output.name) : `decoder/${s}`);
    whole = [
      { model: e, nodes: enc.nodes, name: encName },
      { model: d, nodes: dec.nodes, name: decName },
    ];
    io = { encIn: e.input.name, latentOut: e.output.name, latentIn: d.input.name, decOut: d.output.name, wholeIn: encName(e.input.name), wholeOut: decName(d.output.name) };
    const [he, hd] = [await sha256Hex(options.encoder!), await sha256Hex(options.decoder!)];
    sourceSha = await sha256Hex(new TextEncoder().encode(`aekit-import-pair:${he}:${hd}`));
    sourceName = `${names.encoder} + ${names.decoder}`;
    const domains = new Map<string, number>();
    for (const o of [...opsetImportOf(e), ...opsetImportOf(d)]) domains.set(o.domain ?? '', Math.max(domains.get(o.domain ?? '') ?? 0, num(o.version)));
    opsetImport = [...domains].map(([domain, version]) => ({ domain, version }));
    irVersion = Math.max(num(e.model.irVersion), num(d.model.irVersion));
    opset = e.opset;
  }
  const inputDim = prod(inShape);
  const latentDim = prod(latent);
  if (prod(outShape) !== inputDim) {
    throw new ExportError(
      `${single ? names.model : names.decoder}: the output has ${prod(outShape)} values per row ${showShape(['N', ...outShape])} but the input ${inputDim} ${showShape(['N', ...inShape])}; an autoencoder reconstructs its input`,
      { file: single ? names.model : names.decoder },
    );
  }
  if (norm.kind === 'minmax' && (norm.min.length !== inputDim || norm.max.length !== inputDim)) {
    throw new ExportError(`minmax normalisation needs ${inputDim} column minima and maxima (one per input value), got ${norm.min.length}`);
  }

  const bundleId = await sha256Hex(
    new TextEncoder().encode(`aekit-bundle-id:${canonicalJson({ importSha256: sourceSha, splitAt: options.splitAt ?? null, normalization: norm, opset, variant: 'ae' })}`),
  );
  const metadata: Record<string, string> = {
    producer: EXPORTER_PRODUCER,
    aekit_version: AEKIT_VERSION,
    source: `onnx import: ${sourceName}`,
    normalization: JSON.stringify(norm),
    input_dtype: 'float32',
    output_dtype: 'float32',
    variant: 'ae',
    bundle_id: bundleId,
  };
  const head = [...normalizationStages({ inputDtype: 'float32', normalization: norm, denseOp: 'gemm' }, inputDim), ...fromRows(inShape)];
  const tail = [...toRows(outShape), ...outputStages({ normalization: norm, outputDtype: 'float32' }, inputDim)];
  const common = { metadata, opsetImport, irVersion, devices };
  const x = (tensor: string): Io => ({ name: GRAPH_IO.x, dim: inputDim, stages: head, tensor });
  const xHat = (tensor: string): Io => ({ name: GRAPH_IO.xHat, dim: inputDim, stages: tail, tensor });
  const graphs: Record<GraphName, Uint8Array> = {
    encoder: assemble({ ...common, role: 'encoder', pieces: [enc], input: x(io.encIn), output: { name: GRAPH_IO.z, dim: latentDim, stages: toRows(latent), tensor: io.latentOut } }),
    decoder: assemble({ ...common, role: 'decoder', pieces: [dec], input: { name: GRAPH_IO.z, dim: latentDim, stages: fromRows(latent), tensor: io.latentIn }, output: xHat(io.decOut) }),
    autoencoder: assemble({ ...common, role: 'autoencoder', pieces: whole, input: x(io.wholeIn), output: xHat(io.wholeOut) }),
  };
  const imageIn = hwcOf(inShape);
  const imageLatent = latent.length === 3 ? hwcOf(latent) : undefined;
  const layers =
    `ONNX import of ${sourceName}, opset ${opset}: [${dimsText(inShape)}] → ${describeOps(enc.nodes)} → [latent ${dimsText(latent)}] → ` +
    `${describeOps(dec.nodes)} → [${dimsText(outShape)}]`;
  const { files, manifest } = await packBundle(graphs, {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    producer: EXPORTER_PRODUCER,
    aekitVersion: AEKIT_VERSION,
    opset,
    variant: 'ae',
    inputDim,
    latentDim,
    ...(imageIn ? { inputShape: imageIn } : {}),
    ...(imageLatent ? { latentShape: imageLatent } : {}),
    inputDtype: 'float32',
    outputDtype: 'float32',
    weights: 'float32',
    normalization: norm,
    latentRange: { min: [], max: [] },
    source: { checkpointSha256: sourceSha, layers },
    createdAt: options.createdAt ?? new Date().toISOString(),
    bundleId,
  });
  const report: ImportReport = {
    modelInputShape: inShape,
    modelLatentShape: latent,
    modelOutputShape: outShape,
    opset,
    ops: Object.fromEntries(GRAPH_NAMES.map((g) => [g, [...opTypesOf(onnx.ModelProto.decode(graphs[g]).graph!)].sort()])) as Record<GraphName, string[]>,
    nodes: { encoder: enc.nodes.length, decoder: dec.nodes.length, autoencoder: whole.reduce((a, p) => a + p.nodes.length, 0) },
  };
  const result = { files, manifest, report };
  return options.latentRange ? withLatentRange(result, options.latentRange) : result;
}
