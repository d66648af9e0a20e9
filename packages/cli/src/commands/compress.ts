/**
 * `aekit compress BUNDLE INPUT --out FILE.aez`: encodes rows with the bundle's encoder and stores the
 * quantised latents in an `.aez` container (docs/format.md). Uint8 IDX files (Fashion-MNIST, raw or
 * .gz) are streamed, so memory stays flat whatever the file size; other inputs go through
 * `loadDataset`. `--check` decompresses the written file and reports the round-trip MSE / PSNR.
 * The helpers here (streamed row sources, atomic streamed writes, normalised error) are shared with
 * `aekit decompress`.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type Command, Option } from 'commander';
import { AekitError, DataError, IoError, UsageError } from '@aekit/core';
import { Codec, LATENT_TYPES, type LatentType, type Normalization } from '@aekit/runtime';
import { type DataFormat, formatFromName, loadDataset, parseDataFormat } from '@aekit/trainer';
import type { CliIO } from '../io.js';

/** Rows of a data file as a stream of values, with its shape known before the first row. */
export interface RowSource {
  rows: number;
  cols: number;
  dtype: 'uint8' | 'float32';
  /** Pieces of row values (rows may span pieces). */
  stream: ReadableStream<Uint8Array | Float32Array>;
  /** True when the file is read piece by piece rather than loaded whole. */
  streamed: boolean;
}

const IDX_UINT8 = 0x08;
/** Bytes per read from disk (and per gunzip output piece), and per write. */
const READ_PIECE = 1 << 20;

/** Reads the IDX header from the front of a byte iterator; returns it and the bytes already read past it. */
async function readIdxHeader(
  it: AsyncIterator<Buffer>,
  file: string,
): Promise<{ type: number; dims: number[]; rest: Uint8Array } | undefined> {
  let buf = Buffer.alloc(0);
  let need = 4;
  while (buf.length < need) {
    const r = await it.next();
    if (r.done) return undefined; // too short: let loadDataset name the problem
    buf = Buffer.concat([buf, r.value]);
    if (buf.length >= 4) {
      if (buf[0] !== 0 || buf[1] !== 0 || buf[3] === 0) return undefined;
      need = 4 + 4 * buf[3]!;
    }
  }
  const ndims = buf[3]!;
  const dims = Array.from({ length: ndims }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  if (dims.some((d) => d === 0) && dims[0] !== 0) throw new DataError(`${file}: IDX header declares a zero dimension`, { file });
  return { type: buf[2]!, dims, rest: buf.subarray(need) };
}

/**
 * Streams a uint8 IDX file (raw or gzip) as row values; returns undefined for other formats and IDX
 * types, which the caller loads whole. The stream errors with a DataError naming the byte offset when
 * the file is shorter or longer than its header says.
 */
export async function streamIdxRows(path: string): Promise<RowSource | undefined> {
  const head = await readHead(path, 2);
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  // 1 MiB pieces: with 64 KiB ones the per-read overhead was a third of the compress time (profiled)
  const file = createReadStream(path, { highWaterMark: READ_PIECE });
  const nodeStream = gz ? file.pipe(createGunzip({ chunkSize: READ_PIECE })) : file;
  const it = (nodeStream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const header = await readIdxHeader(it, path);
  if (header === undefined || header.type !== IDX_UINT8) {
    nodeStream.destroy();
    return undefined;
  }
  const rows = header.dims[0]!;
  const cols = header.dims.slice(1).reduce((a, b) => a * b, 1);
  const total = rows * cols;
  const headerBytes = 4 + 4 * header.dims.length;
  let seen = 0;
  const overflow = () =>
    new DataError(
      `${path}: more data than the IDX header declares (${header.dims.join('×')} = ${total} bytes after the ${headerBytes}-byte header)${gz ? ' (offsets in the decompressed data)' : ''}; re-create the file`,
      { file: path },
    );
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (header.rest.length > 0) {
        if (header.rest.length > total) throw overflow();
        seen += header.rest.length;
        controller.enqueue(new Uint8Array(header.rest));
      }
    },
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) {
          if (seen < total) {
            throw new DataError(
              `${path}: truncated at byte ${headerBytes + seen}${gz ? ' of the decompressed data' : ''}: the IDX header declares ${header.dims.join('×')} values (${total + headerBytes} bytes); re-download the file`,
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
        nodeStream.destroy();
        throw e instanceof AekitError ? e : new DataError(`${path}: ${(e as Error).message}`, { file: path, cause: e });
      }
    },
    cancel() {
      nodeStream.destroy();
    },
  });
  return { rows, cols, dtype: 'uint8', stream, streamed: true };
}

