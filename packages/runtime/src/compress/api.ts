/**
 * Compress rows to an `.aez` container and back, one-shot or over web streams. Written against the
 * small `CompressCodec` interface (what it needs from a loaded bundle) so it is independent of how the
 * runtime's Codec is built and testable with a fake.
 */
import { ContainerError, type LatentTables } from '@aekit/core';
import {
  AEZ_VERSION,
  type ContainerHeader,
  END_RECORD_BYTES,
  type InputDtype,
  type LatentType,
  bytesPerRow,
  headerLength,
  maxRowsPerChunk,
  parseLatentType,
  valueType,
} from './format.js';
import { ContainerReader, type ReaderExpectations } from './reader.js';
import { ContainerWriter } from './writer.js';

/** The manifest fields compression reads (a subset of the bundle manifest, docs/bundle.md). */
export interface CompressManifest {
  inputDim: number;
  latentDim: number;
  inputDtype: InputDtype;
  latentRange: { min: readonly number[]; max: readonly number[] };
  /** `latentTables`: the bundle's entropy tables file (its hash binds entropy-coded containers to it). */
  files: { decoder: { sha256: string }; latentTables?: { sha256: string } | undefined };
}

/**
 * What compression needs from a loaded bundle: its manifest, an encoder and a decoder, and the
 * parsed latent tables when the manifest lists them (`files.latentTables`).
 */
export interface CompressCodec {
  readonly manifest: CompressManifest;
  readonly latentTables?: LatentTables | undefined;
  /** Row-major rows → row-major latents (`latentDim` per row). */
  encode(rows: Float32Array | Uint8Array): Promise<Float32Array>;
  /** Row-major latents → row-major reconstructions (`inputDim` per row), float32 or uint8. */
  decode(latents: Float32Array): Promise<Float32Array | Uint8Array>;
}

export interface CompressOptions {
  /**
   * How latents are stored: `entropy` (the default when the bundle has latent tables: the uint8
   * latents rANS-coded, decoding to exactly what uint8 gives), `uint8` (the default otherwise, 1 byte
   * each), float16 or float32 (lossless).
   */
  latent?: LatentType;
  /** Rows per chunk (each chunk is encoded, checksummed and decoded on its own). Default 1024. */
  rowsPerChunk?: number;
}

export interface CompressStreamOptions extends CompressOptions {
  /**
   * Total rows the stream will carry, when known: recorded in the header (a mismatch fails the stream).
   * Without it the header says "unknown" and only the end record counts the rows. With it, the bytes
   * equal the one-shot `compress` output for the same rows.
   */
  rows?: number;
  /**
   * The type of the rows the stream will carry, recorded in the header (byte 52) so that decompress
   * can give back the same type: `uint8` for byte data (e.g. image pixels) into a float32 bundle.
   * Default: the bundle's input dtype. A stream declared `uint8` refuses Float32Array pieces.
   */
  inputDtype?: InputDtype;
}

export interface CompressStats {
  latent: LatentType;
  rows: number;
  chunks: number;
  /** Latent values clamped by quantisation (outside the manifest's range for uint8). */
  clamped: number;
  /** Bytes of input rows (values × 1 for uint8 rows, × 4 for float32). */
  bytesIn: number;
  bytesOut: number;
}

export interface DecompressResult {
  header: ContainerHeader;
  /** Row-major reconstructions, `cols` values per row. */
  data: Float32Array | Uint8Array;
  rows: number;
  cols: number;
}

export interface DecompressOptions {
  /**
   * The type of the rows given back. Default: the decoder's (float32, or uint8 for a bundle exported
   * with uint8 output). `uint8` converts float rows where they are decoded — clamped to 0..255, rounded
   * half to even as the exporter's uint8 graphs round, NaN → 0 — so no float copy of them is kept.
   */
  outputDtype?: 'float32' | 'uint8';
}

export const DEFAULT_ROWS_PER_CHUNK = 1024;

