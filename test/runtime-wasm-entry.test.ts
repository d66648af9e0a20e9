/**
 * `@aekit/runtime/wasm` in Node (onnxruntime-web's wasm-only build runs there too): the same Codec
 * API and results as the browser entry, devices `wasm` / `auto` only, and a RangeError pointing at the
 * full entry for `webgpu`. Chromium: test/browser/wasm-entry.test.ts.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError } from '@aekit/core';
import * as wasmEntry from '../packages/runtime/src/wasm.js';
import { Codec as WebCodec } from '../packages/runtime/src/web.js';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

describe('@aekit/runtime/wasm', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = makeFixture({ inputDim: 12, latentDim: 4, seed: 12 });
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('runs a bundle on wasm with the results of the full entry', async () => {
    const bytes = { manifest: fx.manifest, files: fx.files };
    const rows = sampleRows(5, 12);
    for (const device of ['wasm', 'auto', undefined] as const) {
      const codec = await wasmEntry.Codec.load(bytes, { log: () => {}, ...(device ? { device } : {}) });
      expect(codec).toBeInstanceOf(wasmEntry.Codec);
      expect(codec.device).toBe('wasm');
      expect(codec.deviceNotes).toEqual([]); // auto does not try (and log about) WebGPU here
      const full = await WebCodec.load(bytes, { device: 'wasm', log: () => {} });
      expect(Array.from((await codec.reconstruct(rows)).data)).toEqual(Array.from((await full.reconstruct(rows)).data));
      await Promise.all([codec.dispose(), full.dispose()]);
    }
    expect(wasmEntry.deviceNames()).toEqual(['wasm', 'auto']);
  });

  it('refuses webgpu with a RangeError that names the full entry, before anything loads', async () => {
    const err = await wasmEntry.Codec.load('http://127.0.0.1:9/nothing-here/', { device: 'webgpu' as 'wasm' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toBe(
      `device "webgpu" is not available from @aekit/runtime/wasm, which ships onnxruntime-web's wasm-only build; use device 'wasm' (or 'auto'), or the full entry '@aekit/runtime' for WebGPU`,
    );
    await expect(wasmEntry.Codec.load({ manifest: fx.manifest, files: fx.files }, { device: 'cpu' as 'wasm', log: () => {} })).rejects.toThrow(
      /unknown device "cpu"; valid devices: wasm, auto/,
    );
  });

  it('checks bundles as the other entries do', async () => {
    const files = { ...fx.files, decoder: fx.files.encoder };
    await expect(wasmEntry.Codec.load({ manifest: fx.manifest, files }, { device: 'wasm', log: () => {} })).rejects.toBeInstanceOf(BundleError);
  });
});
