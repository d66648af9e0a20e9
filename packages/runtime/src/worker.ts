/**
 * `@aekit/runtime/worker`: a Codec in a Web Worker, so onnxruntime-web's work stays off the page's
 * thread. In the worker script: `exposeCodec()`. On the page: `await WorkerCodec.load(worker, url,
 * options)`, then the Codec's methods (encode, decode, reconstruct, sample, compress, decompress and
 * their stream forms), the same results and the same error classes and codes. One protocol with
 * Node's CodecPool (pool/protocol.ts); rows travel as transferred ArrayBuffers.
 */
import { BackendError } from '@aekit/core';
import type { BundleBytes } from './codec.js';
import type { WebLoadOptions } from './codec-web.js';
import { Codec } from './web.js';
import { type Endpoint, type WireBundle, wireOptions } from './pool/protocol.js';
import { Connection, RemoteCodec } from './pool/remote.js';
import { type ServedCodec, serveCodec } from './pool/serve.js';

export interface ExposeOptions {
  /** Where the page's messages arrive: default the worker's global scope (`self`). */
  scope?: Endpoint;
  /**
   * How the worker loads the bundle: default `@aekit/runtime`'s Codec.load (the full onnxruntime-web
   * build); pass `(b, o) => Codec.load(b, o)` with the Codec of `@aekit/runtime/wasm` for the wasm-only build.
   */
  load?: (bundle: string | BundleBytes, options: WebLoadOptions) => Promise<ServedCodec>;
}

/**
 * In a worker script: serves one Codec to the page. The page's WorkerCodec.load picks the bundle and
 * options; onnxruntime-web loads and runs in the worker.
 */
export function exposeCodec(options: ExposeOptions = {}): void {
  const scope = options.scope ?? (globalThis as unknown as Endpoint);
  const load = options.load ?? ((b, o) => Codec.load(b, o));
  serveCodec(scope, (bundle, o) => load(bundle as string | BundleBytes, o as WebLoadOptions));
}

/** What the page needs of a Worker (a `new Worker(...)` fits; so does any MessagePort-like object). */
export interface WorkerLike extends Endpoint {
  terminate?(): void;
}

/** Options of WorkerCodec.load: the web LoadOptions, less `log` (a function: it cannot cross to the worker). */
export type WorkerLoadOptions = Omit<WebLoadOptions, 'log'>;

/** A page-relative URL resolved against the document (the worker would resolve it against its script). */
function absolute(u: string): string {
  const base = (globalThis as { document?: { baseURI: string } }).document?.baseURI ?? (globalThis as { location?: { href: string } }).location?.href;
  return base === undefined ? u : new URL(u, base).href;
}

export class WorkerCodec extends RemoteCodec {
  /**
   * Loads the bundle (its URL, resolved against the page, or its bytes) in each worker given (one,
   * or several to spread rows over), which must run `exposeCodec()`. dispose() terminates them.
   */
  static async load(worker: WorkerLike | readonly WorkerLike[], bundle: string | URL | BundleBytes, options: WorkerLoadOptions = {}): Promise<WorkerCodec> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const workers = Array.isArray(worker) ? (worker as readonly WorkerLike[]) : [worker as WorkerLike];
    if (workers.length === 0) throw new RangeError('WorkerCodec.load needs at least one worker');
    const wire: WireBundle = typeof bundle === 'string' ? absolute(bundle) : bundle instanceof URL ? bundle.href : (bundle as WireBundle);
    const opts = wireOptions(options);
    const paths = options.wasmPaths;
    if (typeof paths === 'string') opts['wasmPaths'] = absolute(paths);
    else if (paths !== undefined) {
      opts['wasmPaths'] = { ...(paths.mjs !== undefined ? { mjs: absolute(paths.mjs) } : {}), ...(paths.wasm !== undefined ? { wasm: absolute(paths.wasm) } : {}) };
    }
    const connections = workers.map((w, i) => {
      const c = new Connection(w);
      // A worker script that fails to load or throws at the top level: every waiting call fails with why.
      (w as unknown as { addEventListener(t: 'error', l: (e: { message?: string }) => void): void }).addEventListener('error', (e) =>
        c.fail(new BackendError(`worker ${i + 1} of ${workers.length} failed: ${e.message ?? 'its script did not load (check its URL and that it calls exposeCodec())'}`)),
      );
      return c;
    });
    const close = async () => {
      for (const w of workers) w.terminate?.();
    };
    const info = await RemoteCodec.connectAll(connections, wire, opts, close);
    return new WorkerCodec(connections, info, close);
  }
}

export type { Endpoint } from './pool/protocol.js';
export type { ServedCodec } from './pool/serve.js';
export { RemoteCodec } from './pool/remote.js';
