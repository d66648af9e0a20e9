/**
 * What `encode` / `decode` / `reconstruct` accept (runtime input.ts): Float32Array, Uint8Array, a Node
 * Buffer, number[][] and an onnxruntime Tensor, each giving what the graph gives for the same values;
 * wrong types are TypeErrors and wrong lengths RangeErrors naming what is expected. And the README's
 * TypeScript sample, run as written on a float32 bundle with Uint8Array pixels from gunzip.
 */
import { readFileSync, rmSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Codec } from '@aekit/runtime';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

const COLS = 12;
const LATENT = 4;

/** Row-major values as number[][]. */
function asRows(flat: ArrayLike<number>, cols: number): number[][] {
  return Array.from({ length: flat.length / cols }, (_, r) => Array.from({ length: cols }, (_, c) => flat[r * cols + c]!));
}

describe('a float32 bundle takes every row type', () => {
  let fx: Fixture;
  let codec: Codec;
  /** Pixels 0..255 and the same values as float32: the reference the other types must match. */
  let pixels: Uint8Array;
  let asFloat: Float32Array;
  beforeAll(async () => {
    fx = makeFixture({ inputDim: COLS, latentDim: LATENT });
    codec = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
    pixels = sampleRows(5, COLS, 'uint8', 11) as Uint8Array;
    asFloat = Float32Array.from(pixels);
  });
  afterAll(async () => {
    await codec.dispose();
    rmSync(fx.dir, { recursive: true, force: true });
  });

  it('Uint8Array, Buffer, number[][] and Tensors encode as the float32 values do (raw units: a plain cast)', async () => {
    const want = Array.from((await codec.encode(asFloat)).data);
    const buffer = gunzipSync(gzipSync(pixels)); // a Node Buffer, as reading a .gz gives
    expect(Buffer.isBuffer(buffer)).toBe(true);
    const inputs: Array<[string, Parameters<Codec['encode']>[0]]> = [
      ['Uint8Array', pixels],
      ['Buffer', buffer],
      ['Uint8ClampedArray', new Uint8ClampedArray(pixels)],
      ['number[][]', asRows(pixels, COLS)],
      ['float32 Tensor', new ort.Tensor('float32', asFloat, [5, COLS])],
      ['uint8 Tensor', new ort.Tensor('uint8', pixels, [5, COLS])],
      // a Uint8Array viewing the middle of a larger buffer: the view's values, not the buffer's
      ['offset view', new Uint8Array([9, 9, 9, ...pixels, 9]).subarray(3, 3 + pixels.length)],
    ];
    for (const [name, input] of inputs) {
      const z = await codec.encode(input);
      expect(z.rows, name).toBe(5);
      expect(Array.from(z.data), name).toEqual(want);
    }
    const recon = Array.from((await codec.reconstruct(asFloat)).data);
    expect(Array.from((await codec.reconstruct(buffer, 5)).data)).toEqual(recon);
    expect(Array.from((await codec.reconstruct(asRows(asFloat, COLS))).data)).toEqual(recon);
  });

  it('uint8 rows cast batch by batch give the same result in every batch, the last partial one included', async () => {
    const small = await Codec.load(fx.dir, { device: 'cpu', threads: 1, batchSize: 7 });
    try {
      const many = sampleRows(30, COLS, 'uint8', 12) as Uint8Array; // 4 batches of 7 and one of 2
      const want = Array.from((await codec.encode(Float32Array.from(many))).data);
      expect(Array.from((await small.encode(many)).data)).toEqual(want);
      expect(Array.from((await small.encode(Buffer.from(many))).data)).toEqual(want);
      const recon = Array.from((await codec.reconstruct(Float32Array.from(many))).data);
      expect(Array.from((await small.reconstruct(many)).data)).toEqual(recon);
      // the caller's array is read, never written
      expect(Array.from(many)).toEqual(Array.from(sampleRows(30, COLS, 'uint8', 12)));
    } finally {
      await small.dispose();
    }
  });

  it('a Float32Array goes to onnxruntime as it is; decode takes number[][] and Tensors too', async () => {
    const z = await codec.encode(asFloat);
    const want = Array.from((await codec.decode(z.data)).data);
    expect(Array.from((await codec.decode(asRows(z.data, LATENT))).data)).toEqual(want);
    expect(Array.from((await codec.decode(new ort.Tensor('float32', z.data, [5, LATENT]))).data)).toEqual(want);
    // number[][] of floats keeps float precision (no rounding through uint8)
    const halves = asRows(asFloat.map((v) => v + 0.5), COLS);
    expect(Array.from((await codec.encode(halves)).data)).toEqual(Array.from((await codec.encode(asFloat.map((v) => v + 0.5))).data));
  });

  it('refuses wrong types (TypeError) and wrong lengths (RangeError), naming what is expected', async () => {
    await expect(codec.encode('pixels' as never)).rejects.toThrow(TypeError);
    await expect(codec.encode('pixels' as never)).rejects.toThrow(/must be a Float32Array, a Uint8Array \(or Buffer\), number\[\]\[\] rows or an onnxruntime Tensor.*got string/);
    await expect(codec.encode(new Float64Array(COLS) as never)).rejects.toThrow(/got Float64Array/);
    await expect(codec.encode([1, 2, 3] as never)).rejects.toThrow(/flat array of numbers; pass rows \(number\[\]\[\]\) or a typed array/);
    await expect(codec.encode([[1, 2, 3]])).rejects.toThrow(RangeError);
    await expect(codec.encode([new Array(COLS).fill(0), [1, 2, 3]])).rejects.toThrow(/input\[1\] has 3 values; this graph takes 12 per row/);
    await expect(codec.encode([new Array(COLS).fill('1')] as never)).rejects.toThrow(/input\[0\]\[0\] is string; values must be numbers/);
    await expect(codec.encode(new ort.Tensor('int32', new Int32Array(COLS), [1, COLS]) as never)).rejects.toThrow(/int32 tensor/);
    await expect(codec.encode(new ort.Tensor('float32', new Float32Array(COLS), [COLS, 1]))).rejects.toThrow(/dims \[12, 1\]; this graph takes \[rows, 12\]/);
    await expect(codec.encode(new Uint8Array(COLS + 1))).rejects.toThrow(/13 values, which is not a multiple of the 12/);
    await expect(codec.decode(new Uint8Array(LATENT * 2), 3)).rejects.toThrow(/rows is 3 but latents holds 2 rows/);
    // NaN in number[][] is caught like NaN in a Float32Array
    const bad = asRows(asFloat, COLS);
    bad[3]![7] = Number.NaN;
    await expect(codec.encode(bad)).rejects.toThrow(/row 3, column 7 is NaN/);
  });
});

