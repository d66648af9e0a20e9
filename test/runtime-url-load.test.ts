/**
 * `Codec.load(url)` in Node: `http:`/`https:` URLs of a bundle directory or its manifest (fetched as
 * the web entry does), `file:` URLs as strings or URL objects, and the errors for the rest. The bundle
 * is served by a local node:http server.
 */
import { mkdirSync, rmSync, mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, Codec, type FetchLike } from '@aekit/runtime';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';
import { type BundleServer, serveFolder } from './helpers/bundle-server.js';

describe('Codec.load from a URL (Node)', () => {
  let fx: Fixture;
  let root: string;
  let server: BundleServer;
  let expected: Float32Array;
  const rows = sampleRows(3, 12) as Float32Array;

  beforeAll(async () => {
    fx = makeFixture({ inputDim: 12, latentDim: 4, seed: 11 });
    root = mkdtempSync(join(tmpdir(), 'aekit-url-'));
    mkdirSync(join(root, 'models'));
    cpSync(fx.dir, join(root, 'models', 'digits'), { recursive: true });
    server = await serveFolder(root);
    const fromDir = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
    expected = (await fromDir.reconstruct(rows)).data as Float32Array;
    await fromDir.dispose();
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(fx.dir, { recursive: true, force: true });
  });

  async function reconstructVia(bundle: string | URL, options: Parameters<typeof Codec.load>[1] = {}): Promise<Float32Array> {
    const codec = await Codec.load(bundle, { device: 'cpu', threads: 1, ...options });
    try {
      expect(codec.manifest.files.encoder.sha256).toBe(fx.manifest.files.encoder.sha256);
      return (await codec.reconstruct(rows)).data as Float32Array;
    } finally {
      await codec.dispose();
    }
  }

  it('loads an http: URL of the bundle directory, with or without the slash, or of its manifest', async () => {
    for (const u of ['models/digits', 'models/digits/', 'models/digits/manifest.json']) {
      server.asked.length = 0;
      expect(Array.from(await reconstructVia(server.url + u))).toEqual(Array.from(expected));
      expect(server.asked[0]).toBe('/models/digits/manifest.json');
      expect(server.asked.slice(1).sort()).toEqual(['/models/digits/autoencoder.onnx', '/models/digits/decoder.onnx', '/models/digits/encoder.onnx']);
    }
  });

  it('accepts a URL object, and uses options.fetch when given', async () => {
    expect(Array.from(await reconstructVia(new URL('models/digits/', server.url)))).toEqual(Array.from(expected));
    const seen: string[] = [];
    const spy: FetchLike = (url) => {
      seen.push(url);
      return fetch(url);
    };
    await reconstructVia(`${server.url}models/digits`, { fetch: spy });
    expect(seen).toHaveLength(4);
    expect(seen[0]).toBe(`${server.url}models/digits/manifest.json`);
  });

  it('loads file: URLs (string or URL object) of the directory or its manifest', async () => {
    const dir = pathToFileURL(fx.dir);
    for (const u of [dir, dir.href, `${dir.href}/`, new URL(`${dir.href}/manifest.json`)]) {
      expect(Array.from(await reconstructVia(u))).toEqual(Array.from(expected));
    }
  });

  it('a bundle URL that is not there is a BundleError naming the URL and the status', async () => {
    const err = await Codec.load(`${server.url}models/nope/`, { device: 'cpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).file).toBe(`${server.url}models/nope/manifest.json`);
    expect((err as Error).message).toMatch(/HTTP 404 .*check the bundle URL/);
    const missing = await Codec.load(pathToFileURL(join(root, 'nope')), { device: 'cpu' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BundleError);
    expect((missing as Error).message).toMatch(/nope does not exist/);
  });

  it('a file damaged on the server fails its hash check, as from disk', async () => {
    const bad = join(root, 'models', 'bad');
    cpSync(fx.dir, bad, { recursive: true });
    const { writeFileSync, readFileSync } = await import('node:fs');
    const enc = readFileSync(join(bad, 'encoder.onnx'));
    enc[enc.length - 1] ^= 0xff;
    writeFileSync(join(bad, 'encoder.onnx'), enc);
    await expect(Codec.load(`${server.url}models/bad`, { device: 'cpu' })).rejects.toThrow(/encoder\.onnx fails its integrity check/);
  });

  it('other schemes and malformed URLs are TypeErrors; other strings stay paths', async () => {
    await expect(Codec.load('ftp://example.com/b/', { device: 'cpu' })).rejects.toThrow(/unsupported scheme ftp: \(use http:, https: or file:/);
    await expect(Codec.load(new URL('data:,x'), { device: 'cpu' })).rejects.toThrow(TypeError);
    await expect(Codec.load('http://', { device: 'cpu' })).rejects.toThrow(/is not a valid URL/);
    await expect(Codec.load('file://remote-host/b', { device: 'cpu' })).rejects.toThrow(/not a local file URL/);
    // "models:digits" is no URL scheme aekit reads: it is a (missing) relative path.
    await expect(Codec.load('models:digits', { device: 'cpu' })).rejects.toThrow(/bundle directory models:digits does not exist/);
  });
});
