/**
 * CodecPool (worker threads) against one in-thread Codec on real bundles: the same bytes from every
 * method (rows split across workers on batch boundaries, containers across chunks), errors re-created
 * with their class and code, threads divided, dispose. The workers run the built worker script
 * (packages/runtime/dist/pool/node-worker.js): build first (npx tsc -b).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, countLatentSymbols, encodeLatentTables, fitLatentTables, sha256Hex } from '@aekit/core';
import { BundleError, Codec, CodecPool, ContainerError, DisposedError, FingerprintError, IoError } from '../src/node.js';
import { fromWireError, toWireError } from '../src/pool/protocol.js';
import { chunkCrc } from '../src/compress/index.js';
import { type Fixture, makeFixture, sampleRows } from '../../../test/runtime-fixtures.js';

const COLS = 12;
const ROWS = 1000;
const BATCH = 64; // 1000 rows = 16 batches: split across both workers

let dir: string;
let f32: Fixture;
let other: Fixture;
let tablesDir: string;
let codec: Codec;
let pool: CodecPool;

const bytesOf = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function collect<T>(readable: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const piece of readable as unknown as AsyncIterable<T>) out.push(piece);
  return out;
}

function joined(parts: ArrayLike<number>[], Type: Float32ArrayConstructor | Uint8ArrayConstructor): Float32Array | Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Type(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aekit-pool-'));
  f32 = makeFixture({ inputDim: COLS, latentDim: 4, seed: 21 });
  other = makeFixture({ inputDim: COLS, latentDim: 4, seed: 22 });
  // The same bundle with latent tables, so `entropy` (the default for trained bundles) is covered.
  tablesDir = join(dir, 'tables');
  mkdirSync(tablesDir);
  for (const name of readdirSync(f32.dir)) copyFileSync(join(f32.dir, name), join(tablesDir, name));
  const symbols = sampleRows(500, 4, 'uint8', 9) as Uint8Array;
  const file = encodeLatentTables(fitLatentTables(countLatentSymbols(symbols, 4), 4));
  writeFileSync(join(tablesDir, 'latent_tables.bin'), file);
  const manifest = { ...f32.manifest, files: { ...f32.manifest.files, latentTables: { path: 'latent_tables.bin', sha256: await sha256Hex(file), bytes: file.length } } };
  writeFileSync(join(tablesDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  codec = await Codec.load(tablesDir, { device: 'cpu', threads: 1, batchSize: BATCH });
  pool = await CodecPool.load(tablesDir, { device: 'cpu', workers: 2, threads: 2, batchSize: BATCH });
});

afterAll(async () => {
  await codec?.dispose();
  await pool?.dispose();
  for (const d of [dir, f32?.dir, other?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('CodecPool', () => {
  it('loads one session per worker with the threads divided', () => {
    expect(pool.workers).toBe(2);
    expect(pool.threads).toBe(1);
    expect(pool.device).toBe('cpu');
    expect(pool.batchSize).toBe(BATCH);
    expect(pool.manifest.files.decoder.sha256).toBe(codec.manifest.files.decoder.sha256);
    expect(pool.latentTables?.dims).toBe(4);
  });

  it('encodes, decodes and reconstructs the bytes one Codec gives, in order', async () => {
    const x = sampleRows(ROWS, COLS, 'float32', 4) as Float32Array;
    const z1 = await codec.encode(x);
    const z2 = await pool.encode(x);
    expect(z2.rows).toBe(ROWS);
    expect(bytesOf(z2.data).equals(bytesOf(z1.data))).toBe(true);
    const y1 = await codec.decode(z1.data);
    const y2 = await pool.decode(z2.data);
    expect(bytesOf(y2.data).equals(bytesOf(y1.data))).toBe(true);
    const r1 = await codec.reconstruct(x);
    const r2 = await pool.reconstruct(x);
    expect(bytesOf(r2.data).equals(bytesOf(r1.data))).toBe(true);
    // the caller's array is copied, never moved to a worker
    expect(x.byteLength).toBe(ROWS * COLS * 4);
    // uint8 rows and number[][] are converted as a Codec converts them
    const u = sampleRows(300, COLS, 'uint8', 6) as Uint8Array;
    expect(bytesOf((await pool.encode(u)).data).equals(bytesOf((await codec.encode(u)).data))).toBe(true);
    const nested = Array.from({ length: 3 }, (_, r) => Array.from(x.subarray(r * COLS, (r + 1) * COLS)));
    expect(bytesOf((await pool.encode(nested)).data).equals(bytesOf((await codec.encode(nested)).data))).toBe(true);
  });

  it('splits a large input into bounded tasks (buffers reused), with the bytes one Codec gives', async () => {
    const n = 20_000; // 313 batches of 64: tasks of 8192 rows, more of them than workers
    const u = sampleRows(n, COLS, 'uint8', 5) as Uint8Array;
    const a = await codec.encode(u);
    for (let round = 0; round < 2; round++) {
      const b = await pool.encode(u); // the second round copies into buffers the workers handed back
      expect(b.rows).toBe(n);
      expect(bytesOf(b.data).equals(bytesOf(a.data))).toBe(true);
    }
    const back = await pool.decode(a.data);
    expect(bytesOf(back.data).equals(bytesOf((await codec.decode(a.data)).data))).toBe(true);
  });

  it('compresses a large input in tasks of at most 8 chunks, to the bytes one Codec gives', async () => {
    // 5000 rows in chunks of 16: 313 chunks, far more than 8 per task for 4 tasks per worker
    const u = sampleRows(5000, COLS, 'uint8', 8) as Uint8Array;
    for (const latent of ['entropy', 'uint8'] as const) {
      const a = await codec.compress(u, { latent, rowsPerChunk: 16 });
      for (let round = 0; round < 2; round++) {
        const b = await pool.compress(u, { latent, rowsPerChunk: 16 }); // round 2: buffers handed back
        expect(Buffer.from(b).equals(Buffer.from(a)), `${latent}, round ${round}`).toBe(true);
      }
    }
  });

  it('keeps the largest spare buffers, so one method\'s small ones do not crowd out another\'s rows', async () => {
    const fresh = await CodecPool.load(tablesDir, { device: 'cpu', workers: 2, threads: 2, batchSize: BATCH });
    try {
      const spare = () => (fresh as unknown as { spare: ArrayBuffer[] }).spare.map((b) => b.byteLength);
      // decompress of 63 small chunks: 8 tasks, each handing back its 64 KiB payload buffer
      const small = sampleRows(1000, COLS, 'uint8', 9) as Uint8Array;
      await fresh.decompress(await codec.compress(small, { rowsPerChunk: 16 }));
      expect(spare()).toEqual(Array(2 * 3 + 1).fill(1 << 16)); // as many as the pool keeps
      // compress of 60 chunks of 1024 rows: tasks of 8 chunks, whose row buffers (96 KiB) come back
      const rows = sampleRows(60 * 1024, COLS, 'uint8', 10) as Uint8Array;
      await fresh.compress(rows, { rowsPerChunk: 1024 });
      const kept = spare();
      expect(kept.length).toBe(2 * 3 + 1);
      expect(kept[0]).toBe(8 * 1024 * COLS);
    } finally {
      await fresh.dispose();
    }
  });

  it('compresses and decompresses to the bytes one Codec gives (one-shot and streams, every latent type)', async () => {
    const u = sampleRows(ROWS, COLS, 'uint8', 7) as Uint8Array;
    for (const latent of ['entropy', 'uint8', 'float16'] as const) {
      const options = { latent, rowsPerChunk: 37 }; // 28 chunks, the last one short
      const a = await codec.compress(u, options);
      const b = await pool.compress(u, options);
      expect(Buffer.from(b).equals(Buffer.from(a)), latent).toBe(true);
      const back1 = await codec.decompress(a);
      const back2 = await pool.decompress(a);
      expect(back2.rows).toBe(ROWS);
      expect(bytesOf(back2.data).equals(bytesOf(back1.data))).toBe(true);

      // streams: pieces that split rows, a declared row count
      const cs = pool.compressStream({ ...options, rows: ROWS, inputDtype: 'uint8' });
      const written = (async () => {
        const w = cs.writable.getWriter();
        for (let at = 0; at < u.length; at += 1000) await w.write(u.subarray(at, at + 1000));
        await w.close();
      })();
      const streamed = joined(await collect(cs.readable), Uint8Array);
      await written;
      expect(Buffer.from(streamed).equals(Buffer.from(a))).toBe(true);
      expect(cs.stats.rows).toBe(ROWS);
      expect(cs.stats.chunks).toBe(Math.ceil(ROWS / 37));

      const ds = pool.decompressStream();
      const fed = (async () => {
        const w = ds.writable.getWriter();
        for (let at = 0; at < a.length; at += 333) await w.write(a.subarray(at, at + 333));
        await w.close();
      })();
      const pieces = await collect(ds.readable);
      await fed;
      expect(pieces.length).toBe(Math.ceil(ROWS / 37)); // one piece per container chunk, as a Codec's stream
      expect(bytesOf(joined(pieces, pieces[0] instanceof Uint8Array ? Uint8Array : Float32Array)).equals(bytesOf(back1.data))).toBe(true);
    }
    // uint8 rows asked of decompress: rounded in the workers, the bytes a Codec gives
    const packed = await codec.compress(u, { rowsPerChunk: 37 });
    const u8 = await codec.decompress(packed, { outputDtype: 'uint8' });
    expect(u8.data).toBeInstanceOf(Uint8Array);
    expect(bytesOf((await pool.decompress(packed, { outputDtype: 'uint8' })).data).equals(bytesOf(u8.data))).toBe(true);
    const ds8 = pool.decompressStream({ outputDtype: 'uint8' });
    const fed8 = (async () => {
      const w = ds8.writable.getWriter();
      await w.write(packed);
      await w.close();
    })();
    const pieces8 = await collect(ds8.readable);
    await fed8;
    expect(pieces8.every((p) => p instanceof Uint8Array)).toBe(true);
    expect(bytesOf(joined(pieces8, Uint8Array)).equals(bytesOf(u8.data))).toBe(true);
    // float32 rows, default latent type (entropy: the bundle has tables)
    const x = sampleRows(ROWS, COLS, 'float32', 8) as Float32Array;
    expect(Buffer.from(await pool.compress(x)).equals(Buffer.from(await codec.compress(x)))).toBe(true);
  });

  it('compressFile: workers read rows from the file, and the bytes are those one Codec gives for the same rows', async () => {
    const u = sampleRows(ROWS, COLS, 'uint8', 11) as Uint8Array;
    // 7 bytes before the rows (a header) and some after (a longer file): only [offset, offset + rows) counts.
    const path = join(dir, 'rows.bin');
    writeFileSync(path, Buffer.concat([Buffer.alloc(7, 0xee), Buffer.from(u), Buffer.alloc(5, 0xdd)]));
    const first = 113;
    const count = 700; // rows [113, 813): 19 chunks of 37, tasks of 8 chunks split across both workers
    const want = u.subarray(first * COLS, (first + count) * COLS);
    for (const latent of ['entropy', 'uint8', 'float16'] as const) {
      const fc = pool.compressFile({ path, offset: 7 + first * COLS, rows: count }, { latent, rowsPerChunk: 37 });
      const got = joined(await collect(fc.readable), Uint8Array);
      const expected = await codec.compress(want, { latent, rowsPerChunk: 37 });
      expect(Buffer.from(got).equals(Buffer.from(expected)), latent).toBe(true);
      expect(fc.stats).toMatchObject({ latent, rows: count, chunks: Math.ceil(count / 37), bytesIn: count * COLS, bytesOut: expected.length });
      const back = await codec.decompress(got as Uint8Array);
      expect(back.header.inputDtype).toBe('uint8');
      expect(back.rows).toBe(count);
    }
    // no rows: a header and an end record, as compress gives for none
    const none = joined(await collect(pool.compressFile({ path, offset: 7, rows: 0 }).readable), Uint8Array) as Uint8Array;
    expect(Buffer.from(none).equals(Buffer.from(await codec.compress(new Uint8Array(0))))).toBe(true);
  });

  it('compressFile: a file shorter than the rows asked for fails the stream with a DataError naming it', async () => {
    const path = join(dir, 'short.bin');
    writeFileSync(path, new Uint8Array(500 * COLS + 3));
    const fc = pool.compressFile({ path, offset: 0, rows: ROWS }, { rowsPerChunk: 50 });
    const e = await collect(fc.readable).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).file).toBe(path);
    expect((e as DataError).message).toMatch(/file ends at byte 6003.*truncated/);
    const missing = await collect(pool.compressFile({ path: join(dir, 'absent.bin'), offset: 0, rows: 10 }).readable).catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(IoError);
    expect((missing as IoError).message).toMatch(/cannot open .*absent\.bin/);
    expect(() => pool.compressFile({ path, offset: -1, rows: 1 })).toThrow(RangeError);
    expect(() => pool.compressFile({ path, offset: 0, rows: 1.5 })).toThrow(/file\.rows must be a non-negative integer/);
    // the pool still works after failed tasks
    const u = sampleRows(10, COLS, 'uint8', 3) as Uint8Array;
    expect(Buffer.from(await pool.compress(u)).equals(Buffer.from(await codec.compress(u)))).toBe(true);
  });

  it('re-creates worker errors with their class, code and place', async () => {
    const x = sampleRows(ROWS, COLS, 'float32', 4) as Float32Array;
    x[700 * COLS + 5] = Number.NaN; // in the second worker's part: the row is the caller's
    await expect(pool.encode(x)).rejects.toThrow(/row 700, column 5 is NaN/);
    await expect(pool.encode(x)).rejects.toBeInstanceOf(RangeError);
    const bad = await pool.decompress(new Uint8Array(64)).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ContainerError);
    expect((bad as ContainerError).code).toBe('E_AEZ_MAGIC');
    // a container from another model: the FingerprintError with both fingerprints
    const theirs = await Codec.load(other.dir, { device: 'cpu', threads: 1 });
    const foreign = await theirs.compress(sampleRows(10, COLS, 'uint8', 3) as Uint8Array);
    await theirs.dispose();
    const fp = await pool.decompress(foreign).catch((e: unknown) => e);
    expect(fp).toBeInstanceOf(FingerprintError);
    expect((fp as FingerprintError).code).toBe('E_AEZ_FINGERPRINT');
    expect((fp as FingerprintError).bundleFingerprint).toBe(pool.manifest.files.decoder.sha256);
    // the wire form keeps what the classes carry
    const e = fromWireError(toWireError(new ContainerError('E_AEZ_CRC', 'chunk 3 fails its CRC', { offset: 99 }).inFile('a.aez')));
    expect(e).toBeInstanceOf(ContainerError);
    expect(e).toMatchObject({ code: 'E_AEZ_CRC', offset: 99, file: 'a.aez', message: 'a.aez: chunk 3 fails its CRC' });
  });

  it('names a chunk whose CRC holds but whose latents do not decode, as a Codec does (decoded in a worker)', async () => {
    const u = sampleRows(300, COLS, 'uint8', 12) as Uint8Array;
    const bytes = await codec.compress(u, { latent: 'entropy', rowsPerChunk: 50 }); // 6 chunks, 3 of them per task
    const h = new DataView(bytes.buffer, bytes.byteOffset);
    // chunk 4: walk the records ([length u32][payload][crc u32]) from the header's end
    let at = h.getUint32(12, true);
    let rowsBefore = 0;
    for (let k = 0; k < 4; k++) {
      at += 8 + h.getUint32(at, true);
      rowsBefore += 50;
    }
    const len = h.getUint32(at, true);
    const bad = bytes.slice();
    bad.subarray(at + 4 + 8, at + 4 + len).fill(0xa5); // the rANS stream, past the row count and state
    new DataView(bad.buffer).setUint32(at + 4 + len, chunkCrc(2, 4, rowsBefore, bad.subarray(at, at + 4 + len)), true); // re-signed
    const mine = (await codec.decompress(bad).catch((e: unknown) => e)) as ContainerError;
    expect(mine).toBeInstanceOf(ContainerError);
    expect(mine.code).toBe('E_AEZ_CORRUPT');
    expect(mine.message).toMatch(new RegExp(`chunk 4 at byte ${at}`));
    for (const got of [
      await pool.decompress(bad).catch((e: unknown) => e),
      await collect(new Blob([bad]).stream().pipeThrough(pool.decompressStream())).catch((e: unknown) => e),
    ]) {
      expect(got).toBeInstanceOf(ContainerError);
      expect(got).toMatchObject({ code: 'E_AEZ_CORRUPT', offset: at, message: mine.message });
    }
  });

  it('fails to load a damaged bundle with the BundleError a Codec gives, and stops its workers', async () => {
    const damaged = join(dir, 'damaged');
    mkdirSync(damaged);
    for (const name of readdirSync(f32.dir)) copyFileSync(join(f32.dir, name), join(damaged, name));
    writeFileSync(join(damaged, 'decoder.onnx'), new Uint8Array(f32.files.decoder.length)); // same size, wrong bytes
    const e = await CodecPool.load(damaged, { workers: 2 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BundleError);
    expect((e as BundleError).code).toBe('E_BUNDLE');
    expect((e as BundleError).message).toMatch(/decoder\.onnx fails its integrity check/);
    await expect(CodecPool.load(f32.dir, { workers: 0 })).rejects.toThrow(RangeError);
  });

  it('divides --threads among workers (at least one each) and disposes with Symbol.asyncDispose', async () => {
    const p = await CodecPool.load(f32.dir, { device: 'cpu', workers: 3, threads: 7 });
    expect(p.threads).toBe(2);
    expect(p.workers).toBe(3);
    const x = sampleRows(5, COLS, 'float32', 1) as Float32Array;
    expect((await p.reconstruct(x)).rows).toBe(5);
    await p[Symbol.asyncDispose]();
    await expect(p.encode(x)).rejects.toBeInstanceOf(DisposedError);
    const q = await CodecPool.load(f32.dir, { device: 'cpu', workers: 2, threads: 1 });
    expect(q.threads).toBe(1);
    await q.dispose();
  });
});
