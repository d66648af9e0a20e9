/**
 * The browser Codec: the engine-agnostic core (codec.ts) on onnxruntime-web, with bundles loaded from
 * URLs or bytes and devices `webgpu` | `wasm` | `auto` (the wasm-only entry: `wasm` | `auto`).
 *
 * On WebGPU, `reconstruct` runs the encoder then the decoder with the latents kept in a GPU buffer
 * between them (`preferredOutputLocation: 'gpu-buffer'`): only the rows go up and the
 * reconstructions come down.
 */
import type * as Ort from 'onnxruntime-web';
import { DisposedError, GRAPH_IO, type GraphName, type OrtModule } from '@aekit/core';
import {
  type BundleBytes,
  Codec as CodecCore,
  type InputArray,
  type LoadOptions,
  type Rows,
  type RowsInput,
  type SessionOptions,
  checkSessionOptions,
  mergeSessionOptions,
} from './codec.js';
import { type WebDevice, webPlatform, webgpuUnavailableReason } from './device-web.js';
import { fetchBundle } from './fetch-web.js';
import { checkFinite } from './validate.js';
import { asGraphInput } from './input.js';

export type OrtWeb = typeof Ort;

/**
 * An onnxruntime-web build and what it offers: the entry point `@aekit/runtime` (browser) uses the
 * full build (WebGPU + wasm, `ort-wasm-simd-threaded.jsep.wasm`), `@aekit/runtime/wasm` the wasm-only
 * one (`ort-wasm-simd-threaded.wasm`, half the size).
 */
export interface WebRuntime {
  /** The entry point, for messages. */
  readonly entry: string;
  readonly loadOrt: () => Promise<OrtWeb>;
  readonly webgpu: boolean;
  /** The files onnxruntime-web fetches at run time, for messages. */
  readonly wasmFiles: string;
  /** Set once this build's wasm module started: its thread count and file location are fixed then. */
  started?: { threads: number; wasmPaths: string };
}

export type WebLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
const SEVERITY: Record<WebLogLevel, 0 | 1 | 2 | 3 | 4> = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 };

export interface WebLoadOptions extends Omit<LoadOptions, 'device'> {
  /** `webgpu`, `wasm`, or `auto` (default: WebGPU when a real adapter exists, else wasm, logging why). */
  device?: WebDevice;
  /**
   * wasm threads. Used only when the page is cross-origin isolated (headers
   * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`);
   * otherwise 1. onnxruntime-web fixes the count when its first session starts: later loads on the
   * same page keep it. Default: isolated → half the cores (at most 4), else 1.
   */
  threads?: number;
  /**
   * Where onnxruntime-web fetches `ort-wasm-simd-threaded.jsep.{mjs,wasm}` (the wasm-only entry:
   * `ort-wasm-simd-threaded.{mjs,wasm}`): a URL prefix (e.g. `/ort/`) or the two file URLs. Default:
   * next to onnxruntime-web's script. Fixed once its first session starts.
   */
  wasmPaths?: string | { mjs?: string; wasm?: string };
  /** onnxruntime's log level; `verbose` prints the execution provider of every node (to console.error). */
  logLevel?: WebLogLevel;
  /** Where load notes go (device fallback, thread count). Default: console.info. */
  log?: (message: string) => void;
}

interface GpuChain {
  encoder: Ort.InferenceSession;
  decoder: Ort.InferenceSession;
  x: string;
  z: string;
  zIn: string;
  xHat: string;
}

/**
 * onnxruntime-web resolves relative wasmPaths against its own script (a hashed chunk after bundling);
 * users mean the page, so relative paths are resolved against the document here.
 */
function absolutePaths(p: string | { mjs?: string; wasm?: string }): string | { mjs?: string; wasm?: string } {
  const base = (globalThis as { document?: { baseURI: string } }).document?.baseURI;
  if (base === undefined) return p;
  const abs = (u: string) => new URL(u, base).href;
  if (typeof p === 'string') return abs(p);
  return { ...(p.mjs !== undefined ? { mjs: abs(p.mjs) } : {}), ...(p.wasm !== undefined ? { wasm: abs(p.wasm) } : {}) };
}

function describePaths(p: WebLoadOptions['wasmPaths']): string {
  if (p === undefined) return "onnxruntime-web's default location (next to its script)";
  const a = absolutePaths(p);
  return typeof a === 'string' ? a : JSON.stringify(a);
}

function isolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * Half the cores, at most 4 (onnxruntime-web's own rule), leaving the rest to the page. Measured in
 * Chromium on 2 cores (test/browser/measure-latency.mjs): a second thread did not help batch 1 and
 * made a 256-row reconstruct several times slower, so 2 cores get 1 thread.
 */
function defaultThreads(): number {
  if (!isolated()) return 1;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, Math.ceil(cores / 2)));
}

