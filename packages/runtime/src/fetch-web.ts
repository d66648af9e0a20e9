/**
 * Reads a bundle over HTTP: `manifest.json`, then the three ONNX files it names (and its latent
 * tables, when it lists them), relative to the bundle's URL. Hash checks happen in the codec core,
 * exactly as for bytes and directories. With a progress callback the bodies are read as streams.
 */
import type { BundleBytes } from './codec.js';
import { BundleError, type BundleManifest, type GraphName, LATENT_TABLES_KEY, MANIFEST_FILE, bundleGraphs, parseManifestText } from '@aekit/core';

/** The slice of a fetch() Response this module reads (`body` and `headers` only for progress). */
export interface FetchResponseLike {
  ok: boolean;
  status: number;
  statusText: string;
  arrayBuffer(): Promise<ArrayBuffer>;
  /** Read chunk by chunk when a progress callback is given; without it, `arrayBuffer()` is. */
  body?: ReadableStream<Uint8Array> | null;
  headers?: { get(name: string): string | null };
}

export type FetchLike = (url: string) => Promise<FetchResponseLike>;

/** One step of a bundle download (`LoadOptions.onProgress`). */
export interface LoadProgress {
  /** The file this step is about, as the bundle names it: `manifest.json`, `encoder.onnx`, … */
  file: string;
  /** Bytes of `file` received so far. */
  loaded: number;
  /**
   * Size of `file`: the manifest's `bytes` for it, else the response's content-length (when the body
   * is not content-encoded); undefined when neither is known.
   */
  total: number | undefined;
  /** Bytes received so far for the whole bundle, manifest included. */
  bundleLoaded: number;
  /**
   * Size of the whole bundle (the manifest plus the manifest's `bytes` of every file fetched); undefined
   * while the manifest is downloading, or when an entry has no `bytes`.
   */
  bundleTotal: number | undefined;
}

export type ProgressCallback = (progress: LoadProgress) => void;

/**
 * The bundle directory's URL with a trailing slash. Accepts the directory (`/models/digits`,
 * `/models/digits/`) or its manifest (`/models/digits/manifest.json`); relative URLs resolve against
 * the page.
 */
export function bundleBaseUrl(url: string | URL): URL {
  const page = (globalThis as { location?: { href: string } }).location?.href;
  let u: URL;
  try {
    u = new URL(url, page);
  } catch (e) {
    throw new TypeError(`bundle URL ${JSON.stringify(String(url))} is not a valid URL`, { cause: e });
  }
  if (u.pathname.endsWith(`/${MANIFEST_FILE}`)) u.pathname = u.pathname.slice(0, -MANIFEST_FILE.length);
  else if (!u.pathname.endsWith('/')) u.pathname += '/';
  u.search = '';
  u.hash = '';
  return u;
}

/** Shared by a bundle's downloads: bytes received and expected over all its files. */
interface BundleCounter {
  onProgress: ProgressCallback;
  loaded: number;
  total: number | undefined;
}

function contentLength(res: FetchResponseLike): number | undefined {
  const h = res.headers;
  if (h === undefined) return undefined;
  // A content-encoded body's length is the compressed size, not the bytes the stream yields.
  const encoding = h.get('content-encoding');
  if (encoding !== null && encoding !== '' && encoding !== 'identity') return undefined;
  const n = Number(h.get('content-length') ?? Number.NaN);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The body read chunk by chunk, reporting each; written into one buffer of the expected size when
 * known. Read failures become `failed(e)`; an exception from the callback is the caller's, passed on as is.
 */
async function readWithProgress(
  res: FetchResponseLike,
  file: string,
  expected: number | undefined,
  counter: BundleCounter,
  failed: (e: unknown) => BundleError,
): Promise<Uint8Array> {
  const fromHeader = expected === undefined;
  let total = expected ?? contentLength(res);
  let loaded = 0;
  const report = () => counter.onProgress({ file, loaded, total, bundleLoaded: counter.loaded, bundleTotal: counter.total });
  report();
  const body = res.body;
  if (body === undefined || body === null) {
    // A fetch without streams (a test double, an old polyfill): one step at the end.
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw failed(e);
    }
    loaded = bytes.byteLength;
    counter.loaded += loaded;
    report();
    return bytes;
  }
  const reader = body.getReader();
  let buffer = total !== undefined ? new Uint8Array(total) : undefined;
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw failed(e);
      }
      const { done, value } = chunk;
      if (done) break;
      if (buffer !== undefined && loaded + value.byteLength <= buffer.byteLength) {
        buffer.set(value, loaded);
      } else {
        // More than expected (a wrong content-length, or a file larger than its manifest entry, which
        // the hash check then refuses): keep the chunks and join them at the end.
        if (buffer !== undefined) chunks.push(buffer.subarray(0, loaded));
        buffer = undefined;
        chunks.push(value);
        if (fromHeader) total = undefined;
      }
      loaded += value.byteLength;
      counter.loaded += value.byteLength;
      report();
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  }
  if (buffer !== undefined) return loaded === buffer.byteLength ? buffer : buffer.subarray(0, loaded);
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

