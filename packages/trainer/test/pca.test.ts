/**
 * PCA baseline: the identities that define it, checked on small synthetic data with a known structure.
 */
import { DataError, UsageError } from '@aekit/core';
import { describe, expect, it } from 'vitest';
import {
  dequantizeCoefficients,
  fitCoefficientQuantizer,
  fitPca,
  meanSquaredError,
  pcaBaseline,
  pcaProject,
  pcaReconstruct,
  quantizeCoefficients,
} from '../src/index.js';

/** Seeded uniform in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows = offset + a random mix of `dim` directions with very different scales (anisotropic). */
function synthetic(rows: number, dim: number, seed = 1): Float64Array {
  const r = rng(seed);
  const mix = Array.from({ length: dim * dim }, () => r() - 0.5);
  const out = new Float64Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < dim; c++) {
      const z = (r() - 0.5) * 4 * 0.6 ** c; // variance falls off by component
      for (let j = 0; j < dim; j++) out[i * dim + j] += z * mix[c * dim + j]!;
    }
    for (let j = 0; j < dim; j++) out[i * dim + j] += 0.3 + 0.1 * j;
  }
  return out;
}

describe('fitPca', () => {
  const dim = 8;
  const rows = synthetic(500, dim);
  const pca = fitPca(rows, dim);

  it('has orthonormal components, eigenvalues largest first', () => {
    for (let a = 0; a < dim; a++) {
      for (let b = 0; b < dim; b++) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += pca.basis[a * dim + j]! * pca.basis[b * dim + j]!;
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
    for (let i = 1; i < dim; i++) expect(pca.eigenvalues[i]!).toBeLessThanOrEqual(pca.eigenvalues[i - 1]!);
    expect(pca.eigenvalues[0]!).toBeGreaterThan(10 * pca.eigenvalues[dim - 1]!);
  });

  it('reconstruction error per row = the sum of the dropped eigenvalues', () => {
    for (const k of [1, 2, 4, 7]) {
      const recon = pcaReconstruct(pca, pcaProject(pca, rows, k), k);
      // squared error per row = MSE per value × dim (float32 output: compare at float32 precision)
      const perRow = meanSquaredError(rows, recon) * dim;
      const dropped = pca.eigenvalues.slice(k).reduce((s, v) => s + v, 0);
      expect(perRow / dropped).toBeCloseTo(1, 4);
    }
  });

  it('k = dim reconstructs exactly (up to float32 output)', () => {
    const recon = pcaReconstruct(pca, pcaProject(pca, rows, dim), dim);
    for (let i = 0; i < rows.length; i++) expect(Math.abs(recon[i]! - rows[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(rows[i]!)));
  });

  it('rank-deficient data: k = rank is exact, later eigenvalues are ~0', () => {
    // rows in a 2-D affine subspace of R^6
    const r = rng(7);
    const n = 200;
    const x = new Float32Array(n * 6);
    for (let i = 0; i < n; i++) {
      const a = r(), b = r();
      for (let j = 0; j < 6; j++) x[i * 6 + j] = 0.5 + a * (j + 1) * 0.1 - b * (j % 2) * 0.2;
    }
    const p = fitPca(x, 6);
    expect(p.eigenvalues[2]!).toBeLessThan(1e-6 * p.eigenvalues[0]!);
    expect(meanSquaredError(x, pcaReconstruct(p, pcaProject(p, x, 2), 2))).toBeLessThan(1e-10);
  });

  it('keeps only the requested components', () => {
    const p = fitPca(rows, dim, { components: 3 });
    expect(p.components).toBe(3);
    expect(p.basis.length).toBe(3 * dim);
    expect(p.eigenvalues.length).toBe(dim);
    expect(() => pcaProject(p, rows, 4)).toThrow(UsageError);
  });

  it('refuses rows that are not whole, or not finite', () => {
    expect(() => fitPca(new Float32Array(7), 2)).toThrow(DataError);
    expect(() => fitPca(Float32Array.of(1, NaN), 2)).toThrow(/row 0, column 1/);
  });
});

describe('uint8 coefficients', () => {
  const dim = 8;
  const rows = synthetic(400, dim, 3);
  const pca = fitPca(rows, dim);

  it('quantises each component over its own range; error is within half a step', () => {
    const k = 4;
    const c = pcaProject(pca, rows, k);
    const q = fitCoefficientQuantizer(c, k);
    const sym = quantizeCoefficients(q, c);
    const back = dequantizeCoefficients(q, sym);
    for (let i = 0; i < c.length; i++) {
      const step = (q.max[i % k]! - q.min[i % k]!) / 255;
      expect(Math.abs(back[i]! - c[i]!)).toBeLessThanOrEqual(step / 2 + 1e-12);
    }
    // the extremes of every component use the full code range
    for (let j = 0; j < k; j++) {
      const col = Array.from({ length: c.length / k }, (_, r) => sym[r * k + j]!);
      expect(Math.min(...col)).toBe(0);
      expect(Math.max(...col)).toBe(255);
    }
  });

  it('pcaBaseline: uint8 is a little worse than float, both as the eigenvalues say', () => {
    const k = 3;
    const b = pcaBaseline(rows, dim, k);
    const dropped = pca.eigenvalues.slice(k).reduce((s, v) => s + v, 0) / dim;
    expect(b.floatMse / dropped).toBeCloseTo(1, 4);
    expect(b.uint8Mse).toBeGreaterThan(b.floatMse);
    expect(b.uint8Mse).toBeLessThan(b.floatMse * 1.05);
    expect(b.symbols.length).toBe((rows.length / dim) * k);
  });

  it('the uint8 variant clips its output to the fitting range', () => {
    const b = fitPca(rows, dim);
    const recon = pcaReconstruct(b, new Float64Array(2).fill(1e6), 2, { clip: b.range });
    // float32 output: the bound itself rounded to float32
    for (const v of recon) expect(v).toBeLessThanOrEqual(Math.fround(b.range.max));
    expect(recon.some((v) => v === Math.fround(b.range.max))).toBe(true);
  });
});
