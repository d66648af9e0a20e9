/**
 * Small typed helpers over onnx-proto for writing ONNX graphs by hand: inputs/outputs with named
 * dynamic dims, initializers from typed arrays, nodes with typed attributes, subgraphs, opset imports
 * and metadata. Used by the inference exporter and by the training-step graph generator.
 * Pure (no Node APIs): bytes out, so it runs in browsers too.
 */
import { ExportError, float32ArrayToFloat16Bits } from '@aekit/core';
import { onnx } from './proto.js';
import type { OnnxTypes } from './proto.js';
import { type ExecutionProvider, opsMissingOn } from './ops.js';

export type DType = 'float32' | 'float16' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

/** ONNX TensorProto.DataType codes. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
};

/** A dimension: a fixed size, or a name for a dynamic one (e.g. `'batch'`). */
export type Dim = number | string;

export type TensorData = Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array | Uint16Array;

/** An attribute value with its ONNX type made explicit (a JS number alone is ambiguous). */
export type Attr =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: OnnxTypes.ITensorProto }
  | { kind: 'graph'; value: OnnxTypes.IGraphProto };

export const attr = {
  float: (value: number): Attr => ({ kind: 'float', value }),
  int: (value: number): Attr => ({ kind: 'int', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  tensor: (value: OnnxTypes.ITensorProto): Attr => ({ kind: 'tensor', value }),
  graph: (value: OnnxTypes.IGraphProto): Attr => ({ kind: 'graph', value }),
};

const AttrType = onnx.AttributeProto.AttributeType;

function attributeProto(name: string, a: Attr): OnnxTypes.IAttributeProto {
  switch (a.kind) {
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'int':
      return { name, type: AttrType.INT, i: a.value };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: a.value };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.value };
    case 'string':
      return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: AttrType.TENSOR, t: a.value };
    case 'graph':
      return { name, type: AttrType.GRAPH, g: a.value };
  }
}

/** Little-endian bytes of a typed array (ONNX raw_data is little-endian; so is every JS host we target). */
function rawBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

function checkDtypeData(dtype: DType, data: TensorData, name: string): void {
  const ok =
    (dtype === 'float32' && data instanceof Float32Array) ||
    (dtype === 'float16' && data instanceof Uint16Array) ||
    ((dtype === 'uint8' || dtype === 'bool') && data instanceof Uint8Array) ||
    (dtype === 'int8' && data instanceof Int8Array) ||
    (dtype === 'int32' && data instanceof Int32Array) ||
    (dtype === 'int64' && data instanceof BigInt64Array);
  if (!ok) throw new ExportError(`initializer ${name}: ${data.constructor.name} does not hold ${dtype} data`);
}

/** A TensorProto from a typed array (float16 takes the raw half-precision bits as a Uint16Array). */
export function tensorProto(name: string, dtype: DType, dims: number[], data: TensorData): OnnxTypes.ITensorProto {
  checkDtypeData(dtype, data, name);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new ExportError(`initializer ${name}: shape [${dims.join(', ')}] needs ${count} values, got ${data.length}`);
  }
  return { name, dataType: DTYPE_CODE[dtype], dims, rawData: rawBytes(data) };
}

