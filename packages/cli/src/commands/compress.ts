/**
 * `aekit compress BUNDLE INPUT --out FILE.aez`: encodes rows with the bundle's encoder and stores the
 * quantised latents in an `.aez` container (docs/format.md), entropy-coded when the bundle has latent
 * tables. Uint8 IDX files (Fashion-MNIST, raw or .gz) are streamed (@aekit/data's openRowStream), so
 * memory stays flat whatever the file size; other inputs are loaded whole. `--check` decompresses the
 * written file and reports the round-trip MSE / PSNR. `-` reads the rows from stdin or writes the
 * container to stdout. The helpers here (atomic streamed writes, normalised error) are shared with
 * `aekit decompress`.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { AekitError, ContainerError, DataError, IoError, UsageError } from '@aekit/core';
import { type CsvOptions, type DataFormat, openRowStream, parseDataFormat, writeStreamAtomic as writeStreamAtomicFile } from '@aekit/data';
import { CodecPool, type CompressStats, LATENT_TYPES, type LatentType, type Normalization } from '@aekit/runtime';
import { type RuntimeCodec, WORKERS_HELP, loadCodec, workersOption } from './encode.js';
import { type CliIO, type OutputOptions, ProgressBar, STDIO, addOutputOptions, csvOptions, printResult, withInput, withOutput } from '../io.js';
import { SHARD_HELP, shardOption, shardRows, sliceRows } from '../shard.js';

/**
 * Writes a byte stream to `path` atomically (@aekit/data's writeStreamAtomic). `finalHeader` (optional)
 * is written at offset 0 after the stream ends, over bytes the stream reserved for it. Errors aekit
 * names (data, container, fingerprint) pass through; anything else is reported as an IoError on `path`.
 */
