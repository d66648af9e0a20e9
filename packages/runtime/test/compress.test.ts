import { readFileSync } from 'node:fs';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  AEZ_MAGIC,
  ContainerError,
  FingerprintError,
  LATENT_TYPES,
  type LatentType,
  compress,
  compressStream,
  compressWithStats,
  containerSize,
  crc32,
  decompress,
  decompressStream,
  dequantizeLatents,
  quantizeLatents,
  readContainerHeader,
  roundToUint8,
} from '../src/compress/index.js';
import { type LatentType as ValueType, float16BitsToFloat32, float32ToFloat16Bits, ransDecodeRows, ransEncodeRows } from '@aekit/core';
import { FAKE_SHA, OTHER_SHA, TABLES_SHA, collect, fakeCodec, fakeRows, piecesOf } from './compress-fake.js';

const enc = new TextEncoder();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ContainerError) return e.code;
    throw e;
  }
  return 'ok';
}

/** crc32 of the concatenated parts (zlib's, as an independent reference). */
function zcrc(...parts: Uint8Array[]): number {
  return zlibCrc32(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

/** Version 2 binds a chunk's index and the rows before it into its CRC: index(u32) rowsBefore(u64). */
function place(index: number, rowsBefore: number): Uint8Array {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setUint32(0, index, true);
  new DataView(b.buffer).setBigUint64(4, BigInt(rowsBefore), true);
  return b;
}

/** Recomputes the header CRC after a test edits header fields (to reach the checks behind it). */
function fixHeaderCrc(bytes: Uint8Array): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const len = v.getUint32(12, true);
  v.setUint32(len - 4, crc32(bytes.subarray(0, len - 4)), true);
}

describe('crc32', () => {
  it('matches the standard check value and zlib', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff);
    expect(crc32(data)).toBe(zlibCrc32(data));
    expect(crc32(data.subarray(400), crc32(data.subarray(0, 400)))).toBe(crc32(data));
  });
});

describe('float16', () => {
  it('converts exact values with round-to-nearest-even', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65519.99, 0x7bff], // below the midpoint to Inf
      [65520, 0x7c00], // tie between 65504 and 2^16 → even (Inf)
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even (0)
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps → even (2)
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // tie → even mantissa 0
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even mantissa 2
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie → up
    ];
    for (const [x, bits] of cases) expect([x, float32ToFloat16Bits(x)]).toEqual([x, bits]);
    expect(float32ToFloat16Bits(NaN) & 0x7e00).toBe(0x7e00);
  });

  it('round-trips every half-precision bit pattern', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = float16BitsToFloat32(h);
      if (Number.isNaN(x)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        continue;
      }
      if (float32ToFloat16Bits(x) !== h) throw new Error(`half 0x${h.toString(16)} → ${x} → 0x${float32ToFloat16Bits(x).toString(16)}`);
    }
    expect(float16BitsToFloat32(0x3555)).toBeCloseTo(0.33325195, 8);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
  });
});

describe('latent quantisation', () => {
  const range = { min: Float32Array.of(-1, 0), max: Float32Array.of(1, 10) };
  const z = Float32Array.of(-1, 0, 0.5, 10, 1, 5, -3, 11, 0.1234, 7.7);

  const roundTrip = (type: ValueType) => {
    const bytes = new Uint8Array(z.length * { float32: 4, float16: 2, uint8: 1 }[type]);
    const clamped = quantizeLatents(z, type, range, bytes);
    const back = new Float32Array(z.length);
    dequantizeLatents(bytes, type, range, back);
    return { bytes, clamped, back };
  };

  it('float32 is exact', () => {
    const { clamped, back } = roundTrip('float32');
    expect(clamped).toBe(0);
    expect(Array.from(back)).toEqual(Array.from(z));
  });

  it('float16 is within half an ulp and clamps beyond ±65504', () => {
    const { clamped, back } = roundTrip('float16');
    expect(clamped).toBe(0);
    for (let i = 0; i < z.length; i++) expect(Math.abs(back[i]! - z[i]!)).toBeLessThanOrEqual(Math.abs(z[i]!) * 2 ** -11 + 1e-12);
    const big = Float32Array.of(1e5, -1e9, 3, NaN);
    const out = new Uint8Array(8);
    expect(quantizeLatents(big, 'float16', { min: new Float32Array(1), max: new Float32Array(1) }, out)).toBe(3);
    const dv = new DataView(out.buffer);
    expect([dv.getUint16(0, true), dv.getUint16(2, true), dv.getUint16(6, true)]).toEqual([0x7bff, 0xfbff, 0]);
  });

  it('uint8 maps [min, max] onto 0..255 per dimension, clamps and counts the rest', () => {
    const { bytes, clamped, back } = roundTrip('uint8');
    // -1→0, 0→0, 0.5→191 (0.75·255=191.25), 10→255, 1→255, 5→128 (127.5 rounds up), -3→0 (clamped), 11→255 (clamped)
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0, 191, 255, 255, 128, 0, 255]);
    expect(clamped).toBe(2);
    const step = [2 / 255, 10 / 255];
    for (let i = 0; i < z.length; i++) {
      const d = i % 2;
      const inRange = z[i]! >= range.min[d]! && z[i]! <= range.max[d]!;
      if (inRange) expect(Math.abs(back[i]! - z[i]!)).toBeLessThanOrEqual(step[d]! / 2 + 1e-6);
      else expect(back[i]).toBe(z[i]! < range.min[d]! ? range.min[d] : range.max[d]);
    }
  });

  it('counts clamped values through compress', async () => {
    const codec = fakeCodec({ latentDim: 2, min: -0.1, max: 0.1 });
    const rows = fakeRows(50, 2);
    let outside = 0;
    const z = await codec.encode(rows);
    for (let i = 0; i < z.length; i++) {
      const d = i % 2;
      if (z[i]! < codec.manifest.latentRange.min[d]! || z[i]! > codec.manifest.latentRange.max[d]!) outside++;
    }
    expect(outside).toBeGreaterThan(0);
    const { stats } = await compressWithStats(codec, rows, { latent: 'uint8' });
    expect(stats.clamped).toBe(outside);
    expect((await compressWithStats(codec, rows, { latent: 'float32' })).stats.clamped).toBe(0);
  });
});

