/**
 * Shards (`shardRange`, `parseShard`) and merging `.aez` containers (`mergeContainers`,
 * `mergeContainerStream`) against the fake codec: the merged file must decode to exactly the rows of
 * the unsharded compress, and mismatched or damaged parts must be refused naming the part.
 */
import { describe, expect, it } from 'vitest';
import {
  ContainerError,
  FingerprintError,
  type LatentType,
  compress,
  decompress,
  mergeContainerStream,
  mergeContainers,
  parseShard,
  readContainerHeader,
  shardRange,
} from '../src/compress/index.js';
import { OTHER_SHA, collect, fakeCodec, fakeRows, piecesOf } from './compress-fake.js';

const L = 3;
const COLS = 2 * L;

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Compresses rows [start, end) of each shard of `rows` rows. */
async function shards(
  codec: ReturnType<typeof fakeCodec>,
  data: Float32Array,
  n: number,
  options: { latent: LatentType; rowsPerChunk: number },
): Promise<Uint8Array[]> {
  const rows = data.length / COLS;
  const out: Uint8Array[] = [];
  for (let i = 1; i <= n; i++) {
    const { start, end } = shardRange(rows, { index: i, count: n });
    out.push(await compress(codec, data.subarray(start * COLS, end * COLS), options));
  }
  return out;
}

