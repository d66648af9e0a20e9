/**
 * `aekit decompress BUNDLE FILE.aez --out OUT.npy|OUT.idx`: decodes an `.aez` file with the bundle
 * that made it (another bundle is refused, naming both decoder fingerprints). Streams: the container is
 * read and the rows written chunk by chunk; the output's header (which holds the row count) is written
 * last, and the file is renamed into place only when complete. Rows come back in the type that was
 * compressed (the container's input dtype: uint8 pixels stay uint8) unless --output-dtype says
 * otherwise; `-` reads the container from stdin or writes .npy to stdout.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { ContainerError, DataError, UsageError } from '@aekit/core';
import { type CliIO, type OutputOptions, ProgressBar, STDIO, addOutputOptions, printResult, withInput, withOutput } from '../io.js';
import { formatBytes, parseDevice, writeStreamAtomic } from './compress.js';
import { type ContainerHeader, readContainerHeader, roundToUint8 } from '@aekit/runtime';
import { WORKERS_HELP, loadCodec, workersOption } from './encode.js';

export type OutputFormat = 'npy' | 'idx';
type OutDtype = 'uint8' | 'float32';

/** NPY header padded to a fixed 128 bytes, so it can be written after the rows are counted. */
const NPY_HEADER_BYTES = 128;
const IDX_HEADER_BYTES = 12;
/** Bytes of container read at a time (decompressStream's backpressure bounds what is decoded ahead). */
export const CONTAINER_PIECE = 1 << 16;