describe('container format', () => {
  it('has the documented byte layout (docs/format.md), parsed here by hand', async () => {
    const codec = fakeCodec({ latentDim: 3 });
    const rows = fakeRows(10, 3);
    const bytes = await compress(codec, rows, { latent: 'uint8', rowsPerChunk: 4 });
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x89, 0x41, 0x45, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(v.getUint16(8, true)).toBe(2); // version
    expect(v.getUint16(10, true)).toBe(0); // flags
    const H = v.getUint32(12, true);
    expect(H).toBe(104 + 8 * 3 + 4);
    expect(Buffer.from(bytes.subarray(16, 48)).toString('hex')).toBe(FAKE_SHA);
    expect(v.getUint32(48, true)).toBe(6); // inputDim
    expect(v.getUint8(52)).toBe(0); // input dtype float32
    expect(v.getUint8(53)).toBe(2); // latent uint8
    expect(v.getUint16(54, true)).toBe(0);
    expect(v.getUint32(56, true)).toBe(3); // latentDim
    expect(v.getUint32(60, true)).toBe(4); // rowsPerChunk
    expect(v.getBigUint64(64, true)).toBe(10n); // rowCount
    expect(bytes.subarray(72, 104).every((b) => b === 0)).toBe(true); // no latent tables
    const m = codec.manifest.latentRange;
    for (let d = 0; d < 3; d++) {
      expect(v.getFloat32(104 + 4 * d, true)).toBe(Math.fround(m.min[d]!));
      expect(v.getFloat32(104 + 12 + 4 * d, true)).toBe(Math.fround(m.max[d]!));
    }
    expect(v.getUint32(H - 4, true)).toBe(zlibCrc32(bytes.subarray(0, H - 4)));
    // chunks of 4, 4, 2 rows × 3 uint8 latents: length, payload, CRC(index ‖ rows before ‖ length ‖ payload)
    let at = H;
    const z = await codec.encode(rows);
    for (const [k, rowsIn] of [4, 4, 2].entries()) {
      const len = v.getUint32(at, true);
      expect(len).toBe(rowsIn * 3);
      expect(v.getUint32(at + 4 + len, true)).toBe(zcrc(place(k, 4 * k), bytes.subarray(at, at + 4 + len)));
      const start = 4 * k * 3;
      const q = bytes.subarray(at + 4, at + 4 + len);
      for (let i = 0; i < len; i++) {
        const d = i % 3;
        const expected = Math.round(((z[start + i]! - Math.fround(m.min[d]!)) * 255) / (Math.fround(m.max[d]!) - Math.fround(m.min[d]!)));
        expect(q[i]).toBe(Math.min(255, Math.max(0, expected)));
      }
      at += 8 + len;
    }
    expect(v.getUint32(at, true)).toBe(0); // end marker
    expect(v.getBigUint64(at + 4, true)).toBe(10n);
    expect(v.getUint32(at + 12, true)).toBe(3);
    expect(v.getUint32(at + 16, true)).toBe(zlibCrc32(bytes.subarray(at, at + 16)));
    expect(at + 20).toBe(bytes.length);
    expect(containerSize(3, 'uint8', 10, 4)).toBe(bytes.length);
    expect(readContainerHeader(bytes)).toMatchObject({
      version: 2,
      inputDim: 6,
      latentDim: 3,
      latentType: 'uint8',
      rowCount: 10,
      decoderSha256: FAKE_SHA,
      latentTablesSha256: null,
    });
  });

  it('entropy chunks hold a row count and the rANS stream of exactly the uint8 chunk payload', async () => {
    const codec = fakeCodec({ latentDim: 3, tables: true });
    const rows = fakeRows(10, 3);
    const plain = await compress(codec, rows, { latent: 'uint8', rowsPerChunk: 4 });
    const coded = await compress(codec, rows, { rowsPerChunk: 4 }); // entropy by default with tables
    const v = new DataView(coded.buffer, coded.byteOffset, coded.byteLength);
    const H = 104 + 8 * 3 + 4;
    expect([v.getUint16(8, true), v.getUint32(12, true), v.getUint8(53)]).toEqual([2, H, 3]);
    expect(Buffer.from(coded.subarray(72, 104)).toString('hex')).toBe(TABLES_SHA);
    expect(readContainerHeader(coded)).toMatchObject({ latentType: 'entropy', latentTablesSha256: TABLES_SHA });
    let at = H;
    let plainAt = H;
    for (const [k, rowsIn] of [4, 4, 2].entries()) {
      const len = v.getUint32(at, true);
      expect(v.getUint32(at + 4, true)).toBe(rowsIn); // rows
      const stream = coded.subarray(at + 8, at + 4 + len);
      const symbols = plain.subarray(plainAt + 4, plainAt + 4 + rowsIn * 3); // the uint8 container's payload
      expect(Buffer.from(stream).equals(Buffer.from(ransEncodeRows(symbols, 3, codec.latentTables!)))).toBe(true);
      const back = new Uint8Array(rowsIn * 3);
      ransDecodeRows(stream, rowsIn, 3, codec.latentTables!, back);
      expect(Buffer.from(back).equals(Buffer.from(symbols))).toBe(true);
      expect(v.getUint32(at + 4 + len, true)).toBe(zcrc(place(k, 4 * k), coded.subarray(at, at + 4 + len)));
      at += 8 + len;
      plainAt += 8 + rowsIn * 3;
    }
    expect(at + 20).toBe(coded.length);
    expect(() => containerSize(3, 'entropy', 10)).toThrow(/depends on the data/);
  });

  it('stores 4 / 2 / 1 bytes per latent for float32 / float16 / uint8, entropy-codes uint8, and round-trips each', async () => {
    const codec = fakeCodec({ latentDim: 4, tables: true });
    const rows = fakeRows(3000, 4, 7);
    const z = await codec.encode(rows);
    const exact = await codec.decode(z);
    const decoded: Record<string, Float32Array | Uint8Array> = {};
    for (const [i, latent] of LATENT_TYPES.entries()) {
      const bytes = await compress(codec, rows, { latent });
      expect(new DataView(bytes.buffer).getUint8(53)).toBe(i);
      if (latent !== 'entropy') expect(bytes.length).toBe(containerSize(4, latent, 3000));
      const out = await decompress(codec, bytes);
      expect([out.rows, out.cols]).toEqual([3000, 8]);
      decoded[latent] = out.data;
      let maxErr = 0;
      for (let k = 0; k < exact.length; k++) maxErr = Math.max(maxErr, Math.abs(out.data[k]! - exact[k]!));
      if (latent === 'float32') expect(maxErr).toBe(0);
      else if (latent === 'float16') expect(maxErr).toBeLessThanOrEqual(2 ** -11);
      else expect(maxErr).toBeLessThanOrEqual(4.25 / 255 / 2 + 1e-6); // widest range [-1.75, 2.5]: half a step
      if (latent === 'uint8') expect(maxErr).toBeGreaterThan(0);
      if (latent === 'entropy') expect(bytes.length).toBeLessThan(containerSize(4, 'uint8', 3000));
    }
    // entropy-decoded latents are, bit for bit, the uint8 container's
    expect(Buffer.from(decoded['entropy']!.buffer).equals(Buffer.from(decoded['uint8']!.buffer))).toBe(true);
  });

  it('defaults to entropy with latent tables and to uint8 without; refuses entropy without tables', async () => {
    const rows = fakeRows(50);
    expect(readContainerHeader(await compress(fakeCodec({ tables: true }), rows)).latentType).toBe('entropy');
    expect(readContainerHeader(await compress(fakeCodec(), rows)).latentType).toBe('uint8');
    expect((await compressWithStats(fakeCodec({ tables: true }), rows)).stats.latent).toBe('entropy');
    await expect(compress(fakeCodec(), rows, { latent: 'entropy' })).rejects.toThrow(/no latent tables.*compress with latent 'uint8'/);
    await expect(compress(fakeCodec({ latentDim: 2, tables: fakeCodec({ latentDim: 3, tables: true }).latentTables! }), fakeRows(5, 2))).rejects.toThrow(
      /tables have 3 dimensions but the bundle's latents have 2/,
    );
  });

  it('takes uint8 rows for a float32 bundle and refuses float32 rows for a uint8 bundle', async () => {
    const rows = Uint8Array.from({ length: 60 }, (_, i) => (i * 37) % 256);
    const f32 = fakeCodec();
    expect((await decompress(f32, await compress(f32, rows, { latent: 'float32' }))).rows).toBe(10);
    const u8 = fakeCodec({ inputDtype: 'uint8' });
    await expect(compress(u8, Float32Array.from(rows))).rejects.toThrow(TypeError);
    await expect(compress(f32, new Float32Array(7))).rejects.toThrow(/not a multiple of the input width 6/);
    await expect(compress(f32, rows, { latent: 'int4' as LatentType })).rejects.toThrow(/valid: float32, float16, uint8/);
  });

  it('reads containers held in Node Buffers (views into a shared pool)', async () => {
    const codec = fakeCodec();
    const bytes = await compress(codec, fakeRows(20));
    const pool = Buffer.alloc(bytes.length + 13);
    pool.set(bytes, 13);
    const view = pool.subarray(13); // byteOffset 13 into a larger ArrayBuffer
    expect((await decompress(codec, view)).data).toEqual((await decompress(codec, bytes)).data);
  });

  it('handles zero rows', async () => {
    const codec = fakeCodec();
    const bytes = await compress(codec, new Float32Array(0));
    const out = await decompress(codec, bytes);
    expect([out.rows, out.data.length]).toEqual([0, 0]);
  });
});

