/**
 * The engine-agnostic codec core against a fake onnxruntime module: device resolution and fallback,
 * the session options each device gets, and bundle checks, without loading any real model.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Codec, type BundleBytes, type LoadOptions } from '../src/codec.js';
import type { DeviceProvider, Platform } from '../src/devices.js';
import {
  BackendError,
  BundleError,
  DisposedError,
  encodeLatentTables,
  fitLatentTables,
  makeSpec,
  type OrtModule,
  type OrtSession,
  type OrtSessionOptions,
  type OrtTensor,
} from '@aekit/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBundleDir } from '../src/bundle-node.js';
import { checkFinite } from '../src/validate.js';

const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function fakeBundle(): BundleBytes {
  // The smallest well-formed ONNX ModelProtos (ir_version, empty graph): the runtime scans their framing.
  const files = { encoder: Uint8Array.of(0x08, 7, 0x3a, 0), decoder: Uint8Array.of(0x08, 8, 0x3a, 0), autoencoder: Uint8Array.of(0x08, 9, 0x3a, 0) };
  const entry = (g: keyof typeof files) => ({ path: `${g}.onnx`, sha256: hex(files[g]), bytes: files[g].length });
  return {
    manifest: {
      format: 'aekit-bundle',
      formatVersion: 1,
      producer: 'test',
      aekitVersion: '0.1.0',
      opset: 17,
      variant: 'ae',
      inputDim: 3,
      latentDim: 2,
      inputDtype: 'float32',
      outputDtype: 'float32',
      weights: 'float32',
      normalization: { kind: 'none' },
      latentRange: { min: [0, 0], max: [1, 1] },
      files: { encoder: entry('encoder'), decoder: entry('decoder'), autoencoder: entry('autoencoder') },
      source: { checkpointSha256: '0'.repeat(64), spec: makeSpec({ inputDim: 3, layers: [], latent: 2 }) },
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    files,
  };
}

class FakeTensor implements OrtTensor {
  constructor(
    readonly type: string,
    readonly data: Float32Array | Uint8Array,
    readonly dims: readonly number[],
  ) {}
}

/** A fake onnxruntime: EPs in `broken` fail to create sessions; the encoder sums each row. */
function fakePlatform(broken: Record<string, string>, created: OrtSessionOptions[]): Platform {
  const ort = {
    Tensor: FakeTensor,
    InferenceSession: {
      async create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> {
        const ep = String(options?.executionProviders?.[0]);
        if (broken[ep] !== undefined) throw new Error(`${broken[ep]}\nsecond line`);
        created.push(options ?? {});
        return {
          inputNames: ['x'],
          outputNames: ['z'],
          async run(feeds) {
            const x = feeds['x'] as FakeTensor;
            const [rows, cols] = x.dims as [number, number];
            const z = new Float32Array(rows * 2);
            for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) z[r * 2] += (x.data as Float32Array)[r * cols + c]!;
            return { z: new FakeTensor('float32', z, [rows, 2]) };
          },
          async release() {},
        };
        void model;
      },
    },
  } as unknown as OrtModule;
  const dev = (ep: string, extra: Partial<DeviceProvider> = {}): DeviceProvider => ({ ep, executionProviders: [ep], noCpuFallback: false, ...extra });
  return {
    ort,
    devices: { cpu: dev('cpu'), fast: dev('fast', { noCpuFallback: true, explain: (e) => `fast says: ${(e as Error).message.split('\n')[0]}` }), absent: dev('absent', { unavailable: () => 'not installed' }) },
    auto: ['absent', 'fast', 'cpu'],
    defaultThreads: 3,
    threadOptions: (t) => ({ intraOpNumThreads: t, extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}

class TestCodec extends Codec {
  static load(platform: Platform, bundle: BundleBytes, options?: LoadOptions) {
    return TestCodec.open(platform, bundle, options);
  }
}

describe('Codec core', () => {
  it('auto tries devices in order and records why each was passed over', async () => {
    const created: OrtSessionOptions[] = [];
    const codec = await TestCodec.load(fakePlatform({ fast: 'no fast hardware' }, created), fakeBundle());
    expect(codec.device).toBe('cpu');
    expect(codec.threads).toBe(3);
    expect(codec.deviceNotes).toEqual([
      { device: 'absent', reason: 'not installed' },
      { device: 'fast', reason: 'fast says: no fast hardware' },
    ]);
    expect(created).toHaveLength(3);
    expect(created[0]).toMatchObject({ intraOpNumThreads: 3, executionProviders: ['cpu'], extra: { session: { intra_op: { allow_spinning: '0' } } } });
    expect((created[0]!.extra as { session: Record<string, unknown> }).session['disable_cpu_ep_fallback']).toBeUndefined();
    const z = await codec.encode(Float32Array.of(1, 2, 3, 4, 5, 6));
    expect(Array.from(z.data)).toEqual([6, 0, 15, 0]);
  });

  it('devices that must not fall back to the CPU get disable_cpu_ep_fallback', async () => {
    const created: OrtSessionOptions[] = [];
    const codec = await TestCodec.load(fakePlatform({}, created), fakeBundle(), { device: 'fast', threads: 1 });
    expect(codec.device).toBe('fast');
    expect(created[0]).toMatchObject({ intraOpNumThreads: 1, extra: { session: { disable_cpu_ep_fallback: '1', intra_op: { allow_spinning: '0' } } } });
  });

  it('when nothing works, one error lists every device tried and why', async () => {
    const err = await TestCodec.load(fakePlatform({ fast: 'boom', cpu: 'cpu broke' }, []), fakeBundle()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toBe(
      'no device could run the bundle (requested "auto"). Tried absent: not installed; fast: fast says: boom; cpu: cpu broke',
    );
    await expect(TestCodec.load(fakePlatform({}, []), fakeBundle(), { device: 'gpu' })).rejects.toThrow(
      /unknown device "gpu"; valid devices: cpu, fast, absent, auto/,
    );
    await expect(TestCodec.load(fakePlatform({}, []), fakeBundle(), { batchSize: 1.5 })).rejects.toThrow(RangeError);
  });

  it('checks the manifest and every hash before creating any session', async () => {
    const created: OrtSessionOptions[] = [];
    const p = fakePlatform({}, created);
    const b = fakeBundle();
    b.files.autoencoder = Uint8Array.of(0x08, 10, 0x3a, 0);
    await expect(TestCodec.load(p, b)).rejects.toThrow(/autoencoder.onnx fails its integrity check/);
    const v2 = fakeBundle();
    (v2.manifest as { formatVersion: number }).formatVersion = 2;
    await expect(TestCodec.load(p, v2)).rejects.toThrow(BundleError);
    const noDim = fakeBundle();
    (noDim.manifest as { latentDim: unknown }).latentDim = '2';
    await expect(TestCodec.load(p, noDim)).rejects.toThrow(/latentDim must be an integer from 1 to \d+, got "2"/);
    const escape = fakeBundle();
    (escape.manifest as { files: { decoder: { path: string } } }).files.decoder.path = '../decoder.onnx';
    await expect(TestCodec.load(p, escape)).rejects.toThrow(/files.decoder.path must be a file name inside the bundle/);
    const missing = fakeBundle();
    delete (missing.files as Partial<BundleBytes['files']>).decoder;
    await expect(TestCodec.load(p, missing)).rejects.toThrow(/no decoder graph/);
    expect(created).toHaveLength(0);
  });
});

describe('Codec calls', () => {
  /** fakePlatform whose runs wait for `open()` and whose releases are logged. */
  function gated() {
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const base = fakePlatform({}, []);
    const create = base.ort.InferenceSession.create.bind(base.ort.InferenceSession);
    const ort = {
      ...base.ort,
      InferenceSession: {
        async create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> {
          const s = await create(model, options);
          return {
            ...s,
            run: (async (feeds: Record<string, OrtTensor>) => {
              await gate;
              log.push('run');
              return s.run(feeds);
            }) as OrtSession['run'],
            release: async () => void log.push('release'),
          };
        },
      },
    } as unknown as OrtModule;
    return { platform: { ...base, ort }, log, open: () => open() };
  }

  it('dispose() releases the sessions only after the calls in flight have settled', async () => {
    const g = gated();
    const codec = await TestCodec.load(g.platform, fakeBundle(), { device: 'cpu', batchSize: 1 });
    const call = codec.encode(Float32Array.of(1, 2, 3, 4, 5, 6)); // two batches
    const disposed = codec.dispose();
    await new Promise((r) => setTimeout(r, 5));
    expect(g.log).toEqual([]); // still waiting on the first batch
    g.open();
    await disposed;
    // the batch running when dispose() came finishes; the next one is not started
    await expect(call).rejects.toThrow(DisposedError);
    expect(g.log.filter((e) => e === 'run')).toHaveLength(1);
    expect(g.log.slice(-3)).toEqual(['release', 'release', 'release']);
    expect(g.log.indexOf('release')).toBeGreaterThan(g.log.indexOf('run'));
  });

  it('batches are joined in order, and argument errors reject (not throw)', async () => {
    const rows = Float32Array.from({ length: 7 * 3 }, (_, i) => i * 0.5);
    const whole = await TestCodec.load(fakePlatform({}, []), fakeBundle());
    const split = await TestCodec.load(fakePlatform({}, []), fakeBundle(), { batchSize: 3 });
    const a = await whole.encode(rows);
    const b = await split.encode(rows);
    expect(b.rows).toBe(7);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    const bad = split.encode(Float32Array.of(1, 2)); // not a whole row: a rejected promise, not a throw
    await expect(bad).rejects.toThrow(RangeError);
    await expect(split.decode(Float32Array.of(Number.NaN, 0))).rejects.toThrow(/decode: latents row 0, column 0 is NaN/);
    await expect(split.reconstruct('rows' as unknown as Float32Array)).rejects.toThrow(TypeError);
  });
});

describe('checkFinite', () => {
  it('names the first non-finite value and accepts huge finite ones', () => {
    expect(() => checkFinite('f', 'input', Float32Array.of(3e38, 3e38, 3e38, 3e38, -3e38, 1), 3)).not.toThrow();
    expect(() => checkFinite('f', 'input', Float32Array.of(0, 1, 2, 3, 4, Infinity, 6), 3)).toThrow('f: input row 1, column 2 is Infinity');
    expect(() => checkFinite('f', 'input', Float32Array.of(Number.NaN), 1)).toThrow(/row 0, column 0 is NaN/);
    // inside the 16-wide fast loop and in its remainder
    for (const at of [20, 33]) {
      const a = new Float32Array(35).fill(1);
      a[at] = Number.NaN;
      expect(() => checkFinite('f', 'x', a, 5)).toThrow(`f: x row ${Math.floor(at / 5)}, column ${at % 5} is NaN`);
    }
  });
});

describe('latent tables', () => {
  /** fakeBundle plus latent_tables.bin (fitted to some counts) listed in the manifest. */
  function withTables(bytes?: Uint8Array) {
    const b = fakeBundle();
    const counts = new Float64Array(2 * 256).map((_, i) => (i * 7919) % 13);
    const tables = fitLatentTables(counts, 2);
    const file = bytes ?? encodeLatentTables(tables);
    const m = b.manifest as { files: Record<string, unknown> };
    m.files['latentTables'] = { path: 'latent_tables.bin', sha256: hex(file), bytes: file.length };
    b.files.latentTables = file;
    return { bundle: b, tables, file };
  }

  it('are verified, parsed and exposed when the manifest lists them', async () => {
    const { bundle, tables } = withTables();
    const codec = await TestCodec.load(fakePlatform({}, []), bundle);
    expect(codec.latentTables).toEqual(tables);
    expect((await TestCodec.load(fakePlatform({}, []), fakeBundle())).latentTables).toBeUndefined();
  });

  it('a missing, modified, damaged or mis-sized tables file is a BundleError naming it', async () => {
    const p = fakePlatform({}, []);
    const missing = withTables().bundle;
    delete missing.files.latentTables;
    await expect(TestCodec.load(p, missing)).rejects.toThrow(/no latent tables \(latent_tables.bin, listed in the manifest's files.latentTables\)/);
    const modified = withTables();
    modified.bundle.files.latentTables = modified.file.slice();
    modified.bundle.files.latentTables[20]! ^= 1;
    const err = await TestCodec.load(p, modified.bundle).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as Error).message).toMatch(/latent_tables.bin fails its integrity check/);
    // damaged, but the manifest hash matches (re-hashed): the parser names the file and the fault
    const bad = withTables().file.slice();
    bad[16] = 0;
    bad[17] = 0;
    const damaged = await TestCodec.load(p, withTables(bad).bundle).catch((e: unknown) => e);
    expect(damaged).toBeInstanceOf(BundleError);
    expect((damaged as BundleError).file).toBe('latent_tables.bin');
    expect((damaged as Error).message).toMatch(/^latent_tables.bin: dimension 0: symbol 0 has frequency 0/);
    const three = encodeLatentTables(fitLatentTables(new Float64Array(3 * 256), 3));
    await expect(TestCodec.load(p, withTables(three).bundle)).rejects.toThrow(/tables for 3 latent dimensions but the bundle has 2/);
    const badEntry = withTables().bundle;
    (badEntry.manifest as { files: { latentTables: { sha256: string } } }).files.latentTables.sha256 = 'xyz';
    await expect(TestCodec.load(p, badEntry)).rejects.toThrow(/files.latentTables.sha256 must be 64 lowercase hex digits/);
  });

  it('are read from a bundle directory when the manifest lists them', async () => {
    const { bundle, file } = withTables();
    const dir = mkdtempSync(join(tmpdir(), 'aekit-tables-'));
    try {
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(bundle.manifest));
      for (const g of ['encoder', 'decoder', 'autoencoder'] as const) writeFileSync(join(dir, `${g}.onnx`), bundle.files[g]!);
      writeFileSync(join(dir, 'latent_tables.bin'), file);
      const read = await readBundleDir(dir);
      expect(Buffer.from(read.files.latentTables!).equals(Buffer.from(file))).toBe(true);
      rmSync(join(dir, 'latent_tables.bin'));
      await expect(readBundleDir(dir)).rejects.toThrow(/is missing latent_tables.bin \(the latent tables listed in manifest.json\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
