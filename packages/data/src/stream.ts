/**
 * Reading data files without loading them whole.
 *
 * Row sources (`openRowSource`): random access to the rows of a file, for training on files larger
 * than memory. IDX and NPY hold fixed-size rows, so row r is at a computed byte offset; a CSV file is
 * scanned once (validating every cell) to record the byte offset of every `blockRows`-th line.
 * Gzip-compressed files cannot be read at random offsets: they are inflated once into a scratch file
 * in the OS temp directory (bounded by the size their header declares, see read.ts), removed on close.
 *
 * Row streams (`openRowStream`): the rows of a file front to back, for one pass such as `aekit
 * compress`. Uint8 IDX files, raw (through a row source) or gzip (decompressed as they are read), are
 * streamed with flat memory; other files are loaded whole and handed out as one piece.
 */
import { type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { AekitError, DataError } from '@aekit/core';
import { type CsvOptions, csvNumber, isCsvHeader, parseCsvRow } from './csv.js';
import { DATA_FORMATS, type DataFormat } from './dataset.js';
import { checkIdxSize, IDX_UINT8, idxHeaderBytes, looksLikeIdx, parseIdxHeader } from './idx.js';
import { formatFromBytes, formatFromName, isGzip, loadDataset } from './load.js';
import { MAX_EXACT_FLOAT32_INT, NPY_INT_BYTES, NPY_SUPPORTED, integerTooLarge, parseHeader as parseNpyHeader, readNpyInt } from './npy.js';
import { gunzipToScratch, openRegularFile } from './read.js';

export interface RowSource {
  /** The file path. */
  readonly source: string;
  readonly format: DataFormat;
  readonly rows: number;
  readonly cols: number;
  /** uint8 files give uint8 rows; every other type is converted to float32. */
  readonly dtype: 'uint8' | 'float32';
  /** The shape of one row when the file records it (IDX, NPY); absent for CSV. */
  readonly rowShape?: number[];
  /** Rows [start, start + count) as raw values, row-major. Rejects NaN/±Infinity naming row and column. */
  read(start: number, count: number): Promise<Float32Array | Uint8Array>;
  close(): Promise<void>;
}

export interface OpenRowSourceOptions extends CsvOptions {
  format?: DataFormat;
  /** CSV only: lines per recorded offset (reading a row range reads whole blocks). Default 256. */
  csvBlockRows?: number;
  /** A .gz file may inflate to at most this many bytes (default: its IDX/NPY header's size; CSV: 64 GiB). */
  maxBytes?: number;
}

const STREAM_HINT = 'give --data an IDX, NPY or CSV file';

/**
 * Opens an IDX, NPY or CSV file (raw, or gzip: inflated to a scratch file first) as a RowSource,
 * checking its header (and, for CSV, every line).
 */
export async function openRowSource(path: string, options: OpenRowSourceOptions = {}): Promise<RowSource> {
  let { fh, size } = await openRegularFile(path, STREAM_HINT);
  let removeScratch: (() => Promise<void>) | undefined;
  try {
    let head = await readAt(fh, 0, Math.min(size, 65536));
    if (isGzip(head)) {
      const scratch = await gunzipToScratch(fh, path, options.format ?? formatFromName(path), options.maxBytes);
      removeScratch = scratch.remove;
      await fh.close();
      ({ fh, size } = await openRegularFile(scratch.path, STREAM_HINT));
      head = await readAt(fh, 0, Math.min(size, 65536));
    }
    const format = options.format ?? formatFromName(path) ?? formatFromBytes(head);
    if (format === undefined) {
      throw new DataError(`${path}: cannot tell the data format from the name or contents; pass --format ${DATA_FORMATS.join('|')}`, { file: path });
    }
    const src =
      format === 'idx' ? openIdx(fh, path, head, size) : format === 'npy' ? openNpy(fh, path, head, size) : await openCsv(fh, path, size, options.csvBlockRows ?? 256, options);
    if (src.rows === 0 || src.cols === 0) {
      throw new DataError(`${path}: the data has ${src.rows} rows of ${src.cols} values; expected at least one non-empty row`, { file: path });
    }
    if (removeScratch === undefined) return src;
    const remove = removeScratch;
    return {
      ...src,
      read: (start, count) => src.read(start, count),
      close: async () => {
        try {
          await src.close();
        } finally {
          await remove();
        }
      },
    };
  } catch (e) {
    await fh.close().catch(() => undefined);
    await removeScratch?.();
    throw e;
  }
}

/** Files above this size are streamed by `aekit train` unless --in-memory is given. */
export const STREAM_AUTO_BYTES = 512 * 2 ** 20;

/**
 * Whether `aekit train` streams a file by default: when it is larger than STREAM_AUTO_BYTES and not
 * gzip-compressed (gzip cannot be read at random offsets).
 */
export async function streamsByDefault(path: string): Promise<boolean> {
  let opened: { fh: FileHandle; size: number };
  try {
    opened = await openRegularFile(path, STREAM_HINT);
  } catch {
    return false; // the in-memory loader reports the missing file (or the FIFO, directory…)
  }
  try {
    const head = await readAt(opened.fh, 0, 2);
    return opened.size > STREAM_AUTO_BYTES && !isGzip(head);
  } finally {
    await opened.fh.close();
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? out : out.subarray(0, done);
}

/** Thrown by an integer decoder for a value float32 cannot hold; fixedSource turns it into a DataError naming the row. */
class IntegerTooLarge extends Error {
  constructor(
    readonly index: number,
    readonly value: number,
    readonly descr: string,
  ) {
    super(`integer ${value} at value ${index}`);
  }
}

/** A value decoder for fixed-size rows: element i of `bytes` (already the right length). */
type Decode = (view: DataView, i: number) => number;

function fixedSource(
  fh: FileHandle,
  path: string,
  format: DataFormat,
  shape: { rows: number; cols: number; dataOffset: number; elemBytes: number; rowShape: number[] },
  decode: Decode | 'uint8',
): RowSource {
  const { rows, cols, dataOffset, elemBytes } = shape;
  const rowBytes = cols * elemBytes;
  return {
    source: path,
    format,
    rows,
    cols,
    dtype: decode === 'uint8' ? 'uint8' : 'float32',
    rowShape: shape.rowShape,
    async read(start, count) {
      checkRange(path, rows, start, count);
      const bytes = await readAt(fh, dataOffset + start * rowBytes, count * rowBytes);
      if (bytes.length !== count * rowBytes) {
        throw new DataError(`${path}: file ends at byte ${dataOffset + start * rowBytes + bytes.length} while reading row ${start + 1}; the file was truncated`, { file: path });
      }
      if (decode === 'uint8') return bytes;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out = new Float32Array(count * cols);
      try {
        for (let i = 0; i < out.length; i++) out[i] = decode(view, i);
      } catch (e) {
        if (e instanceof IntegerTooLarge) throw integerTooLarge(path, e.descr, e.index, cols, e.value, start);
        throw e;
      }
      assertFiniteRows(out, cols, path, start);
      return out;
    },
    close: () => fh.close(),
  };
}

function checkRange(path: string, rows: number, start: number, count: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
    throw new RangeError(`${path}: rows [${start}, ${start + count}) outside the file's ${rows} rows`);
  }
}

/** Like check.ts's assertFinite, for a slice of rows starting at `firstRow` (0-based). */
function assertFiniteRows(data: Float32Array, cols: number, file: string, firstRow: number): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      throw new DataError(
        `${file}: row ${firstRow + Math.floor(i / cols) + 1}, column ${(i % cols) + 1} is ${v}; training data must be finite numbers ` +
          '(fill or drop missing values before training)',
        { file },
      );
    }
  }
}

