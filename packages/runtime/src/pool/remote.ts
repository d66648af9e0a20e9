/**
 * The caller's side of the worker protocol (protocol.ts): a Codec whose sessions run in one or more
 * workers, with the Codec's encode / decode / reconstruct / sample / compress / decompress (and the
 * stream forms) and the same results, byte for byte. Browser-safe: the Node CodecPool (pool-node.ts)
 * and the browser WorkerCodec (worker.ts) give it their endpoints.
 *
 * Byte identity with one in-thread Codec: rows are split into contiguous parts on multiples of the
 * batch size, and container work into whole chunks, so every onnxruntime call sees exactly the rows it
 * would see in one thread; results are reassembled in order.
 */
import { type BundleManifest, BundleError, DisposedError, type LatentTables } from '@aekit/core';
import type { Rows } from '../codec.js';
import { priorLatents } from '../sample.js';
import { type PreparedRows, type RowsInput, prepareRows } from '../input.js';
import {
  type CompressOptions,
  type CompressStats,
  type CompressStream,
  type CompressStreamOptions,
  type DecompressOptions,
  type DecompressResult,
  type DecompressStream,
  concatBytes,
  expectations,
  makeHeader,
  wantsUint8,
  type CompressCodec,
} from '../compress/api.js';
import { type ContainerHeader, type InputDtype, encodeEndRecord } from '../compress/format.js';
import { ContainerReader } from '../compress/reader.js';
import { ContainerWriter } from '../compress/writer.js';
import type { Attempt } from '../devices.js';
import {
  type CodedChunk,
  type CompressResult,
  type Endpoint,
  type LoadedInfo,
  PROTOCOL_VERSION,
  type Request,
  type Response,
  type RunMethod,
  type RunResult,
  type WireBundle,
  type WireLoadOptions,
  fromWireError,
} from './protocol.js';

