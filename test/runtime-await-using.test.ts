/**
 * `await using codec = await Codec.load(…)`: the codec is disposed when the block exits, normally or
 * by an exception, in the Node and the web entry. This file is compiled by the tests' tsconfig
 * (tsconfig.tests.json), so the `await using` lines are type-checked against Codec's declarations too.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Codec, DisposedError } from '@aekit/runtime';
import { Codec as WebCodec } from '../packages/runtime/src/web.js';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

describe('await using', () => {
  let fx: Fixture;
  const rows = sampleRows(2, 12);
  beforeAll(() => {
    fx = makeFixture({ inputDim: 12, latentDim: 4, seed: 9 });
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('disposes the codec when the block exits', async () => {
    let escaped: Codec | undefined;
    let dispose: ReturnType<typeof vi.spyOn> | undefined;
    {
      await using codec = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
      dispose = vi.spyOn(codec, 'dispose');
      escaped = codec;
      expect((await codec.encode(rows)).rows).toBe(2);
      expect(dispose).not.toHaveBeenCalled();
    }
    expect(dispose).toHaveBeenCalledTimes(1);
    await expect(escaped.encode(rows)).rejects.toBeInstanceOf(DisposedError);
  });

  it('disposes it when the block throws, and the error still propagates', async () => {
    let escaped: Codec | undefined;
    const run = async () => {
      await using codec = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
      escaped = codec;
      throw new Error('boom');
    };
    await expect(run()).rejects.toThrow('boom');
    await expect(escaped!.decode(new Float32Array(4))).rejects.toBeInstanceOf(DisposedError);
  });

  it('the method is Symbol.asyncDispose, returns dispose()’s promise, and may be called twice', async () => {
    const codec = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
    expect(typeof codec[Symbol.asyncDispose]).toBe('function');
    await expect(codec[Symbol.asyncDispose]()).resolves.toBeUndefined();
    await expect(codec.encode(rows)).rejects.toBeInstanceOf(DisposedError);
    await codec[Symbol.asyncDispose](); // as dispose(): a second call does nothing
  });

  it('works on the web entry (onnxruntime-web wasm, in Node)', async () => {
    let escaped: WebCodec | undefined;
    {
      await using codec = await WebCodec.load({ manifest: fx.manifest, files: fx.files }, { device: 'wasm', log: () => {} });
      escaped = codec;
      expect((await codec.reconstruct(rows)).rows).toBe(2);
    }
    await expect(escaped.encode(rows)).rejects.toBeInstanceOf(DisposedError);
  });
});
