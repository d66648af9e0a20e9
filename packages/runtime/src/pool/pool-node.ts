/**
 * CodecPool (Node): a Codec whose sessions run in worker threads, one session per worker, so that
 * onnxruntime's blocking `run` stays off the caller's thread and a batch uses every core. Same methods
 * and results (byte for byte) as a Codec; see remote.ts for how work is split.
 *
 * worker_threads directly rather than piscina / tinypool: each worker keeps its own loaded sessions
 * (state a generic task pool does not pin to a worker), the protocol is the one browser workers speak,
 * and the pools measured no faster at dispatch (docs/scale.md, "Worker pool").
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BackendError, DisposedError } from '@aekit/core';
import { readBundleSource } from '../bundle-node.js';
import type { BundleBytes, LoadOptions } from '../codec.js';
import type { CompressOptions, CompressStats } from '../compress/api.js';
import { encodeEndRecord } from '../compress/format.js';
import { type CompressResult, type WireBundle, wireOptions } from './protocol.js';
import { CHUNKS_PER_TASK, Connection, RemoteCodec, STREAM_WINDOW_PER_WORKER } from './remote.js';

export interface PoolOptions extends LoadOptions {
  /** Worker threads, each with its own sessions. Default: the cores (os.availableParallelism()). */
  workers?: number;
  /**
   * Intra-op threads in all; each worker gets max(1, floor(threads / workers)). Default: the cores, so
   * one worker runs as many threads as there are cores and N workers share them.
   */
  threads?: number;
}

/** The worker script: the built file next to this one (tests run the sources, so from src/ use dist/). */
function workerScript(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../dist/pool/worker-node.js', here) : new URL('./worker-node.js', here);
  if (!existsSync(fileURLToPath(url))) {
    throw new BackendError(`the CodecPool worker script ${fileURLToPath(url)} is missing: build @aekit/runtime (npx tsc -b)`);
  }
  return url;
}

/** Uint8 rows stored back to back in a file (a raw uint8 IDX file's data, for one): what compressFile reads. */
export interface RowFile {
  /** The file; each worker opens and reads it while the stream runs. */
  path: string;
  /** Byte offset of the first row. */
  offset: number;
  /** How many rows, each the bundle's inputDim bytes. */
  rows: number;
}

/** compressFile's output: the container's bytes, and statistics (final once the stream has closed). */
export interface CompressFileStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly stats: CompressStats;
}

function count(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1024) throw new RangeError(`${name} must be an integer from 1 to 1024, got ${String(v)}`);
  return v;
}

export class CodecPool extends RemoteCodec {
  /**
   * Starts `workers` threads and loads the bundle (what Codec.load takes: read once here) in each,
   * with `threads` divided among them. Errors are those of Codec.load (same classes and codes).
   */
  static async load(bundle: string | URL | BundleBytes, options: PoolOptions = {}): Promise<CodecPool> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { workers: w, threads: t, ...load } = options;
    const cores = availableParallelism();
    const workers = w === undefined ? cores : count('workers', w);
    const threads = t === undefined ? cores : count('threads', t);
    const script = workerScript();
    // Read (or downloaded) once here, with the caller's fetch / onProgress; each worker gets a copy.
    const bytes = (await readBundleSource(bundle, load)) as WireBundle;
    const threadsEach = Math.max(1, Math.floor(threads / workers));
    const started: Worker[] = [];
    const connections: Connection[] = [];
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(script);
      worker.unref(); // held only while a request waits (onBusy), so an idle pool never keeps Node alive
      const c = new Connection({
        postMessage: (m, transfer) => worker.postMessage(m, transfer),
        addEventListener: (_type, listener) => worker.on('message', (data: unknown) => listener({ data })),
      });
      c.onBusy = (busy) => (busy ? worker.ref() : worker.unref());
      worker.on('error', (e) => c.fail(new BackendError(`CodecPool worker ${i + 1} of ${workers} failed: ${e.message}`, { cause: e })));
      worker.on('exit', (code) => c.fail(code === 0 || code === 1 ? new DisposedError() : new BackendError(`CodecPool worker ${i + 1} of ${workers} exited with code ${code}`)));
      started.push(worker);
      connections.push(c);
    }
    const close = async () => {
      await Promise.all(started.map((x) => x.terminate()));
    };
    const info = await RemoteCodec.connectAll(connections, bytes, { ...wireOptions(load), threads: threadsEach }, close);
    return new CodecPool(connections, info, close);
  }

  /**
   * As compressStream over the rows of `file`, with the same bytes, but each worker reads its rows
   * from the file itself: the caller's thread only orders the results, so compression scales with the
   * workers instead of stopping at what one thread can read and hand out. The header records uint8
   * input. A file that ends early fails the stream with a DataError naming it.
   */
  compressFile(file: RowFile, options: CompressOptions = {}): CompressFileStream {
    this.live();
    const view = this.compressView();
    if (typeof file !== 'object' || file === null || typeof file.path !== 'string' || file.path === '') {
      throw new TypeError('file must be { path, offset, rows } with a non-empty path');
    }
    for (const k of ['offset', 'rows'] as const) {
      const v = file[k];
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`file.${k} must be a non-negative integer, got ${String(v)}`);
    }
    const { path, offset, rows: total } = file;
    const cols = this.manifest.inputDim;
    const writer = this.writerFor(view, options, total, 'uint8');
    const h = writer.header;
    const taskRows = h.rowsPerChunk * CHUNKS_PER_TASK;
    const limit = this.workers * STREAM_WINDOW_PER_WORKER;
    const stats = { rows: 0, chunks: 0, clamped: 0, bytesIn: 0, bytesOut: 0 };
    const pending: Array<Promise<CompressResult>> = [];
    let next = 0;
    let nextChunk = 0;
    let started = false;
    // Tasks on whole chunks from row 0, as compressStream cuts them: the same records, in order.
    const dispatch = () => {
      while (pending.length < limit && next < total) {
        const firstRow = next;
        const firstChunk = nextChunk;
        const rows = Math.min(taskRows, total - firstRow);
        const t = this.submit<CompressResult>(() => [
          { op: 'compressFile', header: h, path, offset: offset + firstRow * cols, rows, firstChunk, firstRow },
          [],
        ]);
        t.catch(() => undefined); // awaited in order by pull
        pending.push(t);
        next += rows;
        nextChunk += Math.ceil(rows / h.rowsPerChunk);
      }
    };
    const emit = (controller: ReadableStreamDefaultController<Uint8Array>, b: Uint8Array) => {
      stats.bytesOut += b.length;
      controller.enqueue(b);
    };
    const readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (!started) {
          started = true;
          emit(controller, writer.headerBytes());
          dispatch();
          return;
        }
        if (pending.length === 0) {
          emit(controller, encodeEndRecord(total, nextChunk));
          controller.close();
          return;
        }
        const r = await pending.shift()!;
        stats.rows += r.rows;
        stats.chunks += r.chunks;
        stats.clamped += r.clamped;
        stats.bytesIn += r.rows * cols;
        dispatch();
        emit(controller, r.records);
      },
      cancel: () => {
        next = total; // nothing more is sent; tasks in flight finish and are dropped
      },
    });
    return {
      readable,
      get stats(): CompressStats {
        return { latent: h.latentType, ...stats };
      },
    };
  }
}
