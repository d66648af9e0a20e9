/**
 * `LoadOptions.sessionOptions`: what reaches onnxruntime's InferenceSession.create (the user's value
 * over aekit's defaults, aekit's device / threads / CPU-fallback choices over the user's), an
 * observable effect on a real onnxruntime-node session, the web entry's sessions, and clear errors
 * for values onnxruntime would refuse or aekit decides itself.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import type { OrtModule, OrtSessionOptions } from '@aekit/core';
import { Codec, type SessionOptions } from '@aekit/runtime';
import { type BundleBytes, Codec as CodecCore, type LoadOptions } from '../packages/runtime/src/codec.js';
import { nodePlatform } from '../packages/runtime/src/devices-node.js';
import type { Platform } from '../packages/runtime/src/devices.js';
import { Codec as WebCodec } from '../packages/runtime/src/web.js';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

/** Opens codecs on any platform (Codec.open is protected: entries wrap it as Codec.load). */
class OpenCodec extends CodecCore {
  static make(platform: Platform, bundle: BundleBytes, options: LoadOptions): Promise<OpenCodec> {
    return this.open(platform, bundle, options);
  }
}

/** onnxruntime-node with InferenceSession.create recording the options of every call. */
function recordingOrt(seen: OrtSessionOptions[], fail = false): OrtModule {
  return {
    Tensor: ortNode.Tensor,
    InferenceSession: {
      create: (model, options) => {
        seen.push(options ?? {});
        return fail ? Promise.reject(new Error('stopped by the test')) : ortNode.InferenceSession.create(model, options);
      },
    },
  };
}

