/**
 * The Codec: a loaded aekit bundle that encodes rows to latents, decodes latents to rows and
 * reconstructs rows, on whichever execution provider the platform could start. Engine- and
 * platform-agnostic: no Node APIs here; the entry points (node.ts, web.ts) read bundles and pass in
 * their onnxruntime module through a `Platform`.
 */
import {
  type BundleManifest,
  BundleError,
  DisposedError,
  GRAPH_IO,
  type GraphName,
  LATENT_TABLES_KEY,
  type LatentTables,
  type OrtSession,
  type OrtSessionOptions,
  type OrtTensor,
  type OrtValueMetadata,
  MANIFEST_FILE,
  bundleGraphs,
  checkManifestFingerprint,
  parseManifest,
  decodeLatentTables,
  parseManifestText,
  sha256Hex,
} from '@aekit/core';
import { type Attempt, type Platform, candidates, noDeviceError } from './devices.js';
import { priorLatents } from './sample.js';
import { checkFinite } from './validate.js';
import { type PreparedRows, type RowsInput, prepareRows } from './input.js';
import {
  type CompressOptions,
  type CompressStream,
  type CompressStreamOptions,
  type DecompressOptions,
  type DecompressResult,
  type DecompressStream,
  compress,
  compressStream,
  decompress,
  decompressStream,
} from './compress/api.js';
import { compressCodecOf } from './compress/codec-methods.js';
import { checkGraphsAgainstManifest } from './integrity.js';
import type { FetchLike, ProgressCallback } from './fetch-web.js';

/**
 * A bundle already in memory: the manifest (object, JSON text or bytes), the three ONNX files (a
 * `part` bundle's one) and, when the manifest lists `files.latentTables`, the bytes of `latent_tables.bin`.
 */
export interface BundleBytes {
  manifest: BundleManifest | string | Uint8Array;
  files: Partial<Record<GraphName, Uint8Array>> & { latentTables?: Uint8Array };
}

export interface LoadOptions {
  /**
   * Where to run: Node `cpu` | `cuda` | `webgpu` | `auto` (cuda when it loads, else cpu). `auto` by
   * default. Unknown names throw a RangeError listing the valid ones.
   */
  device?: string;
  /** Intra-op threads (Node). Default: the platform's measured default (Node: 2 when 2+ cores). */
  threads?: number;
  /** Rows per onnxruntime call; larger inputs are split into batches of this size. Default 1024. */
  batchSize?: number;
  /**
   * Reject float inputs holding NaN / ±Infinity (RangeError naming row and column). Default true.
   * On the CPU with bundles whose encoder has an `x_check` output (exported by aekit ≥ this change) the
   * check rides on the first layer onnxruntime computes anyway and costs next to nothing (see
   * IN_GRAPH_CHECK_MIN_ROWS); otherwise every value is scanned in JavaScript (~1 ns each: about as long
   * as the default encoder itself at large batches, bench/runtime.bench.mjs), and turning it off for
   * data known to be finite pays. Uint8 input is never scanned.
   */
  checkFinite?: boolean;
  /**
   * fetch() used when `bundle` is an `http:`/`https:` URL (default: globalThis.fetch, which Node ≥ 18
   * and browsers have). For auth headers, caches, retries or a test double.
   */
  fetch?: FetchLike;
  /**
   * Called as an `http:`/`https:` bundle downloads: one step when each file's response starts
   * (`loaded` 0) and one per chunk received, with that file's `loaded` / `total` and the whole
   * bundle's `bundleLoaded` / `bundleTotal` (LoadProgress). The bodies are then read as streams. Not
   * called for directories, `file:` URLs or bytes. An exception it throws aborts the load.
   */
  onProgress?: ProgressCallback;
  /**
   * onnxruntime session options for every session the codec creates (see SessionOptions for which keys
   * are accepted and how they merge with aekit's). Checked when the codec loads: a TypeError or
   * RangeError names the key.
   */
  sessionOptions?: SessionOptions;
}

/** onnxruntime session config entries (`SessionOptions.extra`): nested objects of string values. */
export interface SessionConfigEntries {
  readonly [key: string]: string | SessionConfigEntries;
}

