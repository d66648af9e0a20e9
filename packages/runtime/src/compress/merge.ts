/**
 * Joins `.aez` containers — the shards of one `aekit compress --shard I/N` run — into one container
 * (docs/format.md, "Merging"). Every part is read in full by the same parser decompress uses (its
 * CRCs, row counts and, for entropy latents, its rANS streams are checked against the bundle), and
 * must agree with the first part on everything the header records except the row count and rows per
 * chunk. Chunks are copied as they are, re-indexed: each CRC is recomputed for the chunk's new place
 * (version 2 binds the index and the rows before it). So the merged file decodes to exactly the rows
 * of the parts, in argument order; its chunk layout is the parts' (a part's last, shorter chunk stays
 * short), so its bytes differ from one unsharded compress's wherever a part's row count is not a
 * multiple of rows per chunk.
 */
import { ContainerError, type LatentTables } from '@aekit/core';
import {
  AEZ_VERSION,
  type ContainerHeader,
  chunkCrc,
  encodeEndRecord,
  encodeHeader,
} from './format.js';
import { ContainerReader, type ReaderExpectations } from './reader.js';
import { type CompressManifest, concatBytes, expectations } from './api.js';

/** What merging needs from the bundle: its manifest and, for entropy latents, its parsed latent tables. */
export interface MergeBundle {
  readonly manifest: CompressManifest;
  readonly latentTables?: LatentTables | undefined;
}

/** A part to merge: a name for messages (its file path) and its bytes. */
export interface MergePart {
  name: string;
  bytes: Uint8Array;
}

/** A part to merge as a stream: `open()` is called twice (once for the header, once for the whole). */
export interface MergeStreamPart {
  name: string;
  open(): AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
}

export interface MergeStats {
  parts: number;
  rows: number;
  chunks: number;
  /** Rows of each part, in order. */
  partRows: number[];
}

