/**
 * Streamed data: row sources read the same rows as the in-memory loaders and refuse what they cannot
 * stream; row streams hand out a file's rows front to back (uint8 IDX streamed, raw or gzip, the rest
 * loaded whole) and fail on a cut file naming the byte; writeStreamAtomic leaves no file behind.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, IoError } from '@aekit/core';
import { type RowStream, encodeNpy, loadDataset, openRowSource, openRowStream, writeStreamAtomic } from '@aekit/data';
import { idxBytes, tempDir } from './helpers.js';

const tmp = tempDir('aekit-stream-');
afterAll(() => tmp.cleanup());

const ROWS = 103;
const COLS = 5;
/** Row r, column c holds r * 10 + c: every row is recognisable from its values. */
const values = Float32Array.from({ length: ROWS * COLS }, (_, i) => Math.floor(i / COLS) * 10 + (i % COLS));

function put(name: string, bytes: Uint8Array | string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, bytes);
  return p;
}

const files = {
  'float32 IDX': () => put('x.idx', idxBytes(0x0d, [ROWS, COLS], values)),
  'uint8 IDX': () => put('u.idx', idxBytes(0x08, [ROWS, COLS], values.map((v) => v % 256))),
  'float32 NPY': () => put('x.npy', encodeNpy(values, [ROWS, COLS])),
  'CSV with header': () =>
    put('x.csv', `a,b,c,d,e\n${Array.from({ length: ROWS }, (_, r) => Array.from(values.subarray(r * COLS, (r + 1) * COLS)).join(',')).join('\r\n')}\n`),
};

describe('row sources', () => {
  for (const [name, make] of Object.entries(files)) {
    it(`${name}: any row range equals the in-memory loader's rows`, async () => {
      const path = make();
      const whole = await loadDataset(path);
      const src = await openRowSource(path, { csvBlockRows: 7 });
      try {
        expect([src.rows, src.cols, src.dtype]).toEqual([whole.rows, whole.cols, whole.dtype]);
        for (const [start, count] of [[0, 1], [5, 17], [95, 8], [0, ROWS]] as const) {
          expect(Array.from(await src.read(start, count))).toEqual(Array.from(whole.data.subarray(start * COLS, (start + count) * COLS)));
        }
        await expect(src.read(100, 4)).rejects.toThrow(RangeError);
      } finally {
        await src.close();
      }
    });
  }

  it('a CSV over the 1 MiB scan chunk: lines cut between chunks are read whole', async () => {
    const rows = 60_000;
    const text = Array.from({ length: rows }, (_, r) => `${r},${(r * 0.37).toFixed(3)},${-r}`).join('\n');
    const path = put('big.csv', text);
    expect(text.length).toBeGreaterThan(2 ** 20);
    const whole = await loadDataset(path);
    const src = await openRowSource(path);
    try {
      expect(src.rows).toBe(rows);
      expect(Array.from(await src.read(0, rows))).toEqual(Array.from(whole.data));
    } finally {
      await src.close();
    }
  });

  it('names the row, column and line of a bad CSV cell, and a truncated IDX file', async () => {
    const bad = put('bad.csv', '1,2\n3,4\n5,x\n');
    await expect(openRowSource(bad)).rejects.toThrow(DataError);
    await expect(openRowSource(bad)).rejects.toThrow(/row 3, column 2 \(line 3\)/);
    const short = put('short.idx', idxBytes(0x0d, [ROWS, COLS], values).subarray(0, 100));
    await expect(openRowSource(short)).rejects.toThrow(/the file has 100 bytes/);
  });
});

/** Every value of a row stream, and the sizes of its pieces. */
async function drain(rs: RowStream): Promise<{ values: number[]; pieces: number[] }> {
  const values: number[] = [];
  const pieces: number[] = [];
  for await (const p of rs.stream as unknown as AsyncIterable<Uint8Array | Float32Array>) {
    pieces.push(p.length);
    for (const v of p) values.push(v);
  }
  return { values, pieces };
}

