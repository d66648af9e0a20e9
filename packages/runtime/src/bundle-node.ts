/** Reads a bundle directory from disk, or from a `file:` / `http(s):` URL, into memory (Node only). */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleBytes, LoadOptions } from './codec.js';
import { fetchBundle } from './fetch-web.js';
import { BundleError, IoError, MANIFEST_FILE, bundleGraphs, parseManifestText } from '@aekit/core';

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as NodeJS.ErrnoException).code : undefined;
}

/**
 * Reads `manifest.json`, the three ONNX files (and `latent_tables.bin` when listed) of a bundle directory (or of the directory holding a
 * given manifest.json). Missing files and unreadable manifests throw a BundleError naming the path.
 * Hashes are checked when the codec loads (verifyBundle), for bytes from any source alike.
 */
export async function readBundleDir(path: string): Promise<BundleBytes> {
  if (typeof path !== 'string' || path === '') throw new TypeError('bundle path must be a non-empty string');
  let dir = path;
  try {
    if (!(await stat(path)).isDirectory()) {
      if (basename(path) !== MANIFEST_FILE) {
        throw new BundleError(`${path} is a file; pass the bundle directory (the one holding ${MANIFEST_FILE})`, { file: path });
      }
      dir = dirname(path);
    }
  } catch (e) {
    if (e instanceof BundleError) throw e;
    if (errno(e) === 'ENOENT') {
      throw new BundleError(`bundle directory ${path} does not exist; export one with \`aekit export\``, { file: path, cause: e });
    }
    throw new IoError(`cannot read bundle ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = parseManifestText(await readOrThrow(manifestPath, `${dir} has no ${MANIFEST_FILE}: not an aekit bundle`), manifestPath);
  const files = {} as BundleBytes['files'];
  const tables = manifest.files.latentTables;
  await Promise.all([
    ...bundleGraphs(manifest).map(async (g) => {
      const file = join(dir, manifest.files[g].path);
      const buf = await readOrThrow(file, `bundle ${dir} is missing ${manifest.files[g].path} (the ${g} graph listed in ${MANIFEST_FILE})`);
      files[g] = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }),
    ...(tables === undefined
      ? []
      : [
          (async () => {
            const file = join(dir, tables.path);
            const buf = await readOrThrow(file, `bundle ${dir} is missing ${tables.path} (the latent tables listed in ${MANIFEST_FILE})`);
            files.latentTables = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
          })(),
        ]),
  ]);
  return { manifest, files };
}

async function readOrThrow(file: string, missing: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    if (errno(e) === 'ENOENT') throw new BundleError(`${missing}; re-export the bundle`, { file, cause: e });
    throw new IoError(`cannot read ${file}: ${(e as Error).message}`, { file, cause: e });
  }
}

/**
 * Strings that are URLs: `http:`, `https:`, `file:`, and any `scheme://` (refused below by name, e.g.
 * `s3://`); any other string is a path (a Windows `C:\models\b` included: one-letter schemes are drives).
 */
const URL_STRING = /^(?:(?:https?|file):|[a-z][a-z0-9+.-]+:\/\/)/i;

/**
 * The bytes of a bundle given as `Codec.load` takes it in Node: a directory path (or its manifest.json),
 * a `file:` URL (string or URL object) of either, an `http:`/`https:` URL of the bundle directory or its
 * manifest (fetched as the web entry does: fetchBundle), or bytes (returned as they are).
 */
export async function readBundleSource(bundle: string | URL | BundleBytes, options: Pick<LoadOptions, 'fetch' | 'onProgress'> = {}): Promise<BundleBytes> {
  if (typeof bundle === 'string' && !URL_STRING.test(bundle)) return readBundleDir(bundle);
  if (typeof bundle !== 'string' && !(bundle instanceof URL)) return bundle;
  let url: URL;
  try {
    url = new URL(bundle);
  } catch (e) {
    throw new TypeError(`bundle URL ${JSON.stringify(String(bundle))} is not a valid URL`, { cause: e });
  }
  if (url.protocol === 'file:') {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (e) {
      throw new TypeError(`bundle URL ${url.href} is not a local file URL: ${(e as Error).message}`, { cause: e });
    }
    return readBundleDir(path);
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return fetchBundle(url, options.fetch, options.onProgress === undefined ? {} : { onProgress: options.onProgress });
  }
  throw new TypeError(`bundle URL ${url.href}: unsupported scheme ${url.protocol} (use http:, https: or file:, a directory path, or bytes)`);
}
