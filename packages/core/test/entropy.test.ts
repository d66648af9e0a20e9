/** core's entropy coder: table fitting, the latent_tables.bin format, and the rANS round trip and its refusals. */
import { describe, expect, it } from 'vitest';
import {
  BundleError,
  ContainerError,
  LATENT_SYMBOLS,
  LATENT_TABLE_PRECISION,
  type LatentTables,
  RANS_LOOKUP_BUDGET,
  Rng,
  countLatentSymbols,
  crossEntropyBits,
  decodeLatentTables,
  encodeLatentTables,
  fitLatentTables,
  latentTablesFileBytes,
  ransDecodeRows,
  ransEncodeRows,
  ransMaxBytes,
} from '@aekit/core';

const M = 1 << LATENT_TABLE_PRECISION;

/** Counts of a discretised Gaussian per dimension (centre and width vary), with zero tails. */
function gaussianCounts(dims: number, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const counts = new Float64Array(dims * 256);
  for (let d = 0; d < dims; d++) {
    const mu = 60 + rng.nextUint32() % 136;
    const sigma = 2 + (rng.nextUint32() % 40);
    for (let s = 0; s < 256; s++) counts[d * 256 + s] = Math.floor(n * Math.exp(-(((s - mu) / sigma) ** 2) / 2));
  }
  return counts;
}

/** Row-major symbols drawn from the tables' own distributions (inverse CDF on a 2^precision slot). */
function sample(t: LatentTables, rows: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(rows * t.dims);
  const total = 1 << t.precisionBits;
  for (let i = 0; i < out.length; i++) {
    const d = i % t.dims;
    let slot = rng.nextUint32() % total;
    let s = 0;
    while (slot >= t.freq[d * 256 + s]!) slot -= t.freq[d * 256 + s++]!;
    out[i] = s;
  }
  return out;
}

function roundTrip(symbols: Uint8Array, dims: number, t: LatentTables): Uint8Array {
  const bytes = ransEncodeRows(symbols, dims, t);
  expect(bytes.length).toBeLessThanOrEqual(ransMaxBytes(symbols.length));
  const out = new Uint8Array(symbols.length);
  ransDecodeRows(bytes, symbols.length / dims, dims, t, out);
  expect(Buffer.from(out).equals(Buffer.from(symbols))).toBe(true);
  return bytes;
}

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('countLatentSymbols', () => {
  it('counts per dimension and accumulates', () => {
    const c = countLatentSymbols(Uint8Array.of(1, 2, 1, 3, 255, 2), 2);
    expect([c[1], c[256 + 2], c[256 + 3], c[255], c[3]]).toEqual([2, 2, 1, 1, 0]);
    countLatentSymbols(Uint8Array.of(1, 2), 2, c);
    expect([c[1], c[256 + 2]]).toEqual([3, 3]);
    expect(c.reduce((a, b) => a + b, 0)).toBe(8);
    expect(() => countLatentSymbols(new Uint8Array(3), 2)).toThrow(RangeError);
    expect(() => countLatentSymbols(new Uint8Array(2), 2, new Float64Array(5))).toThrow(RangeError);
  });
});

describe('fitLatentTables', () => {
  it('keeps every symbol codable, sums each row to 2^15, and is uniform for an unseen dimension', () => {
    const counts = gaussianCounts(4, 1e5, 1);
    counts.fill(0, 3 * 256); // dimension 3 never seen
    const t = fitLatentTables(counts, 4);
    expect(t.precisionBits).toBe(15);
    for (let d = 0; d < 4; d++) {
      const row = Array.from(t.freq.subarray(d * 256, d * 256 + 256));
      expect(Math.min(...row)).toBeGreaterThanOrEqual(1);
      expect(row.reduce((a, b) => a + b, 0)).toBe(M);
    }
    expect(new Set(t.freq.subarray(3 * 256))).toEqual(new Set([128]));
  });

  it('is the integer optimum: no move of one unit between two symbols lowers the cross-entropy', () => {
    const rng = new Rng(7);
    const counts = new Float64Array(256);
    for (let s = 0; s < 256; s++) counts[s] = rng.nextUint32() % 4 === 0 ? 0 : rng.nextUint32() % 5000;
    counts[17] = 1e6; // one dominant symbol
    const t = fitLatentTables(counts, 1);
    const base = crossEntropyBits(counts, t);
    for (let k = 0; k < 3000; k++) {
      const up = rng.nextUint32() % 256;
      const down = rng.nextUint32() % 256;
      if (up === down || t.freq[down]! <= 1) continue;
      const f = t.freq.slice();
      f[up]!++;
      f[down]!--;
      expect(crossEntropyBits(counts, { ...t, freq: f })).toBeGreaterThanOrEqual(base - 1e-6);
    }
    // and the loss against the empirical entropy (the best any table could do) is small
    const n = counts.reduce((a, b) => a + b, 0);
    let h = 0;
    for (const c of counts) if (c > 0) h -= c * Math.log2(c / n);
    expect(base / h).toBeLessThan(1.01);
    expect(base).toBeGreaterThanOrEqual(h);
  });

  it('refuses counts of the wrong size', () => {
    expect(() => fitLatentTables(new Float64Array(255), 1)).toThrow(RangeError);
    expect(() => fitLatentTables(new Float64Array(0), 0)).toThrow(RangeError);
  });
});