/** Requests one worker holds at once: one running, one queued behind it so it never waits for the caller. */
const IN_FLIGHT_PER_WORKER = 2;
/** The key of `[Symbol.asyncDispose]`, as codec.ts picks it (the registered symbol where the engine has none). */
const ASYNC_DISPOSE: typeof Symbol.asyncDispose = (Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose')) as typeof Symbol.asyncDispose;

/** Most bytes of spare row buffers a pool keeps for reuse between calls. */
const SPARE_BYTES = 128 << 20;
/**
 * Tasks a stream form keeps in flight per worker (results wait here to leave in order). More than a
 * worker holds at once, so that one slow task does not leave the other workers idle behind it.
 */
export const STREAM_WINDOW_PER_WORKER = 4;
/** Container chunks per worker task in the stream forms (8 × 1024 rows by default). */
export const CHUNKS_PER_TASK = 8;
/** Rows per worker task of encode / decode / reconstruct at most (rounded up to whole batches). */
const TASK_ROWS = 8192;

type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One worker: its endpoint, the requests waiting for an answer, and whether it still runs. */
export class Connection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;
  /** Called when the first request starts waiting and when the last one is answered (Node: ref / unref). */
  onBusy: ((busy: boolean) => void) | undefined;
  /** Receives the row buffers the worker hands back (Response.recycled). */
  onRecycle: ((buffer: ArrayBuffer) => void) | undefined;

  constructor(private readonly endpoint: Endpoint) {
    endpoint.addEventListener('message', (event) => {
      const r = event.data as Response;
      if (typeof r !== 'object' || r === null || typeof r.id !== 'number') return;
      const p = this.pending.get(r.id);
      if (p === undefined) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) this.onBusy?.(false);
      if (r.recycled instanceof ArrayBuffer) this.onRecycle?.(r.recycled);
      if (r.ok) p.resolve(r.value);
      else p.reject(fromWireError(r.error));
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  request<T>(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) this.onBusy?.(true);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.endpoint.postMessage({ ...body, id }, transfer);
      } catch (e) {
        this.pending.delete(id);
        if (this.pending.size === 0) this.onBusy?.(false);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** The worker is gone (crashed, exited, terminated): every waiting request and every later one fail with `e`. */
  fail(e: Error): void {
    this.dead ??= e;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    if (waiting.length > 0) this.onBusy?.(false);
    for (const p of waiting) p.reject(this.dead);
  }
}

/** A task for whichever worker frees first: `build` makes the request (and copies its rows) only then. */
interface Task {
  build: () => [RequestBody, ArrayBuffer[]];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Rewrites a finite-check RangeError's row number ("row 3, column 7") for a part that starts at row `first`. */
function shiftRows(e: unknown, first: number): unknown {
  if (first === 0 || !(e instanceof RangeError)) return e;
  e.message = e.message.replace(/ row (\d+), column /, (_, r: string) => ` row ${Number(r) + first}, column `);
  return e;
}

function checkRowsType(rows: unknown, dtype: InputDtype): asserts rows is Float32Array | Uint8Array {
  if (rows instanceof Uint8Array) return;
  if (rows instanceof Float32Array) {
    if (dtype === 'float32') return;
    throw new TypeError("uint8 rows expected (the bundle's input dtype, or the stream's inputDtype): pass a Uint8Array, not a Float32Array");
  }
  const name = typeof rows === 'object' && rows !== null ? rows.constructor.name : typeof rows;
  throw new TypeError(`rows must be a Float32Array or Uint8Array, got ${name}`);
}

/**
 * A Codec whose sessions run in workers. Build it with `CodecPool.load` (Node) or `WorkerCodec.load`
 * (browser); the methods take and give what the Codec's take and give.
 */
export class RemoteCodec implements AsyncDisposable {
  readonly manifest: BundleManifest;
  /** The execution provider the workers run on (the first worker's; all are loaded alike). */
  readonly device: string;
  readonly deviceNotes: readonly Attempt[];
  /** Intra-op threads of each worker's sessions. */
  readonly threads: number;
  readonly batchSize: number;
  readonly latentTables: LatentTables | undefined;
  /** How many workers run the sessions. */
  readonly workers: number;
  private readonly connections: readonly Connection[];
  private readonly queue: Task[] = [];
  /** Row buffers the workers handed back, reused for later rows (see Response.recycled). */
  private readonly spare: ArrayBuffer[] = [];
  private readonly close: () => Promise<void>;
  private disposed = false;
  private disposing: Promise<void> | undefined;

  /** @internal build with CodecPool.load / WorkerCodec.load. */
  protected constructor(connections: readonly Connection[], info: LoadedInfo, close: () => Promise<void>) {
    this.connections = connections;
    this.manifest = info.manifest;
    this.device = info.device;
    this.deviceNotes = info.deviceNotes;
    this.threads = info.threads;
    this.batchSize = info.batchSize;
    this.latentTables = info.latentTables;
    this.workers = connections.length;
    this.close = close;
    for (const c of connections) c.onRecycle = (b) => this.recycle(b);
  }

  /**
   * Loads the bundle in every worker (in parallel); the first failure is thrown (the same error class
   * and code a Codec.load would throw) after `close` has stopped them all.
   */
  protected static async connectAll(
    connections: readonly Connection[],
    bundle: WireBundle,
    options: WireLoadOptions,
    close: () => Promise<void>,
  ): Promise<LoadedInfo> {
    const loads = connections.map((c) => c.request<LoadedInfo>({ op: 'load', version: PROTOCOL_VERSION, bundle, options }));
    const settled = await Promise.allSettled(loads);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await close().catch(() => undefined);
      throw failed.reason;
    }
    return (settled[0] as PromiseFulfilledResult<LoadedInfo>).value;
  }

  get inputDim(): number {
    return this.manifest.inputDim;
  }

  get latentDim(): number {
    return this.manifest.latentDim;
  }

  /** As Codec.encode: latents `[rows, latentDim]` float32. */
  encode(input: RowsInput, rows?: number): Promise<Rows<Float32Array>> {
    return this.runRows('encode', input, rows) as Promise<Rows<Float32Array>>;
  }

  /** As Codec.decode: rows from latents, float32 or the bundle's uint8. */
  decode(latents: RowsInput, rows?: number): Promise<Rows> {
    return this.runRows('decode', latents, rows);
  }

  /** As Codec.reconstruct: decode(encode(rows)) through the autoencoder graph. */
  reconstruct(input: RowsInput, rows?: number): Promise<Rows> {
    return this.runRows('reconstruct', input, rows);
  }

  /** As Codec.sample: `n` rows from a VAE's prior (same seed, same rows as a Codec gives). */
  async sample(n: number, seed = 0): Promise<Rows> {
    this.live();
    return this.decode(priorLatents(this.manifest, n, seed), n);
  }

  /** As Codec.compress: rows → `.aez` bytes, identical to one Codec's. */
  async compress(rows: Float32Array | Uint8Array, options?: CompressOptions): Promise<Uint8Array> {
    return (await this.compressWithStats(rows, options)).bytes;
  }

  /** compress with its statistics (as the runtime's compressWithStats). */
  async compressWithStats(rows: Float32Array | Uint8Array, options: CompressOptions = {}): Promise<{ bytes: Uint8Array; stats: CompressStats }> {
    this.live();
    const view = this.compressView();
    const { inputDim, inputDtype } = this.manifest;
    checkRowsType(rows, inputDtype);
    if (rows.length % inputDim !== 0) throw new RangeError(`rows hold ${rows.length} values, not a multiple of the input width ${inputDim}`);
    const count = rows.length / inputDim;
    const writer = this.writerFor(view, options, count, rows instanceof Uint8Array ? 'uint8' : 'float32');
    const h = writer.header;
    const chunks = Math.ceil(count / h.rowsPerChunk);
    // A few tasks per worker, so a worker slowed by other work on the machine does not hold up the end,
    // of CHUNKS_PER_TASK chunks at most: each task's rows are copied into a buffer a worker handed
    // back, and parts of a large input as big as a quarter of a worker's share were each fresh memory.
    const perTask = Math.max(1, Math.min(CHUNKS_PER_TASK, Math.ceil(chunks / (this.workers * 4))));
    const tasks: Array<Promise<CompressResult>> = [];
    for (let c = 0; c < chunks; c += perTask) {
      const first = c * h.rowsPerChunk;
      const end = Math.min(count, (c + perTask) * h.rowsPerChunk);
      tasks.push(this.compressTask(h, () => this.copyOf(rows, first * inputDim, end * inputDim), c, first));
    }
    const results = await Promise.all(tasks);
    const parts = [writer.headerBytes(), ...results.map((r) => r.records), encodeEndRecord(count, chunks)];
    const bytes = concatBytes(parts);
    let clamped = 0;
    for (const r of results) clamped += r.clamped;
    return { bytes, stats: { latent: h.latentType, rows: count, chunks, clamped, bytesIn: rows.byteLength, bytesOut: bytes.length } };
  }

  /**
   * As Codec.decompress: `.aez` bytes → reconstructed rows. The reader checks the container here
   * (bounds, CRCs, row counts); the workers decode the chunks' latents and run the decoder.
   */
  async decompress(bytes: Uint8Array, options: DecompressOptions = {}): Promise<DecompressResult> {
    this.live();
    const view = this.compressView();
    if (!(bytes instanceof Uint8Array)) throw new TypeError('decompress takes the container as a Uint8Array');
    const uint8 = wantsUint8(options);
    const reader = new ContainerReader(expectations(view), { decode: false });
    reader.push(bytes);
    const tasks: Array<Promise<RunResult>> = [];
    const group = new CodedGroup((n) => this.take(Uint8Array, n));
    const submit = () => {
      const t = this.decodeTask(reader.parsedHeader!, group.take(), uint8);
      t.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      tasks.push(t);
    };
    for (let r = reader.next(); r !== undefined; r = reader.next()) {
      if (r.kind !== 'coded') continue;
      group.add(r);
      if (group.chunks >= CHUNKS_PER_TASK) submit();
    }
    reader.finish();
    if (group.chunks > 0) submit();
    const results = await Promise.all(tasks);
    const header = reader.parsedHeader!;
    const cols = header.inputDim;
    let rows = 0;
    for (const r of results) rows += r.rows;
    const bytesOut = results.length > 0 ? results[0]!.data instanceof Uint8Array : uint8 || this.manifest.outputDtype === 'uint8';
    const data = bytesOut ? new Uint8Array(rows * cols) : new Float32Array(rows * cols);
    let o = 0;
    for (const r of results) {
      data.set(r.data, o);
      o += r.data.length;
    }
    return { header, data, rows, cols };
  }

  /**
   * As Codec.compressStream: rows in, container bytes out, the same bytes as one Codec's. Up to
   * STREAM_WINDOW_PER_WORKER tasks of CHUNKS_PER_TASK chunks per worker are in flight; memory stays at
   * those tasks' rows.
   */
  compressStream(options: CompressStreamOptions = {}): CompressStream {
    this.live();
    const view = this.compressView();
    const { inputDim, inputDtype } = this.manifest;
    if (options.rows !== undefined && (!Number.isSafeInteger(options.rows) || options.rows < 0)) {
      throw new RangeError(`rows must be a non-negative integer, got ${options.rows}`);
    }
    const declared = options.inputDtype ?? inputDtype;
    if (declared !== 'float32' && declared !== 'uint8') throw new TypeError(`inputDtype must be "float32" or "uint8", got ${JSON.stringify(declared)}`);
    if (declared === 'float32' && inputDtype === 'uint8') throw new TypeError('inputDtype float32: this bundle takes uint8 rows');
    const writer = this.writerFor(view, options, options.rows ?? null, declared);
    const h = writer.header;
    const taskRows = h.rowsPerChunk * CHUNKS_PER_TASK;
    // The rows travel as given (uint8 stays uint8: a quarter of the bytes); the worker widens them.
    const fresh = () => (declared === 'uint8' ? this.take(Uint8Array, taskRows * inputDim) : this.take(Float32Array, taskRows * inputDim));
    let buffer = fresh();
    let fill = 0;
    let nextChunk = 0;
    let nextRow = 0;
    const stats = { rows: 0, chunks: 0, clamped: 0, bytesIn: 0, bytesOut: 0 };
    const pending: Array<Promise<CompressResult>> = [];
    const limit = this.workers * STREAM_WINDOW_PER_WORKER;
    const emit = (controller: TransformStreamDefaultController<Uint8Array>, b: Uint8Array) => {
      stats.bytesOut += b.length;
      controller.enqueue(b);
    };
    const collect = async (controller: TransformStreamDefaultController<Uint8Array>) => {
      const r = await pending.shift()!;
      stats.rows += r.rows;
      stats.chunks += r.chunks;
      stats.clamped += r.clamped;
      emit(controller, r.records);
    };
    const dispatch = (data: Float32Array | Uint8Array) => {
      const rows = data.length / inputDim;
      const t = this.compressTask(h, () => data, nextChunk, nextRow);
      t.catch(() => undefined); // awaited in order by collect
      pending.push(t);
      nextChunk += Math.ceil(rows / h.rowsPerChunk);
      nextRow += rows;
    };
    const ts = new TransformStream<Float32Array | Uint8Array, Uint8Array>({
      start(controller) {
        emit(controller, writer.headerBytes());
      },
      async transform(piece, controller) {
        checkRowsType(piece, declared);
        stats.bytesIn += piece.byteLength;
        let at = 0;
        while (at < piece.length) {
          const n = Math.min(buffer.length - fill, piece.length - at);
          buffer.set(piece.subarray(at, at + n), fill);
          fill += n;
          at += n;
          if (fill === buffer.length) {
            dispatch(buffer); // moved to the worker (and handed back when done): the next rows go into another
            buffer = fresh();
            fill = 0;
            while (pending.length >= limit) await collect(controller);
          }
        }
      },
      async flush(controller) {
        if (fill % inputDim !== 0) {
          throw new RangeError(`the stream ended inside a row: ${fill % inputDim} values left over (rows have ${inputDim})`);
        }
        if (fill > 0) dispatch(buffer.subarray(0, fill));
        while (pending.length > 0) await collect(controller);
        if (h.rowCount !== null && h.rowCount !== nextRow) throw new RangeError(`the header declares ${h.rowCount} rows but ${nextRow} were written`);
        emit(controller, encodeEndRecord(nextRow, nextChunk));
      },
    });
    return {
      readable: ts.readable,
      writable: ts.writable,
      get stats(): CompressStats {
        return { latent: h.latentType, ...stats };
      },
    };
  }

  /**
   * As Codec.decompressStream: container bytes in, reconstructed rows out (one piece per container
   * chunk). The reader checks the container here; chunks are decoded CHUNKS_PER_TASK at a time in
   * the workers (latents, then rows).
   */
  decompressStream(options: DecompressOptions = {}): DecompressStream {
    this.live();
    const view = this.compressView();
    const uint8 = wantsUint8(options);
    const reader = new ContainerReader(expectations(view), { decode: false });
    const group = new CodedGroup((n) => this.take(Uint8Array, n));
    const pending: Array<{ task: Promise<RunResult>; rows: number[] }> = [];
    const limit = this.workers * STREAM_WINDOW_PER_WORKER;
    const cols = this.manifest.inputDim;
    const collect = async (controller: TransformStreamDefaultController<Float32Array | Uint8Array>) => {
      const { task, rows } = pending.shift()!;
      const r = await task;
      let o = 0;
      for (const n of rows) {
        controller.enqueue(r.data.subarray(o, o + n * cols)); // views of one transferred array: no copy
        o += n * cols;
      }
    };
    const submit = () => {
      const rows = group.rows();
      const task = this.decodeTask(reader.parsedHeader!, group.take(), uint8);
      task.catch(() => undefined); // awaited in order by collect
      pending.push({ task, rows });
    };
    const ts = new TransformStream<Uint8Array, Float32Array | Uint8Array>(
      {
        async transform(piece, controller) {
          if (!(piece instanceof Uint8Array)) throw new TypeError('decompressStream takes Uint8Array pieces of the container');
          reader.push(piece);
          for (let r = reader.next(); r !== undefined; r = reader.next()) {
            if (r.kind !== 'coded') continue;
            group.add(r);
            if (group.chunks >= CHUNKS_PER_TASK) submit();
            while (pending.length >= limit) await collect(controller);
          }
        },
        async flush(controller) {
          reader.finish();
          if (group.chunks > 0) submit();
          while (pending.length > 0) await collect(controller);
        },
      },
      undefined,
      { highWaterMark: 1 },
    );
    return {
      readable: ts.readable,
      writable: ts.writable,
      get header(): ContainerHeader | undefined {
        return reader.parsedHeader;
      },
    };
  }

  /**
   * Stops the workers: later calls throw a DisposedError; tasks not yet sent to a worker fail with
   * one; calls in flight finish or fail as a Codec's do when it is disposed under them.
   */
  dispose(): Promise<void> {
    if (this.disposing !== undefined) return this.disposing;
    this.disposed = true;
    for (const t of this.queue.splice(0)) t.reject(new DisposedError());
    this.disposing = (async () => {
      await Promise.allSettled(this.connections.map((c) => c.request({ op: 'dispose' })));
      await this.close();
      for (const c of this.connections) c.fail(new DisposedError());
    })();
    return this.disposing;
  }

  /** `await using pool = await CodecPool.load(…)`: disposed when the block exits. */
  [ASYNC_DISPOSE](): Promise<void> {
    return this.dispose();
  }

  // -------------------------------------------------------------------------------------------

  protected live(): void {
    if (this.disposed) throw new DisposedError();
  }

  /** What the container code needs (manifest and tables); a `part` bundle cannot compress. */
  protected compressView(): CompressCodec {
    const part = this.manifest.part;
    if (part !== undefined) {
      throw new BundleError(`compression needs a whole bundle (encoder and decoder); this one is the ${part} alone (manifest part "${part}"): export the model without --part`);
    }
    const unused = () => Promise.reject(new Error('unused'));
    return { manifest: this.manifest, latentTables: this.latentTables, encode: unused, decode: unused };
  }

  /** The writer a one-thread compress would use: it validates the options and writes header bytes. */
  protected writerFor(view: CompressCodec, options: CompressOptions, rowCount: number | null, dtype: InputDtype): ContainerWriter {
    const header = makeHeader(view, options, rowCount, dtype);
    if (header.latentType === 'entropy' && (view.latentTables === undefined || view.manifest.files.latentTables === undefined)) {
      // makeHeader has already thrown the RangeError naming the fix; this only narrows the type.
      throw new RangeError("latent 'entropy' needs the bundle's latent tables");
    }
    return new ContainerWriter(header, header.latentType === 'entropy' ? view.latentTables : undefined);
  }

  private compressTask(header: ContainerHeader, rows: () => Float32Array | Uint8Array, firstChunk: number, firstRow: number): Promise<CompressResult> {
    return this.submit<CompressResult>(() => {
      const data = rows();
      return [{ op: 'compress', header, data, firstChunk, firstRow }, [data.buffer as ArrayBuffer]];
    });
  }

  private decodeTask(header: ContainerHeader, g: { data: Uint8Array; coded: CodedChunk[] }, uint8: boolean): Promise<RunResult> {
    return this.submit<RunResult>(() => [{ op: 'decodeChunks', header, data: g.data, coded: g.coded, uint8 }, [g.data.buffer as ArrayBuffer]]);
  }

  /**
   * encode / decode / reconstruct: the rows checked and converted here as a Codec does, then split
   * into contiguous parts on multiples of the batch size — one per worker, or TASK_ROWS rows each when
   * that is smaller — and the results joined in order. Parts of bounded size keep a large input from
   * being copied whole into fresh memory: each part is copied into a buffer a worker has handed back.
   */
  private async runRows(method: RunMethod, input: RowsInput, rows: number | undefined): Promise<Rows> {
    this.live();
    const m = this.manifest;
    const x: PreparedRows =
      method === 'decode'
        ? prepareRows('decode', 'latents', input, 'float32', m.latentDim, rows)
        : prepareRows(method, 'input', input, m.inputDtype, m.inputDim, rows);
    const inCols = method === 'decode' ? m.latentDim : m.inputDim;
    const n = x.rows;
    const batches = Math.max(1, Math.ceil(n / this.batchSize));
    const perPart = Math.min(Math.ceil(batches / Math.min(this.workers, batches)), Math.ceil(TASK_ROWS / this.batchSize)) * this.batchSize;
    const parts: Array<Promise<RunResult>> = [];
    for (let first = 0; first < n || (n === 0 && first === 0); first += perPart) {
      const end = Math.min(n, first + perPart);
      const t = this.submit<RunResult>(() => {
        // A copy of just this part (posting a view would clone its whole buffer), moved to the worker.
        const data = this.copyOf(x.data, first * inCols, end * inCols);
        return [{ op: 'run', method, data, rows: end - first }, [data.buffer as ArrayBuffer]];
      }).catch((e: unknown) => {
        throw shiftRows(e, first);
      });
      parts.push(t);
      if (n === 0) break;
    }
    const results = await Promise.all(parts);
    if (results.length === 1) return results[0]!;
    const cols = results[0]!.cols;
    const out = results[0]!.data instanceof Uint8Array ? new Uint8Array(n * cols) : new Float32Array(n * cols);
    let o = 0;
    for (const r of results) {
      out.set(r.data, o);
      o += r.data.length;
    }
    return { data: out, rows: n, cols };
  }

  /** A copy of `a[start, end)` in a reused buffer when one is spare (the buffer is moved to a worker). */
  private copyOf<T extends Float32Array | Uint8Array>(a: T, start: number, end: number): T {
    const out = this.take(a instanceof Uint8Array ? Uint8Array : Float32Array, end - start) as T;
    out.set(a.subarray(start, end));
    return out;
  }

  /** A `length`-element array on a spare buffer (the smallest that fits) or on a new one. */
  private take<C extends Uint8ArrayConstructor | Float32ArrayConstructor>(Type: C, length: number): InstanceType<C> {
    const bytes = length * Type.BYTES_PER_ELEMENT;
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const b = this.spare[i]!.byteLength;
      if (b >= bytes && (best < 0 || b < this.spare[best]!.byteLength)) best = i;
    }
    const buffer = best >= 0 ? this.spare.splice(best, 1)[0]! : new ArrayBuffer(bytes);
    return new Type(buffer, 0, length) as InstanceType<C>;
  }

  private recycle(b: ArrayBuffer): void {
    if (this.disposed) return;
    // A few per worker (what the stream forms keep in flight, plus one being filled), SPARE_BYTES at
    // most, the largest kept: a large buffer serves any later request, a small one only small ones.
    // Keeping the first ones instead let one method's small buffers (decompress's payloads) fill the
    // list for good, and another's large rows (compress's) went to fresh memory every task.
    const spare = this.spare;
    spare.push(b);
    spare.sort((x, y) => y.byteLength - x.byteLength);
    const most = this.workers * (IN_FLIGHT_PER_WORKER + 1) + 1;
    let held = 0;
    let keep = 0;
    while (keep < spare.length && keep < most && held + spare[keep]!.byteLength <= SPARE_BYTES) held += spare[keep++]!.byteLength;
    spare.length = keep;
  }

  /** Queues a task for the least busy worker (at most IN_FLIGHT_PER_WORKER each). */
  protected submit<T>(build: Task['build']): Promise<T> {
    if (this.disposed) return Promise.reject(new DisposedError());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ build, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let best: Connection | undefined;
      for (const c of this.connections) if (c.inFlight < IN_FLIGHT_PER_WORKER && (best === undefined || c.inFlight < best.inFlight)) best = c;
      if (best === undefined) return;
      const task = this.queue.shift()!;
      let req: [RequestBody, ArrayBuffer[]];
      try {
        req = task.build();
      } catch (e) {
        task.reject(e);
        continue;
      }
      best.request(req[0], req[1]).then(
        (v) => {
          task.resolve(v);
          this.pump();
        },
        (e: unknown) => {
          task.reject(e);
          this.pump();
        },
      );
    }
  }
}