function latentRange(m: CompressManifest, latentType: LatentType): { min: Float32Array; max: Float32Array } {
  const { min, max } = m.latentRange;
  // Float latents are stored as they are; the header's range then only describes them, so zeros do.
  if (min.length === 0 && max.length === 0 && valueType(latentType) !== 'uint8') {
    return { min: new Float32Array(m.latentDim), max: new Float32Array(m.latentDim) };
  }
  if (min.length === 0 && max.length === 0) {
    throw new RangeError(
      `this bundle records no latent range (it was exported from a model without aekit.json), which ${latentType} latents need; ` +
        "compress with latent 'float16' or 'float32', or export from an aekit checkpoint",
    );
  }
  if (min.length !== m.latentDim || max.length !== m.latentDim) {
    throw new RangeError(`manifest latentRange must have ${m.latentDim} values per bound, has ${min.length} / ${max.length}`);
  }
  return { min: Float32Array.from(min), max: Float32Array.from(max) };
}

/** The latent type used when none is asked for: entropy when the codec has latent tables, else uint8. */
export function defaultLatentType(codec: Pick<CompressCodec, 'latentTables'>): LatentType {
  return codec.latentTables !== undefined ? 'entropy' : 'uint8';
}

/** The tables an entropy container is coded with and the hash of their file, or a RangeError saying why not. */
function entropyTables(codec: CompressCodec): { tables: LatentTables; sha256: string } {
  const tables = codec.latentTables;
  const sha256 = codec.manifest.files.latentTables?.sha256;
  if (tables === undefined || sha256 === undefined) {
    throw new RangeError(
      "this bundle has no latent tables (manifest files.latentTables), which latent 'entropy' needs; compress with " +
        "latent 'uint8', or export the bundle from a checkpoint whose training finished (it fits latent_tables.bin)",
    );
  }
  if (tables.dims !== codec.manifest.latentDim) {
    throw new RangeError(`the latent tables have ${tables.dims} dimensions but the bundle's latents have ${codec.manifest.latentDim}`);
  }
  return { tables, sha256: sha256.toLowerCase() };
}

/** The header a compression of these rows writes (also used by the worker pool, pool/remote.ts). */
export function makeHeader(codec: CompressCodec, options: CompressOptions, rowCount: number | null, inputDtype: InputDtype): ContainerHeader {
  const m = codec.manifest;
  const latentType = parseLatentType(options.latent ?? defaultLatentType(codec));
  const perChunk = options.rowsPerChunk ?? Math.min(DEFAULT_ROWS_PER_CHUNK, maxRowsPerChunk({ latentDim: m.latentDim, latentType }));
  return {
    version: AEZ_VERSION,
    decoderSha256: m.files.decoder.sha256.toLowerCase(),
    latentTablesSha256: latentType === 'entropy' ? entropyTables(codec).sha256 : null,
    inputDim: m.inputDim,
    // What the caller compressed (uint8 rows into a float32 bundle stay uint8): decompress's default type.
    inputDtype,
    latentDim: m.latentDim,
    latentType,
    rowsPerChunk: perChunk,
    rowCount,
    latentRange: latentRange(m, latentType),
  };
}

function makeWriter(codec: CompressCodec, options: CompressOptions, rowCount: number | null, inputDtype: InputDtype): ContainerWriter {
  const header = makeHeader(codec, options, rowCount, inputDtype);
  return new ContainerWriter(header, header.latentType === 'entropy' ? entropyTables(codec).tables : undefined);
}

function checkRowsType(rows: unknown, dtype: InputDtype): asserts rows is Float32Array | Uint8Array {
  if (rows instanceof Uint8Array) return;
  if (rows instanceof Float32Array) {
    if (dtype === 'float32') return;
    throw new TypeError('uint8 rows expected (the bundle\'s input dtype, or the stream\'s inputDtype): pass a Uint8Array, not a Float32Array');
  }
  const name = typeof rows === 'object' && rows !== null ? rows.constructor.name : typeof rows;
  throw new TypeError(`rows must be a Float32Array or Uint8Array, got ${name}`);
}

/** Rows of one chunk in the dtype the encoder takes (uint8 rows widen to float32 for float32 bundles). */
function encoderInput(rows: Float32Array | Uint8Array, dtype: InputDtype): Float32Array | Uint8Array {
  if (dtype !== 'float32' || !(rows instanceof Uint8Array)) return rows;
  const f = new Float32Array(rows.length);
  f.set(rows); // native widening; Float32Array.from goes through the iterator and is ~10× slower
  return f;
}

