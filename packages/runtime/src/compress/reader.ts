/**
 * Incremental `.aez` parser: push bytes as they arrive, pull records with `next()`. Used by both the
 * one-shot and the streaming decompressor, so they accept and refuse exactly the same inputs. It holds
 * at most one header or one chunk beyond what the caller pushed, and every length it waits for is
 * bounded first (format.ts).
 */
import { ByteQueue } from './byte-queue.js';
import { crc32 } from './crc32.js';
import { ContainerError, FingerprintError, type LatentTables, dequantizeLatents, ransDecodeRows, ransMaxBytes } from '@aekit/core';
import {
  CHUNK_OVERHEAD_BYTES,
  type ContainerHeader,
  END_RECORD_BYTES,
  ENTROPY_PAYLOAD_PREFIX,
  HEADER_PREFIX_BYTES,
  bytesPerRow,
  checkMagic,
  chunkCrc,
  maxPayloadBytes,
  parseHeader,
  parseHeaderPrefix,
  valueType,
} from './format.js';

/** What the bundle in use expects; a header that disagrees is refused. */
export interface ReaderExpectations {
  /** Hex SHA-256 of the bundle's decoder. */
  decoderSha256?: string;
  inputDim?: number;
  latentDim?: number;
  /**
   * The bundle's latent tables and the hex SHA-256 of their file, or null when it has none: an
   * entropy-coded container must name exactly these. Leave undefined to read headers only.
   */
  latentTables?: { tables: LatentTables; sha256: string } | null;
}

export type ReaderRecord =
  | { kind: 'header'; header: ContainerHeader }
  /** `record`: the chunk's length and payload bytes as stored (its CRC excluded), for merging containers. */
  | { kind: 'chunk'; index: number; rows: number; latents: Float32Array; record: Uint8Array }
  /**
   * A chunk checked (bounds, CRC, row counts) but not decoded, from a reader built with
   * `{ decode: false }`: `payload` (a view the reader may reuse) decodes with decodeChunkPayload.
   */
  | { kind: 'coded'; index: number; rows: number; payload: Uint8Array; offset: number }
  | { kind: 'end'; rows: number; chunks: number };

/** Entropy-coded chunks met without latent tables (the chunk at byte `offset`). */
function noTablesError(offset: number): ContainerError {
  return new ContainerError('E_AEZ_FINGERPRINT', 'this file holds entropy-coded latents: decode it with the bundle (and its latent tables) that compressed it', { offset });
}

/**
 * The latents of one chunk's payload (rANS-decoded and dequantised, or dequantised), into `out` when
 * given. `index` and `offset` (the chunk's number and byte in the container) only name it in errors.
 */
export function decodeChunkPayload(
  h: ContainerHeader,
  tables: LatentTables | undefined,
  payload: Uint8Array,
  rows: number,
  index: number,
  offset: number,
  out: Float32Array = new Float32Array(rows * h.latentDim),
): Float32Array {
  if (h.latentType !== 'entropy') {
    dequantizeLatents(payload, valueType(h.latentType), h.latentRange, out);
    return out;
  }
  if (tables === undefined) {
    throw noTablesError(offset);
  }
  const symbols = new Uint8Array(out.length);
  try {
    ransDecodeRows(payload.subarray(ENTROPY_PAYLOAD_PREFIX), rows, h.latentDim, tables, symbols);
  } catch (e) {
    if (!(e instanceof ContainerError)) throw e;
    throw new ContainerError('E_AEZ_CORRUPT', `chunk ${index} at byte ${offset}: ${e.message}`, { offset, cause: e });
  }
  dequantizeLatents(symbols, 'uint8', h.latentRange, out);
  return out;
}

export class ContainerReader {
  private readonly queue = new ByteQueue();
  private readonly expect: ReaderExpectations;
  private readonly decode: boolean;
  private state: 'header' | 'chunks' | 'done' = 'header';
  private offset = 0; // container offset of the queue's first byte
  private header: ContainerHeader | undefined;
  private tables: LatentTables | undefined;
  /** Payload bytes per row of fixed-size latent types; 0 for entropy. */
  private rowBytes = 0;
  private rows = 0;
  private chunks = 0;

  /** `decode: false`: chunks come back as 'coded' records, checked but not decoded (a worker decodes them). */
  constructor(expect: ReaderExpectations = {}, options: { decode?: boolean } = {}) {
    this.expect = expect;
    this.decode = options.decode ?? true;
  }

