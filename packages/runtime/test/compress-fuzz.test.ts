/**
 * Fuzz: mutates valid containers (a uint8 one 12 000 times, an entropy-coded one 8 000 times) with bit
 * flips, byte overwrites, truncations, insertions, deletions, header and length fields set to extremes
 * with and without a recomputed header CRC, and whole chunks reordered, duplicated and dropped; checks
 * every outcome is either the correct decode or a typed ContainerError — never another exception, a
 * crash or a hang — and that chunk reordering, duplication and dropping always fail. A sample also goes
 * through the streaming decompressor in random pieces and must end the same way.
 */
import { describe, expect, it } from 'vitest';
import { ContainerError, compress, crc32, decompress, decompressStream } from '../src/compress/index.js';
import { fakeCodec, fakeRows, piecesOf } from './compress-fake.js';


function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

const EXTREMES = [0, 1, 2, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
/** Header u32 fields that are integers (the latent range is only mutated to invalid floats). */
const U32_FIELDS = [12, 48, 56, 60, 64, 68];
/** Version 2: the latent range starts after the latent tables hash. */
const RANGE_AT = 104;

type Outcome = { ok: true; data: Float32Array | Uint8Array; rows: number } | { ok: false; code: string };

async function oneShot(codec: ReturnType<typeof fakeCodec>, bytes: Uint8Array): Promise<Outcome> {
  try {
    const r = await decompress(codec, bytes);
    return { ok: true, data: r.data, rows: r.rows };
  } catch (e) {
    if (e instanceof ContainerError) return { ok: false, code: e.code };
    throw new Error(`untyped failure: ${String(e)}`, { cause: e });
  }
}

async function streamed(codec: ReturnType<typeof fakeCodec>, bytes: Uint8Array, sizes: number[]): Promise<Outcome> {
  try {
    const parts: Array<Float32Array | Uint8Array> = [];
    for await (const p of piecesOf(bytes, sizes).pipeThrough(decompressStream(codec)) as unknown as AsyncIterable<Float32Array>) parts.push(p);
    const data = Float32Array.from(parts.flatMap((p) => Array.from(p)));
    return { ok: true, data, rows: data.length / codec.manifest.inputDim };
  } catch (e) {
    if (e instanceof ContainerError) return { ok: false, code: e.code };
    throw new Error(`untyped failure (stream): ${String(e)}`, { cause: e });
  }
}

/** The chunk records of a container, as [offset, length] (walking the length fields). */
function chunkSpans(bytes: Uint8Array): Array<[number, number]> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans: Array<[number, number]> = [];
  for (let at = v.getUint32(12, true), len = v.getUint32(at, true); len !== 0; at += 8 + len, len = v.getUint32(at, true)) {
    spans.push([at, 8 + len]);
  }
  return spans;
}