async function encodeChunk(codec: CompressCodec, writer: ContainerWriter, rows: Float32Array | Uint8Array): Promise<Uint8Array> {
  const z = await codec.encode(encoderInput(rows, codec.manifest.inputDtype));
  const expected = (rows.length / codec.manifest.inputDim) * codec.manifest.latentDim;
  if (!(z instanceof Float32Array) || z.length !== expected) {
    throw new TypeError(`encoder returned ${z?.length} latent values for ${rows.length / codec.manifest.inputDim} rows, expected ${expected}`);
  }
  return writer.chunk(z);
}

/** The byte arrays joined, in order. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One-shot compression with statistics (clamped values, sizes). */
export async function compressWithStats(
  codec: CompressCodec,
  rows: Float32Array | Uint8Array,
  options: CompressOptions = {},
): Promise<{ bytes: Uint8Array; stats: CompressStats }> {
  const { inputDim, inputDtype } = codec.manifest;
  checkRowsType(rows, inputDtype);
  if (rows.length % inputDim !== 0) {
    throw new RangeError(`rows hold ${rows.length} values, not a multiple of the input width ${inputDim}`);
  }
  const count = rows.length / inputDim;
  const writer = makeWriter(codec, options, count, rows instanceof Uint8Array ? 'uint8' : 'float32');
  const parts = [writer.headerBytes()];
  const per = writer.header.rowsPerChunk * inputDim;
  for (let at = 0; at < rows.length; at += per) parts.push(await encodeChunk(codec, writer, rows.subarray(at, at + per)));
  parts.push(writer.end());
  const bytes = concatBytes(parts);
  return {
    bytes,
    stats: {
      latent: writer.header.latentType,
      rows: count,
      chunks: writer.chunksWritten,
      clamped: writer.clamped,
      bytesIn: rows.byteLength,
      bytesOut: bytes.length,
    },
  };
}

/** Rows (row-major, `inputDim` values each) → `.aez` bytes. */
export async function compress(codec: CompressCodec, rows: Float32Array | Uint8Array, options: CompressOptions = {}): Promise<Uint8Array> {
  return (await compressWithStats(codec, rows, options)).bytes;
}

/** What a reader checks a container against: the bundle's decoder, dims and latent tables (compress and merge). */
export function expectations(bundle: Pick<CompressCodec, 'manifest' | 'latentTables'>): ReaderExpectations {
  const m = bundle.manifest;
  const sha256 = m.files.latentTables?.sha256;
  const tables = bundle.latentTables;
  return {
    decoderSha256: m.files.decoder.sha256,
    inputDim: m.inputDim,
    latentDim: m.latentDim,
    latentTables: tables !== undefined && sha256 !== undefined ? { tables, sha256 } : null,
  };
}

/** `.aez` bytes → reconstructed rows. Refuses a file made by another model, damaged or truncated. */
export async function decompress(codec: CompressCodec, bytes: Uint8Array, options: DecompressOptions = {}): Promise<DecompressResult> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decompress takes the container as a Uint8Array');
  const uint8 = wantsUint8(options);
  const reader = new ContainerReader(expectations(codec));
  reader.push(bytes);
  const parts: Array<Float32Array | Uint8Array> = [];
  let data: Float32Array | Uint8Array | undefined;
  let rows = 0;
  for (let r = reader.next(); r !== undefined; r = reader.next()) {
    if (r.kind !== 'chunk') continue;
    const out = await decodeChunk(codec, r.latents, r.rows, uint8);
    const h = reader.parsedHeader!;
    // Preallocate the whole result when the header's row count is credible (its latents fit in the
    // bytes given): one copy instead of parts + concatenation. The reader refuses extra rows. An
    // entropy-coded row may take almost no bytes, so its count is never credible.
    const rowBytes = bytesPerRow(h);
    if (data === undefined && h.rowCount !== null && rowBytes !== undefined && h.rowCount * rowBytes <= bytes.length) {
      data = out instanceof Uint8Array ? new Uint8Array(h.rowCount * h.inputDim) : new Float32Array(h.rowCount * h.inputDim);
    }
    if (data !== undefined) data.set(out, rows * h.inputDim);
    else parts.push(out);
    rows += r.rows;
  }
  reader.finish();
  const header = reader.parsedHeader!;
  const cols = header.inputDim;
  if (data === undefined) {
    const uint8 = parts.length > 0 && parts[0] instanceof Uint8Array;
    data = uint8 ? new Uint8Array(rows * cols) : new Float32Array(rows * cols);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
  }
  return { header, data, rows, cols };
}

