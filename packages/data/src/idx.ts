/**
 * IDX, the format of MNIST and Fashion-MNIST: magic (0, 0, type, ndims), ndims big-endian uint32
 * dimension sizes, then the values big-endian. The first dimension is rows; the rest are flattened
 * (images of 28×28 become rows of 784). The header parser here serves the in-memory loader and both
 * streamed readers, so every path reports a malformed file the same way.
 */
import { DataError } from '@aekit/core';
import { assertFinite } from './check.js';
import { type Dataset, uint8Rows } from './dataset.js';

export interface IdxType {
  name: string;
  bytes: number;
  /** The value at byte `offset` of `view` (big-endian). */
  read: (view: DataView, offset: number) => number;
}

/** The IDX value types by type code (byte 2 of the header). */
export const IDX_TYPES: Readonly<Record<number, IdxType>> = {
  0x08: { name: 'uint8', bytes: 1, read: (v, o) => v.getUint8(o) },
  0x09: { name: 'int8', bytes: 1, read: (v, o) => v.getInt8(o) },
  0x0b: { name: 'int16', bytes: 2, read: (v, o) => v.getInt16(o, false) },
  0x0c: { name: 'int32', bytes: 4, read: (v, o) => v.getInt32(o, false) },
  0x0d: { name: 'float32', bytes: 4, read: (v, o) => v.getFloat32(o, false) },
  0x0e: { name: 'float64', bytes: 8, read: (v, o) => v.getFloat64(o, false) },
};

/** IDX type code of uint8 values (images). */
export const IDX_UINT8 = 0x08;

export interface IdxHeader {
  typeCode: number;
  type: IdxType;
  dims: number[];
  rows: number;
  /** Values per row: the product of every dimension after the first. */
  cols: number;
  /** Header size: the values start at this byte. */
  headerBytes: number;
  /** Size of the whole file the header declares (header and values). */
  totalBytes: number;
}

/** True when `bytes` start like an IDX header (magic 0x0000, at least one dimension). */
export function looksLikeIdx(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[3]! > 0;
}

/** Bytes of an IDX header with `ndims` dimensions: the 4-byte magic, then a 4-byte size per dimension. */
export function idxHeaderBytes(ndims: number): number {
  return 4 + 4 * ndims;
}

/**
 * Parses the IDX header at the front of `bytes` (the whole file or just its first bytes). Throws a
 * DataError naming the file and byte when the header is malformed or cut short.
 */
export function parseIdxHeader(bytes: Uint8Array, file: string): IdxHeader {
  const fail = (msg: string): never => {
    throw new DataError(`${file}: ${msg}`, { file });
  };
  if (bytes.length < 4) fail(`only ${bytes.length} bytes: too short for an IDX header (is the file truncated?)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(
      `bad IDX magic at byte 0 (0x${hex(bytes[0]!)}${hex(bytes[1]!)}, expected 0x0000); ` +
        'not an IDX file — if it is gzip-compressed, name it *.gz, or pass --format',
    );
  }
  const typeCode = bytes[2]!;
  const type =
    IDX_TYPES[typeCode] ??
    fail(`unknown IDX data type 0x${hex(typeCode)} at byte 2 (valid: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)`);
  const ndims = bytes[3]!;
  if (ndims < 1) fail('IDX header at byte 3 declares 0 dimensions; expected at least 1');
  const headerBytes = idxHeaderBytes(ndims);
  if (bytes.length < headerBytes) {
    fail(`file ends at byte ${bytes.length}, inside the ${ndims}-dimension header (${headerBytes} bytes): the file is truncated`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const rows = dims[0]!;
  const cols = dims.slice(1).reduce((a, b) => a * b, 1);
  return { typeCode, type, dims, rows, cols, headerBytes, totalBytes: headerBytes + rows * cols * type.bytes };
}

/** Throws a DataError when a file of `size` bytes is not the size its IDX header declares. */
export function checkIdxSize(h: IdxHeader, size: number, file: string): void {
  if (size === h.totalBytes) return;
  const expected = h.totalBytes;
  throw new DataError(
    `${file}: header declares ${h.dims.join('×')} ${h.type.name} values (${expected} bytes in all) but the file has ` +
      `${size} bytes${size < expected ? `: truncated at byte ${size}` : `: ${size - expected} extra bytes after byte ${expected}`}; ` +
      're-download or re-create the file',
    { file },
  );
}

export function parseIdx(bytes: Uint8Array, file: string): Dataset {
  const h = parseIdxHeader(bytes, file);
  checkIdxSize(h, bytes.length, file);
  const { rows, cols, headerBytes, totalBytes, type } = h;
  if (h.typeCode === IDX_UINT8) {
    return { data: uint8Rows(bytes, headerBytes, totalBytes), rows, cols, dtype: 'uint8', rowShape: h.dims.slice(1), source: file };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = type.read(view, headerBytes + i * type.bytes);
  assertFinite(data, cols, file);
  return { data, rows, cols, dtype: 'float32', rowShape: h.dims.slice(1), source: file };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}