function named(e: unknown, name: string): unknown {
  return e instanceof ContainerError ? e.inFile(name) : e;
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** The first header field in which `h` differs from `ref`, as text, or undefined when they agree. */
function difference(ref: ContainerHeader, h: ContainerHeader): string | undefined {
  const fields: Array<[string, unknown, unknown]> = [
    ['decoder SHA-256 (bundle)', ref.decoderSha256, h.decoderSha256],
    ['latent type', ref.latentType, h.latentType],
    ['latent tables SHA-256', ref.latentTablesSha256, h.latentTablesSha256],
    ['input columns', ref.inputDim, h.inputDim],
    ['input dtype', ref.inputDtype, h.inputDtype],
    ['latent dimensions', ref.latentDim, h.latentDim],
  ];
  for (const [what, a, b] of fields) if (a !== b) return `its ${what} is ${String(b)}, the first part's is ${String(a)}`;
  if (!sameFloats(ref.latentRange.min, h.latentRange.min) || !sameFloats(ref.latentRange.max, h.latentRange.max)) {
    return "its latent range (the quantisation parameters) differs from the first part's";
  }
  return undefined;
}

/**
 * Incremental merger: construct with every part's header (from `readContainerHeader` or
 * `readMergeHeader`), write `headerBytes()`, then per part `beginPart()`, `push()` its bytes (writing
 * what each push returns) and `endPart()`, and finally write `end()`. Memory: one chunk per part
 * beyond what is pushed.
 */
export class ContainerMerger {
  readonly header: ContainerHeader;
  private readonly names: string[];
  private readonly headers: ContainerHeader[];
  private readonly expect: ReaderExpectations;
  private part = -1;
  private reader: ContainerReader | undefined;
  private rows = 0;
  private chunks = 0;
  private readonly partRows: number[] = [];

  constructor(bundle: MergeBundle, parts: ReadonlyArray<{ name: string; header: ContainerHeader }>) {
    if (parts.length === 0) throw new RangeError('merge needs at least one container');
    this.expect = expectations(bundle);
    this.names = parts.map((p) => p.name);
    this.headers = parts.map((p) => p.header);
    const first = parts[0]!.header;
    for (const p of parts.slice(1)) {
      const diff = difference(first, p.header);
      if (diff !== undefined) {
        throw new ContainerError(
          'E_AEZ_MISMATCH',
          `${p.name} cannot be merged with ${parts[0]!.name}: ${diff}; merge only the shards of one \`aekit compress\` run ` +
            '(same bundle, --latent and input type)',
        ).inFile(p.name);
      }
    }
    let total: number | null = 0;
    for (const p of parts) total = total === null || p.header.rowCount === null ? null : total + p.header.rowCount;
    if (total !== null && !Number.isSafeInteger(total)) throw new RangeError(`the parts hold ${total} rows, beyond 2^53 - 1`);
    this.header = {
      ...first,
      version: AEZ_VERSION,
      // A part's chunks are copied whole, so the merged file must allow the largest of them.
      rowsPerChunk: Math.max(...parts.map((p) => p.header.rowsPerChunk)),
      rowCount: total,
      latentRange: { min: Float32Array.from(first.latentRange.min), max: Float32Array.from(first.latentRange.max) },
    };
  }

  headerBytes(): Uint8Array {
    return encodeHeader(this.header);
  }

  /** Starts reading the next part (in the order given to the constructor). */
  beginPart(): void {
    if (this.reader !== undefined) throw new RangeError(`endPart() ${this.names[this.part]} before beginning the next part`);
    if (this.part + 1 >= this.names.length) throw new RangeError('every part has been merged already');
    this.part++;
    this.reader = new ContainerReader(this.expect);
    this.partRows.push(0);
  }

  /** Pushes bytes of the current part; returns the re-indexed chunk records to write, in order. */
  push(bytes: Uint8Array): Uint8Array[] {
    const reader = this.current();
    const name = this.names[this.part]!;
    const out: Uint8Array[] = [];
    try {
      reader.push(bytes);
      for (let r = reader.next(); r !== undefined; r = reader.next()) {
        if (r.kind === 'header') {
          // The file may have changed since its header was read for the constructor.
          const diff = difference(this.headers[this.part]!, r.header);
          if (diff !== undefined || r.header.rowCount !== this.headers[this.part]!.rowCount) {
            throw new ContainerError('E_AEZ_MISMATCH', `its header changed while merging (${diff ?? 'row count'})`, { offset: 0 });
          }
        } else if (r.kind === 'chunk') {
          if (this.chunks === 0xffff_ffff) throw new RangeError('the merged container would hold more than 2^32 - 1 chunks');
          const rec = new Uint8Array(r.record.length + 4); // + its CRC
          rec.set(r.record, 0);
          new DataView(rec.buffer).setUint32(r.record.length, chunkCrc(AEZ_VERSION, this.chunks, this.rows, r.record), true);
          out.push(rec);
          this.chunks++;
          this.rows += r.rows;
          this.partRows[this.part]! += r.rows;
        }
      }
    } catch (e) {
      throw named(e, name);
    }
    return out;
  }

  /** Ends the current part: refuses one that stopped before its end record. */
  endPart(): void {
    const reader = this.current();
    try {
      reader.finish();
    } catch (e) {
      throw named(e, this.names[this.part]!);
    }
    this.reader = undefined;
  }

  /** The end record, once every part has been merged. */
  end(): Uint8Array {
    if (this.reader !== undefined || this.part + 1 !== this.names.length) {
      throw new RangeError(`merged ${this.partRows.length} of ${this.names.length} parts; end each part before the end record`);
    }
    return encodeEndRecord(this.rows, this.chunks);
  }

  get stats(): MergeStats {
    return { parts: this.names.length, rows: this.rows, chunks: this.chunks, partRows: [...this.partRows] };
  }

  private current(): ContainerReader {
    if (this.reader === undefined) throw new RangeError('beginPart() before pushing bytes');
    return this.reader;
  }
}

/** Joins whole containers in memory, in order; the merged bytes and what went into them. */
export function mergeContainers(bundle: MergeBundle, parts: readonly MergePart[]): { bytes: Uint8Array; stats: MergeStats } {
  const headers = parts.map((p) => ({ name: p.name, header: headerOf(p.name, p.bytes) }));
  const merger = new ContainerMerger(bundle, headers);
  const out: Uint8Array[] = [merger.headerBytes()];
  for (const p of parts) {
    merger.beginPart();
    out.push(...merger.push(p.bytes));
    merger.endPart();
  }
  out.push(merger.end());
  return { bytes: concatBytes(out), stats: merger.stats };
}

function headerOf(name: string, bytes: Uint8Array): ContainerHeader {
  const reader = new ContainerReader();
  try {
    reader.push(bytes);
    const r = reader.next();
    if (r?.kind === 'header') return r.header;
    reader.finish();
    throw new ContainerError('E_AEZ_TRUNCATED', 'the file ends inside the header');
  } catch (e) {
    throw named(e, name);
  }
}

async function* pieces(src: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (Symbol.asyncIterator in src) {
    yield* src as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (src as ReadableStream<Uint8Array>).getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) yield r.value;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Reads just the header of a streamed part (stopping the stream once it is read). */
export async function readMergeHeader(part: MergeStreamPart): Promise<ContainerHeader> {
  const reader = new ContainerReader();
  try {
    for await (const piece of pieces(part.open())) {
      reader.push(piece);
      const r = reader.next();
      if (r?.kind === 'header') return r.header; // leaving the loop closes the stream
    }
    reader.finish();
    throw new ContainerError('E_AEZ_TRUNCATED', 'the file ends inside the header');
  } catch (e) {
    throw named(e, part.name);
  }
}

/**
 * Streamed merge: reads every part's header first (refusing a mismatched set before any byte is
 * written), then returns the merged container as a byte stream and its statistics (final once the
 * stream has closed). A damaged part errors the stream with a ContainerError naming the part.
 */
export async function mergeContainerStream(
  bundle: MergeBundle,
  parts: readonly MergeStreamPart[],
): Promise<{ readable: ReadableStream<Uint8Array>; readonly stats: MergeStats }> {
  const headers: Array<{ name: string; header: ContainerHeader }> = [];
  for (const p of parts) headers.push({ name: p.name, header: await readMergeHeader(p) });
  const merger = new ContainerMerger(bundle, headers);
  async function* records(): AsyncGenerator<Uint8Array> {
    yield merger.headerBytes();
    for (const p of parts) {
      merger.beginPart();
      for await (const piece of pieces(p.open())) for (const rec of merger.push(piece)) yield rec;
      merger.endPart();
    }
    yield merger.end();
  }
  const it = records();
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel() {
        await it.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
  return {
    readable,
    get stats() {
      return merger.stats;
    },
  };
}
