/**
 * A VAE from training to generation: the exported encoder outputs z_mean and z_log_var that match the
 * tfjs engine within 1e-5 (and the decoder likewise), the manifest says variant 'vae', codec.sample
 * is reproducible with a seed, and `aekit sample` / `aekit interpolate` write the PNGs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, type CheckpointMeta, DEFAULT_ADAM, makeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { decodeModel } from '@aekit/onnx';
import { readCheckpointFiles, writeBundle } from '@aekit/exporter/node';
import { BundleError, Codec } from '@aekit/runtime';
import { type Dataset, writeNpy } from '@aekit/data';
import { type TrainResult, train } from '@aekit/trainer';
import { runCli } from './helpers/cli.js';
import { checkModels, checkerAvailable } from './helpers/onnx-checker.js';
import { standardNormals } from '../packages/runtime/src/sample.js';
import { TfjsVaeEngine } from '../packages/trainer/src/variants/vae.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-vae-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 300 "images" of 4×4 uint8 pixels: blobs whose position and brightness vary (two factors). */
function images(rows: number): Uint8Array {
  const out = new Uint8Array(rows * 16);
  for (let r = 0; r < rows; r++) {
    const cx = 1.5 + 1.5 * Math.sin(r * 0.37);
    const b = 0.6 + 0.4 * Math.cos(r * 0.11);
    for (let p = 0; p < 16; p++) {
      const d = Math.abs((p % 4) - cx) + Math.abs(Math.floor(p / 4) - 1.5) * 0.5;
      out[r * 16 + p] = Math.round(255 * b * Math.exp(-d));
    }
  }
  return out;
}

const ROWS = 300;
const data: Dataset = { data: images(ROWS), rows: ROWS, cols: 16, dtype: 'uint8', source: 'test:blobs' };
const spec = makeSpec({ inputDim: 16, layers: [12], latent: 3 });
let result: TrainResult;
const bundle = join(dir, 'bundle');

const run = (...argv: string[]) => runCli(argv);

beforeAll(async () => {
  result = await train({ data, spec, variant: 'vae', beta: 0.1, epochs: 4, batchSize: 16, seed: 2, adam: { learningRate: 0.01 }, engine: 'tfjs', backend: 'cpu', out: join(dir, 'ckpt') });
  const exported = await exportBundle(await readCheckpointFiles(join(dir, 'ckpt')));
  await writeBundle(bundle, exported);
  await writeNpy(join(dir, 'rows.npy'), data.data as Uint8Array, [ROWS, 16]);
});

describe('VAE export', () => {
  it('manifest says vae; encoder has outputs z_mean and z_log_var; decoder takes z of latentDim', async () => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { variant: string; latentDim: number };
    expect(manifest.variant).toBe('vae');
    expect(manifest.latentDim).toBe(3);
    const enc = await ort.InferenceSession.create(join(bundle, 'encoder.onnx'));
    const dec = await ort.InferenceSession.create(join(bundle, 'decoder.onnx'));
    expect(enc.outputNames).toEqual(['z_mean', 'z_log_var']);
    expect(dec.inputNames).toEqual(['z']);
    expect(dec.outputNames).toEqual(['x_hat']);
  });

  it.skipIf(!checkerAvailable())('the official onnx.checker accepts the VAE encoder (full check)', () => {
    checkModels({ encoder: readFileSync(join(bundle, 'encoder.onnx')), decoder: readFileSync(join(bundle, 'decoder.onnx')) });
  });

  it('ONNX encoder and decoder match the tfjs VAE within 1e-5', async () => {
    const engine = await TfjsVaeEngine.create({ spec, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 16, beta: 0.1, seed: 2 }, 'cpu');
    await engine.setState(result.params);
    const n = 64;
    const raw = Float32Array.from((data.data as Uint8Array).subarray(0, n * 16));
    const x = raw.map((v) => v / 255);
    const mean = await engine.encode(x, n);
    const logVar = await engine.encodeLogVar(x, n);
    const enc = await ort.InferenceSession.create(join(bundle, 'encoder.onnx'));
    const out = await enc.run({ x: new ort.Tensor('float32', raw, [n, 16]) });
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>, scale = 1) => {
      expect(a.length).toBe(b.length);
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! / scale - b[i]!));
      return m;
    };
    expect(maxDiff(out['z_mean']!.data as Float32Array, mean)).toBeLessThan(1e-5);
    expect(maxDiff(out['z_log_var']!.data as Float32Array, logVar)).toBeLessThan(1e-5);
    // The head is trained, not the zero start: log-variances differ between rows.
    expect(new Set(Array.from(logVar, (v) => v.toFixed(4))).size).toBeGreaterThan(10);
    const z = standardNormals(n * 3, 5);
    const viaTfjs = await engine.decode(z, n);
    const dec = await ort.InferenceSession.create(join(bundle, 'decoder.onnx'));
    const xHat = (await dec.run({ z: new ort.Tensor('float32', z, [n, 3]) }))['x_hat']!.data as Float32Array;
    expect(maxDiff(xHat, viaTfjs, 255)).toBeLessThan(1e-5);
    engine.dispose();
  });
});

