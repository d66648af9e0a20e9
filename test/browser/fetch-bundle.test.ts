/**
 * The browser entry's bundle fetching, without a browser: URL forms, HTTP errors and network errors
 * become BundleErrors naming the URL; the manifest is checked before any graph is fetched.
 */
import { describe, expect, it } from 'vitest';
import { bundleBaseUrl, fetchBundle, type FetchLike } from '../../packages/runtime/src/fetch-web.js';
import { BundleError } from '@aekit/core';

const MANIFEST = {
  format: 'aekit-bundle',
  formatVersion: 1,
  inputDim: 4,
  latentDim: 2,
  inputDtype: 'float32',
  outputDtype: 'float32',
  files: {
    encoder: { path: 'encoder.onnx', sha256: 'a'.repeat(64), bytes: 3 },
    decoder: { path: 'decoder.onnx', sha256: 'b'.repeat(64), bytes: 3 },
    autoencoder: { path: 'autoencoder.onnx', sha256: 'c'.repeat(64), bytes: 3 },
  },
};

/** A fake server: path → body (404 for anything else); records the URLs asked for. */
function fakeFetch(files: Record<string, string | Uint8Array>): FetchLike & { asked: string[] } {
  const asked: string[] = [];
  const f = async (url: string) => {
    asked.push(url);
    const body = files[new URL(url).pathname];
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    return {
      ok: bytes !== undefined,
      status: bytes !== undefined ? 200 : 404,
      statusText: bytes !== undefined ? 'OK' : 'Not Found',
      arrayBuffer: async () => (bytes ?? new Uint8Array()).slice().buffer,
    };
  };
  return Object.assign(f, { asked });
}

describe('bundleBaseUrl', () => {
  it('accepts the directory with or without a slash, or its manifest', () => {
    for (const u of ['http://h/m/digits', 'http://h/m/digits/', 'http://h/m/digits/manifest.json', 'http://h/m/digits/?v=2#x']) {
      expect(bundleBaseUrl(u).href).toBe('http://h/m/digits/');
    }
  });

  it('refuses a string that is not a URL (no page to resolve it against in Node)', () => {
    expect(() => bundleBaseUrl('not a url')).toThrow(TypeError);
  });
});

describe('fetchBundle', () => {
  it('fetches the manifest, then the three graphs it names, relative to the bundle', async () => {
    const fetch = fakeFetch({
      '/b/manifest.json': JSON.stringify(MANIFEST),
      '/b/encoder.onnx': new Uint8Array([1, 2, 3]),
      '/b/decoder.onnx': new Uint8Array([4, 5, 6]),
      '/b/autoencoder.onnx': new Uint8Array([7, 8, 9]),
    });
    const b = await fetchBundle('http://h/b', fetch);
    expect(b.manifest.latentDim).toBe(2);
    expect(Array.from(b.files.decoder!)).toEqual([4, 5, 6]);
    expect(fetch.asked[0]).toBe('http://h/b/manifest.json');
    expect(fetch.asked.slice(1).sort()).toEqual(['http://h/b/autoencoder.onnx', 'http://h/b/decoder.onnx', 'http://h/b/encoder.onnx']);
  });

  it('a missing manifest is a BundleError with the URL and the HTTP status', async () => {
    const err = await fetchBundle('http://h/nope/', fakeFetch({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ code: 'E_BUNDLE', file: 'http://h/nope/manifest.json' });
    expect((err as Error).message).toMatch(/http:\/\/h\/nope\/manifest\.json: HTTP 404 Not Found: no such file; check the bundle URL/);
  });

  it('fetches the latent tables when the manifest lists them', async () => {
    const manifest = { ...MANIFEST, files: { ...MANIFEST.files, latentTables: { path: 'latent_tables.bin', sha256: 'd'.repeat(64), bytes: 2 } } };
    const f = fakeFetch({
      '/b/manifest.json': JSON.stringify(manifest),
      '/b/encoder.onnx': Uint8Array.of(1),
      '/b/decoder.onnx': Uint8Array.of(2),
      '/b/autoencoder.onnx': Uint8Array.of(3),
      '/b/latent_tables.bin': Uint8Array.of(4, 5),
    });
    const b = await fetchBundle('http://h/b', f);
    expect(Array.from(b.files.latentTables!)).toEqual([4, 5]);
    expect(f.asked).toContain('http://h/b/latent_tables.bin');
    const missing = fakeFetch({ '/b/manifest.json': JSON.stringify(manifest), '/b/encoder.onnx': Uint8Array.of(1), '/b/decoder.onnx': Uint8Array.of(2), '/b/autoencoder.onnx': Uint8Array.of(3) });
    await expect(fetchBundle('http://h/b', missing)).rejects.toThrow(/cannot fetch the latent tables from http:\/\/h\/b\/latent_tables.bin: HTTP 404/);
  });

  it('a missing graph names that graph and its URL', async () => {
    const fetch = fakeFetch({ '/b/manifest.json': JSON.stringify(MANIFEST), '/b/encoder.onnx': 'x', '/b/autoencoder.onnx': 'x' });
    await expect(fetchBundle('http://h/b/', fetch)).rejects.toThrow(/the decoder graph from http:\/\/h\/b\/decoder\.onnx: HTTP 404/);
  });

  it('a manifest that is not JSON, or of another format, is refused before any graph is fetched', async () => {
    const bad = fakeFetch({ '/b/manifest.json': '{"format": "aekit-bundle", ' });
    await expect(fetchBundle('http://h/b/', bad)).rejects.toThrow(/manifest\.json is not valid JSON/);
    const other = fakeFetch({ '/b/manifest.json': JSON.stringify({ ...MANIFEST, format: 'something-else' }) });
    await expect(fetchBundle('http://h/b/', other)).rejects.toThrow(/not an aekit bundle manifest/);
    expect([...bad.asked, ...other.asked].every((u) => u.endsWith('manifest.json'))).toBe(true);
  });

  it('a network failure is a BundleError that keeps the cause', async () => {
    const down: FetchLike = async () => {
      throw new TypeError('Failed to fetch');
    };
    const err = await fetchBundle('http://h/b/', down).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as Error).message).toMatch(/cannot fetch the bundle manifest from http:\/\/h\/b\/manifest\.json: Failed to fetch/);
    expect((err as Error).cause).toBeInstanceOf(TypeError);
  });
});