async function readHead(path: string, n: number): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : (e as Error).message;
    throw new DataError(`${path}: ${why}`, { file: path, cause: e });
  }
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Rows of any data file aekit reads: streamed for uint8 IDX, loaded whole (loadDataset) otherwise. */
export async function openRows(path: string, format?: DataFormat): Promise<RowSource> {
  if ((format ?? formatFromName(path) ?? 'idx') === 'idx') {
    const streamed = await streamIdxRows(path);
    if (streamed !== undefined) return streamed;
  }
  const ds = await loadDataset(path, format === undefined ? {} : { format });
  const stream = new ReadableStream<Uint8Array | Float32Array>({
    start(controller) {
      if (ds.data.length > 0) controller.enqueue(ds.data);
      controller.close();
    },
  });
  return { rows: ds.rows, cols: ds.cols, dtype: ds.dtype, stream, streamed: false };
}

function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Writes a byte stream to `path` atomically: into a temporary sibling, then renamed into place. On any
 * error (of the stream or the disk) the temporary file is removed and `path` is untouched. `header`
 * (optional) is written at offset 0 after the stream ends, over bytes the stream reserved for it.
 */
export async function writeStreamAtomic(
  path: string,
  bytes: ReadableStream<Uint8Array>,
  finalHeader?: () => Uint8Array,
): Promise<number> {
  const tmp = tempSibling(path);
  let written = 0;
  let fh;
  try {
    fh = await open(tmp, 'w');
  } catch (e) {
    throw new IoError(`cannot write ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
  try {
    // Coalesce small pieces (container chunks are ~32 KiB) into ~1 MiB writes.
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const block = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      let off = 0;
      while (off < block.length) {
        const { bytesWritten } = await fh!.write(block, off, block.length - off, written + off);
        off += bytesWritten;
      }
      written += block.length;
      pending = [];
      pendingBytes = 0;
    };
    for await (const piece of bytes as unknown as AsyncIterable<Uint8Array>) {
      pending.push(piece);
      pendingBytes += piece.length;
      if (pendingBytes >= READ_PIECE) await flush();
    }
    if (pendingBytes > 0) await flush();
    if (finalHeader !== undefined) {
      const h = finalHeader();
      await fh.write(h, 0, h.length, 0);
    }
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
    return written;
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if (e instanceof Error && (e instanceof AekitError || e.name === 'ContainerError' || e.name === 'FingerprintError' || e instanceof TypeError || e instanceof RangeError)) {
      throw e;
    }
    throw new IoError(`cannot write ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/** Per-column factor turning a raw-unit difference into normalised units (what training minimises). */
export function normalisedScale(n: Normalization, cols: number): Float64Array {
  const s = new Float64Array(cols).fill(1);
  if (n.kind === 'scale255') s.fill(1 / 255);
  else if (n.kind === 'minmax') {
    for (let c = 0; c < cols; c++) {
      const span = n.max[c]! - n.min[c]!;
      s[c] = span > 0 ? 1 / span : 0;
    }
  }
  return s;
}

/** Pulls exactly `n` values at a time from a stream of value pieces. */
export class ValueReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array | Float32Array>;
  private piece: Uint8Array | Float32Array = new Uint8Array(0);
  private at = 0;
  constructor(stream: ReadableStream<Uint8Array | Float32Array>) {
    this.reader = stream.getReader();
  }
  /** Calls `each(value, index)` for the next n values; false when the stream ended first. */
  async forEach(n: number, each: (value: number, index: number) => void): Promise<boolean> {
    for (let i = 0; i < n; ) {
      if (this.at === this.piece.length) {
        const r = await this.reader.read();
        if (r.done) return false;
        this.piece = r.value;
        this.at = 0;
        continue;
      }
      const take = Math.min(n - i, this.piece.length - this.at);
      for (let k = 0; k < take; k++) each(this.piece[this.at + k]!, i + k);
      this.at += take;
      i += take;
    }
    return true;
  }
  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

export function parseDevice(o: { device?: string; threads?: string }): { device?: string; threads?: number } {
  const out: { device?: string; threads?: number } = {};
  if (o.device !== undefined) out.device = o.device;
  if (o.threads !== undefined) {
    const t = Number(o.threads);
    if (!Number.isInteger(t) || t < 1) throw new UsageError(`--threads must be a positive integer, got "${o.threads}"`);
    out.threads = t;
  }
  return out;
}

export interface RoundTripError {
  rows: number;
  /** Mean squared error per value, in normalised units. */
  mse: number;
  /** 10·log10(1 / MSE): peak 1 in normalised units. */
  psnr: number;
}

/** Decompresses `aezPath` and compares it with the rows of `input`, streaming both. */
export async function roundTripError(codec: Codec, input: string, aezPath: string, format?: DataFormat): Promise<RoundTripError> {
  const src = await openRows(input, format);
  const values = new ValueReader(src.stream);
  const cols = codec.manifest.inputDim;
  const scale = normalisedScale(codec.manifest.normalization, cols);
  let sum = 0;
  let count = 0;
  const decoded = (Readable.toWeb(createReadStream(aezPath, { highWaterMark: 1 << 16 })) as unknown as ReadableStream<Uint8Array>).pipeThrough(codec.decompressStream());
  try {
    for await (const piece of decoded as unknown as AsyncIterable<Float32Array | Uint8Array>) {
      const ok = await values.forEach(piece.length, (x, i) => {
        const d = (x - piece[i]!) * scale[(count + i) % cols]!;
        sum += d * d;
      });
      if (!ok) throw new DataError(`${aezPath} holds more rows than ${input}`, { file: aezPath });
      count += piece.length;
    }
  } finally {
    await values.cancel();
  }
  const mse = count === 0 ? 0 : sum / count;
  return { rows: count / cols, mse, psnr: mse > 0 ? 10 * Math.log10(1 / mse) : Infinity };
}

interface CompressCliOptions {
  out: string;
  latent: LatentType;
  check?: boolean;
  format?: string;
  rowsPerChunk?: string;
  device?: string;
  threads?: string;
}

export function register(program: Command, io: CliIO): void {
  program
    .command('compress')
    .description('Compress rows into an .aez file of quantised latents (decodable only with this bundle)')
    .argument('<bundle>', 'bundle directory (aekit export output)')
    .argument('<input>', 'data file: IDX (raw or .gz, streamed), NPY or CSV, one row per sample')
    .requiredOption('--out <file>', 'the .aez file to write (atomically)')
    .addOption(new Option('--latent <type>', 'how latents are stored').choices([...LATENT_TYPES]).default('uint8'))
    .option('--check', 'decompress the written file and print the round-trip MSE / PSNR (normalised units)')
    .option('--format <format>', 'input format when the file name does not tell (idx, npy, csv)')
    .option('--rows-per-chunk <n>', 'rows per checksummed chunk (default 1024)')
    .option('--device <device>', 'cpu, cuda, webgpu or auto')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .action(async (bundle: string, input: string, o: CompressCliOptions) => {
      const format = o.format === undefined ? undefined : parseDataFormat(o.format);
      let rowsPerChunk: number | undefined;
      if (o.rowsPerChunk !== undefined) {
        rowsPerChunk = Number(o.rowsPerChunk);
        if (!Number.isInteger(rowsPerChunk) || rowsPerChunk < 1) {
          throw new UsageError(`--rows-per-chunk must be a positive integer, got "${o.rowsPerChunk}"`);
        }
      }
      const src = await openRows(input, format);
      const codec = await Codec.load(bundle, { ...parseDevice(o), checkFinite: src.dtype !== 'uint8' });
      try {
        const m = codec.manifest;
        if (src.cols !== m.inputDim) {
          await src.stream.cancel();
          throw new DataError(`${input}: rows have ${src.cols} values but the bundle's encoder takes ${m.inputDim}`, { file: input });
        }
        if (src.dtype === 'float32' && m.inputDtype === 'uint8') {
          await src.stream.cancel();
          throw new DataError(`${input} holds float values but this bundle takes uint8 rows (exported with --input-dtype uint8)`, {
            file: input,
          });
        }
        const cs = codec.compressStream({ latent: o.latent, rows: src.rows, ...(rowsPerChunk !== undefined ? { rowsPerChunk } : {}) });
        const t0 = performance.now();
        const written = await writeStreamAtomic(o.out, src.stream.pipeThrough(cs));
        const seconds = (performance.now() - t0) / 1000;
        const s = cs.stats;
        const rawBytes = src.rows * src.cols * (src.dtype === 'uint8' ? 1 : 4);
        io.stdout(
          `compressed ${s.rows} rows (${src.cols} ${src.dtype} values each) with ${o.latent} latents (${m.latentDim} per row)\n` +
            `  bytes in ${rawBytes} (${formatBytes(rawBytes)}), bytes out ${written} (${formatBytes(written)}), ratio ${(rawBytes / Math.max(1, written)).toFixed(2)}×\n` +
            `  ${seconds.toFixed(2)} s, ${Math.round(s.rows / seconds)} rows/s, ${(rawBytes / 1e6 / seconds).toFixed(1)} MB/s in` +
            `${src.streamed ? ' (streamed)' : ''}, device ${codec.device}\n` +
            `  latent values clamped to the manifest range: ${s.clamped}${s.clamped > 0 ? ` (${((100 * s.clamped) / Math.max(1, s.rows * m.latentDim)).toFixed(3)} %)` : ''}\n` +
            `wrote ${o.out}\n`,
        );
        if (o.check) {
          const t1 = performance.now();
          const e = await roundTripError(codec, input, o.out, format);
          io.stdout(
            `check: ${e.rows} rows decoded from ${o.out} in ${((performance.now() - t1) / 1000).toFixed(2)} s: ` +
              `MSE ${e.mse.toPrecision(5)}, PSNR ${e.psnr.toFixed(2)} dB (normalised units, peak 1)\n`,
          );
        }
      } finally {
        await codec.dispose();
      }
    });
}