async function decodeChunk(codec: CompressCodec, latents: Float32Array, rows: number, uint8: boolean): Promise<Float32Array | Uint8Array> {
  const out = await codec.decode(latents);
  if (out.length !== rows * codec.manifest.inputDim) {
    throw new TypeError(`decoder returned ${out.length} values for ${rows} rows of ${codec.manifest.inputDim}`);
  }
  return uint8 && out instanceof Float32Array ? roundToUint8(out) : out;
}

/** Whether DecompressOptions ask for uint8 rows (a TypeError for anything but the two types). */
export function wantsUint8(options: DecompressOptions): boolean {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const t = options.outputDtype;
  if (t !== undefined && t !== 'float32' && t !== 'uint8') throw new TypeError(`outputDtype must be "float32" or "uint8", got ${JSON.stringify(t)}`);
  return t === 'uint8';
}

/** 1.5 × 2^52: `x + ROUND_HALF_EVEN − ROUND_HALF_EVEN` rounds a double below 2^51 to an integer, ties to even. */
const ROUND_HALF_EVEN = 6755399441055744;

/**
 * Float rows → uint8 (into `out` when given, else a new array): clamped to 0..255, rounded half to
 * even (as ONNX Round in the exporter's uint8 graphs), NaN → 0: what a Uint8ClampedArray stores.
 * A loop: faster in V8 than `Uint8ClampedArray.prototype.set` from a Float32Array.
 */
export function roundToUint8(values: Float32Array, out: Uint8Array = new Uint8Array(values.length)): Uint8Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = v > 0 ? (v < 255 ? v + ROUND_HALF_EVEN - ROUND_HALF_EVEN : 255) : 0;
  }
  return out;
}

/** Reads and validates only the header of a container (no bundle needed): for `info`-style tools. */
export function readContainerHeader(bytes: Uint8Array): ContainerHeader {
  const reader = new ContainerReader();
  reader.push(bytes);
  const r = reader.next();
  if (r?.kind === 'header') return r.header;
  reader.finish(); // throws the truncation / magic error
  throw new ContainerError('E_AEZ_TRUNCATED', 'the file ends inside the header');
}

/** A web TransformStream pair plus the statistics of what went through it. */
export interface CompressStream extends ReadableWritablePair<Uint8Array, Float32Array | Uint8Array> {
  /** Statistics so far; final once the readable side has closed. */
  readonly stats: CompressStats;
}

/**
 * Streams rows in, container bytes out. Write Float32Array / Uint8Array pieces of row values (rows may
 * be split across pieces anyhow); memory stays at one chunk of rows plus what the encoder holds.
 * From Node: `Readable.toWeb(nodeStream).pipeThrough(compressStream(codec))`.
 */
export function compressStream(codec: CompressCodec, options: CompressStreamOptions = {}): CompressStream {
  const { inputDim, inputDtype } = codec.manifest;
  if (options.rows !== undefined && (!Number.isSafeInteger(options.rows) || options.rows < 0)) {
    throw new RangeError(`rows must be a non-negative integer, got ${options.rows}`);
  }
  const declared = options.inputDtype ?? inputDtype;
  if (declared !== 'float32' && declared !== 'uint8') throw new TypeError(`inputDtype must be "float32" or "uint8", got ${JSON.stringify(declared)}`);
  if (declared === 'float32' && inputDtype === 'uint8') throw new TypeError('inputDtype float32: this bundle takes uint8 rows');
  const writer = makeWriter(codec, options, options.rows ?? null, declared);
  const per = writer.header.rowsPerChunk * inputDim;
  const buffer = inputDtype === 'uint8' ? new Uint8Array(per) : new Float32Array(per);
  let fill = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  const emit = (controller: TransformStreamDefaultController<Uint8Array>, b: Uint8Array) => {
    bytesOut += b.length;
    controller.enqueue(b);
  };
  const ts = new TransformStream<Float32Array | Uint8Array, Uint8Array>({
    start(controller) {
      emit(controller, writer.headerBytes());
    },
    async transform(piece, controller) {
      checkRowsType(piece, declared);
      bytesIn += piece.byteLength;
      let at = 0;
      while (at < piece.length) {
        const n = Math.min(per - fill, piece.length - at);
        buffer.set(piece.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === per) {
          emit(controller, await encodeChunk(codec, writer, buffer));
          fill = 0;
        }
      }
    },
    async flush(controller) {
      if (fill % inputDim !== 0) {
        throw new RangeError(`the stream ended inside a row: ${fill % inputDim} values left over (rows have ${inputDim})`);
      }
      if (fill > 0) emit(controller, await encodeChunk(codec, writer, buffer.subarray(0, fill)));
      emit(controller, writer.end());
    },
  });
  return {
    readable: ts.readable,
    writable: ts.writable,
    get stats(): CompressStats {
      return {
        latent: writer.header.latentType,
        rows: writer.rowsWritten,
        chunks: writer.chunksWritten,
        clamped: writer.clamped,
        bytesIn,
        bytesOut,
      };
    },
  };
}