async function fuzz(codec: ReturnType<typeof fakeCodec>, valid: Uint8Array, iterations: number, seed: number): Promise<Record<string, number>> {
  const reference = (await decompress(codec, valid)).data;
  const rows = reference.length / codec.manifest.inputDim;
  const H = new DataView(valid.buffer).getUint32(12, true);
  const spans = chunkSpans(valid);
  const rand = rng(seed);
  const tally: Record<string, number> = {};
  const started = performance.now();
  let slowest = 0;

  for (let i = 0; i < iterations; i++) {
    let b: Uint8Array = valid.slice();
    const kind = i % 10;
    if (kind === 0) {
      for (let k = 1 + rand(3); k > 0; k--) b[rand(b.length)]! ^= 1 << rand(8); // bit flips
    } else if (kind === 1) {
      b[rand(b.length)] = rand(256); // byte overwrite
    } else if (kind === 2) {
      b = b.slice(0, rand(b.length)); // truncation
    } else if (kind === 3) {
      const at = rand(b.length + 1); // insertion of 1..8 random bytes
      const ins = Uint8Array.from({ length: 1 + rand(8) }, () => rand(256));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      b = out;
    } else if (kind === 4) {
      const at = rand(b.length); // deletion
      const n = 1 + rand(8);
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
    } else if (kind <= 6) {
      // header fields (u16 version/flags, u8 codes, u32 dims and counts) or a chunk length set to an extreme;
      // kind 5 keeps the old header CRC (→ CRC error), kind 6 recomputes it to reach the checks behind it
      const v = new DataView(b.buffer);
      const which = rand(5);
      const x = EXTREMES[rand(EXTREMES.length)]!;
      if (which === 0) v.setUint16(8 + 2 * rand(2), x & 0xffff, true);
      else if (which === 1) v.setUint8(52 + rand(2), x & 0xff);
      else if (which === 2) v.setUint32(U32_FIELDS[rand(U32_FIELDS.length)]!, x, true);
      else if (which === 3) v.setFloat32(RANGE_AT + 4 * rand(6), [NaN, Infinity, -Infinity][rand(3)]!, true);
      else v.setUint32(H, x, true); // first chunk's length
      if (kind === 6) {
        const len = Math.min(v.getUint32(12, true), H);
        if (len === H) v.setUint32(H - 4, crc32(b.subarray(0, H - 4)), true);
      }
    } else {
      // whole chunks reordered (7), duplicated (8) or dropped (9): every record intact, the order not
      const order = spans.map((_, k) => k);
      const a = rand(order.length);
      if (kind === 7) {
        const c = (a + 1 + rand(order.length - 1)) % order.length;
        [order[a], order[c]] = [order[c]!, order[a]!];
      } else if (kind === 8) order.splice(rand(order.length + 1), 0, a);
      else order.splice(a, 1);
      const parts = [b.subarray(0, H), ...order.map((k) => b.subarray(spans[k]![0], spans[k]![0] + spans[k]![1])), b.subarray(b.length - 20)];
      b = new Uint8Array(Buffer.concat(parts));
    }
    const t0 = performance.now();
    const r = await oneShot(codec, b);
    slowest = Math.max(slowest, performance.now() - t0);
    if (kind >= 7) expect(r.ok ? 'ok' : 'refused').toBe('refused');
    if (r.ok) {
      expect(r.rows).toBe(rows);
      expect(r.data).toEqual(reference);
      tally['ok'] = (tally['ok'] ?? 0) + 1;
    } else {
      tally[r.code] = (tally[r.code] ?? 0) + 1;
      if (kind >= 7) tally[`chunks ${r.code}`] = (tally[`chunks ${r.code}`] ?? 0) + 1;
    }
    if (i % 25 === 0) {
      const s = await streamed(codec, b, [1 + rand(40), 1 + rand(3), 1 + rand(200)]);
      expect(s.ok ? 'ok' : s.code).toBe(r.ok ? 'ok' : r.code);
      if (s.ok) expect(s.data).toEqual(reference);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`fuzz: ${iterations} mutations in ${seconds.toFixed(1)} s, slowest ${slowest.toFixed(1)} ms`, tally);
  // nothing hangs
  expect(seconds).toBeLessThan(30);
  expect(slowest).toBeLessThan(500);
  return tally;
}

describe('container fuzz', () => {
  it('every one of 12000 mutations of a uint8 container decodes correctly or fails with a typed error', async () => {
    const codec = fakeCodec({ latentDim: 3 });
    const valid = await compress(codec, fakeRows(37, 3, 5), { latent: 'uint8', rowsPerChunk: 8 });
    const tally = await fuzz(codec, valid, 12_000, 0xae2026);
    // every failure class is reached
    for (const code of ['E_AEZ_MAGIC', 'E_AEZ_VERSION', 'E_AEZ_BOUNDS', 'E_AEZ_TRUNCATED', 'E_AEZ_CRC', 'E_AEZ_ROWS', 'E_AEZ_CORRUPT']) {
      expect(tally[code] ?? 0, code).toBeGreaterThan(0);
    }
  });

  it('every one of 8000 mutations of an entropy-coded container decodes correctly or fails with a typed error', async () => {
    const codec = fakeCodec({ latentDim: 3, tables: true });
    const valid = await compress(codec, fakeRows(37, 3, 5), { latent: 'entropy', rowsPerChunk: 8 });
    expect(new DataView(valid.buffer).getUint8(53)).toBe(3);
    const tally = await fuzz(codec, valid, 8_000, 0x2026ae);
    for (const code of ['E_AEZ_MAGIC', 'E_AEZ_VERSION', 'E_AEZ_BOUNDS', 'E_AEZ_TRUNCATED', 'E_AEZ_CRC', 'E_AEZ_ROWS', 'E_AEZ_CORRUPT']) {
      expect(tally[code] ?? 0, code).toBeGreaterThan(0);
    }
    expect(tally['chunks E_AEZ_CRC'] ?? 0).toBeGreaterThan(0); // chunk places bound into the CRCs
  });
});
