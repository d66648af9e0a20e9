/**
 * NPY (numpy's `np.save` format), versions 1, 2 and 3: magic `\x93NUMPY`, version, header length
 * (uint16 in v1, uint32 in v2/v3), a Python dict literal header, then the array in C order.
 * Supported dtypes: float32, float64 (converted to float32), uint8, and the integer types (numpy's
 * default int64 among them: `np.save(path, np.arange(6).reshape(2, 3))`), converted to float32 while
 * every value is exact there (|v| ≤ 2^24), either byte order.
 */
import { DataError } from '@aekit/core';
import { assertFinite } from './check.js';
import { type Dataset, uint8Rows } from './dataset.js';
import { writeFileAtomic } from './fs-atomic.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The dtypes read, for error messages. */
export const NPY_SUPPORTED = "supported: float32 '<f4', float64 '<f8', uint8 '|u1', integers '<i8' '<i4' '<i2' '|i1' '<u8' '<u4' '<u2' up to ±2^24";

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

/** Bytes per value of the NPY integer dtypes read (kind without the byte-order character). */
export const NPY_INT_BYTES: Readonly<Record<string, number>> = { i1: 1, i2: 2, i4: 4, i8: 8, u2: 2, u4: 4, u8: 8 };

/** Largest integer magnitude float32 holds exactly: integer data beyond it is refused, not rounded. */
export const MAX_EXACT_FLOAT32_INT = 2 ** 24;

/** The integer of NPY kind `kind` at `offset` (exact up to 2^53, far past MAX_EXACT_FLOAT32_INT). */
export function readNpyInt(view: DataView, offset: number, kind: string, little: boolean): number {
  switch (kind) {
    case 'i1':
      return view.getInt8(offset);
    case 'i2':
      return view.getInt16(offset, little);
    case 'u2':
      return view.getUint16(offset, little);
    case 'i4':
      return view.getInt32(offset, little);
    case 'u4':
      return view.getUint32(offset, little);
    default: {
      // 64-bit: high word × 2^32 + low word, exact below 2^53 (a BigInt per value would be ~10× slower).
      const lo = view.getUint32(offset + (little ? 0 : 4), little);
      const hiOffset = offset + (little ? 4 : 0);
      const hi = kind === 'i8' ? view.getInt32(hiOffset, little) : view.getUint32(hiOffset, little);
      return hi * 2 ** 32 + lo;
    }
  }
}

/** The DataError for an integer float32 cannot hold exactly (row and column 1-based, as assertFinite's). */
export function integerTooLarge(file: string, descr: string, index: number, cols: number, value: number, firstRow = 0): DataError {
  return new DataError(
    `${file}: row ${firstRow + Math.floor(index / cols) + 1}, column ${(index % cols) + 1} is ${value}, beyond ±2^24 ` +
      `(${MAX_EXACT_FLOAT32_INT}), the largest integer float32 holds exactly; aekit reads ${descr} data as float32: ` +
      'rescale the values, or save them as float32 (a.astype(numpy.float32)) if rounding is acceptable',
    { file },
  );
}

export function parseHeader(bytes: Uint8Array, file: string): NpyHeader {
  const fail = (msg: string): never => {
    throw new DataError(`${file}: ${msg}`, { file });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    fail('bad NPY magic at byte 0 (expected \\x93NUMPY); not a .npy file (numpy.save writes one)');
  }
  const major = bytes[6]!;
  let headerLen: number;
  let start: number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(`file ends at byte ${bytes.length}, inside the NPY header: the file is truncated`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    return fail(`unsupported NPY version ${major}.${bytes[7]} at byte 6 (supported: 1.x, 2.x, 3.x)`);
  }
  if (bytes.length < start + headerLen) {
    fail(`file ends at byte ${bytes.length}, inside the ${headerLen}-byte NPY header: the file is truncated`);
  }
  const text = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    return fail(`cannot read the NPY header at byte ${start} (${JSON.stringify(text.trim())}); re-save the array with numpy.save`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape (${shapeText}) in the NPY header at byte ${start}`);
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset: start + headerLen };
}

export function parseNpy(bytes: Uint8Array, file: string): Dataset {
  const fail = (msg: string): never => {
    throw new DataError(`${file}: ${msg}`, { file });
  };
  const h = parseHeader(bytes, file);
  if (h.fortranOrder) {
    fail('array is stored in Fortran (column-major) order; save a C-order copy: numpy.save(path, numpy.ascontiguousarray(a))');
  }
  const kind = h.descr.slice(1);
  const order = h.descr[0];
  const little = order === '<' || order === '|' || order === '=';
  const size = kind === 'u1' ? 1 : kind === 'f4' ? 4 : kind === 'f8' ? 8 : (NPY_INT_BYTES[kind] ?? 0);
  if (size === 0 || (order !== '<' && order !== '>' && order !== '|' && order !== '=')) {
    fail(`unsupported NPY dtype '${h.descr}' (${NPY_SUPPORTED}); convert with a.astype(numpy.float32)`);
  }
  if (h.shape.length === 0) fail('the array is a scalar (shape ()); expected a 1-D or 2-D array of rows');
  const rows = h.shape[0]!;
  const cols = h.shape.slice(1).reduce((a, b) => a * b, 1);
  const n = rows * cols;
  const expected = h.dataOffset + n * size;
  if (bytes.length < expected) {
    fail(
      `header declares shape (${h.shape.join(', ')}) of ${h.descr} (${n * size} data bytes from byte ${h.dataOffset}) ` +
        `but the file ends at byte ${bytes.length}: the file is truncated`,
    );
  }
  if (bytes.length > expected) {
    fail(`${bytes.length - expected} unexpected bytes after the array data (from byte ${expected}); re-save the array with numpy.save`);
  }
  if (kind === 'u1') {
    return { data: uint8Rows(bytes, h.dataOffset, expected), rows, cols, dtype: 'uint8', rowShape: h.shape.slice(1), source: file };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, n * size);
  const data = new Float32Array(n);
  if (kind === 'f4') for (let i = 0; i < n; i++) data[i] = view.getFloat32(i * 4, little);
  else if (kind === 'f8') for (let i = 0; i < n; i++) data[i] = view.getFloat64(i * 8, little);
  else {
    // Integers are finite by nature: only the float32 range needs checking.
    for (let i = 0; i < n; i++) {
      const v = readNpyInt(view, i * size, kind, little);
      if (v > MAX_EXACT_FLOAT32_INT || v < -MAX_EXACT_FLOAT32_INT) throw integerTooLarge(file, h.descr, i, cols, v);
      data[i] = v;
    }
    return { data, rows, cols, dtype: 'float32', rowShape: h.shape.slice(1), source: file };
  }
  assertFinite(data, cols, file);
  return { data, rows, cols, dtype: 'float32', rowShape: h.shape.slice(1), source: file };
}

/** NPY v1 bytes of a C-order float32 ('<f4') or uint8 ('|u1') array. */
export function encodeNpy(data: Float32Array | Uint8Array, shape: readonly number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new RangeError(`encodeNpy: shape (${shape.join(', ')}) holds ${n} values but data has ${data.length}`);
  }
  const descr = data instanceof Uint8Array ? '|u1' : '<f4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so magic + version + length + header + '\n' is a multiple of 64 (numpy does the same).
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof Float32Array && !isLittleEndian()) {
    const view = new DataView(out.buffer, total);
    data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  } else {
    out.set(body, total);
  }
  return out;
}

/** Writes an NPY file atomically (temp file in the same directory, then rename). */
export async function writeNpy(path: string, data: Float32Array | Uint8Array, shape: readonly number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
