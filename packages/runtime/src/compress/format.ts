/**
 * The `.aez` container, version 1 (byte-level table in docs/format.md). All integers little-endian.
 *
 *   header   magic(8) version(u16) flags(u16) headerLength(u32) decoderSha256(32) inputDim(u32)
 *            inputDtype(u8) latentType(u8) reserved(u16) latentDim(u32) rowsPerChunk(u32) rowCount(u64)
 *            latentMin(f32 × L) latentMax(f32 × L) headerCrc32(u32)
 *   chunk*   payloadLength(u32, > 0) payload crc32(length bytes + payload)(u32)
 *   end      0(u32) rowCount(u64) chunkCount(u32) crc32(previous 16 bytes)(u32)
 *
 * Every size a reader would allocate from is bounded here, so a corrupt header never causes a huge
 * allocation: the header is at most 76 + 8 · MAX_LATENT_DIM bytes and a chunk payload at most
 * MAX_CHUNK_PAYLOAD_BYTES.
 */
import { crc32 } from './crc32.js';
import { ContainerError } from '@aekit/core';
import { LATENT_TYPES, LATENT_TYPE_BYTES, type LatentRange, type LatentType } from './quantize.js';

/** `\x89AEZ\r\n\x1a\n`: a high-bit byte and line endings catch 7-bit and text-mode transfers (as PNG's). */
export const AEZ_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x89, 0x41, 0x45, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a);
export const AEZ_VERSION = 1;
/** Bytes of the header before the per-dimension latent range. */
export const HEADER_FIXED_BYTES = 72;
/** Smallest header prefix that tells the header's length: magic, version, flags, headerLength. */
export const HEADER_PREFIX_BYTES = 16;
export const MAX_INPUT_DIM = 1 << 24;
export const MAX_LATENT_DIM = 1 << 16;
/** Upper bound on one chunk's payload; rowsPerChunk × bytes per row must fit. */
export const MAX_CHUNK_PAYLOAD_BYTES = 1 << 24;
/** Bytes a chunk adds around its payload (length + CRC). */
export const CHUNK_OVERHEAD_BYTES = 8;
/** Bytes of the end record (zero length, row count, chunk count, CRC). */
export const END_RECORD_BYTES = 20;
/** rowCount value meaning "not known when the header was written" (streamed input). */
export const UNKNOWN_ROW_COUNT = 0xffff_ffff_ffff_ffffn;

export type InputDtype = 'float32' | 'uint8';
const INPUT_DTYPES: readonly InputDtype[] = ['float32', 'uint8'];

export interface ContainerHeader {
  version: number;
  /** Hex SHA-256 of the decoder ONNX file (the bundle manifest's `files.decoder.sha256`). */
  decoderSha256: string;
  inputDim: number;
  inputDtype: InputDtype;
  latentDim: number;
  latentType: LatentType;
  /** Most rows one chunk holds (the last chunk may hold fewer). */
  rowsPerChunk: number;
  /** Rows in the file, or null when the writer did not know them up front (the end record has them). */
  rowCount: number | null;
  /** Quantisation parameters: per-dimension latent range (uint8 maps [min, max] onto 0..255). */
  latentRange: LatentRange;
}

export function headerLength(latentDim: number): number {
  return HEADER_FIXED_BYTES + 8 * latentDim + 4;
}

export function bytesPerRow(h: Pick<ContainerHeader, 'latentDim' | 'latentType'>): number {
  return h.latentDim * LATENT_TYPE_BYTES[h.latentType];
}

