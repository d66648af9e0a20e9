/**
 * NPY integer arrays (numpy's default dtype is int64: `np.save(p, np.arange(6).reshape(2, 3))`): read
 * by the in-memory loader and the row source alike, converted to float32 while every value is exact
 * there, refused beyond ±2^24 naming the file, row and column.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '@aekit/core';
import { loadDataset, openRowSource, parseNpy } from '@aekit/data';
import { npyBytes, tempDir } from './helpers.js';

const tmp = tempDir('aekit-npy-int-');
afterAll(() => tmp.cleanup());

/** Little- or big-endian bytes of 64-bit integers, as numpy writes '<i8' / '>i8' / '<u8'. */
function int64Bytes(values: readonly number[], little = true, unsigned = false): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => (unsigned ? v.setBigUint64(8 * i, BigInt(x), little) : v.setBigInt64(8 * i, BigInt(x), little)));
  return out;
}

function typed(descr: string, values: readonly number[]): Uint8Array {
  const size = Number(descr.slice(2));
  const out = new Uint8Array(values.length * size);
  const v = new DataView(out.buffer);
  const little = descr[0] !== '>';
  const set: Record<string, (o: number, x: number) => void> = {
    i1: (o, x) => v.setInt8(o, x),
    i2: (o, x) => v.setInt16(o, x, little),
    u2: (o, x) => v.setUint16(o, x, little),
    i4: (o, x) => v.setInt32(o, x, little),
    u4: (o, x) => v.setUint32(o, x, little),
  };
  values.forEach((x, i) => set[descr.slice(1)]!(i * size, x));
  return out;
}

function put(name: string, bytes: Uint8Array): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('NPY integers', () => {
  // Negative values, values past 2^16 and 2^32's low word, and the exact limit 2^24.
  const values = [0, 1, -2, 70000, -(2 ** 24), 2 ** 24];

  it('reads int64 (numpy\'s default) exactly, either byte order, as float32 rows', async () => {
    for (const little of [true, false]) {
      const bytes = npyBytes({ descr: little ? '<i8' : '>i8', shape: [2, 3], body: int64Bytes(values, little) });
      const ds = parseNpy(bytes, 'a.npy');
      expect(ds).toMatchObject({ rows: 2, cols: 3, dtype: 'float32', rowShape: [3] });
      expect(Array.from(ds.data)).toEqual(values);
      const loaded = await loadDataset(put(`a-${little}.npy`, bytes));
      expect(Array.from(loaded.data)).toEqual(values);
    }
  });

  it('reads the narrower and unsigned integer types', () => {
    const small = [0, 1, -2, 100, -100, 7];
    for (const descr of ['|i1', '<i2', '>i2', '<i4', '>i4']) {
      expect(Array.from(parseNpy(npyBytes({ descr, shape: [6], body: typed(descr, small) }), 'b.npy').data), descr).toEqual(small);
    }
    const unsigned = [0, 1, 65535, 2 ** 24, 3, 9];
    for (const descr of ['<u4', '>u4']) {
      expect(Array.from(parseNpy(npyBytes({ descr, shape: [2, 3], body: typed(descr, unsigned) }), 'c.npy').data), descr).toEqual(unsigned);
    }
    const u8 = parseNpy(npyBytes({ descr: '<u8', shape: [2, 3], body: int64Bytes(unsigned, true, true) }), 'd.npy');
    expect(Array.from(u8.data)).toEqual(unsigned);
  });

  it('refuses a value beyond ±2^24 with a DataError naming file, row and column (1-based)', async () => {
    const big = [0, 1, 2, 3, 2 ** 24 + 1, 5];
    const bytes = npyBytes({ descr: '<i8', shape: [2, 3], body: int64Bytes(big) });
    expect(() => parseNpy(bytes, 'big.npy')).toThrow(DataError);
    expect(() => parseNpy(bytes, 'big.npy')).toThrow(/^big\.npy: row 2, column 2 is 16777217, beyond ±2\^24/);
    const neg = npyBytes({ descr: '<i8', shape: [3], body: int64Bytes([0, -(2 ** 40), 1]) });
    expect(() => parseNpy(neg, 'neg.npy')).toThrow(/row 2, column 1 is -1099511627776/);
    const path = put('big.npy', bytes);
    await expect(loadDataset(path)).rejects.toThrow(/row 2, column 2 is 16777217/);
  });

  it('streams int64 rows through a row source, naming the row of a value too large', async () => {
    const rows = 300;
    const vals = Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? i : -i));
    const src = await openRowSource(put('s.npy', npyBytes({ descr: '<i8', shape: [rows, 2], body: int64Bytes(vals) })));
    try {
      expect(src).toMatchObject({ rows, cols: 2, dtype: 'float32' });
      expect(Array.from(await src.read(250, 3))).toEqual(vals.slice(500, 506));
    } finally {
      await src.close();
    }
    vals[2 * 257 + 1] = 2 ** 30;
    const bad = await openRowSource(put('s-bad.npy', npyBytes({ descr: '<i8', shape: [rows, 2], body: int64Bytes(vals) })));
    try {
      await expect(bad.read(0, 100)).resolves.toHaveLength(200);
      await expect(bad.read(250, 10)).rejects.toThrow(/s-bad\.npy: row 258, column 2 is 1073741824, beyond ±2\^24/);
    } finally {
      await bad.close();
    }
  });
});