  /** The parsed header, once `next()` has returned it. */
  get parsedHeader(): ContainerHeader | undefined {
    return this.header;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  push(bytes: Uint8Array): void {
    if (this.state === 'done' && bytes.length > 0) throw this.trailing();
    this.queue.push(bytes);
  }

  /** The next complete record, or undefined when more bytes are needed (or the container is done). */
  next(): ReaderRecord | undefined {
    if (this.state === 'header') return this.readHeader();
    if (this.state === 'chunks') return this.readChunk();
    if (this.queue.length > 0) throw this.trailing();
    return undefined;
  }

  /** Call at the end of input: refuses a container that stops before its end record. */
  finish(): void {
    if (this.state === 'done') {
      if (this.queue.length > 0) throw this.trailing();
      return;
    }
    const at = this.offset + this.queue.length;
    if (this.state === 'header') {
      checkMagic(this.queue.peek(Math.min(this.queue.length, 8)));
      throw new ContainerError(
        'E_AEZ_TRUNCATED',
        at === 0 ? 'the file is empty (0 bytes): not a complete .aez file' : `the file ends inside the header, after ${at} bytes`,
        { offset: at },
      );
    }
    throw new ContainerError(
      'E_AEZ_TRUNCATED',
      `the file is truncated: it ends at byte ${at}, inside chunk ${this.chunks} (or before the end record), ` +
        `after ${this.rows} complete rows`,
      { offset: at },
    );
  }

  private trailing(): ContainerError {
    return new ContainerError('E_AEZ_CORRUPT', `unexpected bytes after the end record at byte ${this.offset}`, {
      offset: this.offset,
    });
  }

  private consume(n: number): Uint8Array {
    const b = this.queue.take(n);
    this.offset += n;
    return b;
  }

  private readHeader(): ReaderRecord | undefined {
    if (this.queue.length < HEADER_PREFIX_BYTES) {
      checkMagic(this.queue.peek(this.queue.length)); // name a non-container as soon as possible
      return undefined;
    }
    const len = parseHeaderPrefix(this.queue.peek(HEADER_PREFIX_BYTES)).length;
    if (this.queue.length < len) return undefined;
    const h = parseHeader(this.consume(len));
    const e = this.expect;
    if (e.decoderSha256 !== undefined && e.decoderSha256.toLowerCase() !== h.decoderSha256) {
      throw new FingerprintError(h.decoderSha256, e.decoderSha256.toLowerCase());
    }
    if (e.inputDim !== undefined && e.inputDim !== h.inputDim) {
      throw new ContainerError('E_AEZ_CORRUPT', `header says ${h.inputDim} input columns but the bundle has ${e.inputDim}`, {
        offset: 48,
      });
    }
    if (e.latentDim !== undefined && e.latentDim !== h.latentDim) {
      throw new ContainerError('E_AEZ_CORRUPT', `header says ${h.latentDim} latent dimensions but the bundle has ${e.latentDim}`, {
        offset: 56,
      });
    }
    if (h.latentType === 'entropy' && e.latentTables !== undefined) {
      const mine = e.latentTables?.sha256.toLowerCase();
      if (mine !== h.latentTablesSha256) {
        throw new ContainerError(
          'E_AEZ_FINGERPRINT',
          `this file's latents were entropy-coded with the latent tables whose SHA-256 is ${h.latentTablesSha256}, but ` +
            (mine === undefined
              ? 'this bundle has no latent tables (manifest files.latentTables)'
              : `this bundle's latent tables are ${mine}`) +
            '; decompress it with the bundle that compressed it',
          { offset: 72 },
        );
      }
      this.tables = e.latentTables!.tables;
    }
    this.header = h;
    this.rowBytes = bytesPerRow(h) ?? 0;
    this.state = 'chunks';
    return { kind: 'header', header: h };
  }

  private readChunk(): ReaderRecord | undefined {
    if (this.queue.length < 4) return undefined;
    const h = this.header!;
    const start = this.offset;
    const head = this.queue.peek(4);
    const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
    if (len === 0) return this.readEnd();
    const entropy = h.latentType === 'entropy';
    const maxLen = maxPayloadBytes(h, h.rowsPerChunk);
    const minLen = entropy ? ENTROPY_PAYLOAD_PREFIX + ransMaxBytes(0) : this.rowBytes;
    if (len > maxLen || len < minLen || (!entropy && len % this.rowBytes !== 0)) {
      throw new ContainerError(
        'E_AEZ_BOUNDS',
        `chunk ${this.chunks} at byte ${start} claims ${len} payload bytes; ` +
          (entropy
            ? `an entropy-coded chunk of at most ${h.rowsPerChunk} rows takes ${minLen}..${maxLen} bytes`
            : `a chunk holds whole rows of ${this.rowBytes} bytes, at most ${h.rowsPerChunk} of them (${maxLen} bytes)`),
        { offset: start },
      );
    }
    if (this.queue.length < len + CHUNK_OVERHEAD_BYTES) return undefined;
    const rec = this.consume(len + CHUNK_OVERHEAD_BYTES);
    const stored = new DataView(rec.buffer, rec.byteOffset + 4 + len, 4).getUint32(0, true);
    const actual = chunkCrc(h.version, this.chunks, this.rows, rec.subarray(0, 4 + len));
    if (stored !== actual) {
      throw new ContainerError(
        'E_AEZ_CRC',
        `chunk ${this.chunks} at byte ${start} (${len} bytes) fails its CRC-32 (stored 0x${stored.toString(16)}, ` +
          `computed 0x${actual.toString(16)}${h.version >= 2 ? ` as chunk ${this.chunks} after ${this.rows} rows` : ''}): ` +
          (h.version >= 2 ? 'the file is damaged, or its chunks were reordered, duplicated or dropped' : 'the file is damaged'),
        { offset: start },
      );
    }
    const payload = rec.subarray(4, 4 + len);
    const rows = entropy ? new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true) : len / this.rowBytes;
    if (entropy && (rows < 1 || rows > h.rowsPerChunk || len > maxPayloadBytes(h, rows))) {
      throw new ContainerError(
        'E_AEZ_BOUNDS',
        `chunk ${this.chunks} at byte ${start} claims ${rows} rows in ${len} bytes: a chunk holds 1..${h.rowsPerChunk} rows, ` +
          `coded in at most ${maxPayloadBytes(h, Math.max(1, Math.min(rows, h.rowsPerChunk)))} bytes`,
        { offset: start + 4 },
      );
    }
    if (h.rowCount !== null && this.rows + rows > h.rowCount) {
      throw new ContainerError(
        'E_AEZ_ROWS',
        `chunk ${this.chunks} at byte ${start} brings the rows to ${this.rows + rows}, more than the ${h.rowCount} the header declares`,
        { offset: start },
      );
    }
    if (entropy && this.tables === undefined) {
      throw noTablesError(start);
    }
    const index = this.chunks;
    if (!this.decode) {
      this.chunks++;
      this.rows += rows;
      return { kind: 'coded', index, rows, payload, offset: start };
    }
    const latents = decodeChunkPayload(h, this.tables, payload, rows, index, start);
    this.chunks++;
    this.rows += rows;
    return { kind: 'chunk', index, rows, latents, record: rec.subarray(0, 4 + len) };
  }