/** Most rows a chunk may hold for this latent width and type. */
export function maxRowsPerChunk(h: Pick<ContainerHeader, 'latentDim' | 'latentType'>): number {
  return Math.floor(MAX_CHUNK_PAYLOAD_BYTES / bytesPerRow(h));
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`decoder SHA-256 must be 64 hex digits, got "${hex}"`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Checks a header the writer is about to use; programming errors → RangeError / TypeError. */
export function validateHeaderForWrite(h: ContainerHeader): void {
  const { inputDim, latentDim, rowsPerChunk, rowCount } = h;
  if (!Number.isInteger(inputDim) || inputDim < 1 || inputDim > MAX_INPUT_DIM) {
    throw new RangeError(`inputDim must be an integer in 1..${MAX_INPUT_DIM}, got ${inputDim}`);
  }
  if (!Number.isInteger(latentDim) || latentDim < 1 || latentDim > MAX_LATENT_DIM) {
    throw new RangeError(`latentDim must be an integer in 1..${MAX_LATENT_DIM}, got ${latentDim}`);
  }
  if (!LATENT_TYPES.includes(h.latentType)) throw new RangeError(`unknown latent type "${String(h.latentType)}"`);
  if (!INPUT_DTYPES.includes(h.inputDtype)) throw new RangeError(`unknown input dtype "${String(h.inputDtype)}"`);
  const maxRows = maxRowsPerChunk(h);
  if (!Number.isInteger(rowsPerChunk) || rowsPerChunk < 1 || rowsPerChunk > maxRows) {
    throw new RangeError(`rowsPerChunk must be an integer in 1..${maxRows} for ${latentDim} ${h.latentType} latents, got ${rowsPerChunk}`);
  }
  if (rowCount !== null && (!Number.isSafeInteger(rowCount) || rowCount < 0)) {
    throw new RangeError(`rowCount must be a non-negative safe integer, got ${rowCount}`);
  }
  if (h.latentRange.min.length !== latentDim || h.latentRange.max.length !== latentDim) {
    throw new RangeError(`latent range must have ${latentDim} values per bound`);
  }
  for (let d = 0; d < latentDim; d++) {
    const lo = h.latentRange.min[d]!;
    const hi = h.latentRange.max[d]!;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
      throw new RangeError(`latent range of dimension ${d} must be finite with min <= max, got [${lo}, ${hi}]`);
    }
  }
  hexToBytes(h.decoderSha256);
}

export function encodeHeader(h: ContainerHeader): Uint8Array {
  validateHeaderForWrite(h);
  const L = h.latentDim;
  const out = new Uint8Array(headerLength(L));
  const v = new DataView(out.buffer);
  out.set(AEZ_MAGIC, 0);
  v.setUint16(8, AEZ_VERSION, true);
  v.setUint16(10, 0, true);
  v.setUint32(12, out.length, true);
  out.set(hexToBytes(h.decoderSha256), 16);
  v.setUint32(48, h.inputDim, true);
  v.setUint8(52, INPUT_DTYPES.indexOf(h.inputDtype));
  v.setUint8(53, LATENT_TYPES.indexOf(h.latentType));
  v.setUint16(54, 0, true);
  v.setUint32(56, L, true);
  v.setUint32(60, h.rowsPerChunk, true);
  v.setBigUint64(64, h.rowCount === null ? UNKNOWN_ROW_COUNT : BigInt(h.rowCount), true);
  for (let d = 0; d < L; d++) {
    v.setFloat32(HEADER_FIXED_BYTES + 4 * d, h.latentRange.min[d]!, true);
    v.setFloat32(HEADER_FIXED_BYTES + 4 * (L + d), h.latentRange.max[d]!, true);
  }
  v.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/**
 * Checks the magic against however many bytes are present (so a short non-container is named as such),
 * then, given at least HEADER_PREFIX_BYTES, the version and flags; returns the header length.
 */
export function checkMagic(bytes: Uint8Array): void {
  const n = Math.min(bytes.length, AEZ_MAGIC.length);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== AEZ_MAGIC[i]) {
      throw new ContainerError(
        'E_AEZ_MAGIC',
        `not an aekit compressed file (.aez): byte ${i} is 0x${bytes[i]!.toString(16).padStart(2, '0')}, ` +
          `the magic expects 0x${AEZ_MAGIC[i]!.toString(16).padStart(2, '0')}; compress data with \`aekit compress\` first`,
        { offset: i },
      );
    }
  }
}

export function parseHeaderPrefix(prefix: Uint8Array): number {
  checkMagic(prefix);
  const v = new DataView(prefix.buffer, prefix.byteOffset, HEADER_PREFIX_BYTES);
  const version = v.getUint16(8, true);
  if (version !== AEZ_VERSION) {
    throw new ContainerError(
      'E_AEZ_VERSION',
      `.aez format version ${version} is not supported (this reader knows version ${AEZ_VERSION}); ` +
        `use the aekit release that wrote the file`,
      { offset: 8 },
    );
  }
  const flags = v.getUint16(10, true);
  if (flags !== 0) {
    throw new ContainerError('E_AEZ_VERSION', `.aez flags 0x${flags.toString(16)} name features this reader does not know`, {
      offset: 10,
    });
  }
  const len = v.getUint32(12, true);
  const max = headerLength(MAX_LATENT_DIM);
  if (len < headerLength(1) || len > max || (len - HEADER_FIXED_BYTES - 4) % 8 !== 0) {
    throw new ContainerError(
      'E_AEZ_BOUNDS',
      `header length ${len} at byte 12 is impossible (must be 76 + 8 × latentDim, at most ${max})`,
      { offset: 12 },
    );
  }
  return len;
}