export function npyHeader(dtype: OutDtype, rows: number, cols: number): Uint8Array {
  const descr = dtype === 'uint8' ? '|u1' : '<f4';
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const text = dict.padEnd(NPY_HEADER_BYTES - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(NPY_HEADER_BYTES);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** IDX header of a rows × cols matrix: uint8 (0x08) or big-endian float32 (0x0D). */
export function idxHeader(dtype: OutDtype, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(IDX_HEADER_BYTES);
  const v = new DataView(out.buffer);
  out.set([0, 0, dtype === 'uint8' ? 0x08 : 0x0d, 2]);
  v.setUint32(4, rows, false);
  v.setUint32(8, cols, false);
  return out;
}

function outputFormat(path: string): OutputFormat {
  if (path === STDIO) return 'npy';
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') return 'npy';
  if (ext === '.idx' || /-ubyte$/.test(path)) return 'idx';
  throw new UsageError(`--out ${path}: write .npy or .idx (the output format is taken from the extension; - writes .npy to stdout)`);
}

/** Row values → output bytes: uint8 clipped and rounded, or float32 (little-endian NPY, big-endian IDX). */
function encodeRows(values: Float32Array | Uint8Array, dtype: OutDtype, format: OutputFormat): Uint8Array {
  if (dtype === 'uint8') return values instanceof Uint8Array ? values : roundToUint8(values);
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  if (format === 'npy') return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  const out = new Uint8Array(f.length * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < f.length; i++) v.setFloat32(i * 4, f[i]!, false);
  return out;
}

interface DecompressCliOptions extends OutputOptions {
  out: string;
  outputDtype?: OutDtype;
  device?: string;
  threads?: string;
  workers?: string;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('decompress')
    .description('Decode an .aez file back to rows with the bundle that compressed it')
    .argument('<bundle>', 'bundle directory: the one that compressed the file')
    .argument('<file>', '.aez file (aekit compress output); - reads stdin')
    .requiredOption('--out <file>', 'rows to write (atomically, folders created): .npy or .idx; - writes .npy to stdout')
    .addOption(
      new Option(
        '--output-dtype <dtype>',
        'value type written (default: what was compressed: uint8 data comes back as uint8, else the decoder\'s type; uint8 clips and rounds)',
      ).choices(['uint8', 'float32']),
    )
    .option('--device <device>', 'cpu, cuda, webgpu or auto')
    .option('--threads <n>', 'onnxruntime intra-op threads (in all: divided among the workers)')
    .option('--workers <n>', WORKERS_HELP);
  addOutputOptions(cmd).action(async (bundle: string, fileArg: string, o: DecompressCliOptions) => {
    const format = outputFormat(o.out);
    await withInput(fileArg, io, async (file) => {
      let bytesIn: number;
      try {
        bytesIn = (await stat(file)).size;
      } catch (e) {
        throw new DataError(`${fileArg}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`, {
          file: fileArg,
          cause: e,
        });
      }
      const head = await containerHeader(file);
      const workers = workersOption(o.workers, o.device, head === undefined ? null : head.rowCount);
      const codec = await loadCodec(bundle, parseDevice(o), workers);
      try {
        const cols = codec.manifest.inputDim;
        const headerBytes = format === 'npy' ? NPY_HEADER_BYTES : IDX_HEADER_BYTES;
        let rows = 0;
        // What was compressed (header byte 52) decides, so uint8 pixels come back as uint8 unless
        // --output-dtype says otherwise. Known before the rows when the header could be read here: then
        // rows are rounded to uint8 where they are decoded (in the workers), else below, piece by piece.
        let dtype: OutDtype | undefined = o.outputDtype ?? (head === undefined ? undefined : head.inputDtype === 'uint8' ? 'uint8' : codec.manifest.outputDtype);
        const ds = codec.decompressStream(dtype === 'uint8' ? { outputDtype: 'uint8' } : {});
        const dtypeNow = (): OutDtype => (dtype ??= ds.header?.inputDtype === 'uint8' ? 'uint8' : codec.manifest.outputDtype);
        const bar = new ProgressBar(io, o);
        let bytesRead = 0;
        const toFile = new TransformStream<Float32Array | Uint8Array, Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(headerBytes)); // placeholder, rewritten once rows are counted
          },
          transform(piece, controller) {
            rows += piece.length / cols;
            controller.enqueue(encodeRows(piece, dtypeNow(), format));
            bar.update('decompress', bytesRead, bytesIn, ` ${rows} rows`);
          },
        });
        const counted = new TransformStream<Uint8Array, Uint8Array>({
          transform(piece, controller) {
            bytesRead += piece.length;
            controller.enqueue(piece);
          },
        });
        const source = Readable.toWeb(createReadStream(file, { highWaterMark: CONTAINER_PIECE })) as unknown as ReadableStream<Uint8Array>;
        const t0 = performance.now();
        const written = await withOutput(o.out, io, '.npy', (out) =>
          writeStreamAtomic(out, source.pipeThrough(counted).pipeThrough(ds).pipeThrough(toFile), () =>
            format === 'npy' ? npyHeader(dtypeNow(), rows, cols) : idxHeader(dtypeNow(), rows, cols),
          ),
        ).catch((e: unknown) => {
          throw e instanceof ContainerError ? e.inFile(fileArg) : e;
        });
        bar.clear();
        const seconds = (performance.now() - t0) / 1000;
        const latent = ds.header?.latentType ?? '?';
        const out = o.out === STDIO ? '<stdout>' : o.out;
        const result = {
          command: 'decompress',
          rows,
          cols,
          dtype: dtypeNow(),
          latent,
          bytesIn,
          bytesOut: written,
          ratio: written / Math.max(1, bytesIn),
          seconds,
          rowsPerSecond: Math.round(rows / seconds),
          device: codec.device,
          workers,
          out,
        };
        printResult(
          io,
          o,
          result,
          `decompressed ${rows} rows (${cols} ${dtypeNow()} values each) from ${latent} latents\n` +
            `  bytes in ${bytesIn} (${formatBytes(bytesIn)}), bytes out ${written} (${formatBytes(written)}), ratio ${(written / Math.max(1, bytesIn)).toFixed(2)}×\n` +
            `  ${seconds.toFixed(2)} s, ${Math.round(rows / seconds)} rows/s, ${(written / 1e6 / seconds).toFixed(1)} MB/s out, device ${codec.device}${workers > 1 ? ` × ${workers} workers` : ''}\n` +
            `wrote ${out}\n`,
        );
      } finally {
        await codec.dispose();
      }
    });
  });
}

/** A container's header (undefined when unreadable: the reader reports why when it gets there). */
async function containerHeader(file: string): Promise<ContainerHeader | undefined> {
  try {
    const fh = await open(file, 'r');
    try {
      const head = new Uint8Array(1 << 20);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      return readContainerHeader(head.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}
