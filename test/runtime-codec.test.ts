import { rmSync, writeFileSync, mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { BackendError, BundleError, Codec, DisposedError, deviceNames } from '@aekit/runtime';
import { type Fixture, makeFixture, sampleRows, writeFixture } from './runtime-fixtures.js';

/** The bare onnxruntime result the codec must reproduce. */
async function bare(bytes: Uint8Array, feed: Float32Array | Uint8Array, cols: number, input: string, output: string) {
  const s = await ort.InferenceSession.create(bytes);
  const t = feed instanceof Float32Array ? new ort.Tensor('float32', feed, [feed.length / cols, cols]) : new ort.Tensor('uint8', feed, [feed.length / cols, cols]);
  const out = (await s.run({ [input]: t }))[output]!.data as Float32Array | Uint8Array;
  await s.release();
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('Codec on a float32 bundle', () => {
  let fx: Fixture;
  let codec: Codec;
  beforeAll(async () => {
    fx = makeFixture({ inputDim: 12, latentDim: 4 });
    codec = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
  });
  afterAll(async () => {
    await codec.dispose();
    rmSync(fx.dir, { recursive: true, force: true });
  });

  it('encodes, decodes and reconstructs like a bare InferenceSession', async () => {
    expect(codec.device).toBe('cpu');
    expect(codec.manifest.latentDim).toBe(4);
    const x = sampleRows(5, 12) as Float32Array;
    const z = await codec.encode(x);
    expect(z).toMatchObject({ rows: 5, cols: 4 });
    expect(z.data).toBeInstanceOf(Float32Array);
    expect(Array.from(z.data)).toEqual(Array.from(await bare(fx.files.encoder, x, 12, 'x', 'z')));
    const y = await codec.decode(z.data);
    expect(y).toMatchObject({ rows: 5, cols: 12 });
    const r = await codec.reconstruct(x, 5);
    expect(maxAbsDiff(r.data, y.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(r.data, await bare(fx.files.autoencoder, x, 12, 'x', 'x_hat'))).toBe(0);
  });

  it('splits large inputs into batches with the same result', async () => {
    const small = await Codec.load(fx.dir, { device: 'cpu', threads: 1, batchSize: 7 });
    const x = sampleRows(30, 12, 'float32', 9) as Float32Array;
    const whole = await codec.encode(x);
    const chunked = await small.encode(x);
    expect(chunked.rows).toBe(30);
    expect(maxAbsDiff(chunked.data, whole.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff((await small.reconstruct(x)).data, (await codec.reconstruct(x)).data)).toBeLessThan(1e-6);
    expect((await small.encode(new Float32Array(0))).rows).toBe(0);
    await small.dispose();
  });

  it('rejects bad input with TypeError / RangeError naming the problem', async () => {
    await expect(codec.encode(new Float32Array(13))).rejects.toThrow(RangeError);
    await expect(codec.encode(new Float32Array(13))).rejects.toThrow(/13 values.*not a multiple of the 12/);
    await expect(codec.encode(new Float32Array(24), 3)).rejects.toThrow(/rows is 3 but input holds 2 rows/);
    const x = sampleRows(3, 12) as Float32Array;
    x[2 * 12 + 5] = Number.NaN;
    await expect(codec.encode(x)).rejects.toThrow(/row 2, column 5 is NaN/);
    x[2 * 12 + 5] = 0;
    x[7] = -Infinity;
    await expect(codec.reconstruct(x)).rejects.toThrow(/row 0, column 7 is -Infinity/);
    // Uint8Array rows are cast (runtime-inputs.test.ts); other arrays are TypeErrors
    await expect(codec.encode(new Int16Array(12) as unknown as Float32Array)).rejects.toThrow(TypeError);
    await expect(codec.encode([1, 2] as unknown as Float32Array)).rejects.toThrow(/flat array of numbers/);
    // latents of the wrong width: 3 values per row where the bundle's latent has 4
    await expect(codec.decode(new Float32Array(9))).rejects.toThrow(/not a multiple of the 4 values per row/);
    await expect(codec.decode(new Float64Array(4) as unknown as Float32Array)).rejects.toThrow(TypeError);
  });

  it('skips the finite check only when asked', async () => {
    const fast = await Codec.load(fx.dir, { device: 'cpu', checkFinite: false });
    const x = new Float32Array(12).fill(Number.NaN);
    await expect(fast.encode(x)).resolves.toMatchObject({ rows: 1 });
    await fast.dispose();
    await expect(fast.encode(x)).rejects.toThrow(DisposedError);
  });

  it('loads from bytes as well as from a directory', async () => {
    const c = await Codec.load({ manifest: JSON.stringify(fx.manifest), files: fx.files }, { device: 'cpu' });
    const x = sampleRows(2, 12) as Float32Array;
    expect(Array.from((await c.encode(x)).data)).toEqual(Array.from((await codec.encode(x)).data));
    await c.dispose();
  });
});

describe('Codec on a uint8 bundle', () => {
  it('takes and returns Uint8Array rows', async () => {
    const fx = makeFixture({ dtype: 'uint8', inputDim: 10, latentDim: 3 });
    const c = await Codec.load(fx.dir, { device: 'cpu' });
    const x = sampleRows(4, 10, 'uint8') as Uint8Array;
    const r = await c.reconstruct(x);
    expect(r.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(r.data)).toEqual(Array.from(await bare(fx.files.autoencoder, x, 10, 'x', 'x_hat')));
    const z = await c.encode(x);
    expect(z.data).toBeInstanceOf(Float32Array);
    expect((await c.decode(z.data)).data).toBeInstanceOf(Uint8Array);
    await expect(c.encode(new Float32Array(10).fill(0.5))).rejects.toThrow(/takes uint8 rows/);
    await c.dispose();
    rmSync(fx.dir, { recursive: true, force: true });
  });
});

describe('Codec.load refuses bad bundles and devices', () => {
  let fx: Fixture;
  const dirs: string[] = [];
  const variant = (mutate: (m: Record<string, unknown>, files: Record<string, Uint8Array>) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'aekit-rt-bad-'));
    dirs.push(dir);
    const m = JSON.parse(JSON.stringify(fx.manifest)) as Record<string, unknown>;
    const files = { encoder: fx.files.encoder.slice(), decoder: fx.files.decoder.slice(), autoencoder: fx.files.autoencoder.slice() };
    mutate(m, files);
    writeFixture(dir, m, files);
    return dir;
  };
  beforeAll(() => {
    fx = makeFixture();
  });
  afterAll(() => {
    for (const d of [fx.dir, ...dirs]) rmSync(d, { recursive: true, force: true });
  });

  it('missing directory, manifest or graph file', async () => {
    await expect(Codec.load(join(fx.dir, 'nope'))).rejects.toThrow(/does not exist/);
    await expect(Codec.load(join(fx.dir, 'encoder.onnx'))).rejects.toThrow(/is a file; pass the bundle directory/);
    const viaManifest = await Codec.load(join(fx.dir, 'manifest.json'), { device: 'cpu' });
    expect(viaManifest.manifest.inputDim).toBe(12);
    await viaManifest.dispose();
    const noManifest = variant(() => {});
    unlinkSync(join(noManifest, 'manifest.json'));
    await expect(Codec.load(noManifest)).rejects.toMatchObject({ code: 'E_BUNDLE', message: expect.stringMatching(/has no manifest.json/) });
    const noDecoder = variant(() => {});
    unlinkSync(join(noDecoder, 'decoder.onnx'));
    await expect(Codec.load(noDecoder)).rejects.toThrow(/missing decoder.onnx/);
    const garbled = variant(() => {});
    writeFileSync(join(garbled, 'manifest.json'), '{"format": ');
    await expect(Codec.load(garbled)).rejects.toThrow(/manifest.json is not valid JSON/);
  });

  it('a manifest of another format or version', async () => {
    await expect(Codec.load(variant((m) => (m['formatVersion'] = 2)))).rejects.toThrow(/formatVersion 2 is not supported.*reads 1/);
    await expect(Codec.load(variant((m) => (m['format'] = 'something-else')))).rejects.toThrow(/not an aekit bundle manifest/);
  });

  it('a manifest that disagrees with its graphs', async () => {
    await expect(Codec.load(variant((m) => (m['inputDim'] = 13)))).rejects.toThrow(
      /encoder.onnx: input "x" is float32 \[batch, 12\] but the manifest says 13 × float32/,
    );
    await expect(Codec.load(variant((m) => (m['outputDtype'] = 'uint8')))).rejects.toThrow(/decoder.onnx: output "x_hat" is float32/);
  });

  it('a tampered file (hash mismatch) or a truncated one', async () => {
    const tampered = variant((_m, files) => {
      const w = files['encoder']!;
      w[w.length - 3] = w[w.length - 3]! ^ 0x40; // flip one bit inside the last initializer
    });
    const err = await Codec.load(tampered).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ code: 'E_BUNDLE', message: expect.stringMatching(/encoder.onnx fails its integrity check: SHA-256/) });
    const truncated = variant((_m, files) => (files['decoder'] = files['decoder']!.subarray(0, 100)));
    await expect(Codec.load(truncated)).rejects.toThrow(/decoder.onnx has 100 bytes but the manifest records/);
  });

  it('unknown devices, bad options, and CUDA without its provider', async () => {
    await expect(Codec.load(fx.dir, { device: 'tpu' })).rejects.toThrow(RangeError);
    await expect(Codec.load(fx.dir, { device: 'tpu' })).rejects.toThrow(/unknown device "tpu"; valid devices: cpu, cuda, webgpu, auto/);
    expect(deviceNames()).toEqual(['cpu', 'cuda', 'webgpu', 'auto']);
    await expect(Codec.load(fx.dir, { threads: 0 })).rejects.toThrow(RangeError);
    await expect(Codec.load(fx.dir, { threads: '2' as unknown as number })).rejects.toThrow(TypeError);
    const cudaErr = await Codec.load(fx.dir, { device: 'cuda' }).catch((e: unknown) => e);
    expect(cudaErr).toBeInstanceOf(BackendError);
    expect((cudaErr as Error).message).toMatch(/Tried cuda: .*onlyBuiltDependencies.*ONNXRUNTIME_NODE_INSTALL=cuda12.*CUDA 12 and cuDNN 9/);
    const auto = await Codec.load(fx.dir, { device: 'auto' });
    expect(auto.device).toBe('cpu');
    expect(auto.deviceNotes.map((n) => n.device)).toEqual(['cuda']);
    await auto.dispose();
  });
});
