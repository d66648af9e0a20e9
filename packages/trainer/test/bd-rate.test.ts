/**
 * Bjøntegaard delta rate on curves whose answer can be worked out by hand.
 */
import { UsageError } from '@aekit/core';
import { describe, expect, it } from 'vitest';
import { type RdPoint, bdRate } from '../src/index.js';

const curve = (psnrs: number[], logRate: (p: number) => number): RdPoint[] => psnrs.map((psnr) => ({ psnr, rate: 10 ** logRate(psnr) }));

describe('bdRate', () => {
  const ref = curve([30, 33, 36, 40], (p) => p / 10);

  it('a curve with every rate × 0.8 is −20 %; its reference against it +25 %', () => {
    const test = ref.map((p) => ({ ...p, rate: p.rate * 0.8 }));
    expect(bdRate(ref, test).percent).toBeCloseTo(-20, 9);
    expect(bdRate(test, ref).percent).toBeCloseTo(25, 9);
    expect(bdRate(ref, ref).percent).toBeCloseTo(0, 12);
  });

  it('integrates over the overlap only: log-rate offset (P − 35)/100 on [32, 40] averages 0.01 → +2.329 %', () => {
    // test: log10 R = P/10 + (P − 35)/100, sampled on [32, 40]; the reference spans [30, 40].
    // Both are exact cubics, so the fits are exact and the mean difference is (36 − 35) / 100.
    const test = curve([32, 34, 37, 40], (p) => p / 10 + (p - 35) / 100);
    const r = bdRate(ref, test);
    expect(r.interval).toEqual({ lo: 32, hi: 40 });
    expect(r.degree).toBe(3);
    expect(r.percent).toBeCloseTo((10 ** 0.01 - 1) * 100, 9);
  });

  it('least squares through more than four points, and points in any order', () => {
    const dense = curve([40, 30, 31, 32, 34, 35, 37, 38, 39, 33], (p) => p / 10 + 0.05 * Math.sin(p)); // not a cubic
    const shifted = dense.map((p) => ({ ...p, rate: p.rate / 2 }));
    expect(bdRate(dense, shifted).percent).toBeCloseTo(-50, 9); // same fit shape, shifted by log10(1/2)
  });

  it('curves that do not overlap in PSNR give NaN; bad curves are refused', () => {
    expect(bdRate(ref, curve([41, 42, 43, 44], (p) => p / 10)).percent).toBeNaN();
    expect(() => bdRate(ref, [{ psnr: 30, rate: 1 }])).toThrow(UsageError);
    expect(() => bdRate(ref, [{ psnr: 30, rate: 0 }, { psnr: 31, rate: 1 }])).toThrow(/rates must be > 0/);
  });

  it('fewer than four points: a lower-degree fit (two points: straight line in log rate)', () => {
    const a = curve([30, 40], (p) => p / 10);
    const b = curve([30, 40], (p) => p / 10 + 0.1);
    const r = bdRate(a, b);
    expect(r.degree).toBe(1);
    expect(r.percent).toBeCloseTo((10 ** 0.1 - 1) * 100, 9);
  });
});