describe('sessionOptions', () => {
  let fx: Fixture;
  let bundle: BundleBytes;
  beforeAll(() => {
    fx = makeFixture({ inputDim: 12, latentDim: 4, seed: 5 });
    bundle = { manifest: fx.manifest, files: fx.files };
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it("reach session creation: the user's values over aekit's defaults, aekit's device and threads over the user's", async () => {
    const plain: OrtSessionOptions[] = [];
    const a = await OpenCodec.make(nodePlatform(recordingOrt(plain)), bundle, { device: 'cpu', threads: 2 });
    await a.dispose();
    expect(plain).toHaveLength(3);
    expect(plain[0]).toMatchObject({ graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: 2, executionProviders: ['cpu'] });
    expect(plain[0]!.extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
    expect(plain[0]!.logSeverityLevel).toBeUndefined();

    const seen: OrtSessionOptions[] = [];
    const user: SessionOptions = {
      graphOptimizationLevel: 'basic',
      logSeverityLevel: 3,
      executionMode: 'parallel',
      interOpNumThreads: 2,
      enableMemPattern: false,
      extra: { session: { intra_op: { allow_spinning: '1' }, use_env_allocators: '0' } },
    };
    const b = await OpenCodec.make(nodePlatform(recordingOrt(seen)), bundle, { device: 'cpu', threads: 1, sessionOptions: user });
    // The sessions run with them: same results as with aekit's defaults.
    const x = sampleRows(4, 12) as Float32Array;
    const ref = await Codec.load(fx.dir, { device: 'cpu', threads: 1 });
    expect(Array.from((await b.reconstruct(x)).data)).toEqual(Array.from((await ref.reconstruct(x)).data));
    await Promise.all([b.dispose(), ref.dispose()]);
    expect(seen).toHaveLength(3);
    for (const o of seen) {
      expect(o).toMatchObject({ graphOptimizationLevel: 'basic', logSeverityLevel: 3, executionMode: 'parallel', interOpNumThreads: 2, enableMemPattern: false });
      expect(o).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 1 });
      expect(o.extra).toEqual({ session: { intra_op: { allow_spinning: '1' }, use_env_allocators: '0' } });
    }
    // The caller's object is not the one handed to onnxruntime, nor changed.
    expect(user.extra).toEqual({ session: { intra_op: { allow_spinning: '1' }, use_env_allocators: '0' } });
  });

  it('a device that must not fall back to the CPU keeps disable_cpu_ep_fallback whatever extra says', async () => {
    const seen: OrtSessionOptions[] = [];
    const base = nodePlatform(recordingOrt(seen, true));
    const strict: Platform = { ...base, devices: { strict: { ep: 'strict', executionProviders: ['cpu'], noCpuFallback: true } }, auto: ['strict'] };
    const err = await OpenCodec.make(strict, bundle, {
      device: 'strict',
      sessionOptions: { extra: { session: { disable_cpu_ep_fallback: '0', intra_op: { allow_spinning: '1' } } } },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/stopped by the test/);
    expect(seen[0]!.extra).toEqual({ session: { disable_cpu_ep_fallback: '1', intra_op: { allow_spinning: '1' } } });
  });

  it('has an observable effect on onnxruntime-node: enableProfiling writes a profile per session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aekit-prof-'));
    try {
      const codec = await Codec.load(fx.dir, { device: 'cpu', threads: 1, sessionOptions: { enableProfiling: true, profileFilePrefix: join(dir, 'aekit') } });
      await codec.encode(sampleRows(2, 12));
      await codec.dispose();
      const profiles = readdirSync(dir).filter((f) => f.startsWith('aekit') && f.endsWith('.json'));
      expect(profiles.length).toBeGreaterThanOrEqual(1);
      // The encoder's profile holds the run of its Gemm nodes.
      const events = profiles.flatMap((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Array<{ name: string }>);
      expect(events.some((e) => /Gemm/.test(e.name))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Without it, nothing is written.
    const none = mkdtempSync(join(tmpdir(), 'aekit-prof-'));
    const codec = await Codec.load(fx.dir, { device: 'cpu', threads: 1, sessionOptions: { profileFilePrefix: join(none, 'aekit') } });
    await codec.dispose();
    expect(readdirSync(none)).toEqual([]);
    rmSync(none, { recursive: true, force: true });
  });

  it('invalid values, options aekit sets itself and unknown keys are refused before anything loads, naming the key', async () => {
    const load = (sessionOptions: unknown) => Codec.load(fx.dir, { device: 'cpu', sessionOptions: sessionOptions as SessionOptions });
    await expect(load({ graphOptimizationLevel: 'max' })).rejects.toThrow(
      new RangeError(`sessionOptions.graphOptimizationLevel must be one of 'disabled', 'basic', 'extended', 'layout', 'all', got "max"`),
    );
    await expect(load({ logSeverityLevel: 7 })).rejects.toThrow(/sessionOptions\.logSeverityLevel must be an integer from 0 \(verbose\) to 4 \(fatal\), got 7/);
    await expect(load({ executionMode: 'serial' })).rejects.toThrow(RangeError);
    await expect(load({ interOpNumThreads: 0 })).rejects.toThrow(/sessionOptions\.interOpNumThreads must be an integer from 1/);
    await expect(load({ enableMemPattern: 'no' })).rejects.toThrow(/sessionOptions\.enableMemPattern must be a boolean/);
    await expect(load({ executionProviders: ['cuda'] })).rejects.toThrow(/sessionOptions\.executionProviders is not accepted: the execution provider comes from the device option/);
    await expect(load({ intraOpNumThreads: 4 })).rejects.toThrow(/comes? from the threads option/);
    await expect(load({ graphOptimisationLevel: 'all' })).rejects.toThrow(/sessionOptions\.graphOptimisationLevel is not an option aekit passes to onnxruntime; accepted: graphOptimizationLevel/);
    await expect(load({ extra: { session: { intra_op: { allow_spinning: 1 } } } })).rejects.toThrow(/sessionOptions\.extra\.session\.intra_op\.allow_spinning must be a string/);
    await expect(load('all')).rejects.toThrow(/sessionOptions must be an object, got string/);
  });
});

describe('sessionOptions in the web entry (onnxruntime-web wasm, in Node)', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = makeFixture({ inputDim: 12, latentDim: 4, seed: 6 });
  });
  afterAll(() => {
    vi.restoreAllMocks();
    rmSync(fx.dir, { recursive: true, force: true });
  });

  it('reach onnxruntime-web session creation, over logLevel, with the device aekit picks', async () => {
    const ortWeb = await import('onnxruntime-web');
    const create = vi.spyOn(ortWeb.InferenceSession, 'create');
    const codec = await WebCodec.load(
      { manifest: fx.manifest, files: fx.files },
      { device: 'wasm', log: () => {}, logLevel: 'error', sessionOptions: { graphOptimizationLevel: 'extended', logSeverityLevel: 4 } },
    );
    const z = await codec.encode(sampleRows(2, 12));
    expect(z.rows).toBe(2);
    await codec.dispose();
    expect(create).toHaveBeenCalledTimes(3);
    for (const call of create.mock.calls) {
      expect(call[1]).toMatchObject({ graphOptimizationLevel: 'extended', logSeverityLevel: 4, executionProviders: ['wasm'] });
    }
    await expect(WebCodec.load({ manifest: fx.manifest, files: fx.files }, { device: 'wasm', log: () => {}, sessionOptions: { logSeverityLevel: -1 as 0 } })).rejects.toThrow(
      /sessionOptions\.logSeverityLevel must be an integer from 0/,
    );
  });
});