describe('streaming', () => {
  it('equals one-shot output byte for byte, for any split of the input', async () => {
    const codec = fakeCodec({ latentDim: 3, tables: true });
    const rows = fakeRows(1000, 3, 3);
    for (const latent of LATENT_TYPES) {
      const oneShot = await compress(codec, rows, { latent, rowsPerChunk: 64 });
      for (const sizes of [[1], [5, 17, 300], [rows.length]]) {
        const s = compressStream(codec, { latent, rowsPerChunk: 64, rows: 1000 });
        const streamed = await collect(piecesOf(rows, sizes).pipeThrough(s));
        expect(Buffer.compare(Buffer.from(streamed), Buffer.from(oneShot))).toBe(0);
        expect(s.stats).toMatchObject({ rows: 1000, chunks: 16, bytesOut: oneShot.length, bytesIn: rows.byteLength });
      }
    }
  });

  it('without a row count, differs only in the header rowCount (and its CRC) and decodes the same', async () => {
    const codec = fakeCodec();
    const rows = fakeRows(100, 3, 9);
    const oneShot = await compress(codec, rows, { rowsPerChunk: 16 });
    const streamed = await collect(piecesOf(rows, [7]).pipeThrough(compressStream(codec, { rowsPerChunk: 16 })));
    expect(streamed.length).toBe(oneShot.length);
    const diff = [];
    for (let i = 0; i < oneShot.length; i++) if (oneShot[i] !== streamed[i]) diff.push(i);
    const H = 104 + 24 + 4;
    expect(diff.every((i) => (i >= 64 && i < 72) || (i >= H - 4 && i < H))).toBe(true);
    expect(readContainerHeader(streamed).rowCount).toBeNull();
    expect((await decompress(codec, streamed)).data).toEqual((await decompress(codec, oneShot)).data);
  });

  it('decompresses a stream cut anywhere to the one-shot result', async () => {
    const codec = fakeCodec({ latentDim: 5 });
    const rows = fakeRows(500, 5, 4);
    const bytes = await compress(codec, rows, { latent: 'float16', rowsPerChunk: 50 });
    const expected = (await decompress(codec, bytes)).data;
    for (const sizes of [[1], [3, 11, 97], [bytes.length]]) {
      const ds = decompressStream(codec);
      const parts: Array<Float32Array | Uint8Array> = [];
      for await (const p of piecesOf(bytes, sizes).pipeThrough(ds) as unknown as AsyncIterable<Float32Array>) parts.push(p);
      expect(parts.length).toBe(10); // one piece of rows per container chunk
      expect(Float32Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(expected);
      expect(ds.header?.rowCount).toBe(500);
    }
  });

  it('gives uint8 rows on request (outputDtype), equal to rounding the float rows, one-shot and streamed', async () => {
    const codec = fakeCodec({ latentDim: 5 });
    const rows = fakeRows(300, 5, 7).map((v) => v * 600); // decoded values from about −600 to 600
    rows.set([2.5, 0, 3.5, 0, 254.5, 0, Number.NaN, 0], 0); // ties go to even; NaN decodes to NaN, stored as 0
    const bytes = await compress(codec, rows, { latent: 'float32', rowsPerChunk: 64 });
    const floats = (await decompress(codec, bytes)).data as Float32Array;
    const want = Buffer.from(Uint8ClampedArray.from(floats));
    expect(Array.from(want.subarray(0, 8))).toEqual([2, 0, 4, 0, 254, 0, 0, 0]); // x̂[2j + 1] = −z[j]: clamped to 0
    const one = await decompress(codec, bytes, { outputDtype: 'uint8' });
    expect(one.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(one.data).equals(want)).toBe(true);
    const parts: Array<Float32Array | Uint8Array> = [];
    for await (const p of piecesOf(bytes, [777]).pipeThrough(decompressStream(codec, { outputDtype: 'uint8' })) as unknown as AsyncIterable<Uint8Array>) parts.push(p);
    expect(parts.length).toBe(5);
    expect(parts.every((p) => p instanceof Uint8Array)).toBe(true);
    expect(Buffer.concat(parts.map((p) => Buffer.from(p))).equals(want)).toBe(true);
    expect((await decompress(codec, bytes, { outputDtype: 'float32' })).data).toEqual(floats);
    expect(() => decompressStream(codec, { outputDtype: 'int8' as 'uint8' })).toThrow(/outputDtype must be "float32" or "uint8"/);
  });

  it('roundToUint8 stores what a Uint8ClampedArray stores, for every kind of float32', () => {
    const bits = new Uint32Array(300_000);
    let s = 12345;
    for (let i = 0; i < bits.length; i++) bits[i] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const values = [...new Float32Array(bits.buffer)];
    for (let k = -3; k <= 258; k++) values.push(k, k + 0.5, Math.fround(k + 0.5 - 2 ** -16), Math.fround(k + 0.5 + 2 ** -16), k + 0.25);
    values.push(Number.NaN, Infinity, -Infinity, -0, 2 ** -149, -(2 ** -149), 3.4e38, -3.4e38);
    const f = Float32Array.from(values);
    expect(Buffer.from(roundToUint8(f)).equals(Buffer.from(Uint8ClampedArray.from(f)))).toBe(true);
    const into = new Uint8Array(f.length + 4).fill(7);
    roundToUint8(f.subarray(0, 10), into.subarray(2, 12));
    expect(Array.from(into.subarray(0, 2))).toEqual([7, 7]);
    expect(Buffer.from(into.subarray(2, 12)).equals(Buffer.from(Uint8ClampedArray.from(f.subarray(0, 10))))).toBe(true);
    expect(into[12]).toBe(7);
  });

  it('decodes only as fast as the reader reads, whatever the size of the written pieces', async () => {
    const codec = fakeCodec();
    const bytes = await compress(codec, fakeRows(100), { rowsPerChunk: 10 });
    const ds = decompressStream(codec);
    const writer = ds.writable.getWriter();
    const written = writer.write(bytes); // the whole file in one piece: 10 chunks
    await new Promise((r) => setTimeout(r, 20));
    expect(codec.calls.decode).toBeLessThanOrEqual(2); // one queued (highWaterMark 1), not all ten
    const reader = ds.readable.getReader();
    let rows = 0;
    void writer.close();
    for (let r = await reader.read(); !r.done; r = await reader.read()) rows += r.value.length / 6;
    await written;
    expect([rows, codec.calls.decode]).toEqual([100, 10]);
  });

  it('propagates container errors to the readable side and cancellation to the writable side', async () => {
    const codec = fakeCodec();
    const bytes = await compress(codec, fakeRows(100), { rowsPerChunk: 10 });
    const bad = bytes.slice();
    bad[bytes.length - 30]! ^= 1;
    await expect(collect(piecesOf(bad, [64]).pipeThrough(decompressStream(codec)) as never)).rejects.toMatchObject({ code: 'E_AEZ_CRC' });
    const ds = decompressStream(codec);
    const reader = ds.readable.getReader();
    const writer = ds.writable.getWriter();
    const w = writer.write(bytes);
    await reader.read();
    await reader.cancel('enough');
    await expect(w).rejects.toBe('enough');
  });

  it('fails a stream that ends inside a row, or carries another row count than declared', async () => {
    const codec = fakeCodec();
    await expect(collect(piecesOf(fakeRows(3).subarray(0, 17), [5]).pipeThrough(compressStream(codec)))).rejects.toThrow(
      /ended inside a row: 5 values left over/,
    );
    await expect(collect(piecesOf(fakeRows(3), [5]).pipeThrough(compressStream(codec, { rows: 4 })))).rejects.toThrow(
      /declares 4 rows but 3 were written/,
    );
  });

  it('encodes one chunk at a time (bounded memory)', async () => {
    const codec = fakeCodec();
    const s = compressStream(codec, { rowsPerChunk: 10 });
    const writer = s.writable.getWriter();
    const reader = s.readable.getReader();
    await reader.read(); // header
    void writer.write(fakeRows(25));
    const first = await reader.read();
    expect(new DataView(first.value!.buffer).getUint32(0, true)).toBe(10 * 3); // a full chunk, not all 25 rows
    expect(codec.calls.encode).toBeLessThanOrEqual(2);
    void writer.close();
    while (!(await reader.read()).done);
    expect(s.stats).toMatchObject({ rows: 25, chunks: 3 });
  });
});

describe('bad input', () => {
  const make = async () => {
    const codec = fakeCodec();
    const bytes = await compress(codec, fakeRows(40), { rowsPerChunk: 16 });
    return { codec, bytes, H: 132 };
  };

  it('refuses a file made with another bundle, naming both fingerprints', async () => {
    const { bytes } = await make();
    const other = fakeCodec({ sha: OTHER_SHA });
    const err = await decompress(other, bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FingerprintError);
    expect((err as FingerprintError).code).toBe('E_AEZ_FINGERPRINT');
    expect((err as Error).message).toContain(FAKE_SHA);
    expect((err as Error).message).toContain(OTHER_SHA);
    await expect(collect(piecesOf(bytes, [9]).pipeThrough(decompressStream(other)) as never)).rejects.toBeInstanceOf(FingerprintError);
  });

  it('names truncation at every cut point', async () => {
    const { codec, bytes } = await make();
    for (let n = 1; n < bytes.length; n++) {
      const err = await decompress(codec, bytes.subarray(0, n)).catch((e: unknown) => e);
      expect([n, (err as ContainerError).code]).toEqual([n, 'E_AEZ_TRUNCATED']);
    }
    expect(((await decompress(codec, new Uint8Array(0)).catch((e: unknown) => e)) as ContainerError).message).toMatch(/empty/);
  });

  it('detects a flipped byte anywhere by CRC (or a bound behind it)', async () => {
    const { codec, bytes, H } = await make();
    const payload = bytes.slice();
    payload[H + 4 + 5]! ^= 0x01;
    const err = (await decompress(codec, payload).catch((e: unknown) => e)) as ContainerError;
    expect(err.code).toBe('E_AEZ_CRC');
    expect(err.offset).toBe(H);
    expect(err.message).toMatch(/chunk 0 at byte 132/);
    const header = bytes.slice();
    header[110]! ^= 0x40; // inside the latent range
    expect(await codeOf(decompress(codec, header))).toBe('E_AEZ_CRC');
    const end = bytes.slice();
    end[end.length - 10]! ^= 0x02;
    expect(await codeOf(decompress(codec, end))).toBe('E_AEZ_CRC');
  });

  it('refuses wrong magic and unknown versions', async () => {
    const { codec, bytes } = await make();
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
    expect(((await decompress(codec, png).catch((e: unknown) => e)) as ContainerError).message).toMatch(/not an aekit compressed file.*byte 1/);
    expect(await codeOf(decompress(codec, enc.encode('hello world, this is text')))).toBe('E_AEZ_MAGIC');
    expect(await codeOf(decompress(codec, enc.encode('h')))).toBe('E_AEZ_MAGIC');
    const v3 = bytes.slice();
    new DataView(v3.buffer).setUint16(8, 3, true);
    fixHeaderCrc(v3);
    expect(((await decompress(codec, v3).catch((e: unknown) => e)) as ContainerError).message).toMatch(/version 3 is not supported.*versions 1 and 2/);
    const flags = bytes.slice();
    new DataView(flags.buffer).setUint16(10, 1, true);
    expect(await codeOf(decompress(codec, flags))).toBe('E_AEZ_VERSION');
  });

  it('refuses absurd sizes before allocating', async () => {
    const { codec, bytes, H } = await make();
    const set = (mutate: (v: DataView) => void, fix = true) => {
      const b = bytes.slice();
      mutate(new DataView(b.buffer));
      if (fix) fixHeaderCrc(b);
      return b;
    };
    const before = process.memoryUsage().arrayBuffers;
    const cases: Array<[string, Uint8Array]> = [
      ['headerLength 4 GiB', set((v) => v.setUint32(12, 0xffffffff, true), false)],
      ['headerLength odd', set((v) => v.setUint32(12, 101, true), false)],
      ['inputDim 2^32-1', set((v) => v.setUint32(48, 0xffffffff, true))],
      ['latentDim 2^31', set((v) => v.setUint32(56, 0x80000000, true))],
      ['rowsPerChunk 2^32-1', set((v) => v.setUint32(60, 0xffffffff, true))],
      ['rowCount 2^63', set((v) => v.setBigUint64(64, 1n << 63n, true))],
      ['latent range NaN', set((v) => v.setFloat32(104, NaN, true))],
      ['latent type 4', set((v) => v.setUint8(53, 4))],
      ['dtype code 9', set((v) => v.setUint8(53, 9))],
      ['chunk length 4 GiB', set((v) => v.setUint32(H, 0xfffffff0, true), false)],
      ['chunk length not whole rows', set((v) => v.setUint32(H, 47, true), false)],
    ];
    for (const [what, b] of cases) expect([what, await codeOf(decompress(codec, b))]).toEqual([what, 'E_AEZ_BOUNDS']);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
  });

  it('refuses row counts that disagree with the chunks', async () => {
    const { codec, bytes, H } = await make();
    const more = bytes.slice();
    new DataView(more.buffer).setBigUint64(64, 41n, true);
    fixHeaderCrc(more);
    expect(((await decompress(codec, more).catch((e: unknown) => e)) as ContainerError).message).toMatch(/chunks hold 40 rows.*header says 41/);
    const fewer = bytes.slice();
    new DataView(fewer.buffer).setBigUint64(64, 20n, true);
    fixHeaderCrc(fewer);
    expect(await codeOf(decompress(codec, fewer))).toBe('E_AEZ_ROWS');
    // chunk 1 (16 rows × 3 bytes + 8) dropped wholesale: version 2 binds each chunk's place into its CRC
    const chunkBytes = 16 * 3 + 8;
    const dropped = new Uint8Array(bytes.length - chunkBytes);
    dropped.set(bytes.subarray(0, H + chunkBytes));
    dropped.set(bytes.subarray(H + 2 * chunkBytes), H + chunkBytes);
    expect(((await decompress(codec, dropped).catch((e: unknown) => e)) as ContainerError).message).toMatch(
      /chunk 1 at byte .* fails its CRC-32 .*reordered, duplicated or dropped/,
    );
    // end record that claims another total (CRC recomputed)
    const end = bytes.slice();
    const e = end.length - 20;
    new DataView(end.buffer).setBigUint64(e + 4, 39n, true);
    new DataView(end.buffer).setUint32(e + 16, crc32(end.subarray(e, e + 16)), true);
    expect(await codeOf(decompress(codec, end))).toBe('E_AEZ_ROWS');
  });

  it('refuses bytes after the end record and a header contradicting the bundle', async () => {
    const { codec, bytes } = await make();
    const extra = new Uint8Array(bytes.length + 1);
    extra.set(bytes);
    expect(await codeOf(decompress(codec, extra))).toBe('E_AEZ_CORRUPT');
    const wide = bytes.slice();
    new DataView(wide.buffer).setUint32(48, 7, true);
    fixHeaderCrc(wide);
    expect(((await decompress(codec, wide).catch((e: unknown) => e)) as ContainerError).message).toMatch(/7 input columns but the bundle has 6/);
    await expect(decompress(codec, 'text' as unknown as Uint8Array)).rejects.toThrow(TypeError);
  });
});

/** Splits a container into header, chunk records and end record (walking the length fields). */
function records(bytes: Uint8Array): { header: Uint8Array; chunks: Uint8Array[]; end: Uint8Array } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const H = v.getUint32(12, true);
  const chunks: Uint8Array[] = [];
  let at = H;
  for (let len = v.getUint32(at, true); len !== 0; len = v.getUint32(at, true)) {
    chunks.push(bytes.subarray(at, at + 8 + len));
    at += 8 + len;
  }
  return { header: bytes.subarray(0, H), chunks, end: bytes.subarray(at) };
}