/** Sets onnxruntime-web's page-wide settings before its first session; returns the threads that will run. */
function configureOrt(runtime: WebRuntime, ort: OrtWeb, options: WebLoadOptions, log: (m: string) => void): number | undefined {
  const asked = options.threads;
  if (asked !== undefined && (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1)) return asked; // the core throws
  const paths = describePaths(options.wasmPaths);
  const started = runtime.started;
  if (started !== undefined) {
    if (asked !== undefined && asked !== started.threads) {
      log(`aekit: threads ${asked} ignored: onnxruntime-web already runs ${started.threads} on this page (reload to change)`);
    }
    if (options.wasmPaths !== undefined && paths !== started.wasmPaths) {
      log(`aekit: wasmPaths ${paths} ignored: onnxruntime-web already loaded from ${started.wasmPaths}`);
    }
    return started.threads;
  }
  let threads = asked ?? defaultThreads();
  if (threads > 1 && !isolated()) {
    log(
      `aekit: ${threads} wasm threads asked, but the page is not cross-origin isolated (send ` +
        'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp); using 1',
    );
    threads = 1;
  }
  ort.env.wasm.numThreads = threads;
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = absolutePaths(options.wasmPaths);
  if (options.logLevel !== undefined) ort.env.logLevel = options.logLevel;
  return threads;
}

/**
 * The browser codec, shared by the entries `@aekit/runtime` (browser; web.ts) and `@aekit/runtime/wasm`
 * (wasm.ts), which subclass it with a `load` on their onnxruntime-web build. Neither build is imported
 * here, so that a bundle of one entry holds no reference to the other build (and its .wasm).
 */
export class WebCodec extends CodecCore {
  private chain: GpuChain | undefined;
  private checkValues = true;
  private released = false;
  private queue: Promise<unknown> = Promise.resolve();
  private latentLocationValue: string | undefined;
  private ort!: OrtWeb;

