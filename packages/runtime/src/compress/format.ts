/**
 * The `.aez` container, version 2 (byte-level table in docs/format.md; version 1 is still read). All
 * integers little-endian.
 *
 *   header   magic(8) version(u16) flags(u16) headerLength(u32) decoderSha256(32) inputDim(u32)
 *            inputDtype(u8) latentType(u8) reserved(u16) latentDim(u32) rowsPerChunk(u32) rowCount(u64)
 *            [v2: latentTablesSha256(32)] latentMin(f32 × L) latentMax(f32 × L) headerCrc32(u32)
 *   chunk*   payloadLength(u32, > 0) payload crc32(u32)
 *              v1: crc32(length ‖ payload)
 *              v2: crc32(chunkIndex(u32) ‖ rowsBefore(u64) ‖ length ‖ payload): the chunk's place is bound
 *                  into its checksum, so reordered, duplicated or dropped chunks fail it
 *            entropy payload: rows(u32) rANS stream of the rows' uint8 symbols (core's ransEncodeRows)
 *   end      0(u32) rowCount(u64) chunkCount(u32) crc32(previous 16 bytes)(u32)
 *
 * Every size a reader would allocate from is bounded here, so a corrupt header never causes a huge
 * allocation: the header is at most 108 + 8 · MAX_LATENT_DIM bytes and a chunk payload at most
 * MAX_CHUNK_PAYLOAD_BYTES (an entropy-coded chunk at most 8 + 2 bytes per latent, the coder's bound).
 */
import { crc32 } from './crc32.js';
import {
  ContainerError,
  LATENT_TYPE_BYTES as VALUE_BYTES,
  type LatentRange,
  type LatentType as ValueType,
  ransMaxBytes,
} from '@aekit/core';

export type { LatentRange };

/** `\x89AEZ\r\n\x1a\n`: a high-bit byte and line endings catch 7-bit and text-mode transfers (as PNG's). */
export const AEZ_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x89, 0x41, 0x45, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a);
/** The version the writer writes. */
export const AEZ_VERSION = 2;
/** Versions the reader reads. */
export const AEZ_READ_VERSIONS: readonly number[] = [1, 2];
/** Bytes of the header before the per-dimension latent range, by version. */
export function headerFixedBytes(version: number): number {
  return version === 1 ? 72 : 104;
}
/** Smallest header prefix that tells the header's length: magic, version, flags, headerLength. */
export const HEADER_PREFIX_BYTES = 16;
export const MAX_INPUT_DIM = 1 << 24;
export const MAX_LATENT_DIM = 1 << 16;
/** Upper bound on one chunk's payload; rowsPerChunk × (worst-case) bytes per row must fit. */
export const MAX_CHUNK_PAYLOAD_BYTES = 1 << 24;
/** Bytes a chunk adds around its payload (length + CRC). */
export const CHUNK_OVERHEAD_BYTES = 8;
/** Bytes an entropy-coded payload adds to its stream (row count); the stream adds its 4-byte state. */
export const ENTROPY_PAYLOAD_PREFIX = 4;
/** Bytes of the end record (zero length, row count, chunk count, CRC). */
export const END_RECORD_BYTES = 20;
/** rowCount value meaning "not known when the header was written" (streamed input). */
export const UNKNOWN_ROW_COUNT = 0xffff_ffff_ffff_ffffn;

/**
 * How a container stores latents, by header code: float32, float16 and uint8 (core's quantiser,
 * fixed bytes per value) and, from version 2, `entropy`: the uint8 symbols rANS-coded with the
 * bundle's latent tables (bit for bit the uint8 latents once decoded).
 */
export const LATENT_TYPES = ['float32', 'float16', 'uint8', 'entropy'] as const;
export type LatentType = (typeof LATENT_TYPES)[number];

export function isLatentType(name: string): name is LatentType {
  return (LATENT_TYPES as readonly string[]).includes(name);
}