describe('version 2 and entropy-coded latents', () => {
  const rows = fakeRows(10, 3, 5); // the rows the v1 fixtures hold (fakeCodec latentDim 3, 4 rows per chunk)

  it('still decodes version 1 files, to what version 2 gives for the same rows', async () => {
    const codec = fakeCodec({ latentDim: 3, tables: true });
    for (const latent of ['uint8', 'float16'] as const) {
      const v1 = new Uint8Array(readFileSync(new URL(`./fixtures/v1-${latent}.aez`, import.meta.url)));
      expect(readContainerHeader(v1)).toMatchObject({ version: 1, latentType: latent, latentTablesSha256: null, rowCount: 10 });
      const v2 = await compress(codec, rows, { latent, rowsPerChunk: 4 });
      const a = await decompress(codec, v1);
      expect(a.data).toEqual((await decompress(codec, v2)).data);
      // the quantiser (now core's) is bit-identical: same chunk payloads, only the CRCs bind more
      const r1 = records(v1);
      const r2 = records(v2);
      expect(r1.chunks.map((c) => Buffer.from(c.subarray(0, c.length - 4)).toString('hex'))).toEqual(
        r2.chunks.map((c) => Buffer.from(c.subarray(0, c.length - 4)).toString('hex')),
      );
      expect(Buffer.from(r1.end).equals(Buffer.from(r2.end))).toBe(true);
      const streamed: Array<Float32Array | Uint8Array> = [];
      for await (const p of piecesOf(v1, [7]).pipeThrough(decompressStream(codec)) as unknown as AsyncIterable<Float32Array>) streamed.push(p);
      expect(Float32Array.from(streamed.flatMap((p) => Array.from(p)))).toEqual(a.data);
      // version 1 knows no entropy type and binds no chunk places: a dropped chunk is caught by the counts
      const lat = v1.slice();
      lat[53] = 3;
      fixHeaderCrc(lat);
      expect(await codeOf(decompress(codec, lat))).toBe('E_AEZ_BOUNDS');
      const dropped = Buffer.concat([r1.header, r1.chunks[0]!, r1.chunks[2]!, r1.end]);
      expect(await codeOf(decompress(codec, new Uint8Array(dropped)))).toBe('E_AEZ_ROWS');
    }
  });

  it('decompresses entropy containers streamed in pieces of any size to the one-shot result', async () => {
    const codec = fakeCodec({ latentDim: 5, tables: true });
    const bytes = await compress(codec, fakeRows(500, 5, 4), { rowsPerChunk: 50 });
    const expected = (await decompress(codec, bytes)).data;
    for (const sizes of [[1], [3, 11, 97], [bytes.length]]) {
      const parts: Array<Float32Array | Uint8Array> = [];
      for await (const p of piecesOf(bytes, sizes).pipeThrough(decompressStream(codec)) as unknown as AsyncIterable<Float32Array>) parts.push(p);
      expect(parts.length).toBe(10);
      expect(Float32Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(expected);
    }
  });

  it('refuses an entropy container coded for other tables, or read by a bundle without tables', async () => {
    const codec = fakeCodec({ tables: true });
    const bytes = await compress(codec, fakeRows(40), { rowsPerChunk: 16 });
    const other = fakeCodec({ tables: true, tablesSha: '12'.repeat(32) });
    const err = (await decompress(other, bytes).catch((e: unknown) => e)) as ContainerError;
    expect(err).toBeInstanceOf(ContainerError);
    expect([err.code, err.offset]).toEqual(['E_AEZ_FINGERPRINT', 72]);
    expect(err.message).toContain(TABLES_SHA);
    expect(err.message).toContain('12'.repeat(32));
    await expect(collect(piecesOf(bytes, [9]).pipeThrough(decompressStream(other)) as never)).rejects.toMatchObject({ code: 'E_AEZ_FINGERPRINT' });
    const none = (await decompress(fakeCodec(), bytes).catch((e: unknown) => e)) as ContainerError;
    expect([none.code, none.message]).toEqual(['E_AEZ_FINGERPRINT', expect.stringMatching(/this bundle has no latent tables/)]);
    // a uint8 container does not depend on the tables: any bundle with the same decoder reads it
    const plain = await compress(codec, fakeRows(40), { latent: 'uint8' });
    expect((await decompress(fakeCodec(), plain)).rows).toBe(40);
    expect((await decompress(other, plain)).rows).toBe(40);
  });

  it('refuses a tables hash that contradicts the latent type', async () => {
    const codec = fakeCodec({ tables: true });
    const coded = await compress(codec, fakeRows(20));
    coded.fill(0, 72, 104);
    fixHeaderCrc(coded);
    expect(((await decompress(codec, coded).catch((e: unknown) => e)) as ContainerError).message).toMatch(/is zero, but entropy-coded latents need/);
    const plain = await compress(codec, fakeRows(20), { latent: 'uint8' });
    plain[80] = 1;
    fixHeaderCrc(plain);
    expect(await codeOf(decompress(codec, plain))).toBe('E_AEZ_CORRUPT');
  });

  it('refuses reordered, duplicated and dropped chunks, and names every truncation of a coded chunk', async () => {
    for (const latent of ['entropy', 'uint8'] as const) {
      const codec = fakeCodec({ tables: true });
      const bytes = await compress(codec, fakeRows(64), { latent, rowsPerChunk: 16 });
      const { header, chunks, end } = records(bytes);
      expect(chunks.length).toBe(4);
      const build = (order: number[]) => new Uint8Array(Buffer.concat([header, ...order.map((i) => chunks[i]!), end]));
      for (const order of [
        [1, 0, 2, 3], // swapped
        [0, 1, 1, 3], // duplicated in place of another (same counts)
        [0, 1, 2, 2, 3],
        [0, 2, 3], // dropped
        [0, 1, 2], // last dropped (the end record's counts catch it)
        [3, 1, 2, 0],
      ]) {
        const err = (await decompress(codec, build(order)).catch((e: unknown) => e)) as ContainerError;
        expect([latent, order, err instanceof ContainerError]).toEqual([latent, order, true]);
        expect(['E_AEZ_CRC', 'E_AEZ_ROWS']).toContain(err.code);
      }
      expect((await decompress(codec, build([0, 1, 2, 3]))).rows).toBe(64);
    }
    const codec = fakeCodec({ tables: true });
    const bytes = await compress(codec, fakeRows(40), { rowsPerChunk: 16 });
    for (let n = 1; n < bytes.length; n++) expect([n, await codeOf(decompress(codec, bytes.subarray(0, n)))]).toEqual([n, 'E_AEZ_TRUNCATED']);
  });

  it('bounds coded chunks before buffering them and refuses inconsistent ones after their CRC', async () => {
    const codec = fakeCodec({ tables: true });
    const bytes = await compress(codec, fakeRows(40), { rowsPerChunk: 16 });
    const H = 132;
    const v = new DataView(bytes.buffer);
    const len = v.getUint32(H, true);
    /** Edits chunk 0 (length, then payload) and re-signs it, to reach the checks behind the CRC. */
    const resigned = (edit: (b: Uint8Array, v: DataView) => number): Uint8Array => {
      const b = bytes.slice();
      const bv = new DataView(b.buffer);
      const newLen = edit(b, bv);
      const rec = new Uint8Array(Buffer.concat([b.subarray(H, H + 4 + newLen)]));
      new DataView(rec.buffer).setUint32(0, newLen, true);
      const crc = zcrc(place(0, 0), rec);
      const tail = b.subarray(H + 8 + len);
      const sig = new Uint8Array(4);
      new DataView(sig.buffer).setUint32(0, crc, true);
      return new Uint8Array(Buffer.concat([b.subarray(0, H), rec, sig, tail]));
    };
    const big = bytes.slice();
    new DataView(big.buffer).setUint32(H, 8 + 2 * 16 * 3 + 1, true); // one more than 16 rows can take
    expect(await codeOf(decompress(codec, big))).toBe('E_AEZ_BOUNDS');
    const tiny = bytes.slice();
    new DataView(tiny.buffer).setUint32(H, 7, true); // less than row count + state
    expect(await codeOf(decompress(codec, tiny))).toBe('E_AEZ_BOUNDS');
    expect(await codeOf(decompress(codec, resigned((_, bv) => (bv.setUint32(H + 4, 0, true), len))))).toBe('E_AEZ_BOUNDS'); // 0 rows
    expect(await codeOf(decompress(codec, resigned((_, bv) => (bv.setUint32(H + 4, 17, true), len))))).toBe('E_AEZ_BOUNDS'); // > rowsPerChunk
    expect(await codeOf(decompress(codec, resigned((_, bv) => (bv.setUint32(H + 4, 15, true), len))))).toBe('E_AEZ_CORRUPT'); // 15 rows
    const cut = (await decompress(codec, resigned(() => len - 1)).catch((e: unknown) => e)) as ContainerError; // stream cut short
    expect([cut.code, cut.offset]).toEqual(['E_AEZ_CORRUPT', H]);
    expect(cut.message).toMatch(/chunk 0 at byte 132: entropy-coded latents/);
    expect(await codeOf(decompress(codec, resigned((b) => ((b[H + 20]! ^= 0x10), len))))).toBe('E_AEZ_CORRUPT'); // flipped stream byte
    expect(v.getUint32(H + 4, true)).toBe(16);
  });
});
