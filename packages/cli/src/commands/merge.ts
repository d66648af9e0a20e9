/**
 * `aekit merge BUNDLE PART1 PART2 … --out ALL`: joins the shards of `aekit compress --shard I/N`
 * (`.aez`) or of `aekit encode --shard I/N` (`.npy` latents) into one file, in the order given
 * (docs/scale.md). `.aez` parts go through the runtime's mergeContainerStream: each is verified in
 * full against the bundle and must agree with the first on bundle, latent type and dimensions; chunks
 * are re-indexed and their CRCs recomputed. `.npy` parts must be float32 [rows, latentDim] with the
 * bundle's latentDim; their rows are concatenated. Both are streamed and written atomically.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { DataError, IoError, UsageError } from '@aekit/core';
import { parseNpyHeader } from '@aekit/data';
import { Codec, mergeContainerStream } from '@aekit/runtime';
import { type CliIO, type OutputOptions, STDIO, addOutputOptions, printResult, withOutput } from '../io.js';
import { formatBytes, writeStreamAtomic } from './compress.js';
import { npyHeader } from './decompress.js';

interface MergeCliOptions extends OutputOptions {
  out: string;
}

type Kind = 'aez' | 'npy';

function kindOf(path: string): Kind {
  return extname(path).toLowerCase() === '.npy' ? 'npy' : 'aez';
}

/** Fails with an IoError naming the part when it is missing or not a file (before any output is written). */
async function checkPart(path: string): Promise<number> {
  const s = await stat(path).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IoError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}; give the shard files to merge`, {
      file: path,
      cause: e,
    });
  });
  if (!s.isFile()) throw new IoError(`${path} is not a file; give the shard files to merge`, { file: path });
  return s.size;
}

function fileStream(path: string, start = 0): AsyncIterable<Uint8Array> {
  return createReadStream(path, { start, highWaterMark: 1 << 20 });
}

/** The first bytes of a file (at most n). */
async function head(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

interface NpyPart {
  path: string;
  rows: number;
  dataOffset: number;
}

/** Checks an encode output: float32 '<f4', C order, [rows, width], exactly its data bytes long. */
async function npyPart(path: string, size: number, width: number): Promise<NpyPart> {
  const h = parseNpyHeader(await head(path, 1 << 16), path);
  const fail = (what: string): never => {
    throw new DataError(`${path}: ${what}; merge only the .npy latents of one \`aekit encode --shard I/N\` run with this bundle`, { file: path });
  };
  if (h.descr !== '<f4' || h.fortranOrder) fail(`holds ${h.descr}${h.fortranOrder ? ' in Fortran order' : ''} values, but encode writes float32 '<f4' in C order`);
  if (h.shape.length !== 2) fail(`has shape (${h.shape.join(', ')}), but encode writes [rows, latentDim]`);
  const [rows, cols] = h.shape as [number, number];
  if (cols !== width) fail(`has ${cols} values per row, but the bundle's latentDim is ${width}`);
  const expected = h.dataOffset + rows * cols * 4;
  if (size !== expected) {
    fail(`is ${size} bytes, but its header's shape (${rows}, ${cols}) needs ${expected}: ${size < expected ? 'the file is truncated' : 'bytes follow the array'}`);
  }
  return { path, rows, dataOffset: h.dataOffset };
}

function streamOf(pieces: () => AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  const it = pieces();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return(undefined);
    },
  });
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('merge')
    .description('join shard outputs (--shard I/N) of compress (.aez) or encode (.npy) into one file, in the order given, verified')
    .argument('<bundle>', 'the bundle directory the shards were made with')
    .argument('<parts...>', 'the shard files in shard order (1/N first): all .aez or all .npy')
    .requiredOption('--out <file>', 'the merged file to write (atomically, folders created), same extension as the parts; - writes stdout');
  addOutputOptions(cmd).action(async (bundle: string, parts: string[], o: MergeCliOptions) => {
    const kinds = new Set(parts.map(kindOf));
    if (kinds.size > 1) throw new UsageError('merge takes parts of one kind: all .aez (from compress) or all .npy (from encode)');
    const kind: Kind = kindOf(parts[0]!);
    if (o.out !== STDIO && kindOf(o.out) !== kind) throw new UsageError(`--out ${o.out}: the parts are .${kind} files, so write a .${kind} file`);
    if (o.out !== STDIO && parts.includes(o.out)) throw new UsageError(`--out ${o.out} is one of the parts; write the merged file elsewhere`);
    const sizes = await Promise.all(parts.map(checkPart));
    const codec = await Codec.load(bundle, { device: 'cpu' });
    const t0 = performance.now();
    try {
      let rows: number;
      let partRows: number[];
      let written: number;
      if (kind === 'aez') {
        const merged = await mergeContainerStream(
          codec,
          parts.map((p) => ({ name: p, open: () => fileStream(p) })),
        );
        written = await withOutput(o.out, io, '.aez', (out) => writeStreamAtomic(out, merged.readable));
        ({ rows, partRows } = merged.stats);
      } else {
        const width = codec.manifest.latentDim;
        const info: NpyPart[] = [];
        for (let i = 0; i < parts.length; i++) info.push(await npyPart(parts[i]!, sizes[i]!, width));
        partRows = info.map((p) => p.rows);
        rows = partRows.reduce((a, b) => a + b, 0);
        const header = npyHeader('float32', rows, width);
        written = await withOutput(o.out, io, '.npy', (out) =>
          writeStreamAtomic(
            out,
            streamOf(async function* () {
              yield header;
              for (const p of info) yield* fileStream(p.path, p.dataOffset);
            }),
          ),
        );
      }
      const seconds = (performance.now() - t0) / 1000;
      const out = o.out === STDIO ? '<stdout>' : o.out;
      printResult(
        io,
        o,
        { command: 'merge', kind, parts: parts.length, partRows, rows, bytesOut: written, seconds, out },
        `merged ${parts.length} ${kind === 'aez' ? '.aez containers' : '.npy latent files'} (rows ${partRows.join(' + ')}) into ${rows} rows, ` +
          `${written} bytes (${formatBytes(written)}) in ${seconds.toFixed(2)} s → ${out}\n`,
      );
    } finally {
      await codec.dispose();
    }
  });
}