/** The payloads of consecutive container chunks, gathered (copied) into one decodeChunks task. */
class CodedGroup {
  private buffer: Uint8Array = new Uint8Array(0);
  private used = 0;
  private coded: CodedChunk[] = [];
  constructor(private readonly alloc: (bytes: number) => Uint8Array) {}
  get chunks(): number {
    return this.coded.length;
  }
  rows(): number[] {
    return this.coded.map((k) => k.rows);
  }
  add(r: { payload: Uint8Array; rows: number; index: number; offset: number }): void {
    const need = this.used + r.payload.length;
    if (need > this.buffer.length) {
      // The reader may reuse its bytes for the next chunk: copied here, into a buffer a worker handed back when one fits.
      const grown = this.alloc(Math.max(need, 2 * this.buffer.length, 1 << 16));
      grown.set(this.buffer.subarray(0, this.used));
      this.buffer = grown;
    }
    this.buffer.set(r.payload, this.used);
    this.used = need;
    this.coded.push({ rows: r.rows, bytes: r.payload.length, index: r.index, offset: r.offset });
  }
  take(): { data: Uint8Array; coded: CodedChunk[] } {
    const out = { data: this.buffer.subarray(0, this.used), coded: this.coded };
    this.buffer = new Uint8Array(0);
    this.used = 0;
    this.coded = [];
    return out;
  }
}