function openIdx(fh: FileHandle, path: string, head: Uint8Array, size: number): RowSource {
  const h = parseIdxHeader(head, path);
  checkIdxSize(h, size, path);
  const t = h.type;
  const decode: Decode | 'uint8' = h.typeCode === IDX_UINT8 ? 'uint8' : (v, i) => t.read(v, i * t.bytes);
  return fixedSource(fh, path, 'idx', { rows: h.rows, cols: h.cols, dataOffset: h.headerBytes, elemBytes: t.bytes, rowShape: h.dims.slice(1) }, decode);
}

function openNpy(fh: FileHandle, path: string, head: Uint8Array, size: number): RowSource {
  const fail = (msg: string): never => {
    throw new DataError(`${path}: ${msg}`, { file: path });
  };
  const h = parseNpyHeader(head, path);
  if (h.fortranOrder) fail('array is stored in Fortran (column-major) order; save a C-order copy: numpy.save(path, numpy.ascontiguousarray(a))');
  const kind = h.descr.slice(1);
  const little = h.descr[0] !== '>';
  const decoders: Record<string, { bytes: number; decode: Decode | 'uint8' }> = {
    u1: { bytes: 1, decode: 'uint8' },
    f4: { bytes: 4, decode: (v, i) => v.getFloat32(4 * i, little) },
    f8: { bytes: 8, decode: (v, i) => v.getFloat64(8 * i, little) },
  };
  const intBytes = NPY_INT_BYTES[kind];
  if (intBytes !== undefined) {
    // Integers (numpy's default int64): exact in float32 up to 2^24; fixedSource names the row of a larger one.
    decoders[kind] = {
      bytes: intBytes,
      decode: (v, i) => {
        const x = readNpyInt(v, i * intBytes, kind, little);
        if (x > MAX_EXACT_FLOAT32_INT || x < -MAX_EXACT_FLOAT32_INT) throw new IntegerTooLarge(i, x, h.descr);
        return x;
      },
    };
  }
  const d = decoders[kind] ?? fail(`unsupported NPY dtype '${h.descr}' (${NPY_SUPPORTED})`);
  if (h.shape.length === 0) fail('the array is a scalar (shape ()); expected a 1-D or 2-D array of rows');
  const rows = h.shape[0]!;
  const cols = h.shape.slice(1).reduce((a, b) => a * b, 1);
  const expected = h.dataOffset + rows * cols * d.bytes;
  if (size !== expected) {
    fail(`header declares shape (${h.shape.join(', ')}) of ${h.descr} (${expected} bytes in all) but the file has ${size} bytes; re-save the array with numpy.save`);
  }
  return fixedSource(fh, path, 'npy', { rows, cols, dataOffset: h.dataOffset, elemBytes: d.bytes, rowShape: h.shape.slice(1) }, d.decode);
}