describe('shardRange / parseShard', () => {
  it('puts row r of R in 0-based shard floor(r·N/R): contiguous, in order, sizes within one row', () => {
    for (const R of [0, 1, 2, 3, 7, 10, 99, 100, 1000, 1001]) {
      for (const N of [1, 2, 3, 4, 7, 16]) {
        let next = 0;
        const sizes: number[] = [];
        for (let i = 1; i <= N; i++) {
          const { start, end } = shardRange(R, { index: i, count: N });
          expect(start).toBe(next);
          for (let r = start; r < end; r++) expect(Math.floor((r * N) / R)).toBe(i - 1);
          sizes.push(end - start);
          next = end;
        }
        expect(next).toBe(R);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('stays exact where r·N exceeds 2^53', () => {
    const R = Number.MAX_SAFE_INTEGER;
    const N = 1000;
    for (const i of [2, 3, 500, 1000]) {
      const { start } = shardRange(R, { index: i, count: N });
      // start is the first r with floor(r·N/R) = i − 1: (start−1)·N < (i−1)·R ≤ start·N
      expect(BigInt(start) * BigInt(N) >= BigInt(i - 1) * BigInt(R)).toBe(true);
      expect(BigInt(start - 1) * BigInt(N) < BigInt(i - 1) * BigInt(R)).toBe(true);
    }
  });

  it('parses 1-based I/N and names the valid range for a bad value', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard(' 4 / 4 ')).toEqual({ index: 4, count: 4 });
    for (const bad of ['0/4', '5/4']) {
      const e = errorOf(() => parseShard(bad));
      expect(e).toBeInstanceOf(RangeError);
      expect((e as Error).message).toContain('1..4');
    }
    for (const bad of ['1/0', 'a', '1/4/2', '-1/4', '1.5/4', '']) {
      const e = errorOf(() => parseShard(bad));
      expect(e).toBeInstanceOf(RangeError);
      expect((e as Error).message).toMatch(/I\/N/);
    }
  });
});

describe('mergeContainers', () => {
  const data = fakeRows(101, L, 7);

  for (const latent of ['float32', 'float16', 'uint8', 'entropy'] as const) {
    it(`${latent}: the merged shards decode to exactly the unsharded compress's rows`, async () => {
      const codec = fakeCodec({ tables: latent === 'entropy' });
      const options = { latent, rowsPerChunk: 16 };
      const whole = await decompress(codec, await compress(codec, data, options));
      for (const n of [1, 2, 3, 5]) {
        const parts = await shards(codec, data, n, options);
        const { bytes, stats } = mergeContainers(
          codec,
          parts.map((b, i) => ({ name: `part${i + 1}.aez`, bytes: b })),
        );
        expect(stats.rows).toBe(101);
        expect(stats.partRows.reduce((a, b) => a + b, 0)).toBe(101);
        const merged = await decompress(codec, bytes);
        expect(merged.rows).toBe(101);
        expect(Buffer.from(merged.data.buffer, merged.data.byteOffset, merged.data.byteLength).equals(
          Buffer.from(whole.data.buffer, whole.data.byteOffset, whole.data.byteLength),
        )).toBe(true);
        const h = readContainerHeader(bytes);
        expect([h.rowCount, h.latentType, h.rowsPerChunk]).toEqual([101, latent, 16]);
      }
    });
  }

  it('gives the unsharded bytes exactly when every shard holds whole chunks', async () => {
    const codec = fakeCodec({ tables: true });
    const rows = fakeRows(96, L, 3);
    const options = { latent: 'entropy' as const, rowsPerChunk: 16 };
    const parts = await shards(codec, rows, 3, options); // 32 rows each: two full chunks
    const { bytes } = mergeContainers(codec, parts.map((b, i) => ({ name: `p${i}`, bytes: b })));
    expect(Buffer.from(bytes).equals(Buffer.from(await compress(codec, rows, options)))).toBe(true);
  });

  it('joins parts in the order given, with differing rows per chunk, and streamed equals one-shot', async () => {
    const codec = fakeCodec();
    const a = fakeRows(40, L, 1);
    const b = fakeRows(25, L, 2);
    const pa = await compress(codec, a, { latent: 'float32', rowsPerChunk: 7 });
    const pb = await compress(codec, b, { latent: 'float32', rowsPerChunk: 30 });
    const { bytes } = mergeContainers(codec, [
      { name: 'b', bytes: pb },
      { name: 'a', bytes: pa },
    ]);
    expect(readContainerHeader(bytes).rowsPerChunk).toBe(30);
    const out = await decompress(codec, bytes);
    const expected = new Float32Array([...(await decompress(codec, pb)).data, ...(await decompress(codec, pa)).data]);
    expect(out.data).toEqual(expected);
    const streamed = await mergeContainerStream(codec, [
      { name: 'b', open: () => piecesOf(pb, [5, 300, 1]) },
      { name: 'a', open: () => piecesOf(pa, [64]) },
    ]);
    expect(Buffer.from(await collect(streamed.readable)).equals(Buffer.from(bytes))).toBe(true);
    expect(streamed.stats.partRows).toEqual([25, 40]);
  });

  it('refuses parts of another bundle, latent type or range with E_AEZ_MISMATCH naming the part and the field', async () => {
    const codec = fakeCodec({ tables: true });
    const rows = fakeRows(20, L, 4);
    const good = await compress(codec, rows, { latent: 'uint8' });
    const cases: Array<[Uint8Array, RegExp]> = [
      [await compress(fakeCodec({ sha: OTHER_SHA }), rows, { latent: 'uint8' }), /decoder SHA-256/],
      [await compress(codec, rows, { latent: 'float16' }), /latent type is float16, the first part's is uint8/],
      [await compress(fakeCodec({ min: -2 }), rows, { latent: 'uint8' }), /latent range/],
    ];
    for (const [bad, what] of cases) {
      const e = errorOf(() => mergeContainers(codec, [{ name: 'one.aez', bytes: good }, { name: 'two.aez', bytes: bad }]));
      expect(e).toBeInstanceOf(ContainerError);
      expect((e as ContainerError).code).toBe('E_AEZ_MISMATCH');
      expect((e as ContainerError).file).toBe('two.aez');
      expect((e as Error).message).toMatch(what);
    }
  });

  it('verifies every part against the bundle and its checksums, naming the part', async () => {
    const codec = fakeCodec();
    const rows = fakeRows(50, L, 5);
    const good = await compress(codec, rows, { latent: 'uint8', rowsPerChunk: 8 });
    const foreign = await compress(fakeCodec({ sha: OTHER_SHA }), rows, { latent: 'uint8', rowsPerChunk: 8 });
    const fp = errorOf(() => mergeContainers(codec, [{ name: 'x.aez', bytes: foreign }]));
    expect(fp).toBeInstanceOf(FingerprintError);
    expect((fp as ContainerError).file).toBe('x.aez');

    const damaged = good.slice();
    damaged[readContainerHeader(good).latentDim * 8 + 108 + 10]! ^= 1; // a byte of chunk 0's payload
    const crc = errorOf(() => mergeContainers(codec, [{ name: 'a.aez', bytes: good }, { name: 'b.aez', bytes: damaged }]));
    expect([(crc as ContainerError).code, (crc as ContainerError).file]).toEqual(['E_AEZ_CRC', 'b.aez']);

    const cut = errorOf(() => mergeContainers(codec, [{ name: 'a.aez', bytes: good.subarray(0, good.length - 30) }]));
    expect([(cut as ContainerError).code, (cut as ContainerError).file]).toEqual(['E_AEZ_TRUNCATED', 'a.aez']);

    const streamed = await mergeContainerStream(codec, [
      { name: 'a.aez', open: () => piecesOf(good, [100]) },
      { name: 'b.aez', open: () => piecesOf(damaged, [100]) },
    ]);
    const e = await rejection(collect(streamed.readable));
    expect([(e as ContainerError).code, (e as ContainerError).file]).toEqual(['E_AEZ_CRC', 'b.aez']);
  });
});
