/**
 * `aekit encode BUNDLE --data PATH --out latents.npy`: encodes every row of a data file (IDX, NPY or
 * CSV, as for training) to float32 latents through @aekit/runtime. `-` reads the data from stdin or
 * writes the latents to stdout. Also home of the helpers the other runtime commands (decode, eval,
 * info, demo) share: device/threads options and data conversion.
 */
import { type Command, Option } from 'commander';
import { DataError, UsageError } from '@aekit/core';
import { type CsvOptions, type Dataset, type DataFormat, DATA_FORMATS, loadDataset, writeNpy } from '@aekit/data';
import { availableParallelism } from 'node:os';
import { Codec, CodecPool, type BundleBytes, type BundleManifest, type LoadOptions, deviceNames, readBundleDir, verifyBundle } from '@aekit/runtime';
import { type CliIO, type OutputOptions, STDIO, addOutputOptions, csvOptions, printResult, withInput, withOutput } from '../io.js';
import { SHARD_HELP, shardOption, shardRows } from '../shard.js';

export interface RuntimeCliOptions {
  device: string;
  threads?: string;
  batchSize?: string;
  workers?: string;
}

/** A Codec in this thread (--workers 1) or a pool of worker threads: the commands use what both have. */
export type RuntimeCodec = Codec | CodecPool;

export const WORKERS_HELP =
  'worker threads, each with its own sessions, --threads divided among them (default: the cores for 524288 rows or more, else 1; 1: run in this thread)';

/**
 * Inputs with fewer rows run in this thread by default. A pool costs ~0.15–0.25 s more to start than
 * Codec.load, and each fresh worker runs its first ~150 000 rows slower while V8 compiles the hot
 * code, so on this repo's 2-core machine the README's Fashion-MNIST model compressed 200 000 rows 17 %
 * slower as a whole command with 2 workers, and 600 000 rows 7 % faster (docs/scale.md).
 */
export const MIN_POOL_ROWS = 524288;

/**
 * --workers: the number given, else the cores (os.availableParallelism()) when the input has at least
 * MIN_POOL_ROWS rows (or an unknown count), else 1; 1 when --device names a GPU (sessions sharing one
 * device gain nothing).
 */
export function workersOption(workers: string | undefined, device: string | undefined, rows?: number | null): number {
  const n = intOption('--workers', workers);
  if (n !== undefined) return n;
  if (device === 'cuda' || device === 'webgpu') return 1;
  if (rows !== undefined && rows !== null && rows < MIN_POOL_ROWS) return 1;
  return availableParallelism();
}

/** Loads the bundle in this thread (one worker) or in a CodecPool of `workers` threads. */
export async function loadCodec(bundle: string | BundleBytes, options: LoadOptions, workers: number): Promise<RuntimeCodec> {
  return workers === 1 ? Codec.load(bundle, options) : CodecPool.load(bundle, { ...options, workers });
}

/** Adds --device, --threads and --batch-size to a command. */
export function addRuntimeOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--device <name>', 'execution provider: cpu, cuda, webgpu, or auto (cuda when it loads, else cpu)')
        .choices(deviceNames())
        .default('auto'),
    )
    .option('--threads <n>', 'intra-op threads (default: 2 on machines with 2+ cores)')
    .option('--batch-size <n>', 'rows per onnxruntime call (default 1024)');
}

/** Adds --workers (encode, decode, eval, compress, decompress). */
export function addWorkersOption(cmd: Command, help = WORKERS_HELP): Command {
  return cmd.option('--workers <n>', help);
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${v}"`);
  return n;
}

export function loadOptions(o: RuntimeCliOptions): LoadOptions {
  const opts: LoadOptions = { device: o.device };
  const threads = intOption('--threads', o.threads);
  const batchSize = intOption('--batch-size', o.batchSize);
  if (threads !== undefined) opts.threads = threads;
  if (batchSize !== undefined) opts.batchSize = batchSize;
  return opts;
}

export function formatOption(): Option {
  return new Option('--format <format>', 'data format (default: from the file name, then its contents)').choices([...DATA_FORMATS]);
}

/** --header / --no-header: whether a CSV file's first line is a header (default: guessed, with a warning). */
export function addHeaderOptions(cmd: Command): Command {
  return cmd
    .option('--header', 'CSV: the first line is a header (skip it)')
    .option('--no-header', 'CSV: the first line is data (default: a header when none of its cells is a number)');
}

/** How to fix an unreadable --data of the runtime commands (which have no bundled digits to fall back on). */
export const DATA_IN_HINT = 'give --data an IDX (.gz ok), NPY or CSV file of rows, or - for stdin';