const NL = 0x0a;
const SCAN_CHUNK = 1 << 20;

/**
 * Scans a CSV file once: validates every line (same column count, finite numbers), skips a header
 * line whose cells are all non-numeric, and records the byte offset of every `blockRows`-th data line.
 */
async function openCsv(fh: FileHandle, path: string, size: number, blockRows: number, csv: CsvOptions): Promise<RowSource> {
  const offsets: number[] = [];
  let rows = 0;
  let cols = -1;
  let firstDataLine = 0;
  let seenLine = false;
  let headerSkipped = false;
  let lineNo = 0;
  let carry = new Uint8Array(0);
  let carryStart = 0;
  let check = new Float32Array(0);
  const decoder = new TextDecoder('utf-8');
  const onLine = (bytes: Uint8Array, at: number) => {
    lineNo++;
    const text = decoder.decode(bytes).replace(/\r$/, '');
    if (text.trim() === '') return;
    const cells = text.split(',');
    if (!seenLine) {
      seenLine = true;
      // One header rule for both readers (csv.ts).
      if (isCsvHeader(cells, lineNo, path, csv)) {
        headerSkipped = true;
        return;
      }
    }
    if (cols < 0) {
      cols = cells.length;
      firstDataLine = lineNo;
      check = new Float32Array(cols);
    }
    parseCsvRow(cells, cols, { file: path, row: rows + 1, line: lineNo, firstLine: firstDataLine, headerSkipped }, check, 0);
    if (rows % blockRows === 0) offsets.push(at);
    rows++;
  };
  for (let pos = 0; pos < size; pos += SCAN_CHUNK) {
    const chunk = await readAt(fh, pos, Math.min(SCAN_CHUNK, size - pos));
    let lineStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== NL) continue;
      if (carry.length > 0) {
        const joined = new Uint8Array(carry.length + i);
        joined.set(carry);
        joined.set(chunk.subarray(0, i), carry.length);
        onLine(joined, carryStart);
        carry = new Uint8Array(0);
      } else onLine(chunk.subarray(lineStart, i), pos + lineStart);
      lineStart = i + 1;
    }
    if (lineStart < chunk.length) {
      if (carry.length === 0) carryStart = pos + lineStart;
      const rest = chunk.subarray(lineStart);
      const joined = new Uint8Array(carry.length + rest.length);
      joined.set(carry);
      joined.set(rest, carry.length);
      carry = joined;
    }
  }
  if (carry.length > 0) onLine(carry, carryStart);
  offsets.push(size);
  if (rows === 0) throw new DataError(`${path}: the CSV file has no data rows; expected rows of comma-separated numbers`, { file: path });
  const blockOffsets = Float64Array.from(offsets);
  const c = cols;
  return {
    source: path,
    format: 'csv',
    rows,
    cols: c,
    dtype: 'float32',
    async read(start, count) {
      checkRange(path, rows, start, count);
      const out = new Float32Array(count * c);
      if (count === 0) return out;
      const b0 = Math.floor(start / blockRows);
      const b1 = Math.floor((start + count - 1) / blockRows);
      const from = blockOffsets[b0]!;
      const bytes = await readAt(fh, from, blockOffsets[b1 + 1]! - from);
      const lines = decoder.decode(bytes).split('\n');
      let row = b0 * blockRows;
      let k = 0;
      for (const raw of lines) {
        const line = raw.replace(/\r$/, '');
        if (line.trim() === '') continue;
        if (row >= start && row < start + count) {
          const cells = line.split(',');
          if (cells.length !== c) throw new DataError(`${path}: row ${row + 1} has ${cells.length} values, expected ${c}; the file changed while training`, { file: path });
          for (let j = 0; j < c; j++) out[k * c + j] = csvNumber(cells[j]!);
          k++;
        }
        row++;
      }
      if (k !== count) throw new DataError(`${path}: expected ${count} rows from row ${start + 1}, found ${k}; the file changed while training`, { file: path });
      assertFiniteRows(out, c, path, start);
      return out;
    },
    close: () => fh.close(),
  };
}