async function fetchBytes(
  fetchFn: FetchLike,
  url: string,
  what: string,
  progress?: { file: string; expected: number | undefined; counter: BundleCounter },
): Promise<Uint8Array> {
  const failed = (e: unknown) =>
    new BundleError(
      `cannot fetch ${what} from ${url}: ${e instanceof Error ? e.message : String(e)} (is the server up, and the URL same-origin or CORS-enabled?)`,
      { file: url, cause: e },
    );
  let res: FetchResponseLike;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw failed(e);
  }
  if (!res.ok) {
    const hint = res.status === 404 ? ': no such file; check the bundle URL (a directory holding manifest.json and its .onnx files)' : '';
    throw new BundleError(`cannot fetch ${what} from ${url}: HTTP ${res.status} ${res.statusText}${hint}`, { file: url });
  }
  if (progress === undefined) {
    try {
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw failed(e);
    }
  }
  return readWithProgress(res, progress.file, progress.expected, progress.counter, failed);
}

export interface FetchBundleOptions {
  /** Called as the bundle downloads (LoadProgress); the bodies are then read as streams. */
  onProgress?: ProgressCallback;
}

/** Downloads a bundle: the manifest first (checked), then its three graphs (and latent tables) in parallel. */
export async function fetchBundle(url: string | URL, fetchFn?: FetchLike, options: FetchBundleOptions = {}): Promise<BundleBytes & { manifest: BundleManifest }> {
  const get = fetchFn ?? (globalThis.fetch?.bind(globalThis) as FetchLike | undefined);
  if (get === undefined) throw new TypeError('no fetch() in this environment: pass options.fetch, or load the bundle from bytes');
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError(`onProgress must be a function, got ${typeof onProgress}`);
  const base = bundleBaseUrl(url);
  const manifestUrl = new URL(MANIFEST_FILE, base).href;
  const counter: BundleCounter | undefined = onProgress === undefined ? undefined : { onProgress, loaded: 0, total: undefined };
  const track = (file: string, expected: number | undefined) => (counter === undefined ? undefined : { file, expected, counter });
  const manifestBytes = await fetchBytes(get, manifestUrl, 'the bundle manifest', track(MANIFEST_FILE, undefined));
  const manifest = parseManifestText(manifestBytes, manifestUrl);
  const tables = manifest.files.latentTables;
  const wanted: Array<[GraphName | typeof LATENT_TABLES_KEY, { path: string; bytes?: number }, string]> = bundleGraphs(manifest).map((g) => [g, manifest.files[g], `the ${g} graph`]);
  if (tables !== undefined) wanted.push([LATENT_TABLES_KEY, tables, 'the latent tables']);
  if (counter !== undefined) {
    const sizes = wanted.map(([, entry]) => entry.bytes);
    counter.total = sizes.every((b) => b !== undefined) ? manifestBytes.byteLength + sizes.reduce((a, b) => a + b, 0) : undefined;
  }
  const entries = await Promise.all(
    wanted.map(async ([key, entry, what]) => [key, await fetchBytes(get, new URL(entry.path, base).href, what, track(entry.path, entry.bytes))] as const),
  );
  return { manifest, files: Object.fromEntries(entries) as BundleBytes['files'] };
}
