/**
 * What `encode` / `decode` / `reconstruct` accept, converted once to the array the graph takes:
 * Float32Array, Uint8Array (a Node Buffer too), an array of rows (number[][]) or an onnxruntime
 * Tensor. No copy where the graph's input dtype allows: a uint8 bundle takes a Uint8Array as it is, a
 * float32 bundle a Float32Array. Other combinations convert in one native pass (uint8 → float32 is a
 * plain cast: the graphs normalise raw units themselves, so 0..255 pixels stay 0..255).
 * TypeError for a wrong type, RangeError for a wrong length or a value the dtype cannot hold.
 */
import { rowCount } from './validate.js';

/** An onnxruntime Tensor (onnxruntime-node or -web), e.g. `new ort.Tensor('float32', data, [rows, cols])`. */
export interface TensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  readonly location?: string;
}

/**
 * Rows in raw units: a flat row-major Float32Array or Uint8Array (Buffer included), an array of rows
 * (`number[][]`, or any array of array-likes), or an onnxruntime Tensor of float32 / uint8 data whose
 * last dimension is the row width.
 */
export type RowsInput = Float32Array | Uint8Array | Uint8ClampedArray | ReadonlyArray<ArrayLike<number>> | TensorLike;

export interface PreparedRows {
  data: Float32Array | Uint8Array;
  rows: number;
  /** True when the values came from integers (uint8 data): finite by construction, no NaN scan needed. */
  integral: boolean;
  /**
   * True when `data` is a Uint8Array but the graph takes float32: the codec casts it batch by batch
   * (the plain cast, raw units kept). `asGraphInput` casts it whole for callers that need one array.
   */
  castToFloat32: boolean;
}

/** The rows as one array of the graph's dtype (casting uint8 rows for a float32 graph, in one native pass). */
export function asGraphInput(p: PreparedRows): Float32Array | Uint8Array {
  return p.castToFloat32 ? new Float32Array(p.data) : p.data;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : `an array of ${describe(v[0])}`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function expected(dtype: 'float32' | 'uint8'): string {
  return `a Float32Array, a Uint8Array (or Buffer), number[][] rows or an onnxruntime Tensor (this graph takes ${dtype} rows)`;
}

function isTensorLike(v: unknown): v is TensorLike {
  return typeof v === 'object' && v !== null && typeof (v as TensorLike).type === 'string' && Array.isArray((v as TensorLike).dims) && 'data' in v;
}

/**
 * The array itself, or a copy when it views a SharedArrayBuffer: onnxruntime-node refuses such tensors
 * ("Invalid argument"), and another thread could change the values while a batch runs.
 */
export function unshared<T extends Float32Array | Uint8Array>(a: T): T {
  if (typeof SharedArrayBuffer === 'undefined' || !(a.buffer instanceof SharedArrayBuffer)) return a;
  // Not a.slice(): a Node Buffer's slice is a view of the same memory.
  return (a instanceof Float32Array ? new Float32Array(a) : new Uint8Array(a)) as T;
}

/** A plain Uint8Array view of a Buffer / Uint8ClampedArray (no copy): onnxruntime checks the exact class. */
function plainBytes(a: Uint8Array | Uint8ClampedArray): Uint8Array {
  return a.constructor === Uint8Array ? (a as Uint8Array) : new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Float values to uint8, refusing (RangeError, row and column) any that is not an integer in 0..255. */
function floatsToUint8(method: string, what: string, values: ArrayLike<number>, cols: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 255 && Number.isInteger(v))) {
      throw new RangeError(
        `${method}: ${what} row ${Math.floor(i / cols)}, column ${i % cols} is ${v}, but this graph takes uint8 rows (integers 0-255)`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** Flat typed array → the graph's dtype (no copy when it already is). */
function fromFlat(method: string, what: string, a: Float32Array | Uint8Array, dtype: 'float32' | 'uint8', cols: number): Omit<PreparedRows, 'rows'> {
  if (a instanceof Float32Array) {
    return dtype === 'float32' ? { data: unshared(a), integral: false, castToFloat32: false } : { data: floatsToUint8(method, what, a, cols), integral: true, castToFloat32: false };
  }
  // Bytes go as they are; for a float32 graph the codec casts them batch by batch (asGraphInput: whole).
  // (A shared buffer is copied for a uint8 graph; a float32 graph's batch cast copies it anyway.)
  return dtype === 'uint8' ? { data: unshared(plainBytes(a)), integral: true, castToFloat32: false } : { data: plainBytes(a), integral: true, castToFloat32: true };
}

/** number[][] → one flat array of `cols`-wide rows. */
function fromRows(method: string, what: string, rows: ReadonlyArray<ArrayLike<number>>, dtype: 'float32' | 'uint8', cols: number): Float32Array | Uint8Array {
  const out = dtype === 'float32' ? new Float32Array(rows.length * cols) : new Uint8Array(rows.length * cols);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
      throw new TypeError(`${method}: ${what}[${r}] is ${describe(row)}; pass rows as arrays of ${cols} numbers`);
    }
    if (row.length !== cols) {
      throw new RangeError(`${method}: ${what}[${r}] has ${row.length} values; this graph takes ${cols} per row`);
    }
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (typeof v !== 'number') throw new TypeError(`${method}: ${what}[${r}][${c}] is ${describe(v)}; values must be numbers`);
      if (dtype === 'uint8' && !(v >= 0 && v <= 255 && Number.isInteger(v))) {
        throw new RangeError(`${method}: ${what} row ${r}, column ${c} is ${v}, but this graph takes uint8 rows (integers 0-255)`);
      }
      out[r * cols + c] = v;
    }
  }
  return out;
}