export function valueInfo(name: string, dtype: DType, dims: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[dtype],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface ModelOptions {
  /** Default-domain opset version. */
  opset: number;
  /** Extra opset imports, e.g. `{ 'com.microsoft': 1 }`. */
  domains?: Record<string, number>;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
  /**
   * Execution providers the model must run on entirely: building fails with an ExportError naming
   * any op one of them lacks (ops.ts), instead of a model that a device refuses at load time.
   */
  runsOn?: readonly ExecutionProvider[];
}

/** The ONNX IR version written: 8 (ONNX 1.10–1.12) covers opsets 13–17 and every onnxruntime ≥ 1.10. */
export const IR_VERSION = 8;

export class GraphBuilder {
  readonly name: string;
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** A fresh tensor name with the given prefix, unique in this graph. */
  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  /** A name not used yet, left unclaimed (for callers that claim it themselves, like `initializer`). */
  private unusedName(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new ExportError(`graph ${this.name}: tensor name "${name}" is used twice`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input and returns its name. */
  input(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), dtype, dims));
    return name;
  }

  /** Declares a graph output; `name` must be produced by a node (or be an input/initializer). */
  output(name: string, dtype: DType, dims: readonly Dim[]): string {
    this.outputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Adds a constant tensor and returns its name. */
  initializer(name: string, dtype: DType, dims: number[], data: TensorData): string {
    this.initializers.push(tensorProto(this.claim(name), dtype, dims, data));
    return name;
  }

  /** A float32 constant (scalar when `dims` is `[]`), named automatically unless `name` is given. */
  constFloat(values: number | number[] | Float32Array, dims?: number[], name?: string): string {
    const data = typeof values === 'number' ? Float32Array.of(values) : Float32Array.from(values);
    return this.initializer(name ?? this.unusedName('const'), 'float32', dims ?? (typeof values === 'number' ? [] : [data.length]), data);
  }

  /** An int64 constant (shapes, axes). */
  constInt64(values: number[], dims?: number[], name?: string): string {
    return this.initializer(name ?? this.unusedName('const_i64'), 'int64', dims ?? [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  /**
   * Adds a node. `outputs` may be names or a count (names generated from the op type).
   * Returns the output names.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[] | number = 1,
    attrs: Record<string, Attr> = {},
    options: { name?: string; domain?: string } = {},
  ): string[] {
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : outputs.map((o) => this.claim(o));
    const node: OnnxTypes.INodeProto = {
      opType,
      input: [...inputs],
      output: outs,
      name: options.name ?? this.fresh(`${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
    };
    if (options.domain) node.domain = options.domain;
    this.nodes.push(node);
    return outs;
  }

  /** Single-output shorthand for `node`; `output` names the result, else a name is generated. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, output?: string): string {
    return this.node(opType, inputs, output === undefined ? 1 : [output], attrs)[0]!;
  }

  /** The graph as a GraphProto (also usable as a Loop/If body via `attr.graph`). */
  toGraphProto(): OnnxTypes.IGraphProto {
    return {
      name: this.name,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
      node: this.nodes,
    };
  }

  /** The whole model as a ModelProto object. */
  toModelProto(options: ModelOptions): OnnxTypes.IModelProto {
    for (const ep of options.runsOn ?? []) {
      const missing = opsMissingOn(ep, opTypesOf(this.toGraphProto()));
      if (missing.length > 0) {
        throw new ExportError(
          `graph ${this.name} uses ${missing.join(', ')}, which onnxruntime's ${ep} execution provider lacks; ` +
            `lower it to supported ops in @aekit/onnx (activations.ts) and record new ops in ops.ts`,
        );
      }
    }
    const opsetImport: OnnxTypes.IOperatorSetIdProto[] = [{ domain: '', version: options.opset }];
    for (const [domain, version] of Object.entries(options.domains ?? {})) opsetImport.push({ domain, version });
    const model: OnnxTypes.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport,
      producerName: options.producerName ?? 'aekit',
      producerVersion: options.producerVersion ?? '',
      graph: this.toGraphProto(),
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    if (options.docString) model.docString = options.docString;
    return model;
  }

  /** Serialised model bytes. */
  toBytes(options: ModelOptions): Uint8Array {
    return onnx.ModelProto.encode(onnx.ModelProto.create(this.toModelProto(options))).finish();
  }
}

/** Every op type in a graph, Loop/If bodies included. */
export function opTypesOf(graph: OnnxTypes.IGraphProto): Set<string> {
  const ops = new Set<string>();
  const walk = (g: OnnxTypes.IGraphProto): void => {
    for (const n of g.node ?? []) {
      ops.add(n.opType ?? '');
      for (const a of n.attribute ?? []) {
        if (a.g) walk(a.g);
        for (const sub of a.graphs ?? []) walk(sub);
      }
    }
  };
  walk(graph);
  return ops;
}

/** Parses model bytes (for tests and tools that inspect exported files). */
export function decodeModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** Float32 → IEEE half bits (round to nearest even), for float16 initializers: core's one encoder. */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  return float32ArrayToFloat16Bits(values);
}