export interface DecompressStream extends ReadableWritablePair<Float32Array | Uint8Array, Uint8Array> {
  /** The container header, once it has been read. */
  readonly header: ContainerHeader | undefined;
}

/**
 * Streams container bytes in (pieces of any size), reconstructed rows out: one piece of whole rows per
 * container chunk. Backpressure reaches the decoder: a chunk is decoded only when the reader of the
 * readable side wants more, so memory stays at one written piece plus one decoded chunk whatever the
 * piece size. Errors (ContainerError with a code, FingerprintError) fail both sides.
 */
export function decompressStream(codec: CompressCodec, options: DecompressOptions = {}): DecompressStream {
  const uint8 = wantsUint8(options);
  const reader = new ContainerReader(expectations(codec));
  let out!: ReadableStreamDefaultController<Float32Array | Uint8Array>;
  let wake: (() => void) | undefined;
  let cancelled: unknown;
  let hasCancelled = false;
  const readable = new ReadableStream<Float32Array | Uint8Array>(
    {
      start(controller) {
        out = controller;
      },
      pull() {
        wake?.();
        wake = undefined;
      },
      cancel(reason) {
        hasCancelled = true;
        cancelled = reason;
        wake?.();
        wake = undefined;
      },
    },
    { highWaterMark: 1 },
  );
  const drain = async () => {
    for (let r = reader.next(); r !== undefined; r = reader.next()) {
      if (hasCancelled) throw cancelled ?? new TypeError('the readable side was cancelled');
      if (r.kind !== 'chunk') continue;
      while ((out.desiredSize ?? 1) <= 0 && !hasCancelled) await new Promise<void>((resolve) => (wake = resolve));
      if (hasCancelled) throw cancelled ?? new TypeError('the readable side was cancelled');
      const rows = await decodeChunk(codec, r.latents, r.rows, uint8);
      if (hasCancelled) throw cancelled ?? new TypeError('the readable side was cancelled');
      out.enqueue(rows);
    }
  };
  const fail = (e: unknown): never => {
    if (!hasCancelled) out.error(e);
    throw e;
  };
  const writable = new WritableStream<Uint8Array>({
    async write(piece) {
      try {
        if (!(piece instanceof Uint8Array)) throw new TypeError('decompressStream takes Uint8Array pieces of the container');
        reader.push(piece);
        await drain();
      } catch (e) {
        fail(e);
      }
    },
    async close() {
      try {
        await drain();
        reader.finish();
        out.close();
      } catch (e) {
        fail(e);
      }
    },
    abort(reason) {
      if (!hasCancelled) out.error(reason);
    },
  });
  return {
    readable,
    writable,
    get header() {
      return reader.parsedHeader;
    },
  };
}

/**
 * Size of a container for `rows` rows, without writing it (for planning and docs). Entropy-coded sizes
 * depend on the data (core's crossEntropyBits predicts them): RangeError.
 */
export function containerSize(latentDim: number, latent: LatentType, rows: number, rowsPerChunk = DEFAULT_ROWS_PER_CHUNK): number {
  const rowBytes = bytesPerRow({ latentDim, latentType: latent });
  if (rowBytes === undefined) throw new RangeError('the size of an entropy-coded container depends on the data; predict it with crossEntropyBits');
  const chunks = Math.ceil(rows / rowsPerChunk);
  return headerLength(latentDim) + rows * rowBytes + chunks * 8 + END_RECORD_BYTES;
}