describe('rANS', () => {
  const gaussian = fitLatentTables(gaussianCounts(5, 1e5, 3), 5);

  it('round-trips random symbols under random tables', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed);
      const dims = 1 + (rng.nextUint32() % 9);
      const counts = new Float64Array(dims * 256);
      for (let i = 0; i < counts.length; i++) counts[i] = rng.nextUint32() % 3 === 0 ? 0 : rng.nextUint32() % 1000;
      const t = fitLatentTables(counts, dims);
      const rows = rng.nextUint32() % 400;
      const symbols = Uint8Array.from({ length: rows * dims }, () => rng.nextUint32() % 256); // includes symbols of frequency 1
      roundTrip(symbols, dims, t);
      roundTrip(sample(t, rows, seed), dims, t);
    }
  });

  it('round-trips extreme tables: one symbol with almost all mass, uniform, empty input, one row, many rows', () => {
    const peaked = new Float64Array(2 * 256);
    peaked[100] = 1e9;
    peaked[256 + 0] = 1e9;
    const t = fitLatentTables(peaked, 2);
    expect([t.freq[100], t.freq[256]]).toEqual([M - 255, M - 255]);
    const common = new Uint8Array(20_000).map((_, i) => (i % 2 === 0 ? 100 : 0));
    const small = roundTrip(common, 2, t);
    expect(small.length).toBeLessThan(4 + Math.ceil((20_000 * 0.012) / 8) + 2); // ~0.0113 bits per symbol
    // the rare symbols cost 15 bits each: the worst case stays inside the 2-bytes-per-symbol bound
    roundTrip(new Uint8Array(20_000).fill(255), 2, t);
    const uniform = fitLatentTables(new Float64Array(3 * 256), 3);
    const u = Uint8Array.from({ length: 3000 }, (_, i) => (i * 97) & 0xff);
    expect(Math.abs(roundTrip(u, 3, uniform).length - 3000 - 4)).toBeLessThanOrEqual(2); // 8 bits each
    expect(roundTrip(new Uint8Array(0), 5, gaussian).length).toBe(4);
    roundTrip(sample(gaussian, 1, 9), 5, gaussian);
    roundTrip(sample(gaussian, 100_000, 10), 5, gaussian);
  });

  it('codes within 1 % of the cross-entropy the tables predict', () => {
    for (const [dims, rows] of [
      [32, 20_000],
      [5, 50_000],
    ] as const) {
      const t = fitLatentTables(gaussianCounts(dims, 1e5, dims), dims);
      const symbols = sample(t, rows, 11);
      const bytes = roundTrip(symbols, dims, t);
      const predicted = crossEntropyBits(countLatentSymbols(symbols, dims), t) / 8;
      expect(bytes.length / predicted).toBeGreaterThan(0.99);
      expect(bytes.length / predicted).toBeLessThan(1.01);
    }
  });

  it('decodes wide tables (no bucket table: 2048 bytes per dimension over the budget) by cumulative search, identically', () => {
    const dims = Math.floor(RANS_LOOKUP_BUDGET / 2048) + 1;
    const row = fitLatentTables(gaussianCounts(7, 1000, 5), 7);
    const freq = new Uint16Array(dims * 256);
    for (let d = 0; d < dims; d++) freq.set(row.freq.subarray((d % 7) * 256, (d % 7) * 256 + 256), d * 256);
    const t = { dims, precisionBits: row.precisionBits, freq };
    roundTrip(sample(t, 3, 12), dims, t);
  });

  it('refuses damaged streams with a ContainerError, never another failure', () => {
    const symbols = sample(gaussian, 200, 13);
    const good = ransEncodeRows(symbols, 5, gaussian);
    const out = new Uint8Array(symbols.length);
    const rng = new Rng(14);
    let refused = 0;
    const trials = 2000;
    for (let k = 0; k < trials; k++) {
      let b = good.slice();
      const kind = k % 4;
      if (kind === 0) b[rng.nextUint32() % b.length]! ^= 1 << rng.nextUint32() % 8;
      else if (kind === 1) b = b.subarray(0, rng.nextUint32() % b.length);
      else if (kind === 2) b = Uint8Array.from([...b, rng.nextUint32() % 256]);
      else b = Uint8Array.from({ length: 4 + (rng.nextUint32() % 900) }, () => rng.nextUint32() % 256);
      const e = errorOf(() => ransDecodeRows(b, 200, 5, gaussian, out));
      if (e === undefined) continue;
      expect(e).toBeInstanceOf(ContainerError);
      expect((e as ContainerError).code).toBe('E_AEZ_CORRUPT');
      refused++;
    }
    expect(refused / trials).toBeGreaterThan(0.99);
    expect(errorOf(() => ransDecodeRows(good.subarray(0, good.length - 1), 200, 5, gaussian, out))).toBeInstanceOf(ContainerError);
    expect((errorOf(() => ransDecodeRows(new Uint8Array(2), 0, 5, gaussian, new Uint8Array(0))) as Error).message).toMatch(/4-byte state/);
    expect(() => ransDecodeRows(good, 200, 4, gaussian, out)).toThrow(RangeError); // tables of another width
    expect(() => ransEncodeRows(new Uint8Array(7), 5, gaussian)).toThrow(RangeError);
  });
});

