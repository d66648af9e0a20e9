/**
 * Serialises a container record by record: header, one chunk per batch of latents, end record. The
 * one-shot and streaming compressors both use it, so their bytes are identical for the same rows.
 */
import { type LatentTables, quantizeLatents, ransEncodeRows } from '@aekit/core';
import {
  CHUNK_OVERHEAD_BYTES,
  type ContainerHeader,
  ENTROPY_PAYLOAD_PREFIX,
  chunkCrc,
  encodeEndRecord,
  encodeHeader,
  maxPayloadBytes,
  valueType,
} from './format.js';

export class ContainerWriter {
  readonly header: ContainerHeader;
  private readonly tables: LatentTables | undefined;
  private rows = 0;
  private chunks = 0;
  private clampedValues = 0;
  private symbols = new Uint8Array(0);

  /**
   * `tables` (required for `entropy` latents): the tables whose file hash the header records. `start`:
   * where the first chunk written goes in the whole container (its index and the rows before it, which
   * its CRC binds), for a worker writing a slice of a container's chunks (pool/serve.ts).
   */
  constructor(header: ContainerHeader, tables?: LatentTables, start?: { chunks: number; rows: number }) {
    this.header = header;
    if (start !== undefined) {
      this.chunks = start.chunks;
      this.rows = start.rows;
    }
    encodeHeader(header); // validates
    if (header.latentType === 'entropy') {
      if (tables === undefined) throw new RangeError('entropy latents need the latent tables to code with');
      if (tables.dims !== header.latentDim) {
        throw new RangeError(`the latent tables have ${tables.dims} dimensions but the latents have ${header.latentDim}`);
      }
      this.tables = tables;
    }
  }

  get rowsWritten(): number {
    return this.rows;
  }
  get chunksWritten(): number {
    return this.chunks;
  }
  /** Latent values clamped so far (outside the manifest range for uint8/entropy, beyond ±65504 for float16). */
  get clamped(): number {
    return this.clampedValues;
  }

  headerBytes(): Uint8Array {
    return encodeHeader(this.header);
  }

  /** A chunk record for row-major latents of at most rowsPerChunk rows. */
  chunk(latents: Float32Array): Uint8Array {
    const h = this.header;
    const rows = latents.length / h.latentDim;
    if (!Number.isInteger(rows) || rows < 1 || rows > h.rowsPerChunk) {
      throw new RangeError(`a chunk takes 1..${h.rowsPerChunk} rows of ${h.latentDim} latents, got ${latents.length} values`);
    }
    if (this.chunks === 0xffff_ffff) throw new RangeError('too many chunks for one container (2^32 - 1): raise rowsPerChunk');
    let out: Uint8Array;
    if (this.tables !== undefined) {
      if (this.symbols.length < latents.length) this.symbols = new Uint8Array(latents.length);
      const symbols = this.symbols.subarray(0, latents.length);
      this.clampedValues += quantizeLatents(latents, 'uint8', h.latentRange, symbols);
      const stream = ransEncodeRows(symbols, h.latentDim, this.tables);
      const len = ENTROPY_PAYLOAD_PREFIX + stream.length;
      out = new Uint8Array(len + CHUNK_OVERHEAD_BYTES);
      const v = new DataView(out.buffer);
      v.setUint32(0, len, true);
      v.setUint32(4, rows, true);
      out.set(stream, 4 + ENTROPY_PAYLOAD_PREFIX);
    } else {
      const len = maxPayloadBytes(h, rows);
      out = new Uint8Array(len + CHUNK_OVERHEAD_BYTES);
      new DataView(out.buffer).setUint32(0, len, true);
      this.clampedValues += quantizeLatents(latents, valueType(h.latentType), h.latentRange, out.subarray(4, 4 + len));
    }
    const end = out.length - 4;
    new DataView(out.buffer).setUint32(end, chunkCrc(h.version, this.chunks, this.rows, out.subarray(0, end)), true);
    this.rows += rows;
    this.chunks++;
    return out;
  }

  /** The end record; refuses to close a container whose header promised another row count. */
  end(): Uint8Array {
    const declared = this.header.rowCount;
    if (declared !== null && declared !== this.rows) {
      throw new RangeError(`the header declares ${declared} rows but ${this.rows} were written`);
    }
    return encodeEndRecord(this.rows, this.chunks);
  }
}
