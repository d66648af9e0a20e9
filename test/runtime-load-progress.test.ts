/**
 * `LoadOptions.onProgress` for URL loads: steps per file and for the whole bundle, totals from the
 * manifest's sizes or content-length, bodies without a length, a fetch without streams, a callback
 * that throws, a connection cut mid-body; in the Node entry and the web entry (onnxruntime-web in Node).
 * The bundle is served by a local node:http server.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, Codec, type FetchLike, type LoadProgress } from '@aekit/runtime';
import { Codec as WebCodec } from '../packages/runtime/src/web.js';
import { type Fixture, makeFixture } from './runtime-fixtures.js';
import { type BundleServer, serveFolder } from './helpers/bundle-server.js';

const GRAPHS = ['encoder.onnx', 'decoder.onnx', 'autoencoder.onnx'];

describe('onProgress', () => {
  let fx: Fixture;
  let root: string;
  const servers: BundleServer[] = [];
  let sizes: Record<string, number>;
  let bundleSize: number;

  beforeAll(() => {
    fx = makeFixture({ inputDim: 200, hidden: 64, latentDim: 8, seed: 4 });
    root = mkdtempSync(join(tmpdir(), 'aekit-progress-'));
    mkdirSync(join(root, 'm'));
    cpSync(fx.dir, join(root, 'm', 'b'), { recursive: true });
    sizes = Object.fromEntries(['manifest.json', ...GRAPHS].map((f) => [f, statSync(join(fx.dir, f)).size]));
    bundleSize = Object.values(sizes).reduce((a, b) => a + b, 0);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
    rmSync(fx.dir, { recursive: true, force: true });
  });

  async function serve(options: Parameters<typeof serveFolder>[1]): Promise<string> {
    const s = await serveFolder(root, options);
    servers.push(s);
    return `${s.url}m/b/`;
  }

  /** Loads with a recording callback; returns the steps by file, in order. */
  async function loadRecording(url: string, fetch?: FetchLike): Promise<{ steps: LoadProgress[]; byFile: Map<string, LoadProgress[]> }> {
    const steps: LoadProgress[] = [];
    const codec = await Codec.load(url, { device: 'cpu', threads: 1, onProgress: (p) => steps.push({ ...p }), ...(fetch ? { fetch } : {}) });
    await codec.dispose();
    const byFile = new Map<string, LoadProgress[]>();
    for (const s of steps) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
    return { steps, byFile };
  }

  it('reports each file from 0 to its size, chunk by chunk, and the bundle up to its total', async () => {
    const { steps, byFile } = await loadRecording(await serve({ chunk: 8192, delayMs: 5 }));
    expect([...byFile.keys()].sort()).toEqual(['manifest.json', ...GRAPHS].sort());
    for (const [file, list] of byFile) {
      expect(list[0]!.loaded).toBe(0);
      expect(list.at(-1)!.loaded).toBe(sizes[file]);
      // manifest.json: content-length; the graphs: the manifest's bytes (known before their responses)
      for (const s of list) expect(s.total).toBe(sizes[file]);
      for (let i = 1; i < list.length; i++) expect(list[i]!.loaded).toBeGreaterThan(list[i - 1]!.loaded);
    }
    // Sent in 8192-byte chunks 5 ms apart: steps between 0 and the end (one per chunk read; a busy
    // machine may coalesce some, so only "streamed" is asserted).
    expect(sizes['encoder.onnx']!).toBeGreaterThan(4 * 8192);
    expect(byFile.get('encoder.onnx')!.length).toBeGreaterThanOrEqual(3);
    // The manifest comes first; the bundle's total is known once it is read.
    expect(steps[0]!.file).toBe('manifest.json');
    for (const s of byFile.get('manifest.json')!) expect(s.bundleTotal).toBeUndefined();
    const later = steps.filter((s) => s.file !== 'manifest.json');
    for (const s of later) expect(s.bundleTotal).toBe(bundleSize);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.bundleLoaded).toBeGreaterThanOrEqual(steps[i - 1]!.bundleLoaded);
    expect(steps.at(-1)!.bundleLoaded).toBe(bundleSize);
  });

  it('without content-length the manifest has no total; the graphs still have the manifest’s sizes', async () => {
    const { byFile } = await loadRecording(await serve({ contentLength: false, chunk: 8192 }));
    for (const s of byFile.get('manifest.json')!) expect(s.total).toBeUndefined();
    expect(byFile.get('manifest.json')!.at(-1)!.loaded).toBe(sizes['manifest.json']);
    for (const f of GRAPHS) {
      expect(byFile.get(f)!.at(-1)).toMatchObject({ loaded: sizes[f], total: sizes[f], bundleTotal: bundleSize });
    }
  });

  it('a fetch without body streams still reports the start and the end of each file', async () => {
    const url = await serve({});
    const noStreams: FetchLike = async (u) => {
      const r = await fetch(u);
      return { ok: r.ok, status: r.status, statusText: r.statusText, arrayBuffer: () => r.arrayBuffer() };
    };
    const { byFile } = await loadRecording(url, noStreams);
    for (const f of GRAPHS) {
      expect(byFile.get(f)!.map((s) => s.loaded)).toEqual([0, sizes[f]]);
    }
  });

  it('an exception from the callback aborts the load and is passed on as is', async () => {
    const url = await serve({ chunk: 4096 });
    const stop = new Error('cancelled by the user');
    const err = await Codec.load(url, {
      device: 'cpu',
      onProgress: (p) => {
        if (p.file === 'encoder.onnx' && p.loaded > 0) throw stop;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(stop);
  });

  it('a connection cut mid-body is a BundleError naming the file and its URL', async () => {
    const url = await serve({ chunk: 4096, cut: ['/m/b/decoder.onnx'] });
    const err = await Codec.load(url, { device: 'cpu', onProgress: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).file).toBe(`${url}decoder.onnx`);
    expect((err as Error).message).toMatch(/cannot fetch the decoder graph from http:\/\/127\.0\.0\.1:\d+\/m\/b\/decoder\.onnx: /);
    // Without a callback (arrayBuffer()), the same error.
    await expect(Codec.load(url, { device: 'cpu' })).rejects.toThrow(/cannot fetch the decoder graph from/);
  });

  it('a callback that is not a function is a TypeError', async () => {
    const url = await serve({});
    await expect(Codec.load(url, { onProgress: 'yes' as unknown as () => void })).rejects.toThrow(/onProgress must be a function, got string/);
  });

  it('works in the web entry too', async () => {
    const url = await serve({ chunk: 16384 });
    const steps: LoadProgress[] = [];
    const codec = await WebCodec.load(url, { device: 'wasm', log: () => {}, onProgress: (p) => steps.push({ ...p }) });
    expect((await codec.encode(new Uint8Array(2 * 200))).rows).toBe(2);
    await codec.dispose();
    expect(steps.at(-1)!.bundleLoaded).toBe(bundleSize);
    expect(new Set(steps.map((s) => s.file))).toEqual(new Set(['manifest.json', ...GRAPHS]));
  });
});
