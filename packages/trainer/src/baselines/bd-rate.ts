/**
 * Bjøntegaard delta rate (VCEG-M33): the average rate difference between two rate–distortion curves
 * at equal quality. Each curve's log10(rate) is fitted as a cubic in PSNR (least squares; exact through
 * four points), both fits are integrated over the PSNR interval where the curves overlap, and
 * BD-rate = 10^(mean difference) − 1. Negative: the test curve needs fewer bytes for the same PSNR.
 */
import { UsageError } from '@aekit/core';
import { Matrix, solve } from 'ml-matrix';

export interface RdPoint {
  /** Bytes (or bits) per item: any unit, the same for both curves. */
  rate: number;
  /** Quality, dB. */
  psnr: number;
}

export interface BdRate {
  /** (test / reference − 1) · 100 at equal PSNR, averaged over `interval`; NaN when the curves do not overlap. */
  percent: number;
  /** The PSNR interval both curves cover, dB. */
  interval: { lo: number; hi: number };
  /** Polynomial degree used: 3, or points − 1 for a curve of fewer than four points. */
  degree: number;
}

/** Least-squares coefficients (lowest power first) of y ≈ Σ c_i · ((x − shift) / scale)^i. */
function polyfit(x: readonly number[], y: readonly number[], degree: number, shift: number, scale: number): number[] {
  const a = new Matrix(x.length, degree + 1);
  for (let i = 0; i < x.length; i++) {
    const t = (x[i]! - shift) / scale;
    for (let p = 0; p <= degree; p++) a.set(i, p, t ** p);
  }
  return solve(a, Matrix.columnVector([...y])).to1DArray(); // LU when square, QR (least squares) otherwise
}

/** ∫ of the polynomial from lo to hi, in the unshifted variable. */
function integrate(c: readonly number[], lo: number, hi: number, shift: number, scale: number): number {
  const prim = (x: number) => {
    const t = (x - shift) / scale;
    return c.reduce((s, ci, p) => s + (ci * t ** (p + 1)) / (p + 1), 0) * scale;
  };
  return prim(hi) - prim(lo);
}

function checkCurve(curve: readonly RdPoint[], name: string): void {
  if (curve.length < 2) throw new UsageError(`bdRate: the ${name} curve needs at least 2 points, has ${curve.length}`);
  for (const p of curve) {
    if (!(p.rate > 0) || !Number.isFinite(p.rate) || !Number.isFinite(p.psnr)) {
      throw new UsageError(`bdRate: the ${name} curve has a point with rate ${p.rate}, PSNR ${p.psnr}; rates must be > 0, PSNRs finite`);
    }
  }
  if (new Set(curve.map((p) => p.psnr)).size !== curve.length) throw new UsageError(`bdRate: the ${name} curve has two points at the same PSNR`);
}

/** BD-rate of `test` against `reference` (points in any order). */
export function bdRate(reference: readonly RdPoint[], test: readonly RdPoint[]): BdRate {
  checkCurve(reference, 'reference');
  checkCurve(test, 'test');
  const degree = Math.min(3, reference.length - 1, test.length - 1);
  const span = (c: readonly RdPoint[]) => [Math.min(...c.map((p) => p.psnr)), Math.max(...c.map((p) => p.psnr))] as const;
  const [aLo, aHi] = span(reference);
  const [bLo, bHi] = span(test);
  const lo = Math.max(aLo, bLo);
  const hi = Math.min(aHi, bHi);
  if (!(hi > lo)) return { percent: NaN, interval: { lo, hi }, degree };
  // Centre and scale PSNR so the Vandermonde matrix stays well conditioned.
  const all = [...reference, ...test].map((p) => p.psnr);
  const shift = (Math.min(...all) + Math.max(...all)) / 2;
  const scale = Math.max(1e-9, (Math.max(...all) - Math.min(...all)) / 2);
  const fit = (c: readonly RdPoint[]) => polyfit(c.map((p) => p.psnr), c.map((p) => Math.log10(p.rate)), degree, shift, scale);
  const meanDiff = (integrate(fit(test), lo, hi, shift, scale) - integrate(fit(reference), lo, hi, shift, scale)) / (hi - lo);
  return { percent: (10 ** meanDiff - 1) * 100, interval: { lo, hi }, degree };
}