/** Rows of a data file as a stream of values, front to back, with the shape known before the first row. */
export interface RowStream {
  rows: number;
  cols: number;
  dtype: 'uint8' | 'float32';
  /** Pieces of row values (a row may span pieces). Cancel it to close the file early. */
  stream: ReadableStream<Uint8Array | Float32Array>;
  /** True when the file is read piece by piece rather than loaded whole. */
  streamed: boolean;
  /**
   * Where the rows lie as they are (uint8, back to back: row r at `offset + r × cols` of `path`) when
   * the file is a raw uint8 IDX file, so that other readers (CodecPool workers) can read rows
   * themselves in parallel. Absent for every other file (gzip, NPY, CSV, stdin).
   */
  file?: { path: string; offset: number };
}

export interface OpenRowStreamOptions extends CsvOptions {
  /** idx, npy or csv; guessed from the file name (then from its first bytes) when omitted. */
  format?: DataFormat;
  /** A .gz file loaded whole may inflate to at most this many bytes (see LoadOptions.maxBytes). */
  maxBytes?: number;
  /** Bytes per read from disk (and per gunzip output piece). Default 1 MiB. */
  pieceBytes?: number;
  /** What to do when the file cannot be read: ends those error messages (default: about --data). */
  hint?: string;
}

/** 1 MiB: with 64 KiB pieces the per-read overhead dominates a streamed compress. */
const STREAM_PIECE = 1 << 20;

/**
 * Opens a data file as a RowStream: uint8 IDX (raw or gzip) is streamed, any other file is loaded
 * with `loadDataset`. A raw file's size is checked against its header when opened; a gzip file's,
 * as it is decompressed (the stream errors with a DataError naming the byte).
 */
export async function openRowStream(path: string, options: OpenRowStreamOptions = {}): Promise<RowStream> {
  const pieceBytes = options.pieceBytes ?? STREAM_PIECE;
  if ((options.format ?? formatFromName(path) ?? 'idx') === 'idx') {
    const streamed = await streamUint8Idx(path, pieceBytes, options.hint ?? STREAM_HINT);
    if (streamed !== undefined) return streamed;
  }
  const { pieceBytes: _, ...load } = options;
  const ds = await loadDataset(path, load);
  const stream = new ReadableStream<Uint8Array | Float32Array>({
    start(controller) {
      if (ds.data.length > 0) controller.enqueue(ds.data);
      controller.close();
    },
  });
  return { rows: ds.rows, cols: ds.cols, dtype: ds.dtype, stream, streamed: false };
}