describe('a uint8 bundle', () => {
  it('takes a Uint8Array (or Buffer) as it is, and integer floats converted, refusing others by row and column', async () => {
    const fx = makeFixture({ dtype: 'uint8', inputDim: 10, latentDim: 3 });
    const c = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
    try {
      const x = sampleRows(4, 10, 'uint8', 5) as Uint8Array;
      const want = Array.from((await c.reconstruct(x)).data);
      expect(Array.from((await c.reconstruct(Buffer.from(x))).data)).toEqual(want);
      expect(Array.from((await c.reconstruct(Float32Array.from(x))).data)).toEqual(want);
      expect(Array.from((await c.reconstruct(asRows(x, 10))).data)).toEqual(want);
      const f = Float32Array.from(x);
      f[2 * 10 + 4] = 3.5;
      await expect(c.encode(f)).rejects.toThrow(RangeError);
      await expect(c.encode(f)).rejects.toThrow(/row 2, column 4 is 3.5, but this graph takes uint8 rows \(integers 0-255\)/);
      await expect(c.encode([new Array(10).fill(256)])).rejects.toThrow(/row 0, column 0 is 256/);
    } finally {
      await c.dispose();
      rmSync(fx.dir, { recursive: true, force: true });
    }
  });
});

describe("the README's TypeScript sample", () => {
  it('runs as written on a float32 bundle with Uint8Array pixels (a Buffer from gunzip)', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('codec.encode(pixels)'));
    expect(block, 'README has a ts block with codec.encode(pixels)').toBeDefined();
    const fx = makeFixture({ inputDim: COLS, latentDim: LATENT });
    try {
      // The sample's imports are this test's; its bundle path is the fixture's. The rest runs as written
      // (it has no type annotations, so it is JavaScript as well).
      const body = block!.replace(/^import .*$/gm, '').replace(/'bundles\/fashion'/g, JSON.stringify(fx.dir));
      expect(body).toContain(JSON.stringify(fx.dir));
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<unknown>;
      const run = new AsyncFunction('Codec', 'pixels', `${body}\nreturn { codec, z, back, aez };`);
      const pixels = gunzipSync(gzipSync(sampleRows(6, COLS, 'uint8', 2) as Uint8Array));
      const { codec, z, back, aez } = (await run(Codec, pixels)) as { codec: Codec; z: Float32Array; back: Float32Array; aez: Uint8Array };
      try {
        expect(z).toHaveLength(6 * LATENT);
        expect(back).toHaveLength(6 * COLS);
        expect(Array.from(z)).toEqual(Array.from((await codec.encode(Float32Array.from(pixels))).data));
        const restored = await codec.decompress(aez);
        expect(restored.rows).toBe(6);
      } finally {
        await codec.dispose();
      }
    } finally {
      rmSync(fx.dir, { recursive: true, force: true });
    }
  });
});