/** Loads a data file and converts its rows to what the bundle's encoder takes (raw units, its dtype). */
export async function loadRowsFor(
  manifest: BundleManifest,
  path: string,
  format?: DataFormat,
  csv: CsvOptions = {},
): Promise<{ dataset: Dataset; rows: Float32Array | Uint8Array }> {
  const dataset = await loadDataset(path, { ...csv, ...(format === undefined ? {} : { format }), hint: DATA_IN_HINT });
  if (dataset.cols !== manifest.inputDim) {
    throw new DataError(
      `${path}: the data has ${dataset.cols} columns but the bundle's manifest says inputDim ${manifest.inputDim}; ` +
        'use data of the shape the model was trained on, or the bundle exported for this data',
      { file: path },
    );
  }
  return { dataset, rows: toDtype(dataset, manifest.inputDtype, path) };
}

function toDtype(ds: Dataset, dtype: 'float32' | 'uint8', path: string): Float32Array | Uint8Array {
  // A float32 bundle takes uint8 rows as they are: the codec casts them in one native pass.
  if (dtype === 'float32') return ds.data;
  if (ds.data instanceof Uint8Array) return ds.data;
  const out = new Uint8Array(ds.data.length);
  for (let i = 0; i < ds.data.length; i++) {
    const v = ds.data[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new DataError(
        `${path}: row ${Math.floor(i / ds.cols)}, column ${i % ds.cols} is ${v}, but this bundle takes uint8 rows (integers 0-255)`,
        { file: path },
      );
    }
    out[i] = v;
  }
  return out;
}

/**
 * Reads the bundle and the data file, then starts the codec. Rows that came from uint8 data are finite
 * by construction, so the codec's NaN/Infinity scan is skipped for them (float data is scanned).
 * Workers: --workers when given, else the cores for large inputs with `poolByDefault` (workersOption),
 * else this thread.
 */
export async function openWithData(
  bundle: string,
  dataPath: string,
  o: RuntimeCliOptions & { format?: DataFormat; header?: boolean },
  io?: CliIO,
  poolByDefault = false,
): Promise<{ codec: RuntimeCodec; dataset: Dataset; rows: Float32Array | Uint8Array }> {
  const bytes = await readBundleDir(bundle);
  const manifest = await verifyBundle(bytes);
  const csv = io === undefined ? (o.header === undefined ? {} : { header: o.header }) : csvOptions(o.header, io);
  const { dataset, rows } = await loadRowsFor(manifest, dataPath, o.format, csv);
  const workers = o.workers === undefined && !poolByDefault ? 1 : workersOption(o.workers, o.device, dataset.rows);
  const codec = await loadCodec(bytes, { ...loadOptions(o), checkFinite: dataset.dtype !== 'uint8' }, workers);
  return { codec, dataset, rows };
}

export function rate(rows: number, ms: number): string {
  const r = rows / Math.max(ms / 1000, 1e-9);
  return r >= 1e4 ? `${(r / 1000).toFixed(0)}k` : r.toFixed(0);
}

interface EncodeOptions extends RuntimeCliOptions, OutputOptions {
  data: string;
  out: string;
  format?: DataFormat;
  header?: boolean;
  shard?: string;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('encode')
    .description('encode the rows of a data file to latents (.npy, float32 [rows, latentDim])')
    .argument('<bundle>', 'bundle directory written by aekit export')
    .requiredOption('--data <path>', 'IDX (.gz ok), NPY or CSV file of rows; - reads stdin')
    .requiredOption('--out <file>', 'latents .npy file to write (atomically, folders created); - writes stdout')
    .option('--shard <I/N>', SHARD_HELP)
    .addOption(formatOption());
  addHeaderOptions(cmd);
  addOutputOptions(cmd);
  addWorkersOption(addRuntimeOptions(cmd)).action(async (bundle: string, o: EncodeOptions) => {
    const shard = shardOption(o.shard);
    const { codec, dataset, rows: all } = await withInput(o.data, io, (data) => openWithData(bundle, data, o, io, true));
    try {
      const { start, end } = shardRows(dataset.rows, shard);
      const rows = all.subarray(start * dataset.cols, end * dataset.cols);
      const t0 = performance.now();
      const z = await codec.encode(rows);
      const ms = performance.now() - t0;
      await withOutput(o.out, io, '.npy', (out) => writeNpy(out, z.data, [z.rows, z.cols]));
      const result = {
        command: 'encode',
        rows: z.rows,
        inputDim: dataset.cols,
        latentDim: z.cols,
        device: codec.device,
        rowsPerSecond: Math.round(z.rows / Math.max(ms / 1000, 1e-9)),
        out: o.out === STDIO ? '<stdout>' : o.out,
        ...(shard === undefined ? {} : { shard: `${shard.index}/${shard.count}`, firstRow: start, totalRows: dataset.rows }),
      };
      printResult(
        io,
        o,
        result,
        `encoded ${z.rows} rows${shard === undefined ? '' : ` (shard ${shard.index}/${shard.count}: rows [${start}, ${end}) of ${dataset.rows})`} of ${dataset.cols} values to ${z.cols} latents each on ${codec.device} ` +
          `(${rate(z.rows, ms)} rows/s) → ${result.out}\n`,
      );
    } finally {
      await codec.dispose();
    }
  });
}