describe('row streams', () => {
  const u8 = values.map((v) => v % 256);

  it('streams uint8 IDX, raw and gzip, in pieces, with the rows of the in-memory loader', async () => {
    const raw = put('s-idx3-ubyte', idxBytes(0x08, [ROWS, 1, COLS], u8));
    const gz = put('s-idx3-ubyte.gz', gzipSync(idxBytes(0x08, [ROWS, 1, COLS], u8), { chunkSize: 64 }));
    const whole = Array.from((await loadDataset(raw)).data);
    for (const path of [raw, gz]) {
      const rs = await openRowStream(path, { pieceBytes: 64 });
      expect(rs).toMatchObject({ rows: ROWS, cols: COLS, dtype: 'uint8', streamed: true });
      const { values: got, pieces } = await drain(rs);
      expect(got).toEqual(whole);
      expect(pieces.length).toBeGreaterThan(1);
    }
  });

  it('says where the rows of a raw uint8 IDX file lie (for readers of their own), and only there', async () => {
    const raw = put('f-idx3-ubyte', idxBytes(0x08, [ROWS, 1, COLS], u8));
    const rs = await openRowStream(raw);
    expect(rs.file).toEqual({ path: raw, offset: 16 }); // 4 bytes of magic, 3 dimensions of 4 bytes
    await rs.stream.cancel();
    const bytes = readFileSync(raw);
    for (let r = 0; r < ROWS; r += 7) expect(Array.from(bytes.subarray(16 + r * COLS, 16 + (r + 1) * COLS))).toEqual(Array.from(u8.slice(r * COLS, (r + 1) * COLS)));
    const two = await openRowStream(put('f-idx2-ubyte', idxBytes(0x08, [ROWS, COLS], u8)));
    expect(two.file?.offset).toBe(12);
    await two.stream.cancel();
    for (const path of [put('f-idx3-ubyte.gz', gzipSync(idxBytes(0x08, [ROWS, 1, COLS], u8))), files['float32 IDX'](), files['float32 NPY']()]) {
      const other = await openRowStream(path);
      expect(other.file, path).toBeUndefined();
      await other.stream.cancel();
    }
  });

  it('loads other files whole: float IDX, NPY, CSV', async () => {
    for (const name of ['float32 IDX', 'float32 NPY', 'CSV with header'] as const) {
      const path = files[name]();
      const rs = await openRowStream(path);
      expect(rs).toMatchObject({ rows: ROWS, cols: COLS, dtype: 'float32', streamed: false });
      expect((await drain(rs)).values).toEqual(Array.from(values));
    }
  });

  it('names the byte where a raw or gzip uint8 IDX file is cut, and a missing file', async () => {
    const bytes = idxBytes(0x08, [ROWS, COLS], u8);
    const cut = put('cut-idx1-ubyte', bytes.subarray(0, bytes.length - 5));
    await expect(openRowStream(cut)).rejects.toThrow(new RegExp(`truncated at byte ${bytes.length - 5}`));
    const gz = await openRowStream(put('cut-idx1-ubyte.gz', gzipSync(bytes.subarray(0, bytes.length - 5))));
    await expect(drain(gz)).rejects.toThrow(new RegExp(`truncated at byte ${bytes.length - 5} of the decompressed data`));
    // Extra bytes fail when they are reached: here already in the first decompressed piece.
    const long = put('long-idx1-ubyte.gz', gzipSync(Buffer.concat([bytes, Buffer.alloc(3)])));
    await expect(openRowStream(long).then(drain)).rejects.toThrow(/more data than the IDX header declares/);
    await expect(openRowStream(join(tmp.dir, 'none.idx'))).rejects.toThrow(/none\.idx: file not found/);
  });

  it('cancelling a stream closes the file', async () => {
    const rs = await openRowStream(put('c-idx1-ubyte', idxBytes(0x08, [ROWS, COLS], u8)), { pieceBytes: 16 });
    const reader = rs.stream.getReader();
    await reader.read();
    await reader.cancel();
  });
});

describe('writeStreamAtomic', () => {
  const pieces = (...p: number[][]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const x of p) c.enqueue(Uint8Array.from(x));
        c.close();
      },
    });

  it('writes the stream, then the final header over the reserved bytes', async () => {
    const out = join(tmp.dir, 'w.bin');
    const n = await writeStreamAtomic(out, pieces([0, 0, 5], [6, 7]), { finalHeader: () => Uint8Array.from([1, 2]) });
    expect(n).toBe(5);
    expect(Array.from(readFileSync(out))).toEqual([1, 2, 5, 6, 7]);
  });

  it('writes every byte in order whatever the pieces: a few large (written as they are) or many small (joined)', async () => {
    let seed = 3;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
    for (const [count, most] of [[300, 2000], [40, 700_000], [5, 3_000_000]] as const) {
      const parts = Array.from({ length: count }, () => Uint8Array.from({ length: 1 + Math.floor(rnd() * most) }, () => Math.floor(rnd() * 256)));
      const out = join(tmp.dir, `many-${count}.bin`);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (const x of parts) c.enqueue(x);
          c.close();
        },
      });
      const n = await writeStreamAtomic(out, stream, { finalHeader: () => Uint8Array.from([9]) });
      const want = Buffer.concat(parts);
      want[0] = 9;
      expect(n).toBe(want.length);
      expect(readFileSync(out).equals(want)).toBe(true);
    }
  });

  it('a failing stream leaves no file and passes its error through; a disk error is an IoError', async () => {
    const out = join(tmp.dir, 'fail.bin');
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(Uint8Array.from([1]));
      },
      pull() {
        throw new DataError('bad row');
      },
    });
    await expect(writeStreamAtomic(out, failing)).rejects.toThrow(/bad row/);
    expect(existsSync(out)).toBe(false);
    await expect(writeStreamAtomic(join(tmp.dir, 'no', 'dir', 'x.bin'), pieces([1]))).rejects.toBeInstanceOf(IoError);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
