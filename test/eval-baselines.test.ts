/**
 * Honest reporting: `aekit eval` puts the model beside the mean image and PCA at the same width / bytes
 * (fitted on the same rows) and beside what `compress` really stores; `aekit train` warns when the
 * latent is wider than the narrowest hidden layer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@aekit/data';
import { type BundleManifest, Codec, CodecPool } from '@aekit/runtime';
import { dequantizeCoefficients, fitCoefficientQuantizer, fitPca, pcaProject, pcaReconstruct, quantizeCoefficients } from '@aekit/trainer';
import { EVAL_REFERENCE_MAX_ROWS, type EvalBaselines, type EvalReport, evalBlockRows, evaluateBaselines, evaluateCodec, formatBaselines, normalisedMse, verdicts } from '../packages/cli/src/commands/eval.js';
import { runCli, structuredCsv } from './helpers/cli.js';
import { type Fixture, makeFixture } from './runtime-fixtures.js';

const ROWS = 300;
const D = 12;

/** Uint8 rows with a low-rank structure (three factors) plus a little noise: PCA-4 captures most of it. */
function rows(): Uint8Array {
  const out = new Uint8Array(ROWS * D);
  for (let r = 0; r < ROWS; r++) {
    const a = Math.sin(r * 1.3), b = Math.cos(r * 0.7), c = Math.sin(r * 0.31 + 1);
    for (let j = 0; j < D; j++) out[r * D + j] = Math.round(128 + 60 * a * Math.sin(j) + 40 * b * Math.cos(j) + 20 * c * Math.sin(2 * j) + ((r * 7 + j * 13) % 5) - 2);
  }
  return out;
}

const mse = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
};

