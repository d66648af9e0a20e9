/**
 * `aekit compress` / `aekit decompress` end to end on real bundles (GraphBuilder fixtures, float32 and
 * uint8 I/O) run in-process, plus the same container through the runtime Codec's methods.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codec, ContainerError, FingerprintError } from '@aekit/runtime';
import { encodeNpy, parseIdx, parseNpy } from '@aekit/data';
import { countLatentSymbols, encodeLatentTables, fitLatentTables, quantizeLatents, sha256Hex } from '@aekit/core';
import { main } from 'aekit';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

const ROWS = 300;
const COLS = 12;

function capture() {
  let out = '';
  let err = '';
  return { io: { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t), isTTY: false }, out: () => out, err: () => err };
}

function idxBytes(data: Uint8Array, rows: number, cols: number): Uint8Array {
  const h = new Uint8Array(12);
  const v = new DataView(h.buffer);
  h.set([0, 0, 8, 2]);
  v.setUint32(4, rows, false);
  v.setUint32(8, cols, false);
  const out = new Uint8Array(12 + data.length);
  out.set(h);
  out.set(data, 12);
  return out;
}

let dir: string;
let f32: Fixture;
let u8: Fixture;
let other: Fixture;
let rows: Uint8Array;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aekit-compress-'));
  f32 = makeFixture({ inputDim: COLS, latentDim: 4, seed: 11 });
  u8 = makeFixture({ inputDim: COLS, latentDim: 4, dtype: 'uint8', seed: 11 });
  other = makeFixture({ inputDim: COLS, latentDim: 4, seed: 12 });
  rows = sampleRows(ROWS, COLS, 'uint8', 5) as Uint8Array;
  writeFileSync(join(dir, 'rows-idx1-ubyte.gz'), gzipSync(idxBytes(rows, ROWS, COLS)));
});

afterAll(() => {
  for (const d of [dir, f32?.dir, u8?.dir, other?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('aekit compress / decompress', () => {
  it('round-trips a gzip IDX file through .aez to .npy and .idx, printing sizes, ratio, rows/s and the check', async () => {
    for (const latent of ['uint8', 'float16', 'float32']) {
      const aez = join(dir, `rows-${latent}.aez`);
      const c = capture();
      const code = await main(['compress', u8.dir, join(dir, 'rows-idx1-ubyte.gz'), '--out', aez, '--latent', latent, '--check', '--rows-per-chunk', '64'], c.io);
      expect([code, c.err()]).toEqual([0, '']);
      const size = readFileSync(aez).length;
      expect(c.out()).toContain(`compressed ${ROWS} rows (12 uint8 values each) with ${latent} latents`);
      expect(c.out()).toContain(`bytes in ${ROWS * COLS} (3.5 KiB), bytes out ${size} (`);
      expect(c.out()).toMatch(/ratio [\d.]+×/);
      expect(c.out()).toMatch(/rows\/s/);
      expect(c.out()).toMatch(/check: 300 rows decoded .* MSE [\d.e-]+, PSNR [\d.]+ dB/);

      const codec = await Codec.load(u8.dir);
      const expected = await codec.decompress(readFileSync(aez));
      await codec.dispose();
      expect(expected.rows).toBe(ROWS);

      const npy = join(dir, `out-${latent}.npy`);
      const d = capture();
      expect(await main(['decompress', u8.dir, aez, '--out', npy], d.io)).toBe(0);
      expect(d.out()).toMatch(new RegExp(`decompressed ${ROWS} rows .* from ${latent} latents`));
      const ds = parseNpy(readFileSync(npy), npy);
      expect([ds.rows, ds.cols, ds.dtype]).toEqual([ROWS, COLS, 'uint8']);
      expect(Uint8Array.from(ds.data)).toEqual(expected.data);

      const idx = join(dir, `out-${latent}.idx`);
      expect(await main(['decompress', u8.dir, aez, '--out', idx], capture().io)).toBe(0);
      expect(Uint8Array.from(parseIdx(readFileSync(idx), idx).data)).toEqual(expected.data);
    }
    expect(readFileSync(join(dir, 'rows-uint8.aez')).length).toBeLessThan(readFileSync(join(dir, 'rows-float16.aez')).length);
  });

  it('compresses uint8 data for a float32 bundle: uint8 back by default, float32 .npy / big-endian .idx on request', async () => {
    const aez = join(dir, 'f32.aez');
    expect(await main(['compress', f32.dir, join(dir, 'rows-idx1-ubyte.gz'), '--out', aez, '--latent', 'float32'], capture().io)).toBe(0);
    const codec = await Codec.load(f32.dir);
    const direct = await codec.decompress(readFileSync(aez));
    const reference = await codec.decode((await codec.encode(Float32Array.from(rows))).data);
    await codec.dispose();
    expect(direct.data).toEqual(reference.data); // float32 latents are lossless
    // The container records that uint8 rows went in: decompress gives uint8 back (clipped, rounded).
    const u8npy = join(dir, 'f32-default.npy');
    const d = capture();
    expect(await main(['decompress', f32.dir, aez, '--out', u8npy], d.io)).toBe(0);
    const back = parseNpy(readFileSync(u8npy), u8npy);
    expect(back.dtype).toBe('uint8');
    expect(Array.from(back.data)).toEqual(Array.from(direct.data, (v) => Math.min(255, Math.max(0, Math.round(v)))));
    expect(d.out()).toContain(`decompressed ${ROWS} rows (${COLS} uint8 values each)`);
    const npy = join(dir, 'f32.npy');
    expect(await main(['decompress', f32.dir, aez, '--out', npy, '--output-dtype', 'float32'], capture().io)).toBe(0);
    expect(parseNpy(readFileSync(npy), npy).data).toEqual(direct.data);
    const idx = join(dir, 'f32.idx');
    expect(await main(['decompress', f32.dir, aez, '--out', idx, '--output-dtype', 'float32'], capture().io)).toBe(0);
    expect(parseIdx(readFileSync(idx), idx).data).toEqual(direct.data);
  });

  it('loads non-IDX inputs whole (float NPY) and refuses data that does not fit the bundle', async () => {
    const x = Float32Array.from(rows, (v) => v / 255);
    writeFileSync(join(dir, 'rows.npy'), encodeNpy(x, [ROWS, COLS]));
    const c = capture();
    expect(await main(['compress', f32.dir, join(dir, 'rows.npy'), '--out', join(dir, 'npy.aez'), '--check'], c.io)).toBe(0);
    expect(c.out()).toContain(`compressed ${ROWS} rows (12 float32 values each)`);
    expect(c.out()).not.toContain('(streamed)');
    const codec = await Codec.load(f32.dir);
    const expected = await codec.decode((await codec.encode(x)).data);
    const got = await codec.decompress(readFileSync(join(dir, 'npy.aez')));
    await codec.dispose();
    for (let i = 0; i < got.data.length; i++) expect(Math.abs(got.data[i]! - expected.data[i]!)).toBeLessThan(0.05);
    const wrongDtype = capture();
    expect(await main(['compress', u8.dir, join(dir, 'rows.npy'), '--out', join(dir, 'no.aez')], wrongDtype.io)).toBe(1);
    expect(wrongDtype.err()).toMatch(/holds float values but this bundle takes uint8 rows/);
    writeFileSync(join(dir, 'wide.npy'), encodeNpy(new Float32Array(26), [2, 13]));
    const wide = capture();
    expect(await main(['compress', f32.dir, join(dir, 'wide.npy'), '--out', join(dir, 'no.aez')], wide.io)).toBe(1);
    expect(wide.err()).toMatch(/rows have 13 values but the bundle's encoder takes 12/);
    expect(existsSync(join(dir, 'no.aez'))).toBe(false);
  });

  it('Codec methods: one-shot equals streaming, byte for byte', async () => {
    const codec = await Codec.load(f32.dir);
    const x = Float32Array.from(rows);
    const oneShot = await codec.compress(x, { latent: 'uint8', rowsPerChunk: 50 });
    const s = codec.compressStream({ latent: 'uint8', rowsPerChunk: 50, rows: ROWS });
    const src = new ReadableStream<Float32Array>({
      start(c) {
        for (let i = 0; i < x.length; i += 77) c.enqueue(x.subarray(i, i + 77));
        c.close();
      },
    });
    const parts: Uint8Array[] = [];
    for await (const p of src.pipeThrough(s) as unknown as AsyncIterable<Uint8Array>) parts.push(p);
    expect(Buffer.concat(parts).equals(Buffer.from(oneShot))).toBe(true);
    await codec.dispose();
  });

  it('refuses another bundle naming both fingerprints, and leaves no output', async () => {
    const aez = join(dir, 'rows-uint8.aez');
    const out = join(dir, 'refused.npy');
    const c = capture();
    expect(await main(['decompress', other.dir, aez, '--out', out], c.io)).toBe(1);
    expect(c.err()).toContain(u8.manifest.files.decoder.sha256);
    expect(c.err()).toContain(other.manifest.files.decoder.sha256);
    expect(existsSync(out)).toBe(false);
    const codec = await Codec.load(other.dir);
    await expect(codec.decompress(readFileSync(aez))).rejects.toBeInstanceOf(FingerprintError);
    await codec.dispose();
  });

  it('fails on a damaged or truncated .aez and on truncated input, leaving no file behind', async () => {
    const good = readFileSync(join(dir, 'rows-uint8.aez'));
    const bad = Buffer.from(good);
    bad[good.length - 40]! ^= 0x10;
    writeFileSync(join(dir, 'bad.aez'), bad);
    writeFileSync(join(dir, 'short.aez'), good.subarray(0, good.length - 7));
    for (const [name, pattern] of [
      ['bad.aez', /CRC-32/],
      ['short.aez', /truncated/],
    ] as const) {
      const c = capture();
      expect(await main(['decompress', u8.dir, join(dir, name), '--out', join(dir, `${name}.npy`)], c.io)).toBe(1);
      expect(c.err()).toMatch(pattern);
      expect(c.err()).toContain(`${join(dir, name)}: `); // the file is named, not only the byte offset
      expect(existsSync(join(dir, `${name}.npy`))).toBe(false);
    }
    const idx = idxBytes(rows, ROWS, COLS);
    writeFileSync(join(dir, 'cut-idx1-ubyte'), idx.subarray(0, idx.length - 5));
    const c = capture();
    expect(await main(['compress', u8.dir, join(dir, 'cut-idx1-ubyte'), '--out', join(dir, 'cut.aez')], c.io)).toBe(1);
    expect(c.err()).toMatch(/truncated at byte 3607/);
    expect(existsSync(join(dir, 'cut.aez'))).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    const u = capture();
    expect(await main(['decompress', u8.dir, join(dir, 'rows-uint8.aez'), '--out', join(dir, 'x.png')], u.io)).toBe(2);
    expect(u.err()).toMatch(/\.npy or \.idx/);
    expect(ContainerError).toBeDefined();
  });
});

describe('entropy-coded latents (bundle with latent_tables.bin)', () => {
  /** A copy of the uint8 fixture with tables fitted to its latents on other rows (as training would). */
  async function bundleWithTables(): Promise<string> {
    const withTables = join(dir, 'u8-tables');
    mkdirSync(withTables, { recursive: true });
    for (const name of readdirSync(u8.dir)) copyFileSync(join(u8.dir, name), join(withTables, name));
    const codec = await Codec.load(u8.dir);
    const train = sampleRows(2000, COLS, 'uint8', 99) as Uint8Array;
    const z = (await codec.encode(train)).data;
    await codec.dispose();
    const range = { min: Float32Array.from(u8.manifest.latentRange.min), max: Float32Array.from(u8.manifest.latentRange.max) };
    const symbols = new Uint8Array(z.length);
    quantizeLatents(z, 'uint8', range, symbols);
    const file = encodeLatentTables(fitLatentTables(countLatentSymbols(symbols, 4), 4));
    writeFileSync(join(withTables, 'latent_tables.bin'), file);
    const manifest = { ...u8.manifest, files: { ...u8.manifest.files, latentTables: { path: 'latent_tables.bin', sha256: await sha256Hex(file), bytes: file.length } } };
    writeFileSync(join(withTables, 'manifest.json'), JSON.stringify(manifest, null, 2));
    return withTables;
  }

  it('compresses entropy-coded by default when the bundle has tables, and decodes bit for bit what uint8 gives', async () => {
    const tablesDir = await bundleWithTables();
    const input = join(dir, 'rows-idx1-ubyte.gz');
    const c = capture();
    expect(await main(['compress', tablesDir, input, '--out', join(dir, 'e.aez'), '--check'], c.io)).toBe(0);
    expect(c.out()).toContain(`compressed ${ROWS} rows (12 uint8 values each) with entropy latents (4 per row) (default: the bundle has latent tables)`);
    expect(c.out()).toMatch(/check: 300 rows decoded/);
    const plain = capture();
    expect(await main(['compress', tablesDir, input, '--out', join(dir, 'p.aez'), '--latent', 'uint8'], plain.io)).toBe(0);
    expect(plain.out()).toContain('with uint8 latents (4 per row)\n');
    expect(readFileSync(join(dir, 'e.aez')).length).toBeLessThan(readFileSync(join(dir, 'p.aez')).length);
    for (const name of ['e', 'p']) {
      const d = capture();
      expect(await main(['decompress', tablesDir, join(dir, `${name}.aez`), '--out', join(dir, `${name}.npy`)], d.io)).toBe(0);
      expect(d.out()).toContain(`from ${name === 'e' ? 'entropy' : 'uint8'} latents`);
    }
    expect(readFileSync(join(dir, 'e.npy')).equals(readFileSync(join(dir, 'p.npy')))).toBe(true);
    const info = capture();
    expect(await main(['info', tablesDir], info.io)).toBe(0);
    expect(info.out()).toMatch(/latent_tables\.bin +\d+ bytes/);
    expect(info.out()).toContain('entropy-coded latents by default');

    // the same decoder without the tables cannot decode it, and says why
    const refused = capture();
    expect(await main(['decompress', u8.dir, join(dir, 'e.aez'), '--out', join(dir, 'refused.npy')], refused.io)).toBe(1);
    expect(refused.err()).toMatch(/entropy-coded with the latent tables whose SHA-256 is [0-9a-f]{64}, but this bundle has no latent tables/);
    // damaged tables are refused when the bundle loads
    const tables = readFileSync(join(tablesDir, 'latent_tables.bin'));
    tables[40]! ^= 1;
    writeFileSync(join(tablesDir, 'latent_tables.bin'), tables);
    const damaged = capture();
    expect(await main(['decompress', tablesDir, join(dir, 'e.aez'), '--out', join(dir, 'refused.npy')], damaged.io)).toBe(1);
    expect(damaged.err()).toMatch(/latent_tables.bin fails its integrity check/);
    expect(existsSync(join(dir, 'refused.npy'))).toBe(false);
  });

  it('uses uint8 by default without tables, saying why, and refuses --latent entropy', async () => {
    const input = join(dir, 'rows-idx1-ubyte.gz');
    const c = capture();
    expect(await main(['compress', u8.dir, input, '--out', join(dir, 'd.aez')], c.io)).toBe(0);
    expect(c.out()).toContain('with uint8 latents (4 per row) (default: the bundle has no latent tables to entropy-code with');
    const e = capture();
    expect(await main(['compress', u8.dir, input, '--out', join(dir, 'no-tables.aez'), '--latent', 'entropy'], e.io)).not.toBe(0);
    expect(e.err()).toMatch(/--latent entropy: bundle .* has no latent tables .*use --latent uint8/);
    expect(existsSync(join(dir, 'no-tables.aez'))).toBe(false);
  });
});