export async function writeStreamAtomic(
  path: string,
  bytes: ReadableStream<Uint8Array>,
  finalHeader?: () => Uint8Array,
): Promise<number> {
  try {
    return await writeStreamAtomicFile(path, bytes, finalHeader === undefined ? {} : { finalHeader });
  } catch (e) {
    // Every aekit error (data, bundle, container, fingerprint) is an AekitError: it passes through as it is.
    if (e instanceof AekitError || e instanceof TypeError || e instanceof RangeError) throw e;
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

/** Decompresses `aezPath` and compares it with the rows of `input` (rows [start, end) of it for a shard), streaming both. */
export async function roundTripError(
  codec: RuntimeCodec,
  input: string,
  aezPath: string,
  format?: DataFormat,
  csv: CsvOptions = {},
  slice?: { start: number; end: number },
): Promise<RoundTripError> {
  const src = await openRowStream(input, { ...(format === undefined ? {} : { format }), ...csv, onWarning: () => undefined });
  const values = new ValueReader(slice === undefined ? src.stream : src.stream.pipeThrough(sliceRows(src.cols, slice.start, slice.end)));
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
  } catch (e) {
    throw e instanceof ContainerError ? e.inFile(aezPath) : e;
  } finally {
    await values.cancel();
  }
  const mse = count === 0 ? 0 : sum / count;
  return { rows: count / cols, mse, psnr: mse > 0 ? 10 * Math.log10(1 / mse) : Infinity };
}

/** How to fix an unreadable input of compress (a positional argument, not --data). */
const INPUT_HINT = 'give an IDX (.gz ok), NPY or CSV file of rows, or - for stdin';

/** Passes pieces through, calling `after` once each has gone by. */
function afterEach<T>(after: () => void): TransformStream<T, T> {
  return new TransformStream({
    transform(piece, controller) {
      controller.enqueue(piece);
      after();
    },
  });
}

/** Counts the rows going through a stream of row values and reports them to `onRows`. */
function counting(cols: number, onRows: (rows: number) => void): TransformStream<Uint8Array | Float32Array, Uint8Array | Float32Array> {
  let values = 0;
  return new TransformStream({
    transform(piece, controller) {
      values += piece.length;
      onRows(Math.floor(values / cols));
      controller.enqueue(piece);
    },
  });
}

interface CompressCliOptions extends OutputOptions {
  out: string;
  latent?: LatentType;
  check?: boolean;
  format?: string;
  header?: boolean;
  rowsPerChunk?: string;
  device?: string;
  threads?: string;
  workers?: string;
  shard?: string;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('compress')
    .description('Compress rows into an .aez file of quantised latents (decodable only with this bundle)')
    .argument('<bundle>', 'bundle directory (aekit export output)')
    .argument('<input>', 'data file: IDX (raw or .gz, streamed), NPY or CSV, one row per sample; - reads stdin')
    .requiredOption('--out <file>', 'the .aez file to write (atomically, folders created); - writes stdout')
    .addOption(
      new Option(
        '--latent <type>',
        'how latents are stored (default: entropy when the bundle has latent tables, else uint8; uint8 = one byte per latent)',
      ).choices([...LATENT_TYPES]),
    )
    .option('--check', 'decompress the written file and print the round-trip MSE / PSNR (normalised units)')
    .option('--format <format>', 'input format when the file name does not tell (idx, npy, csv)')
    .option('--header', 'CSV: the first line is a header (skip it)')
    .option('--no-header', 'CSV: the first line is data (default: a header when none of its cells is a number)')
    .option('--rows-per-chunk <n>', 'rows per checksummed chunk (default 1024)')
    .option('--shard <I/N>', SHARD_HELP)
    .option('--device <device>', 'cpu, cuda, webgpu or auto')
    .option('--threads <n>', 'onnxruntime intra-op threads (in all: divided among the workers)')
    .option('--workers <n>', WORKERS_HELP);
  addOutputOptions(cmd).action(async (bundle: string, inputArg: string, o: CompressCliOptions) => {
    const format = o.format === undefined ? undefined : parseDataFormat(o.format);
    let rowsPerChunk: number | undefined;
    if (o.rowsPerChunk !== undefined) {
      rowsPerChunk = Number(o.rowsPerChunk);
      if (!Number.isInteger(rowsPerChunk) || rowsPerChunk < 1) {
        throw new UsageError(`--rows-per-chunk must be a positive integer, got "${o.rowsPerChunk}"`);
      }
    }
    if (o.check === true && o.out === STDIO) throw new UsageError('--check reads the written file back: give --out a file, not -');
    const shard = shardOption(o.shard);
    workersOption(o.workers, o.device); // a bad --workers is a usage error before any file is read
    const csv = csvOptions(o.header, io);
    await withInput(inputArg, io, async (input) => {
      const src = await openRowStream(input, { ...(format === undefined ? {} : { format }), ...csv, hint: INPUT_HINT });
      // A streamed input holds its file open: close it when the bundle fails to load.
      const picked = shardRows(src.rows, shard);
      const workers = workersOption(o.workers, o.device, picked.end - picked.start);
      const codec = await loadCodec(bundle, { ...parseDevice(o), checkFinite: src.dtype !== 'uint8' }, workers).catch(async (e: unknown) => {
        await src.stream.cancel();
        throw e;
      });
      try {
        const m = codec.manifest;
        if (src.cols !== m.inputDim) {
          await src.stream.cancel();
          throw new DataError(`${inputArg}: rows have ${src.cols} values but the bundle's encoder takes ${m.inputDim}`, { file: inputArg });
        }
        if (src.dtype === 'float32' && m.inputDtype === 'uint8') {
          await src.stream.cancel();
          throw new DataError(`${inputArg} holds float values but this bundle takes uint8 rows (exported with --input-dtype uint8)`, {
            file: inputArg,
          });
        }
        const slice = shardRows(src.rows, shard);
        const count = slice.end - slice.start;
        const latent = o.latent ?? (codec.latentTables !== undefined ? 'entropy' : 'uint8');
        if (latent === 'entropy' && codec.latentTables === undefined) {
          await src.stream.cancel();
          throw new UsageError(
            `--latent entropy: bundle ${bundle} has no latent tables (manifest files.latentTables, latent_tables.bin); ` +
              'use --latent uint8, or export the bundle from a checkpoint whose training finished (it fits the tables)',
          );
        }
        const why =
          o.latent !== undefined
            ? ''
            : latent === 'entropy'
              ? ' (default: the bundle has latent tables)'
              : ' (default: the bundle has no latent tables to entropy-code with; re-export it from a finished training run to get them)';
        const bar = new ProgressBar(io, o);
        const progress = (n: number) => bar.update('compress', n, count, ` ${n}/${count} rows`);
        const chunking = rowsPerChunk !== undefined ? { rowsPerChunk } : {};
        let container: { readable: ReadableStream<Uint8Array>; readonly stats: CompressStats };
        if (codec instanceof CodecPool && src.file !== undefined) {
          // Rows stored as they are (raw uint8 IDX): each worker reads its own rows from the file, so
          // this thread neither reads nor copies them (docs/scale.md, "Worker pool").
          await src.stream.cancel();
          const fc = codec.compressFile({ path: src.file.path, offset: src.file.offset + slice.start * src.cols, rows: count }, { latent, ...chunking });
          container = bar.active ? { readable: fc.readable.pipeThrough(afterEach(() => progress(fc.stats.rows))), get stats() { return fc.stats; } } : fc;
        } else {
          // The header records the source dtype, so decompress gives uint8 data back as uint8.
          const cs = codec.compressStream({ latent, rows: count, inputDtype: src.dtype, ...chunking });
          const picked = shard === undefined ? src.stream : src.stream.pipeThrough(sliceRows(src.cols, slice.start, slice.end));
          const rows = bar.active ? picked.pipeThrough(counting(src.cols, progress)) : picked;
          container = { readable: rows.pipeThrough(cs), get stats() { return cs.stats; } };
        }
        const t0 = performance.now();
        const written = await withOutput(o.out, io, '.aez', (out) => writeStreamAtomic(out, container.readable));
        bar.clear();
        const seconds = (performance.now() - t0) / 1000;
        const s = container.stats;
        const rawBytes = count * src.cols * (src.dtype === 'uint8' ? 1 : 4);
        const out = o.out === STDIO ? '<stdout>' : o.out;
        const result: Record<string, unknown> = {
          command: 'compress',
          rows: s.rows,
          cols: src.cols,
          dtype: src.dtype,
          latent,
          latentDim: m.latentDim,
          bytesIn: rawBytes,
          bytesOut: written,
          ratio: rawBytes / Math.max(1, written),
          seconds,
          rowsPerSecond: Math.round(s.rows / seconds),
          streamed: src.streamed,
          device: codec.device,
          workers,
          clamped: s.clamped,
          out,
          ...(shard === undefined ? {} : { shard: `${shard.index}/${shard.count}`, firstRow: slice.start, totalRows: src.rows }),
        };
        let text =
          `compressed ${s.rows} rows${shard === undefined ? '' : ` (shard ${shard.index}/${shard.count}: rows [${slice.start}, ${slice.end}) of ${src.rows})`} (${src.cols} ${src.dtype} values each) with ${latent} latents (${m.latentDim} per row)${why}\n` +
          `  bytes in ${rawBytes} (${formatBytes(rawBytes)}), bytes out ${written} (${formatBytes(written)}), ratio ${(rawBytes / Math.max(1, written)).toFixed(2)}×\n` +
          `  ${seconds.toFixed(2)} s, ${Math.round(s.rows / seconds)} rows/s, ${(rawBytes / 1e6 / seconds).toFixed(1)} MB/s in` +
          `${src.streamed ? ' (streamed)' : ''}, device ${codec.device}${workers > 1 ? ` × ${workers} workers` : ''}\n` +
          `  latent values clamped to the manifest range: ${s.clamped}${s.clamped > 0 ? ` (${((100 * s.clamped) / Math.max(1, s.rows * m.latentDim)).toFixed(3)} %)` : ''}\n` +
          `wrote ${out}\n`;
        if (o.check) {
          const t1 = performance.now();
          const e = await roundTripError(codec, input, o.out, format, csv, shard === undefined ? undefined : slice);
          result['check'] = { rows: e.rows, mse: e.mse, psnr: Number.isFinite(e.psnr) ? e.psnr : null };
          text +=
            `check: ${e.rows} rows decoded from ${o.out} in ${((performance.now() - t1) / 1000).toFixed(2)} s: ` +
            `MSE ${e.mse.toPrecision(5)}, PSNR ${e.psnr.toFixed(2)} dB (normalised units, peak 1)\n`;
        }
        printResult(io, o, result, text);
      } finally {
        await codec.dispose();
      }
    });
  });
}