describe('latent_tables.bin', () => {
  const t = fitLatentTables(gaussianCounts(3, 1e4, 2), 3);
  const file = encodeLatentTables(t);

  it('round-trips and has the documented layout', () => {
    expect(file.length).toBe(latentTablesFileBytes(3));
    expect(file.length).toBe(16 + 3 * 512);
    expect(Array.from(file.subarray(0, 8))).toEqual([0x89, 0x41, 0x45, 0x54, 0x0d, 0x0a, 0x1a, 0x0a]);
    const v = new DataView(file.buffer);
    expect([v.getUint16(8, true), v.getUint8(10), v.getUint8(11), v.getUint32(12, true)]).toEqual([1, 15, 0, 3]);
    expect(v.getUint16(16 + 2 * 300, true)).toBe(t.freq[300]);
    const back = decodeLatentTables(file, 'latent_tables.bin');
    expect(back).toEqual(t);
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    expect(decodeLatentTables(shifted.subarray(3), 'x')).toEqual(t); // unaligned views
  });

  it('refuses every damaged or foreign file with a BundleError naming it', () => {
    const edit = (f: (b: Uint8Array, v: DataView) => void | Uint8Array): Uint8Array => {
      const b = file.slice();
      return f(b, new DataView(b.buffer)) ?? b;
    };
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty', new Uint8Array(0), /shorter than the 16-byte header/],
      ['magic', edit((b) => void (b[3] = 0x5a)), /byte 3 does not match/],
      ['version', edit((_, v) => v.setUint16(8, 2, true)), /version 2 is not supported/],
      ['precision 7', edit((_, v) => v.setUint8(10, 7)), /precision 7 bits/],
      ['precision 17', edit((_, v) => v.setUint8(10, 17)), /precision 17 bits/],
      ['reserved', edit((_, v) => v.setUint8(11, 1)), /reserved byte 11/],
      ['dims 0', edit((_, v) => v.setUint32(12, 0, true)), /dims 0 is outside/],
      ['dims huge', edit((_, v) => v.setUint32(12, 0xffffffff, true)), /dims 4294967295 is outside/],
      ['dims disagree', edit((_, v) => v.setUint32(12, 2, true)), /2 dimensions take 1040/],
      ['truncated', file.subarray(0, file.length - 2), /bytes, but 3 dimensions take/],
      ['trailing', Uint8Array.from([...file, 0]), /bytes, but 3 dimensions take/],
      ['zero frequency', edit((_, v) => { v.setUint16(16, 0, true); v.setUint16(18, v.getUint16(18, true) + t.freq[0]!, true); }), /symbol 0 has frequency 0/],
      ['row sum', edit((_, v) => v.setUint16(16 + 2 * 600, v.getUint16(16 + 2 * 600, true) + 1, true)), /dimension 2: frequencies sum to 32769/],
    ];
    for (const [what, bytes, message] of cases) {
      const e = errorOf(() => decodeLatentTables(bytes, 'bundle/latent_tables.bin'));
      expect([what, e instanceof BundleError]).toEqual([what, true]);
      expect((e as BundleError).file).toBe('bundle/latent_tables.bin');
      expect((e as Error).message).toMatch(/^bundle\/latent_tables\.bin: /);
      expect([what, (e as Error).message]).toEqual([what, expect.stringMatching(message)]);
    }
    expect(() => encodeLatentTables({ ...t, freq: new Uint16Array(3 * 256) })).toThrow(/frequency 0/);
    expect(LATENT_SYMBOLS).toBe(256);
  });
});