  private readEnd(): ReaderRecord | undefined {
    if (this.queue.length < END_RECORD_BYTES) return undefined;
    const start = this.offset;
    const rec = this.consume(END_RECORD_BYTES);
    const v = new DataView(rec.buffer, rec.byteOffset, END_RECORD_BYTES);
    const stored = v.getUint32(16, true);
    const actual = crc32(rec.subarray(0, 16));
    if (stored !== actual) {
      throw new ContainerError(
        'E_AEZ_CRC',
        `end record at byte ${start} fails its CRC-32 (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}): the file is damaged`,
        { offset: start },
      );
    }
    const rows = v.getBigUint64(4, true);
    const chunks = v.getUint32(12, true);
    const h = this.header!;
    if (rows !== BigInt(this.rows) || chunks !== this.chunks || (h.rowCount !== null && h.rowCount !== this.rows)) {
      throw new ContainerError(
        'E_AEZ_ROWS',
        `row counts disagree: the chunks hold ${this.rows} rows in ${this.chunks} chunks, the end record at byte ${start} ` +
          `says ${rows} rows in ${chunks} chunks` +
          (h.rowCount !== null ? `, the header says ${h.rowCount} rows` : ''),
        { offset: start },
      );
    }
    this.state = 'done';
    return { kind: 'end', rows: this.rows, chunks: this.chunks };
  }
}
