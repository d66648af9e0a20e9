/**
 * Reads a bundle over HTTP: `manifest.json`, then the three ONNX files it names (and its latent
 * tables, when it lists them), relative to the bundle's URL. Hash checks happen in the codec core, exactly as for bytes and directories.
 */
import type { BundleBytes } from './codec.js';
import { BundleError, type BundleManifest, type GraphName, LATENT_TABLES_KEY, MANIFEST_FILE, bundleGraphs, parseManifestText } from '@aekit/core';

export type FetchLike = (url: string) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

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

async function fetchBytes(fetchFn: FetchLike, url: string, what: string): Promise<Uint8Array> {
  let res: Awaited<ReturnType<FetchLike>>;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new BundleError(
      `cannot fetch ${what} from ${url}: ${e instanceof Error ? e.message : String(e)} (is the server up, and the URL same-origin or CORS-enabled?)`,
      { file: url, cause: e },
    );
  }
  if (!res.ok) {
    const hint = res.status === 404 ? ': no such file; check the bundle URL (a directory holding manifest.json and its .onnx files)' : '';
    throw new BundleError(`cannot fetch ${what} from ${url}: HTTP ${res.status} ${res.statusText}${hint}`, { file: url });
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** Downloads a bundle: the manifest first (checked), then its three graphs (and latent tables) in parallel. */
export async function fetchBundle(url: string | URL, fetchFn?: FetchLike): Promise<BundleBytes & { manifest: BundleManifest }> {
  const get = fetchFn ?? (globalThis.fetch?.bind(globalThis) as FetchLike | undefined);
  if (get === undefined) throw new TypeError('no fetch() in this environment: pass options.fetch, or load the bundle from bytes');
  const base = bundleBaseUrl(url);
  const manifestUrl = new URL(MANIFEST_FILE, base).href;
  const manifest = parseManifestText(await fetchBytes(get, manifestUrl, 'the bundle manifest'), manifestUrl);
  const tables = manifest.files.latentTables;
  const wanted: Array<[GraphName | typeof LATENT_TABLES_KEY, string, string]> = bundleGraphs(manifest).map((g) => [g, manifest.files[g].path, `the ${g} graph`]);
  if (tables !== undefined) wanted.push([LATENT_TABLES_KEY, tables.path, 'the latent tables']);
  const entries = await Promise.all(
    wanted.map(async ([key, path, what]) => [key, await fetchBytes(get, new URL(path, base).href, what)] as const),
  );
  return { manifest, files: Object.fromEntries(entries) as BundleBytes['files'] };
}