describe('VAE checkpoint head file (vae_head.bin)', () => {
  it('a flipped byte in vae_head.bin is refused by export (API and `aekit export`), naming the file', async () => {
    const damaged = join(dir, 'ckpt-damaged');
    cpSync(join(dir, 'ckpt'), damaged, { recursive: true });
    const bytes = readFileSync(join(damaged, 'vae_head.bin'));
    bytes[bytes.length - 3]! ^= 0x01;
    writeFileSync(join(damaged, 'vae_head.bin'), bytes);
    const e = await exportBundle(await readCheckpointFiles(damaged)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/vae_head\.bin does not match the SHA-256 recorded in aekit\.json/);
    const r = await run('export', damaged, '--out', join(dir, 'bundle-damaged'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^aekit: vae_head\.bin does not match the SHA-256/);
  });

  it('an older checkpoint with the head as JSON in aekit.json exports the same encoder', async () => {
    const legacy = join(dir, 'ckpt-legacy');
    cpSync(join(dir, 'ckpt'), legacy, { recursive: true });
    const head = result.params.at(-1)!;
    const meta = JSON.parse(readFileSync(join(legacy, 'aekit.json'), 'utf8')) as CheckpointMeta;
    meta.vae = { beta: meta.vae!.beta, logVar: { inputDim: head.inputDim, units: head.units, kernel: Array.from(head.kernel), bias: Array.from(head.bias) } };
    writeFileSync(join(legacy, 'aekit.json'), JSON.stringify(meta));
    rmSync(join(legacy, 'vae_head.bin'));
    const a = await exportBundle(await readCheckpointFiles(join(dir, 'ckpt')));
    const b = await exportBundle(await readCheckpointFiles(legacy));
    expect(b.manifest.variant).toBe('vae');
    // Same graph; the metadata differs only in bundle_id (aekit.json, so the checkpoint hash, changed).
    expect(decodeModel(b.files['encoder.onnx']!).graph).toEqual(decodeModel(a.files['encoder.onnx']!).graph);
    expect(b.manifest.bundleId).not.toBe(a.manifest.bundleId);
  });
});

describe('codec.sample', () => {
  it('draws z ~ N(0, I) from the seed and decodes it: same seed, same rows', async () => {
    const codec = await Codec.load(bundle, { device: 'cpu' });
    try {
      const a = await codec.sample(10, 7);
      const b = await codec.sample(10, 7);
      const c = await codec.sample(10, 8);
      expect([a.rows, a.cols]).toEqual([10, 16]);
      expect(b.data).toEqual(a.data);
      expect(c.data).not.toEqual(a.data);
      expect((await codec.decode(standardNormals(30, 7))).data).toEqual(a.data);
      await expect(codec.sample(0)).rejects.toBeInstanceOf(RangeError);
      await expect(codec.sample(2, -1)).rejects.toBeInstanceOf(RangeError);
    } finally {
      await codec.dispose();
    }
  });

  it('the latent draws are standard normal', () => {
    const z = standardNormals(40000, 1);
    const mean = z.reduce((s, v) => s + v, 0) / z.length;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    expect(standardNormals(5, 1)).toEqual(z.subarray(0, 5));
  });

  it('a plain autoencoder bundle cannot sample (BundleError saying why)', async () => {
    await train({ data, spec, epochs: 1, batchSize: 32, engine: 'tfjs', backend: 'cpu', out: join(dir, 'ae') });
    await writeBundle(join(dir, 'ae-bundle'), await exportBundle(await readCheckpointFiles(join(dir, 'ae'))));
    const codec = await Codec.load(join(dir, 'ae-bundle'), { device: 'cpu' });
    try {
      const e = await codec.sample(4, 1).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BundleError);
      expect((e as Error).message).toMatch(/plain autoencoder.*--variant vae/);
    } finally {
      await codec.dispose();
    }
  });
});