/** A streamed uint8 IDX file, or undefined when the file is not one (the caller loads it whole). */
async function streamUint8Idx(path: string, pieceBytes: number, hint: string): Promise<RowStream | undefined> {
  const { fh } = await openRegularFile(path, hint);
  let head: Uint8Array;
  try {
    head = await readAt(fh, 0, 4);
  } catch (e) {
    await fh.close();
    throw new DataError(`${path}: cannot read (${(e as Error).message})`, { file: path, cause: e });
  }
  // The gzip stream reads through this handle (the path is never opened twice): it closes it.
  if (isGzip(head)) return streamGzipUint8Idx(fh, path, pieceBytes);
  await fh.close();
  if (!looksLikeIdx(head) || head[2] !== IDX_UINT8) return undefined;
  const src = await openRowSource(path, { format: 'idx' });
  const file = { path, offset: idxHeaderBytes(head[3]!) }; // openRowSource has checked the header
  return { rows: src.rows, cols: src.cols, dtype: 'uint8', stream: rowSourceStream(src, pieceBytes), streamed: true, file };
}

/** Reads a row source front to back, `pieceBytes` of rows at a time, closing it at the end. */
function rowSourceStream(src: RowSource, pieceBytes: number): ReadableStream<Uint8Array | Float32Array> {
  const rowBytes = src.cols * (src.dtype === 'uint8' ? 1 : 4);
  const rowsPerPiece = Math.max(1, Math.floor(pieceBytes / rowBytes));
  let next = 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await src.close();
  };
  return new ReadableStream<Uint8Array | Float32Array>({
    async pull(controller) {
      try {
        if (next >= src.rows) {
          await close();
          controller.close();
          return;
        }
        const count = Math.min(rowsPerPiece, src.rows - next);
        const piece = await src.read(next, count);
        next += count;
        controller.enqueue(piece);
      } catch (e) {
        await close().catch(() => undefined);
        throw e;
      }
    },
    cancel: close,
  });
}

/**
 * Streams a gzip file whose decompressed bytes are a uint8 IDX file; undefined when they are not (an
 * other IDX type, another format, corrupt gzip or a cut header: `loadDataset` then reads or names it).
 */
async function streamGzipUint8Idx(fh: FileHandle, path: string, pieceBytes: number): Promise<RowStream | undefined> {
  const file = fh.createReadStream({ start: 0, highWaterMark: pieceBytes });
  const gunzip = file.pipe(createGunzip({ chunkSize: pieceBytes }));
  // pipe() neither forwards the file's read errors nor closes the file when gunzip stops early.
  file.on('error', (e) => gunzip.destroy(e));
  const stop = () => {
    gunzip.destroy();
    file.destroy();
  };
  const it = (gunzip as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let buf: Uint8Array = new Uint8Array(0);
  try {
    let need = 4;
    while (buf.length < need) {
      const r = await it.next();
      if (r.done) break;
      buf = concat(buf, r.value);
      if (buf.length >= 4) {
        if (!looksLikeIdx(buf) || buf[2] !== IDX_UINT8) break;
        need = 4 + 4 * buf[3]!;
      }
    }
    if (buf.length < need || !looksLikeIdx(buf) || buf[2] !== IDX_UINT8) {
      stop();
      return undefined;
    }
  } catch {
    stop();
    return undefined;
  }
  const { rows, cols, headerBytes, dims } = parseIdxHeader(buf, path);
  if (rows === 0 || cols === 0) {
    stop();
    return undefined;
  }
  const total = rows * cols;
  const rest = new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, buf.length - headerBytes);
  let seen = 0;
  const overflow = () =>
    new DataError(
      `${path}: more data than the IDX header declares (${dims.join('×')} = ${total} bytes after the ${headerBytes}-byte header) (offsets in the decompressed data); re-create the file`,
      { file: path },
    );
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (rest.length > 0) {
        if (rest.length > total) {
          stop();
          throw overflow();
        }
        seen += rest.length;
        controller.enqueue(rest);
      }
    },
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) {
          if (seen < total) {
            throw new DataError(
              `${path}: truncated at byte ${headerBytes + seen} of the decompressed data: the IDX header declares ${dims.join('×')} values (${total + headerBytes} bytes); re-download the file`,
              { file: path },
            );
          }
          controller.close();
          return;
        }
        seen += r.value.length;
        if (seen > total) throw overflow();
        controller.enqueue(new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.length));
      } catch (e) {
        stop();
        throw e instanceof AekitError ? e : new DataError(`${path}: ${(e as Error).message}`, { file: path, cause: e });
      }
    },
    cancel: stop,
  });
  return { rows, cols, dtype: 'uint8', stream, streamed: true };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