describe('aekit eval: references at the same size', () => {
  let fx: Fixture;
  let npy: string;
  const x = rows();
  beforeAll(() => {
    fx = makeFixture({ inputDim: D, latentDim: 4, dtype: 'uint8' }); // random weights, scale255
    npy = join(fx.dir, 'rows.npy');
    writeFileSync(npy, encodeNpy(x, [ROWS, D]));
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('--json: mean image, PCA float / uint8 and the compressed round trip, each recomputable', async () => {
    const r = await runCli(['eval', fx.dir, '--data', npy, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as EvalReport & {
      baselines: EvalBaselines;
      compressed: { latent: string; bytes: number; bytesPerRow: number; mse: number; psnr: number };
      verdicts: string[];
    };
    // PCA on pixels / 255, fitted on these rows
    const xn = Float32Array.from(x, (v) => v / 255);
    const pca = fitPca(xn, D, { components: 4 });
    const c = pcaProject(pca, xn, 4);
    expect(j.baselines.fittedOn).toBe('evaluated rows');
    expect(j.baselines.pcaFloat).toMatchObject({ k: 4, bytesPerRow: 16 });
    expect(j.baselines.pcaFloat.mse).toBeCloseTo(mse(xn, pcaReconstruct(pca, c, 4)), 10);
    const q = fitCoefficientQuantizer(c, 4);
    expect(j.baselines.pcaUint8).toMatchObject({ k: 4, bytesPerRow: 4 });
    expect(j.baselines.pcaUint8.mse).toBeCloseTo(mse(xn, pcaReconstruct(pca, dequantizeCoefficients(q, quantizeCoefficients(q, c)), 4, { clip: pca.range })), 10);
    expect(j.baselines.pcaUint8.psnr).toBeCloseTo(10 * Math.log10(1 / j.baselines.pcaUint8.mse), 10);
    // the mean image is PCA with 0 components: never better than PCA-4
    expect(j.baselines.meanImage.mse).toBeGreaterThan(j.baselines.pcaFloat.mse);
    expect(j.baselines.meanImage.mse).toBeCloseTo(mse(xn, pcaReconstruct(pca, new Float64Array(ROWS * 4), 4)), 10);
    // the compressed figures are the runtime's compress / decompress on the same rows
    const codec = await Codec.load(fx.dir);
    const bytes = await codec.compress(x);
    const back = (await codec.decompress(bytes)).data;
    await codec.dispose();
    expect(j.compressed.bytes).toBe(bytes.length);
    expect(j.compressed.bytesPerRow).toBeCloseTo(bytes.length / ROWS, 10);
    expect(j.compressed.mse / (mse(x, back) / 255 ** 2)).toBeCloseTo(1, 6); // the CLI scales by float32(1/255)
    // a random-weight model against PCA: the sentences say so exactly when it is behind
    expect(j.verdicts).toEqual(verdicts(j, j.baselines, j.compressed));
    expect(j.verdicts.some((v) => v.startsWith('The model does not beat PCA at the same latent width'))).toBe(j.mse >= j.baselines.pcaFloat.mse);
  });

  it('text: one line per reference and the plain sentence; --no-baselines leaves them out', async () => {
    const r = await runCli(['eval', fx.dir, '--data', npy]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/model compressed \(\w+ latents\) +[\d.]+ bytes\/row +MSE [\d.e-]+ +PSNR [\d.]+ dB/);
    expect(r.out).toMatch(/mean image +0 bytes\/row/);
    expect(r.out).toMatch(/PCA-4, float32 coefficients \(linear optimum\) +16 bytes\/row/);
    expect(r.out).toMatch(/PCA-4, uint8 coefficients, clipped to range +4 bytes\/row/);
    expect(r.out).toContain('fitted on these same rows, which favours them');
    const bare = await runCli(['eval', fx.dir, '--data', npy, '--no-baselines', '--json']);
    expect(bare.code).toBe(0);
    expect(JSON.parse(bare.out)).not.toHaveProperty('baselines');
  });
});

describe('the model scored a block at a time', () => {
  // A pool keeps two blocks in flight (the next one runs on the workers while this thread scores).
  it.each([
    ['a Codec in this thread', 1],
    ['a CodecPool of 2 workers', 2],
  ])('gives the MSE of the whole reconstruction, each block seen once in order: %s', async (_what, workers) => {
    const cols = 4096; // 16 MiB of float32 reconstructions = 1024 rows a block
    expect(evalBlockRows(cols, 1024)).toBe(1024);
    expect(evalBlockRows(cols, 4096)).toBe(1024); // capped at 16 MiB
    expect(evalBlockRows(784, 1024)).toBe(1024); // one batch
    expect(evalBlockRows(1 << 23, 1024)).toBe(1); // at least a row
    const fx = makeFixture({ inputDim: cols, latentDim: 3, seed: 5 });
    const codec = workers === 1 ? await Codec.load(fx.dir, { device: 'cpu', threads: 1 }) : await CodecPool.load(fx.dir, { device: 'cpu', workers, threads: workers });
    try {
      const n = 2100;
      const x = new Float32Array(n * cols).map((_, i) => Math.sin(i * 0.37));
      const whole = new Float32Array(n * cols);
      const firsts: number[] = [];
      const report = await evaluateCodec(codec, x, 4, (y, first) => {
        firsts.push(first);
        whole.set(y, first * cols);
      });
      expect(firsts).toEqual([0, 1024, 2048]);
      expect(report.rows).toBe(n);
      const reference = (await codec.reconstruct(x)).data;
      expect(Buffer.from(whole.buffer).equals(Buffer.from(reference.buffer, reference.byteOffset, reference.byteLength))).toBe(true);
      expect(report.mse).toBeCloseTo(normalisedMse(codec.manifest, x, reference), 12);
    } finally {
      await codec.dispose();
      rmSync(fx.dir, { recursive: true, force: true });
    }
  });
});

describe('a bad value in a later block', () => {
  // On a pool the first block is still in flight when the second fails: no unhandled rejection.
  it.each([1, 2])('is reported with its row in the whole input (%i workers)', async (workers) => {
    const cols = 4096;
    const fx = makeFixture({ inputDim: cols, latentDim: 3, seed: 5 });
    const codec = workers === 1 ? await Codec.load(fx.dir, { device: 'cpu', threads: 1 }) : await CodecPool.load(fx.dir, { device: 'cpu', workers, threads: workers });
    try {
      const x = new Float32Array(2100 * cols).map((_, i) => Math.sin(i * 0.37));
      x[1500 * cols + 7] = Number.NaN; // second block
      await expect(evaluateCodec(codec, x, 4)).rejects.toThrow(/input row 1500, column 7 is NaN/);
    } finally {
      await codec.dispose();
      rmSync(fx.dir, { recursive: true, force: true });
    }
  });
});

describe('references on many rows', () => {
  it('are fitted and scored on EVAL_REFERENCE_MAX_ROWS evenly spaced rows past it, and say so', () => {
    const d = 6;
    const n = EVAL_REFERENCE_MAX_ROWS + 4000;
    let s = 7;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
    const rows = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const a = rnd();
      const b = rnd();
      for (let j = 0; j < d; j++) rows[r * d + j] = a * (j + 1) + b * (d - j) + 0.05 * rnd(); // rank 2 plus noise
    }
    const manifest = { inputDim: d, latentDim: 2, normalization: { kind: 'none' } } as unknown as BundleManifest;
    const sampled = evaluateBaselines(manifest, rows) as EvalBaselines;
    expect(sampled.sample).toEqual({ rows: EVAL_REFERENCE_MAX_ROWS, of: n });
    // the sample's PCA scores within a few per cent of the full fit's error on all rows
    const full = fitPca(rows, d, { components: 2 });
    const fullMse = full.eigenvalues.slice(2).reduce((a, b) => a + Math.max(0, b), 0) / d;
    expect(sampled.pcaFloat.mse / fullMse).toBeGreaterThan(0.95);
    expect(sampled.pcaFloat.mse / fullMse).toBeLessThan(1.05);
    const text = formatBaselines({ rows: n, device: 'cpu', weights: 'float32', mse: 0.01, psnr: 20, rawBytesPerRow: 24, latentBytesPerRow: 8, compressionRatio: 3, rowsPerSecond: 1 }, sampled, { skipped: 'n/a' });
    expect(text).toContain(`fitted and scored on ${EVAL_REFERENCE_MAX_ROWS} evenly spaced rows of the ${n}`);
    // at the limit: every row, no sample
    const whole = evaluateBaselines(manifest, rows.subarray(0, EVAL_REFERENCE_MAX_ROWS * d)) as EvalBaselines;
    expect(whole.sample).toBeUndefined();
  });
});

describe('verdicts', () => {
  const report = (m: number) => ({ rows: 1, device: 'cpu', weights: 'float32', mse: m, psnr: 10 * Math.log10(1 / m), rawBytesPerRow: 784, latentBytesPerRow: 128, compressionRatio: 6.125, rowsPerSecond: 1 });
  const fig = (bytesPerRow: number, m: number) => ({ bytesPerRow, mse: m, psnr: 10 * Math.log10(1 / m) });
  const base: EvalBaselines = { fittedOn: 'evaluated rows', meanImage: fig(0, 0.1), pcaFloat: { k: 32, ...fig(128, 0.01) }, pcaUint8: { k: 32, ...fig(32, 0.012) } };
  const compressed = (bytesPerRow: number, m: number) => ({ latent: 'uint8', bytes: bytesPerRow * 10, ...fig(bytesPerRow, m) });

  it('says nothing when the model beats PCA at the same width and bytes', () => {
    expect(verdicts(report(0.009), base, compressed(32.1, 0.011))).toEqual([]);
  });

  it('names the width and the bytes where it does not', () => {
    const v = verdicts(report(0.0101), base, compressed(32.1, 0.0125));
    expect(v).toHaveLength(2);
    expect(v[0]).toMatch(/^The model does not beat PCA at the same latent width: 19\.96 dB against PCA-32's 20\.00 dB/);
    expect(v[1]).toMatch(/^The compressed model does not beat PCA at the same bytes: 19\.03 dB at 32\.10 bytes\/row against PCA-32 with uint8 coefficients: 19\.21 dB at 32 bytes\/row/);
    // fewer bytes than PCA but lower PSNR: not a loss at the same bytes, a pointer to the R–D curve
    expect(verdicts(report(0.009), base, compressed(20, 0.0125))[0]).toMatch(/reaches a higher PSNR .* compare whole rate–distortion curves/);
  });
});

describe('aekit train: latent wider than the narrowest hidden layer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-train-warn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'rows.csv');
  writeFileSync(csv, structuredCsv(60, 10));
  const TINY = ['--data', csv, '--header', '--epochs', '1', '--batch-size', '16', '--engine', 'tfjs', '--backend', 'cpu'];

  it('warns on stderr in one line and trains anyway', async () => {
    const r = await runCli(['train', ...TINY, '--layers', '6,3', '--latent', '5', '--out', join(dir, 'wide')]);
    expect(r.code).toBe(0);
    const warnings = r.err.split('\n').filter((l) => l.includes('narrowest hidden layer'));
    expect(warnings).toEqual([
      'aekit: warning: --latent 5 is wider than the narrowest hidden layer (3): the latent can carry at most 3 independent values, so the extra 2 cost bytes and add nothing; narrow --latent or widen --layers',
    ]);
  });

  it('is silent when the latent fits', async () => {
    const r = await runCli(['train', ...TINY, '--layers', '6,3', '--latent', '3', '--out', join(dir, 'fits')]);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain('narrowest hidden layer');
  });
});