describe('aekit train --variant vae', () => {
  it('trains a VAE (with input noise) from the command line and records both in aekit.json', async () => {
    const out = join(dir, 'cli-vae');
    const r = await run('train', '--data', join(dir, 'rows.npy'), '--layers', '8', '--latent', '2', '--variant', 'vae', '--beta', '0.5', '--noise', 'mask:0.2', '--epochs', '1', '--engine', 'tfjs', '--backend', 'cpu', '--json', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')) as { training: { variant: string; noise: string }; vae: { beta: number } };
    expect(meta.training).toMatchObject({ variant: 'vae', noise: 'mask:0.2' });
    expect(meta.vae.beta).toBe(0.5);
    for (const [argv, msg] of [
      [['--variant', 'gan'], /unknown variant "gan"; valid: ae, vae/],
      [['--noise', 'salt:0.1'], /unknown noise "salt"/],
      [['--beta', '1'], /--beta applies to --variant vae only/],
    ] as const) {
      const bad = await run('train', '--data', join(dir, 'rows.npy'), ...argv, '--epochs', '1', '--out', join(dir, 'never'));
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(msg);
    }
  });
});

describe('aekit sample / interpolate', () => {
  it('sample writes a PNG grid, identical for the same seed', async () => {
    const r = await run('sample', bundle, '--n', '12', '--seed', '3', '--cols', '4', '--zoom', '2', '--out', join(dir, 's1.png'), '--device', 'cpu');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    await run('sample', bundle, '--n', '12', '--seed', '3', '--cols', '4', '--zoom', '2', '--out', join(dir, 's2.png'), '--device', 'cpu');
    const png = PNG.sync.read(readFileSync(join(dir, 's1.png')));
    // 4 columns × 3 rows of 8-px tiles with 2-px gaps.
    expect([png.width, png.height]).toEqual([4 * 10 + 2, 3 * 10 + 2]);
    expect(readFileSync(join(dir, 's2.png'))).toEqual(readFileSync(join(dir, 's1.png')));
  });

  it('interpolate writes A, the walk and B as one strip; bad input is one clear line', async () => {
    const r = await run('interpolate', bundle, '0', '7', '--data', join(dir, 'rows.npy'), '--steps', '6', '--zoom', '2', '--out', join(dir, 'strip.png'), '--device', 'cpu');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const png = PNG.sync.read(readFileSync(join(dir, 'strip.png')));
    expect([png.width, png.height]).toEqual([8 * 10 + 2, 12]);
    // An endpoint may be a data file (its first row) instead of an index.
    await writeNpy(join(dir, 'one.npy'), (data.data as Uint8Array).slice(3 * 16, 4 * 16), [1, 16]);
    const f = await run('interpolate', bundle, join(dir, 'one.npy'), '7', '--data', join(dir, 'rows.npy'), '--steps', '3', '--out', join(dir, 'walk.npy'), '--device', 'cpu');
    expect(f.err).toBe('');
    expect(f.out).toContain('from first row of');
    const viaIndex = await run('interpolate', bundle, '3', '7', '--data', join(dir, 'rows.npy'), '--steps', '3', '--out', join(dir, 'walk2.npy'), '--device', 'cpu');
    expect(viaIndex.code).toBe(0);
    expect(readFileSync(join(dir, 'walk.npy'))).toEqual(readFileSync(join(dir, 'walk2.npy')));
    const bad = await run('interpolate', bundle, '0', '999', '--data', join(dir, 'rows.npy'), '--out', join(dir, 'x.png'), '--device', 'cpu');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^aekit: B 999: .* has 300 rows \(0 to 299\)\n$/);
    const badOut = await run('sample', bundle, '--out', join(dir, 'x.txt'));
    expect(badOut.code).toBe(2);
    expect(badOut.err).toMatch(/give a \.png .* or \.npy/);
  });
});