function bounds(message: string, offset: number): ContainerError {
  return new ContainerError('E_AEZ_BOUNDS', message, { offset });
}

/** Parses and validates a whole header (its length from parseHeaderPrefix). */
export function parseHeader(bytes: Uint8Array): ContainerHeader {
  const len = parseHeaderPrefix(bytes);
  if (bytes.length < len) {
    throw new ContainerError('E_AEZ_TRUNCATED', `file ends inside the ${len}-byte header, after ${bytes.length} bytes`, {
      offset: bytes.length,
    });
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, len);
  const stored = v.getUint32(len - 4, true);
  const actual = crc32(bytes.subarray(0, len - 4));
  if (stored !== actual) {
    throw new ContainerError(
      'E_AEZ_CRC',
      `header checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)} over bytes 0..${len - 5}): the file is damaged`,
      { offset: len - 4 },
    );
  }
  const inputDim = v.getUint32(48, true);
  if (inputDim < 1 || inputDim > MAX_INPUT_DIM) throw bounds(`inputDim ${inputDim} at byte 48 is outside 1..${MAX_INPUT_DIM}`, 48);
  const inputDtype = INPUT_DTYPES[v.getUint8(52)];
  if (inputDtype === undefined) throw bounds(`input dtype code ${v.getUint8(52)} at byte 52 is unknown (0 float32, 1 uint8)`, 52);
  const latentType = LATENT_TYPES[v.getUint8(53)];
  if (latentType === undefined) {
    throw bounds(`latent type code ${v.getUint8(53)} at byte 53 is unknown (0 float32, 1 float16, 2 uint8)`, 53);
  }
  if (v.getUint16(54, true) !== 0) throw new ContainerError('E_AEZ_CORRUPT', 'reserved bytes 54..55 are not zero', { offset: 54 });
  const latentDim = v.getUint32(56, true);
  if (latentDim < 1 || headerLength(latentDim) !== len) {
    throw bounds(`latentDim ${latentDim} at byte 56 disagrees with the header length ${len} (76 + 8 × latentDim)`, 56);
  }
  const rowsPerChunk = v.getUint32(60, true);
  const maxRows = maxRowsPerChunk({ latentDim, latentType });
  if (rowsPerChunk < 1 || rowsPerChunk > maxRows) {
    throw bounds(`rowsPerChunk ${rowsPerChunk} at byte 60 is outside 1..${maxRows}`, 60);
  }
  const rawRows = v.getBigUint64(64, true);
  let rowCount: number | null = null;
  if (rawRows !== UNKNOWN_ROW_COUNT) {
    if (rawRows > BigInt(Number.MAX_SAFE_INTEGER)) throw bounds(`row count ${rawRows} at byte 64 is absurd`, 64);
    rowCount = Number(rawRows);
  }
  const min = new Float32Array(latentDim);
  const max = new Float32Array(latentDim);
  for (let d = 0; d < latentDim; d++) {
    min[d] = v.getFloat32(HEADER_FIXED_BYTES + 4 * d, true);
    max[d] = v.getFloat32(HEADER_FIXED_BYTES + 4 * (latentDim + d), true);
    if (!Number.isFinite(min[d]!) || !Number.isFinite(max[d]!) || min[d]! > max[d]!) {
      throw bounds(`latent range of dimension ${d} is [${min[d]}, ${max[d]}]: not finite or min > max`, HEADER_FIXED_BYTES + 4 * d);
    }
  }
  return {
    version: AEZ_VERSION,
    decoderSha256: bytesToHex(bytes.subarray(16, 48)),
    inputDim,
    inputDtype,
    latentDim,
    latentType,
    rowsPerChunk,
    rowCount,
    latentRange: { min, max },
  };
}

/** The end record: a zero length, total rows and chunks, and its CRC. */
export function encodeEndRecord(rows: number, chunks: number): Uint8Array {
  const out = new Uint8Array(END_RECORD_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0, true);
  v.setBigUint64(4, BigInt(rows), true);
  v.setUint32(12, chunks, true);
  v.setUint32(16, crc32(out.subarray(0, 16)), true);
  return out;
}