/**
 * The part of onnxruntime's `InferenceSession.SessionOptions` a codec passes through, in Node and in
 * browsers. Merged with aekit's own choices as follows:
 *
 * - **Your value wins** over aekit's default for `graphOptimizationLevel` (aekit: `'all'`),
 *   `executionMode` (`'sequential'`), `interOpNumThreads` (Node: 1), `logSeverityLevel` (browser: from
 *   `logLevel`, default 2 = warning) and the config entries in `extra` (merged key by key into aekit's;
 *   Node: `session.intra_op.allow_spinning: '0'`).
 * - **aekit's value wins** where it decides what runs: the execution providers come from `device`, the
 *   intra-op threads from `threads`, and on WebGPU `extra.session.disable_cpu_ep_fallback` is always
 *   `'1'` (a codec that loads on WebGPU runs every node there). Passing `executionProviders`,
 *   `intraOpNumThreads` or `preferredOutputLocation` here is a TypeError naming the option to use.
 * - Not accepted (TypeError): options that cannot hold for three graphs fed rows of any count
 *   (`optimizedModelFilePath`, `freeDimensionOverrides`, `enableGraphCapture`), and unknown keys.
 */
export interface SessionOptions {
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  executionMode?: 'sequential' | 'parallel';
  /** Threads that run independent nodes in parallel (`executionMode: 'parallel'`; Node). */
  interOpNumThreads?: number;
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  /** Writes an onnxruntime profile (`<profileFilePrefix>_<date>.json`) when each session is released (Node). */
  enableProfiling?: boolean;
  profileFilePrefix?: string;
  logId?: string;
  /** 0 verbose, 1 info, 2 warning, 3 error, 4 fatal. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  logVerbosityLevel?: number;
  /** Session config entries, e.g. `{ session: { intra_op: { allow_spinning: '1' } } }`. */
  extra?: SessionConfigEntries;
}

// The explicit-resource-management types for consumers whose TypeScript lib lacks them (no
// esnext.disposable, no @types/node), so that these declarations and `await using` type-check there:
// the same declarations as TypeScript's lib.esnext.disposable and @types/node's, with which they merge.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
  interface Disposable {
    [Symbol.dispose](): void;
  }
  interface AsyncDisposable {
    [Symbol.asyncDispose](): PromiseLike<void>;
  }
}

/**
 * The key of `[Symbol.asyncDispose]`. Engines without the well-known symbol (Node before 20.4/18.18,
 * older browsers) get the registered `Symbol.for('Symbol.asyncDispose')`, the key some polyfills use,
 * rather than a method named "undefined".
 */