/**
 * `input` as the flat array a graph of input `dtype` and row width `cols` takes, with its row count
 * (checked against `rows` when given).
 */
export function prepareRows(method: string, what: string, input: unknown, dtype: 'float32' | 'uint8', cols: number, rows?: number): PreparedRows {
  // The common case first, without the general path's intermediate object: float32 rows for a float32 graph.
  if (dtype === 'float32' && input instanceof Float32Array) {
    const data = unshared(input);
    return { data, rows: rowCount(method, what, data.length, cols, rows), integral: false, castToFloat32: false };
  }
  let flat: Omit<PreparedRows, 'rows'>;
  if (input instanceof Float32Array || input instanceof Uint8Array || input instanceof Uint8ClampedArray) {
    flat = fromFlat(method, what, input instanceof Uint8ClampedArray ? plainBytes(input) : input, dtype, cols);
  } else if (Array.isArray(input)) {
    if (input.length > 0 && typeof input[0] === 'number') {
      throw new TypeError(`${method}: ${what} is a flat array of numbers; pass rows (number[][]) or a typed array: Float32Array.from(values)`);
    }
    const data = fromRows(method, what, input as ReadonlyArray<ArrayLike<number>>, dtype, cols);
    flat = { data, integral: dtype === 'uint8', castToFloat32: false };
  } else if (isTensorLike(input)) {
    if (input.location !== undefined && input.location !== 'cpu' && input.location !== 'cpu-pinned') {
      throw new TypeError(`${method}: ${what} is a tensor on ${input.location}; download it first (await tensor.getData())`);
    }
    const d = input.data;
    if (!(input.type === 'float32' && d instanceof Float32Array) && !(input.type === 'uint8' && d instanceof Uint8Array)) {
      throw new TypeError(`${method}: ${what} is a ${input.type} tensor; this graph takes ${dtype} rows (float32 and uint8 tensors are converted)`);
    }
    const dims = input.dims;
    const last = dims[dims.length - 1];
    const size = dims.reduce((a, b) => a * b, 1);
    if (last !== cols || size !== d.length) {
      throw new RangeError(`${method}: ${what} is a tensor of dims [${dims.join(', ')}]; this graph takes [rows, ${cols}]`);
    }
    flat = fromFlat(method, what, d, dtype, cols);
  } else {
    throw new TypeError(`${method}: ${what} must be ${expected(dtype)}; got ${describe(input)}`);
  }
  const n = rowCount(method, what, flat.data.length, cols, rows);
  // A literal, not `{ ...flat, rows }`: V8's object spread cost ~1 µs a call here, about 1 % of a
  // 64-row decode (bench/codec-overhead.bench.mjs).
  return { data: flat.data, rows: n, integral: flat.integral, castToFloat32: flat.castToFloat32 };
}
