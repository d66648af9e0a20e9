/**
 * Serialises a container record by record: header, one chunk per batch of latents, end record. The
 * one-shot and streaming compressors both use it, so their bytes are identical for the same rows.
 */
import { crc32 } from './crc32.js';
import { CHUNK_OVERHEAD_BYTES, type ContainerHeader, bytesPerRow, encodeEndRecord, encodeHeader } from './format.js';
import { quantizeLatents } from './quantize.js';

export class ContainerWriter {
  readonly header: ContainerHeader;
  private rows = 0;
  private chunks = 0;
  private clampedValues = 0;

  constructor(header: ContainerHeader) {
    this.header = header;
    encodeHeader(header); // validates
  }

  get rowsWritten(): number {
    return this.rows;
  }
  get chunksWritten(): number {
    return this.chunks;
  }
  /** Latent values clamped so far (outside the manifest range for uint8, beyond ±65504 for float16). */
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
    const len = rows * bytesPerRow(h);
    const out = new Uint8Array(len + CHUNK_OVERHEAD_BYTES);
    const v = new DataView(out.buffer);
    v.setUint32(0, len, true);
    this.clampedValues += quantizeLatents(latents, h.latentType, h.latentRange, out.subarray(4, 4 + len));
    v.setUint32(4 + len, crc32(out.subarray(0, 4 + len)), true);
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