const ASYNC_DISPOSE: typeof Symbol.asyncDispose = (Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose')) as typeof Symbol.asyncDispose;

/** Rows of a result: flat row-major values with their shape. */
export interface Rows<T extends Float32Array | Uint8Array = Float32Array | Uint8Array> {
  data: T;
  rows: number;
  cols: number;
}

export type InputArray = Float32Array | Uint8Array;
export type { RowsInput, TensorLike } from './input.js';

const DEFAULT_BATCH = 1024;
export { MAX_SAMPLE_ROWS } from './sample.js';

/**
 * The NaN/Infinity check of float input, by batch size. Graphs exported with an `x_check` output
 * (docs/bundle.md: the sum of the first layer's pre-activations, finite only if every input value
 * is; non-finite also when a huge finite sum overflows) let onnxruntime do the check with the layer it computes anyway; the JavaScript scan
 * (validate.ts) then runs only to name the row and column of a bad value, or to rule one out when
 * the sum overflowed. Measured on the trained 784-wide demo encoder (onnxruntime-node 1.30 CPU, 1
 * thread, CPU µs per call, median of 9, 2026-11-26), run fetching [z, x_check] vs JS scan + run
 * fetching [z]: batch 1: 15.0 vs 13.7; 2: 15.3 vs 14.3; 4: 15.6 vs 16.4; 8: 18.6 vs 20.8; 16: 23.7 vs
 * 29.2; at 1024 the scan adds 60–100 % to the encoder, x_check ~0 (bench/runtime.bench.mjs). So
 * batches of at least this many rows use x_check.
 * Only on the CPU EP, whose MLAS float kernels follow IEEE NaN/Infinity rules (WebGPU shaders may assume
 * finite math, so other devices keep the JavaScript scan), and only for float32 / float16 weights
 * (IN_GRAPH_CHECK_WEIGHTS): an int8 bundle's first layer runs as onnxruntime 1.30's MatMulNBits, which
 * let NaN/±Infinity through to a finite x_check in 759 of 2352 single-value cases tried on the demo
 * model (float32 and float16: 0 of 2352).
 * Overlapping the JavaScript scan with `session.run` is not possible: onnxruntime-node 1.30's run
 * (dist/backend.js) calls the native session synchronously inside a setImmediate, on the main thread.
 */
export const IN_GRAPH_CHECK_MIN_ROWS = 4;

/** Weight formats whose first layer computes in float arithmetic, so x_check can be trusted. */
const IN_GRAPH_CHECK_WEIGHTS: readonly string[] = ['float32', 'float16'];

/** One graph ready to run: its session and the names of the tensors the codec feeds and reads. */
interface Graph {
  session: OrtSession;
  input: string;
  output: string;
  /** The `x_check` output, when the graph has one and the device can be trusted with it. */
  check?: string;
  /** The fetch lists `run` passes ([output], [output, check]), built once rather than per call. */
  fetch: readonly string[];
  fetchWithCheck?: readonly string[];
}

/** Which check `run` applies to float input: the method and argument named in its RangeError. */
interface FiniteCheck {
  method: string;
  what: string;
}

/** What `Codec.open` hands the constructor. Internal: build codecs with `Codec.load` of an entry point. */
export interface CodecInit {
  platform: Platform;
  manifest: BundleManifest;
  device: string;
  deviceNotes: readonly Attempt[];
  /** The bundle's graphs: all three, or a `part` bundle's one. */
  graphs: Partial<Record<GraphName, Graph>>;
  batchSize: number;
  checkFinite: boolean;
  threads: number;
  latentTables?: LatentTables | undefined;
}

export class Codec {
  /** The bundle's manifest (validated). */
  readonly manifest: BundleManifest;
  /** The execution provider that runs the graphs: `cpu`, `cuda`, `webgpu`, `wasm`. */
  readonly device: string;
  /** Devices tried before the one that runs, and why each was passed over (empty when the first worked). */
  readonly deviceNotes: readonly Attempt[];
  /** Intra-op threads the sessions were created with. */
  readonly threads: number;
  readonly batchSize: number;
  /**
   * The entropy coder's per-dimension tables (`latent_tables.bin`, verified and parsed) when the
   * manifest lists them: `compress` then codes latents with them by default (latent type `entropy`).
   */
  readonly latentTables: LatentTables | undefined;
  protected readonly platform: Platform;
  private readonly graphs: Partial<Record<GraphName, Graph>>;
  private readonly finiteCheck: boolean;
  private disposed = false;
  /**
   * Runs not yet settled, and what wakes dispose() when the last one settles: dispose() waits for
   * them before releasing the sessions. A counter, not a Set of promises with a `then` each: the
   * bookkeeping is paid on every call (bench/codec-overhead.bench.mjs).
   */
  private running = 0;
  private whenIdle: (() => void) | undefined;

  /** @internal use `Codec.load` from `@aekit/runtime`. */
  constructor(init: CodecInit) {
    this.platform = init.platform;
    this.manifest = init.manifest;
    this.device = init.device;
    this.deviceNotes = init.deviceNotes;
    this.graphs = init.graphs;
    this.batchSize = init.batchSize;
    this.finiteCheck = init.checkFinite;
    this.threads = init.threads;
    this.latentTables = init.latentTables;
  }

  get inputDim(): number {
    return this.manifest.inputDim;
  }

  get latentDim(): number {
    return this.manifest.latentDim;
  }

  /**
   * Validates the bundle (manifest format and version, each file's SHA-256), then creates its three
   * sessions on the first candidate device that works. Entry points wrap this as `Codec.load`.
   */
  protected static async open<C extends Codec>(
    this: new (init: CodecInit) => C,
    platform: Platform,
    bundle: BundleBytes,
    options: LoadOptions = {},
  ): Promise<C> {
    const opts = checkOptions(options, platform);
    const { manifest, latentTables } = await verifyBundleFiles(bundle);
    const attempts: Attempt[] = [];
    for (const name of candidates(platform, opts.device)) {
      const provider = platform.devices[name]!;
      const unavailable = provider.unavailable?.();
      if (unavailable !== undefined) {
        attempts.push({ device: name, reason: unavailable });
        continue;
      }
      const sessionOptions = buildSessionOptions(platform, opts.threads, opts.sessionOptions, provider.executionProviders, provider.noCpuFallback);
      try {
        const graphs = await createGraphs(platform, bundle.files, manifest, sessionOptions, provider.ep === 'cpu');
        return new this({
          platform,
          manifest,
          device: provider.ep,
          deviceNotes: attempts,
          graphs,
          batchSize: opts.batchSize,
          checkFinite: opts.checkFinite,
          threads: opts.threads,
          latentTables,
        });
      } catch (e) {
        if (e instanceof BundleError) throw e;
        attempts.push({ device: name, reason: provider.explain?.(e) ?? firstLine(e) });
      }
    }
    throw noDeviceError(opts.device, attempts);
  }

  /**
   * Latent codes of the rows: `[rows, latentDim]` float32 (a VAE's z_mean). `input`: raw-unit rows as
   * a Float32Array, Uint8Array (Buffer), number[][] or onnxruntime Tensor (see RowsInput); converted
   * once to the encoder's dtype, not copied when it already is.
   */
  encode(input: RowsInput, rows?: number): Promise<Rows<Float32Array>> {
    // Not `async`: the promise of `run` is returned as is (an async wrapper costs ~1 % at batch 64);
    // argument errors still reject rather than throw.
    try {
      const x = this.prepareInput('encode', input, rows);
      const check = this.finiteCheckOf('encode', x);
      return this.run(this.graph('encode', 'encoder'), x.data, x.rows, this.manifest.inputDim, this.manifest.latentDim, check, x.castToFloat32) as Promise<Rows<Float32Array>>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Rows decoded from latents (`[rows, latentDim]`: a Float32Array, number[][] or float32 Tensor):
   * float32, or uint8 when the bundle outputs uint8.
   */
  decode(latents: RowsInput, rows?: number): Promise<Rows> {
    try {
      if (this.disposed) throw new DisposedError();
      const graph = this.graph('decode', 'decoder');
      const z = prepareRows('decode', 'latents', latents, 'float32', this.manifest.latentDim, rows);
      if (this.finiteCheck && !z.integral) checkFinite('decode', 'latents', z.data as Float32Array, this.manifest.latentDim);
      return this.run(graph, z.data, z.rows, this.manifest.latentDim, this.manifest.inputDim, undefined, z.castToFloat32);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * `n` new rows generated by a VAE bundle (manifest variant `vae`): latents drawn from the prior
   * N(0, I) with a generator seeded by `seed` (same seed, same rows), then decoded. A plain
   * autoencoder has no prior to draw from: BundleError.
   */
  async sample(n: number, seed = 0): Promise<Rows> {
    if (this.disposed) throw new DisposedError();
    return this.decode(priorLatents(this.manifest, n, seed), n);
  }

  /** decode(encode(rows)) in one pass through the autoencoder graph; `input` as for `encode`. */
  reconstruct(input: RowsInput, rows?: number): Promise<Rows> {
    try {
      const x = this.prepareInput('reconstruct', input, rows);
      const check = this.finiteCheckOf('reconstruct', x);
      return this.run(this.graph('reconstruct', 'autoencoder'), x.data, x.rows, this.manifest.inputDim, this.manifest.inputDim, check, x.castToFloat32);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Rows → an `.aez` container (docs/format.md): latents quantised to uint8 and entropy-coded with the
   * bundle's latent tables (`entropy`, the default when it has them), `uint8` (the default otherwise),
   * `float16` or `float32`, in CRC-checked chunks, fingerprinted with this bundle's decoder SHA-256.
   */
  async compress(rows: InputArray, options?: CompressOptions): Promise<Uint8Array> {
    return compress(compressCodecOf(this), rows, options);
  }

  /** `.aez` bytes → reconstructed rows; a file from another bundle, damaged or truncated → ContainerError. */
  async decompress(bytes: Uint8Array, options?: DecompressOptions): Promise<DecompressResult> {
    return decompress(compressCodecOf(this), bytes, options);
  }

  /** Web-stream compression (rows in, container bytes out), one chunk of rows in memory at a time. */
  compressStream(options?: CompressStreamOptions): CompressStream {
    return compressStream(compressCodecOf(this), options);
  }

  /** Web-stream decompression (container bytes in, reconstructed rows out). */
  decompressStream(options?: DecompressOptions): DecompressStream {
    return decompressStream(compressCodecOf(this), options);
  }

  /**
   * Releases the sessions. Further calls throw a DisposedError; calls in flight finish the batch
   * onnxruntime is running and then fail with a DisposedError (a single-batch call completes), and
   * the sessions are released once they have settled.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.running > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
    await Promise.all(Object.values(this.graphs).map((g) => g.session.release()));
  }

  /**
   * `await using codec = await Codec.load(…)` disposes the codec when the block exits: the same as
   * `await codec.dispose()`. There is no `[Symbol.dispose]` (plain `using`): releasing the sessions is
   * asynchronous, and a synchronous dispose could neither wait for it nor report its failure.
   */
  [ASYNC_DISPOSE](): Promise<void> {
    return this.dispose();
  }

  /** The graph `method` runs; a BundleError when this is a `part` bundle without it. */
  private graph(method: string, g: GraphName): Graph {
    const graph = this.graphs[g];
    if (graph !== undefined) return graph;
    const part = String(this.manifest.part);
    throw new BundleError(
      g === 'autoencoder'
        ? `${method}: this bundle is the ${part} alone (manifest part "${part}"); ${method} needs the whole autoencoder: export the model without --part`
        : `${method}: this bundle is the ${part} alone (manifest part "${part}"); ${method} needs the ${g}: export it with aekit export --part ${g}, or export the whole autoencoder`,
    );
  }

  /**
   * Rows in the encoder's dtype (input.ts: one conversion at most, none when the type already fits),
   * their count, and whether they are integers (finite by construction).
   */
  protected prepareInput(method: string, input: RowsInput, rows?: number): PreparedRows {
    if (this.disposed) throw new DisposedError();
    return prepareRows(method, 'input', input, this.manifest.inputDtype, this.manifest.inputDim, rows);
  }

  /** The NaN/Infinity check `run` owes float input (none for integer data, or with `checkFinite: false`). */
  protected finiteCheckOf(method: string, input: PreparedRows): FiniteCheck | undefined {
    return this.finiteCheck && !input.integral && input.data instanceof Float32Array ? { method, what: 'input' } : undefined;
  }

  /**
   * Runs `graph` over `n` rows in batches of `batchSize`; one batch returns onnxruntime's array as is.
   * With `check`, each batch's float input is proven finite before its result is used: by the graph's
   * x_check output for batches of IN_GRAPH_CHECK_MIN_ROWS rows or more, else by the JavaScript scan.
   */
  private async run(graph: Graph, input: InputArray, n: number, inCols: number, outCols: number, check?: FiniteCheck, castToFloat32 = false): Promise<Rows> {
    // One async function for the whole call (batches in a loop, not an async helper per batch): each
    // async layer or closure between the caller and session.run cost ~1 % of a 64-row call, as the
    // JavaScript runs with caches cold from onnxruntime's kernels (bench/codec-overhead.bench.mjs).
    this.running++; // synchronously, before the first await: a dispose() called next waits for this run
    try {
      const { Tensor } = this.platform.ort;
      const batchSize = this.batchSize;
      // Uint8 rows for a float32 graph are cast a batch at a time into one reused buffer: a whole-input
      // Float32Array of fresh memory costs more than the cast itself (10 000 × 784: ~30 ms vs ~3 ms).
      const scratch = castToFloat32 ? new Float32Array(Math.min(n, batchSize) * inCols) : undefined;
      let result: Float32Array | Uint8Array | undefined;
      let start = 0;
      do {
        const rows = Math.min(batchSize, n - start);
        const data = rows === n ? input : input.subarray(start * inCols, (start + rows) * inCols);
        const inGraph = check !== undefined && graph.check !== undefined && rows >= IN_GRAPH_CHECK_MIN_ROWS;
        if (check !== undefined && !inGraph) checkFinite(check.method, check.what, data as Float32Array, inCols, start);
        // dispose() between batches: stop here rather than hand onnxruntime a released session.
        if (this.disposed) throw new DisposedError();
        let tensor: OrtTensor;
        if (scratch !== undefined) {
          const f = scratch.subarray(0, data.length);
          f.set(data);
          tensor = new Tensor('float32', f, [rows, inCols]);
        } else {
          tensor = data instanceof Float32Array ? new Tensor('float32', data, [rows, inCols]) : new Tensor('uint8', data, [rows, inCols]);
        }
        let out: Record<string, OrtTensor>;
        try {
          out = await graph.session.run({ [graph.input]: tensor }, inGraph ? graph.fetchWithCheck! : graph.fetch);
        } catch (e) {
          if (this.disposed) throw new DisposedError();
          throw e;
        }
        if (inGraph && !Number.isFinite(scalar(out[graph.check!]))) {
          // A bad value, or a sum that overflowed: the scan names the first bad value, or finds none.
          checkFinite(check.method, check.what, data as Float32Array, inCols, start);
        }
        const o = outputData(out[graph.output]!);
        // One batch: onnxruntime's array as is, no copy.
        if (rows === n) return { data: o, rows: n, cols: outCols };
        result ??= o instanceof Float32Array ? new Float32Array(n * outCols) : new Uint8Array(n * outCols);
        result.set(o, start * outCols);
        start += rows;
      } while (start < n);
      return { data: result!, rows: n, cols: outCols };
    } finally {
      if (--this.running === 0) this.whenIdle?.();
    }
  }
}

/** The value of a scalar float32 output (NaN when it is missing or not one). */
function scalar(t: OrtTensor | undefined): number {
  const d = t?.data;
  return d instanceof Float32Array && d.length === 1 ? d[0]! : Number.NaN;
}

function outputData(t: OrtTensor): Float32Array | Uint8Array {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Uint8Array) return d;
  throw new TypeError(`the model returned ${t.type} data; aekit bundles output float32 or uint8`);
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n').find((l) => l.trim() !== '') ?? m).trim();
}

interface CheckedOptions {
  device: string;
  threads: number;
  batchSize: number;
  checkFinite: boolean;
  sessionOptions: SessionOptions;
}

/** SessionOptions keys aekit decides itself, and the LoadOptions that sets each. */
const OWNED_SESSION_KEYS: Readonly<Record<string, string>> = {
  executionProviders: 'the execution provider comes from the device option',
  intraOpNumThreads: 'intra-op threads come from the threads option',
  preferredOutputLocation: 'the codec reads every output on the CPU',
  optimizedModelFilePath: 'the codec creates up to three sessions, which would write one file',
  freeDimensionOverrides: 'the codec runs batches of any number of rows',
  enableGraphCapture: 'the codec feeds CPU tensors of varying shape',
};

const SESSION_CHOICES = {
  graphOptimizationLevel: ['disabled', 'basic', 'extended', 'layout', 'all'],
  executionMode: ['sequential', 'parallel'],
} as const;
const SESSION_BOOLEANS = ['enableCpuMemArena', 'enableMemPattern', 'enableProfiling'] as const;
const SESSION_STRINGS = ['profileFilePrefix', 'logId'] as const;
const SESSION_KEYS = [...Object.keys(SESSION_CHOICES), 'interOpNumThreads', ...SESSION_BOOLEANS, ...SESSION_STRINGS, 'logSeverityLevel', 'logVerbosityLevel', 'extra'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkConfigEntries(v: unknown, path: string): void {
  if (!isPlainObject(v)) throw new TypeError(`sessionOptions.${path} must be an object of config entries (string values), got ${Array.isArray(v) ? 'an array' : typeof v}`);
  for (const [k, e] of Object.entries(v)) {
    if (typeof e === 'string') continue;
    if (isPlainObject(e)) checkConfigEntries(e, `${path}.${k}`);
    else throw new TypeError(`sessionOptions.${path}.${k} must be a string (onnxruntime config entries are strings, e.g. '1') or an object, got ${typeof e}`);
  }
}

/** Checks `sessionOptions` key by key (TypeError / RangeError naming the key); returns a copy. */
export function checkSessionOptions(o: unknown): SessionOptions {
  if (o === undefined) return {};
  if (!isPlainObject(o)) throw new TypeError(`sessionOptions must be an object, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`);
  for (const [key, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (Object.hasOwn(OWNED_SESSION_KEYS, key)) {
      throw new TypeError(`sessionOptions.${key} is not accepted: ${OWNED_SESSION_KEYS[key]}`);
    }
    if (Object.hasOwn(SESSION_CHOICES, key)) {
      const valid: readonly string[] = SESSION_CHOICES[key as keyof typeof SESSION_CHOICES];
      if (typeof v !== 'string' || !valid.includes(v)) {
        throw new RangeError(`sessionOptions.${key} must be one of ${valid.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(v) ?? String(v)}`);
      }
    } else if ((SESSION_BOOLEANS as readonly string[]).includes(key)) {
      if (typeof v !== 'boolean') throw new TypeError(`sessionOptions.${key} must be a boolean, got ${typeof v}`);
    } else if ((SESSION_STRINGS as readonly string[]).includes(key)) {
      if (typeof v !== 'string') throw new TypeError(`sessionOptions.${key} must be a string, got ${typeof v}`);
    } else if (key === 'interOpNumThreads') {
      positiveInt('sessionOptions.interOpNumThreads', v, 1024);
    } else if (key === 'logSeverityLevel') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4) {
        throw new RangeError(`sessionOptions.logSeverityLevel must be an integer from 0 (verbose) to 4 (fatal), got ${String(v)}`);
      }
    } else if (key === 'logVerbosityLevel') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        throw new RangeError(`sessionOptions.logVerbosityLevel must be a non-negative integer, got ${String(v)}`);
      }
    } else if (key === 'extra') {
      checkConfigEntries(v, 'extra');
    } else {
      throw new TypeError(`sessionOptions.${key} is not an option aekit passes to onnxruntime; accepted: ${SESSION_KEYS.join(', ')}`);
    }
  }
  return structuredClone(o) as SessionOptions;
}

/** `over` merged into `base` key by key (nested objects merged, other values replaced). */
function mergeEntries(base: Readonly<Record<string, unknown>> | undefined, over: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(over ?? {})) {
    const b = out[k];
    out[k] = isPlainObject(v) && isPlainObject(b) ? mergeEntries(b, v) : v;
  }
  return out;
}

/**
 * The options a session is created with: aekit's defaults, then the user's `sessionOptions` over them,
 * then what aekit decides (execution providers, intra-op threads, CPU fallback off) over both. The
 * precedence is documented on SessionOptions.
 */
export function mergeSessionOptions(defaults: OrtSessionOptions, user: SessionOptions, forced: OrtSessionOptions): OrtSessionOptions {
  const { extra: userExtra, ...userRest } = user;
  const { extra: forcedExtra, ...forcedRest } = forced;
  const extra = mergeEntries(mergeEntries(defaults.extra, userExtra), forcedExtra);
  return { ...defaults, ...userRest, ...forcedRest, extra };
}

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

function checkOptions(o: LoadOptions, platform: Platform): CheckedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const device = o.device ?? 'auto';
  candidates(platform, device); // throws for unknown names before any work
  if (o.checkFinite !== undefined && typeof o.checkFinite !== 'boolean') {
    throw new TypeError(`checkFinite must be a boolean, got ${typeof o.checkFinite}`);
  }
  return {
    device,
    threads: o.threads === undefined ? platform.defaultThreads : positiveInt('threads', o.threads, 1024),
    batchSize: o.batchSize === undefined ? DEFAULT_BATCH : positiveInt('batchSize', o.batchSize, 1 << 24),
    checkFinite: o.checkFinite ?? true,
    sessionOptions: checkSessionOptions(o.sessionOptions),
  };
}

function buildSessionOptions(
  platform: Platform,
  threads: number,
  user: SessionOptions,
  executionProviders: OrtSessionOptions['executionProviders'],
  noCpuFallback: boolean,
): OrtSessionOptions {
  const { intraOpNumThreads, ...base } = platform.threadOptions(threads);
  const forced: OrtSessionOptions = { executionProviders };
  if (intraOpNumThreads !== undefined) forced.intraOpNumThreads = intraOpNumThreads;
  if (noCpuFallback) forced.extra = { session: { disable_cpu_ep_fallback: '1' } };
  return mergeSessionOptions({ graphOptimizationLevel: 'all', executionMode: 'sequential', ...base }, user, forced);
}

/** Parses the manifest and checks every file against its SHA-256 (and size) before anything runs. */
export async function verifyBundle(bundle: BundleBytes): Promise<BundleManifest> {
  return (await verifyBundleFiles(bundle)).manifest;
}

/** Checks a file's size and SHA-256 against its manifest entry (BundleError naming the file). */
async function verifyFile(entry: { path: string; sha256: string; bytes?: number }, bytes: Uint8Array): Promise<void> {
  if (entry.bytes !== undefined && bytes.byteLength !== entry.bytes) {
    throw new BundleError(
      `${entry.path} has ${bytes.byteLength} bytes but the manifest records ${entry.bytes}: the file is truncated ` +
        'or was replaced; re-export the bundle',
      { file: entry.path },
    );
  }
  const actual = await sha256Hex(bytes);
  if (actual !== entry.sha256) {
    throw new BundleError(
      `${entry.path} fails its integrity check: SHA-256 ${actual} but the manifest records ${entry.sha256}; ` +
        'the file was modified or corrupted, re-export the bundle',
      { file: entry.path },
    );
  }
}

/** verifyBundle, plus the parsed latent tables when the manifest lists them. */
export async function verifyBundleFiles(bundle: BundleBytes): Promise<{ manifest: BundleManifest; latentTables: LatentTables | undefined }> {
  if (typeof bundle !== 'object' || bundle === null || typeof bundle.files !== 'object' || bundle.files === null) {
    throw new TypeError('bundle must be a directory path or { manifest, files: { encoder, decoder, autoencoder } }');
  }
  const m = bundle.manifest;
  // objects are copied, so a caller mutating its manifest later cannot change a loaded codec's
  const manifest = typeof m === 'string' || m instanceof Uint8Array ? parseManifestText(m) : parseManifest(structuredClone(m));
  // A manifest edited after export fails here, naming the field group, before the files are hashed.
  await checkManifestFingerprint(manifest, MANIFEST_FILE);
  await Promise.all(
    bundleGraphs(manifest).map(async (g) => {
      const entry = manifest.files[g];
      const bytes = bundle.files[g];
      if (!(bytes instanceof Uint8Array)) {
        throw new BundleError(`the bundle has no ${g} graph (${entry.path}); re-export it`, { file: entry.path });
      }
      await verifyFile(entry, bytes);
    }),
  );
  const entry = manifest.files.latentTables;
  if (entry === undefined) {
    checkGraphsAgainstManifest(manifest, bundle.files);
    return { manifest, latentTables: undefined };
  }
  const bytes = bundle.files[LATENT_TABLES_KEY];
  if (!(bytes instanceof Uint8Array)) {
    throw new BundleError(`the bundle has no latent tables (${entry.path}, listed in the manifest's files.latentTables); re-export it`, {
      file: entry.path,
    });
  }
  await verifyFile(entry, bytes);
  checkGraphsAgainstManifest(manifest, bundle.files);
  const latentTables = decodeLatentTables(bytes, entry.path);
  if (latentTables.dims !== manifest.latentDim) {
    throw new BundleError(
      `${entry.path} holds tables for ${latentTables.dims} latent dimensions but the bundle has ${manifest.latentDim}; re-export the bundle`,
      { file: entry.path },
    );
  }
  return { manifest, latentTables };
}

/** onnxruntime messages that mean the model bytes are bad, whatever the device. */
const MODEL_REJECTED =
  /protobuf parsing failed|INVALID_PROTOBUF|INVALID_GRAPH|Load model from .* failed|No graph was found|invalid model|No Op registered|Missing opset|core\/graph\/(model|graph)\.cc/i;

/** Picks the output a graph's callers want: `preferred` names first, else the first output. */
function pick(names: readonly string[], preferred: readonly string[]): string {
  return preferred.find((p) => names.includes(p)) ?? names[0]!;
}

/**
 * The widths and dtypes a graph declares must be the manifest's: a manifest that disagrees with its
 * graphs is refused at load time rather than failing on the first run with a shape error.
 */
function checkWidths(g: GraphName, manifest: BundleManifest, graph: Graph): void {
  const expect = {
    encoder: { input: [manifest.inputDim, manifest.inputDtype], output: [manifest.latentDim, 'float32'] },
    decoder: { input: [manifest.latentDim, 'float32'], output: [manifest.inputDim, manifest.outputDtype] },
    autoencoder: { input: [manifest.inputDim, manifest.inputDtype], output: [manifest.inputDim, manifest.outputDtype] },
  }[g];
  const check = (side: 'input' | 'output', meta: readonly OrtValueMetadata[] | undefined, name: string) => {
    const m = meta?.find((v) => v.name === name);
    if (m === undefined || !m.isTensor) return; // older onnxruntime: nothing to compare
    const [width, dtype] = expect[side];
    const last = m.shape?.[m.shape.length - 1];
    if ((typeof last === 'number' && last !== width) || (m.type !== undefined && m.type !== dtype)) {
      throw new BundleError(
        `${manifest.files[g].path}: ${side} "${name}" is ${m.type ?? '?'} [${(m.shape ?? []).join(', ')}] but the manifest ` +
          `says ${width} × ${dtype}; the manifest does not belong to these graphs, re-export the bundle`,
        { file: manifest.files[g].path },
      );
    }
  };
  check('input', graph.session.inputMetadata, graph.input);
  check('output', graph.session.outputMetadata, graph.output);
}

async function createGraphs(
  platform: Platform,
  files: BundleBytes['files'],
  manifest: BundleManifest,
  options: OrtSessionOptions,
  trustInGraphCheck: boolean,
): Promise<Partial<Record<GraphName, Graph>>> {
  const created: OrtSession[] = [];
  try {
    const make = async (g: GraphName, inputs: string[], outputs: string[]): Promise<Graph> => {
      let session: OrtSession;
      try {
        session = await platform.ort.InferenceSession.create(files[g]!, options);
      } catch (e) {
        // onnxruntime refusing the model itself (not the device) is the file's fault: name it.
        if (MODEL_REJECTED.test(firstLine(e))) {
          throw new BundleError(`${manifest.files[g].path} cannot be loaded by onnxruntime (${firstLine(e)}): the file is damaged or not an aekit graph; re-export the bundle`, {
            file: manifest.files[g].path,
            cause: e,
          });
        }
        throw e;
      }
      created.push(session);
      if (session.inputNames.length === 0 || session.outputNames.length === 0) {
        throw new BundleError(`${manifest.files[g].path} has no inputs or no outputs: not an aekit ${g} graph`);
      }
      const output = pick(session.outputNames, outputs);
      const graph: Graph = { session, input: pick(session.inputNames, inputs), output, fetch: [output] };
      checkWidths(g, manifest, graph);
      // Older bundles have no x_check: the codec scans their float input in JavaScript.
      const trusted = trustInGraphCheck && IN_GRAPH_CHECK_WEIGHTS.includes(manifest.weights) && manifest.inputDtype === 'float32';
      if (trusted && g !== 'decoder' && session.outputNames.includes(GRAPH_IO.xCheck)) {
        graph.check = GRAPH_IO.xCheck;
        graph.fetchWithCheck = [output, GRAPH_IO.xCheck];
      }
      return graph;
    };
    const io: Record<GraphName, [string[], string[]]> = {
      encoder: [[GRAPH_IO.x], [GRAPH_IO.z, GRAPH_IO.zMean]],
      decoder: [[GRAPH_IO.z], [GRAPH_IO.xHat]],
      autoencoder: [[GRAPH_IO.x], [GRAPH_IO.xHat]],
    };
    const graphs: Partial<Record<GraphName, Graph>> = {};
    // Sequential: sessions on one device are created one at a time (required on WebGPU in browsers).
    for (const g of bundleGraphs(manifest)) graphs[g] = await make(g, ...io[g]);
    return graphs;
  } catch (e) {
    await Promise.allSettled(created.map((s) => s.release()));
    throw e;
  }
}