  /**
   * `Codec.load` of the browser entries, on their onnxruntime-web build. Called on the entry's class,
   * whose instance it returns (`open` constructs `this`).
   */
  protected static async loadOn(runtime: WebRuntime, bundle: string | URL | BundleBytes, options: WebLoadOptions): Promise<WebCodec> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (!runtime.webgpu && options.device === 'webgpu') {
      throw new RangeError(
        `device "webgpu" is not available from ${runtime.entry}, which ships onnxruntime-web's wasm-only build; ` +
          "use device 'wasm' (or 'auto'), or the full entry '@aekit/runtime' for WebGPU",
      );
    }
    if (options.logLevel !== undefined && !Object.hasOwn(SEVERITY, options.logLevel)) {
      throw new RangeError(`unknown logLevel ${JSON.stringify(options.logLevel)}; valid: ${Object.keys(SEVERITY).join(', ')}`);
    }
    checkSessionOptions(options.sessionOptions); // before any download (Codec.open checks the rest)
    const log = options.log ?? ((m: string) => console.info(m));
    const bytes =
      typeof bundle === 'string' || bundle instanceof URL
        ? await fetchBundle(bundle, options.fetch, options.onProgress === undefined ? {} : { onProgress: options.onProgress })
        : bundle;
    const device = options.device ?? 'auto';
    const gpuReason = runtime.webgpu && (device === 'webgpu' || device === 'auto') ? await webgpuUnavailableReason() : undefined;
    const ort = await runtime.loadOrt();
    const threads = configureOrt(runtime, ort, options, log);
    const severity = SEVERITY[options.logLevel ?? 'warning'];
    // The first session creation starts onnxruntime-web's wasm module, which fixes threads and paths.
    const onStart = () => {
      if (runtime.started === undefined && typeof threads === 'number') runtime.started = { threads, wasmPaths: describePaths(options.wasmPaths) };
    };
    const watched: OrtModule = {
      Tensor: ort.Tensor,
      InferenceSession: {
        create: (model, sessionOptions) => {
          onStart();
          return ort.InferenceSession.create(model, sessionOptions);
        },
      },
    };
    const all = webPlatform(watched, {
      webgpuUnavailable: gpuReason,
      wasmPaths: runtime.started?.wasmPaths ?? describePaths(options.wasmPaths),
      wasmFiles: runtime.wasmFiles,
      defaultThreads: threads ?? 1,
      logSeverityLevel: severity,
    });
    const platform = runtime.webgpu ? all : { ...all, devices: { wasm: all.devices['wasm']! }, auto: ['wasm'] };
    const { wasmPaths: _w, fetch: _f, onProgress: _p, logLevel: _l, log: _g, ...core } = options;
    const codec = await this.open(platform, bytes, { ...core, device, threads });
    for (const note of codec.deviceNotes) log(`aekit: device ${note.device} passed over: ${note.reason}; running on ${codec.device}`);
    codec.checkValues = options.checkFinite ?? true;
    codec.ort = ort;
    // A `part` bundle has no encoder → decoder chain to keep on the GPU.
    if (codec.device === 'webgpu' && codec.manifest.part === undefined) {
      try {
        codec.chain = await createGpuChain(ort, bytes.files as Record<GraphName, Uint8Array>, severity, checkSessionOptions(options.sessionOptions));
      } catch (e) {
        await codec.dispose();
        throw e;
      }
    }
    return codec;
  }

  /**
   * Where the latents of the last `reconstruct` lay between encoder and decoder: `gpu-buffer` on
   * WebGPU (they never left the GPU), `cpu` otherwise; undefined before the first call.
   */
  get latentLocation(): string | undefined {
    return this.latentLocationValue;
  }

  // onnxruntime-web runs one call at a time per session: calls are queued so that a page may fire
  // them freely (e.g. on every pointer move).
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => undefined);
    return next;
  }

  override encode(input: RowsInput, rows?: number): Promise<Rows<Float32Array>> {
    return this.serial(() => super.encode(input, rows));
  }

  override decode(latents: RowsInput, rows?: number): Promise<Rows> {
    return this.serial(() => super.decode(latents, rows));
  }

  override reconstruct(input: RowsInput, rows?: number): Promise<Rows> {
    const chain = this.chain;
    if (chain === undefined) {
      return this.serial(async () => {
        const out = await super.reconstruct(input, rows);
        this.latentLocationValue = 'cpu';
        return out;
      });
    }
    return this.serial(() => this.reconstructOnGpu(chain, input, rows));
  }

  override async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const chain = this.chain;
    this.chain = undefined;
    await this.queue;
    if (chain !== undefined) await Promise.all([chain.encoder.release(), chain.decoder.release()]);
    await super.dispose();
  }

  private async reconstructOnGpu(chain: GpuChain, rowsIn: RowsInput, rows?: number): Promise<Rows> {
    if (this.released) throw new DisposedError();
    const { inputDim } = this.manifest;
    const x = this.prepareInput('reconstruct', rowsIn, rows);
    const input = asGraphInput(x);
    const n = x.rows;
    if (this.checkValues && !x.integral && input instanceof Float32Array) checkFinite('reconstruct', 'input', input, inputDim);
    if (n <= this.batchSize) return { data: await this.runChain(chain, input, n), rows: n, cols: inputDim };
    let result: Float32Array | Uint8Array | undefined;
    for (let start = 0; start < n; start += this.batchSize) {
      const count = Math.min(this.batchSize, n - start);
      const data = await this.runChain(chain, input.subarray(start * inputDim, (start + count) * inputDim), count);
      result ??= data instanceof Float32Array ? new Float32Array(n * inputDim) : new Uint8Array(n * inputDim);
      result.set(data, start * inputDim);
    }
    return { data: result!, rows: n, cols: inputDim };
  }

  /** One batch: encoder → latents in a GPU buffer → decoder → rows back on the CPU. */
  private async runChain(chain: GpuChain, rows: InputArray, count: number): Promise<Float32Array | Uint8Array> {
    const dims = [count, this.manifest.inputDim];
    const { Tensor } = this.ort;
    const x = rows instanceof Float32Array ? new Tensor('float32', rows, dims) : new Tensor('uint8', rows, dims);
    const encoded = await chain.encoder.run({ [chain.x]: x });
    const z = encoded[chain.z]!;
    this.latentLocationValue = z.location;
    let out: Ort.Tensor;
    try {
      out = (await chain.decoder.run({ [chain.zIn]: z }))[chain.xHat]!;
    } finally {
      for (const t of Object.values(encoded)) t.dispose();
    }
    const data = out.data;
    if (!(data instanceof Float32Array || data instanceof Uint8Array)) {
      throw new TypeError(`the model returned ${out.type} data; aekit bundles output float32 or uint8`);
    }
    return data;
  }
}

/** Encoder and decoder sessions whose latents stay in GPU buffers between the two runs. */
async function createGpuChain(
  ort: OrtWeb,
  files: Record<GraphName, Uint8Array>,
  severity: 0 | 1 | 2 | 3 | 4,
  user: SessionOptions,
): Promise<GpuChain> {
  // The user's sessionOptions as for the codec's other sessions (SessionOptions says what wins).
  const options = mergeSessionOptions(
    { graphOptimizationLevel: 'all', logSeverityLevel: severity },
    user,
    { executionProviders: ['webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } },
  );
  const encoder = await ort.InferenceSession.create(files.encoder, { ...options, preferredOutputLocation: 'gpu-buffer' });
  let decoder: Ort.InferenceSession;
  try {
    decoder = await ort.InferenceSession.create(files.decoder, options);
  } catch (e) {
    await encoder.release();
    throw e;
  }
  const pick = (names: readonly string[], preferred: string[]) => preferred.find((p) => names.includes(p)) ?? names[0]!;
  return {
    encoder,
    decoder,
    x: pick(encoder.inputNames, [GRAPH_IO.x]),
    z: pick(encoder.outputNames, [GRAPH_IO.z, GRAPH_IO.zMean]),
    zIn: pick(decoder.inputNames, [GRAPH_IO.z]),
    xHat: pick(decoder.outputNames, [GRAPH_IO.xHat]),
  };
}