/** Parses a user-supplied latent type; an unknown name → RangeError listing the valid ones. */
export function parseLatentType(name: string): LatentType {
  if (isLatentType(name)) return name;
  throw new RangeError(`unknown latent type "${name}"; valid: ${LATENT_TYPES.join(', ')}`);
}

/** The value quantisation a container latent type uses (entropy codes uint8 symbols). */
export function valueType(t: LatentType): ValueType {
  return t === 'entropy' ? 'uint8' : t;
}

export type InputDtype = 'float32' | 'uint8';
const INPUT_DTYPES: readonly InputDtype[] = ['float32', 'uint8'];

export interface ContainerHeader {
  /** Format version of the file (the writer writes AEZ_VERSION; 1 is still read). */
  version: number;
  /** Hex SHA-256 of the decoder ONNX file (the bundle manifest's `files.decoder.sha256`). */
  decoderSha256: string;
  /**
   * Hex SHA-256 of the latent tables file (`files.latentTables.sha256`) an `entropy` container was
   * coded with; null for other latent types (stored as zeros) and in version 1 files.
   */
  latentTablesSha256: string | null;
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

export function headerLength(latentDim: number, version: number = AEZ_VERSION): number {
  return headerFixedBytes(version) + 8 * latentDim + 4;
}

/** Payload bytes of a row for the fixed-size latent types; undefined for entropy (data-dependent). */
export function bytesPerRow(h: Pick<ContainerHeader, 'latentDim' | 'latentType'>): number | undefined {
  return h.latentType === 'entropy' ? undefined : h.latentDim * VALUE_BYTES[h.latentType];
}

/** Most payload bytes a chunk of `rows` rows may take: exact for fixed types, the coder's bound for entropy. */
export function maxPayloadBytes(h: Pick<ContainerHeader, 'latentDim' | 'latentType'>, rows: number): number {
  const fixed = bytesPerRow(h);
  return fixed !== undefined ? rows * fixed : ENTROPY_PAYLOAD_PREFIX + ransMaxBytes(rows * h.latentDim);
}

/** Most rows a chunk may hold for this latent width and type (its payload bound fits MAX_CHUNK_PAYLOAD_BYTES). */
export function maxRowsPerChunk(h: Pick<ContainerHeader, 'latentDim' | 'latentType'>): number {
  const fixed = bytesPerRow(h);
  if (fixed !== undefined) return Math.floor(MAX_CHUNK_PAYLOAD_BYTES / fixed);
  return Math.floor((MAX_CHUNK_PAYLOAD_BYTES - ENTROPY_PAYLOAD_PREFIX - ransMaxBytes(0)) / (2 * h.latentDim));
}

/** The CRC a chunk record carries: version 2 binds the chunk's index and the rows before it. */
export function chunkCrc(version: number, index: number, rowsBefore: number, record: Uint8Array): number {
  if (version === 1) return crc32(record);
  const place = new Uint8Array(12);
  const v = new DataView(place.buffer);
  v.setUint32(0, index, true);
  v.setBigUint64(4, BigInt(rowsBefore), true);
  return crc32(record, crc32(place));
}

export function hexToBytes(hex: string, what = 'decoder SHA-256'): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`${what} must be 64 hex digits, got "${hex}"`);
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
  if (h.version !== AEZ_VERSION) throw new RangeError(`the writer writes .aez version ${AEZ_VERSION}, not ${h.version}`);
  if ((h.latentType === 'entropy') !== (h.latentTablesSha256 !== null)) {
    throw new RangeError('latentTablesSha256 must be set for entropy latents, and only for them');
  }
  if (h.latentTablesSha256 !== null) hexToBytes(h.latentTablesSha256, 'latent tables SHA-256');
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
  if (h.latentTablesSha256 !== null) out.set(hexToBytes(h.latentTablesSha256, 'latent tables SHA-256'), 72);
  const fixed = headerFixedBytes(AEZ_VERSION);
  for (let d = 0; d < L; d++) {
    v.setFloat32(fixed + 4 * d, h.latentRange.min[d]!, true);
    v.setFloat32(fixed + 4 * (L + d), h.latentRange.max[d]!, true);
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

/** Checks magic, version and flags of the first HEADER_PREFIX_BYTES; returns the header length and version. */
export function parseHeaderPrefix(prefix: Uint8Array): { length: number; version: number } {
  checkMagic(prefix);
  const v = new DataView(prefix.buffer, prefix.byteOffset, HEADER_PREFIX_BYTES);
  const version = v.getUint16(8, true);
  if (!AEZ_READ_VERSIONS.includes(version)) {
    throw new ContainerError(
      'E_AEZ_VERSION',
      `.aez format version ${version} is not supported (this reader knows versions ${AEZ_READ_VERSIONS.join(' and ')}); ` +
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
  const fixed = headerFixedBytes(version);
  const max = headerLength(MAX_LATENT_DIM, version);
  if (len < headerLength(1, version) || len > max || (len - fixed - 4) % 8 !== 0) {
    throw new ContainerError(
      'E_AEZ_BOUNDS',
      `header length ${len} at byte 12 is impossible (version ${version}: must be ${fixed + 4} + 8 × latentDim, at most ${max})`,
      { offset: 12 },
    );
  }
  return { length: len, version };
}

function bounds(message: string, offset: number): ContainerError {
  return new ContainerError('E_AEZ_BOUNDS', message, { offset });
}

/** Parses and validates a whole header (its length from parseHeaderPrefix). */
export function parseHeader(bytes: Uint8Array): ContainerHeader {
  const { length: len, version } = parseHeaderPrefix(bytes);
  const fixed = headerFixedBytes(version);
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
  const types = version === 1 ? LATENT_TYPES.slice(0, 3) : LATENT_TYPES;
  const latentType = types[v.getUint8(53)];
  if (latentType === undefined) {
    throw bounds(
      `latent type code ${v.getUint8(53)} at byte 53 is unknown (version ${version}: ${types.map((t, i) => `${i} ${t}`).join(', ')})`,
      53,
    );
  }
  if (v.getUint16(54, true) !== 0) throw new ContainerError('E_AEZ_CORRUPT', 'reserved bytes 54..55 are not zero', { offset: 54 });
  const latentDim = v.getUint32(56, true);
  if (latentDim < 1 || headerLength(latentDim, version) !== len) {
    throw bounds(`latentDim ${latentDim} at byte 56 disagrees with the header length ${len} (${fixed + 4} + 8 × latentDim)`, 56);
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
  let latentTablesSha256: string | null = null;
  if (version >= 2) {
    const sha = bytes.subarray(72, 104);
    const zero = sha.every((b) => b === 0);
    if (zero === (latentType === 'entropy')) {
      throw new ContainerError(
        'E_AEZ_CORRUPT',
        latentType === 'entropy'
          ? 'the latent tables SHA-256 at bytes 72..103 is zero, but entropy-coded latents need the tables they were coded with'
          : `the latent tables SHA-256 at bytes 72..103 is set, but ${latentType} latents use no tables (it must be zero)`,
        { offset: 72 },
      );
    }
    if (!zero) latentTablesSha256 = bytesToHex(sha);
  }
  const min = new Float32Array(latentDim);
  const max = new Float32Array(latentDim);
  for (let d = 0; d < latentDim; d++) {
    min[d] = v.getFloat32(fixed + 4 * d, true);
    max[d] = v.getFloat32(fixed + 4 * (latentDim + d), true);
    if (!Number.isFinite(min[d]!) || !Number.isFinite(max[d]!) || min[d]! > max[d]!) {
      throw bounds(`latent range of dimension ${d} is [${min[d]}, ${max[d]}]: not finite or min > max`, fixed + 4 * d);
    }
  }
  return {
    version,
    decoderSha256: bytesToHex(bytes.subarray(16, 48)),
    latentTablesSha256,
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
