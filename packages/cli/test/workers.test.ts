/**
 * `--workers`: encode, decode, compress, decompress and eval give the same bytes with one worker (the
 * in-thread Codec) and two (a CodecPool), on a real bundle; rows and chunks are split across workers.
 * The workers run the built runtime (npx tsc -b first).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from 'aekit';
import { MIN_POOL_ROWS, workersOption } from '../src/commands/encode.js';
import { type Fixture, makeFixture, sampleRows } from '../../../test/runtime-fixtures.js';

const ROWS = 3000;
const COLS = 12;

let dir: string;
let bundle: Fixture;

function capture() {
  let out = '';
  let err = '';
  return { io: { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t), isTTY: false }, out: () => out, err: () => err };
}

async function run(args: string[]): Promise<string> {
  const c = capture();
  const code = await main(args, c.io);
  if (code !== 0) throw new Error(`aekit ${args.join(' ')} exited ${code}: ${c.err()}`);
  return c.out();
}

function idx(data: Uint8Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  out.set([0, 0, 8, 2]);
  const v = new DataView(out.buffer);
  v.setUint32(4, rows, false);
  v.setUint32(8, cols, false);
  out.set(data, 12);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aekit-workers-'));
  bundle = makeFixture({ inputDim: COLS, latentDim: 4, seed: 31 });
  writeFileSync(join(dir, 'rows.idx'), idx(sampleRows(ROWS, COLS, 'uint8', 2) as Uint8Array, ROWS, COLS));
});

afterAll(() => {
  for (const d of [dir, bundle?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('--workers', () => {
  it('compress and decompress write the same .aez and .npy bytes with 1 and 2 workers', async () => {
    const out: Record<number, { aez: Buffer; npy: Buffer; json: Record<string, unknown> }> = {};
    for (const w of [1, 2]) {
      const aez = join(dir, `w${w}.aez`);
      const text = await run(['compress', bundle.dir, join(dir, 'rows.idx'), '--out', aez, '--rows-per-chunk', '100', '--workers', String(w), '--threads', '2', '--json']);
      const npy = join(dir, `w${w}.npy`);
      await run(['decompress', bundle.dir, aez, '--out', npy, '--output-dtype', 'float32', '--workers', String(w)]);
      out[w] = { aez: readFileSync(aez), npy: readFileSync(npy), json: JSON.parse(text) as Record<string, unknown> };
    }
    expect(out[2]!.json['workers']).toBe(2);
    expect(out[1]!.json['workers']).toBe(1);
    expect(out[2]!.json['rows']).toBe(ROWS);
    expect(out[2]!.aez.equals(out[1]!.aez)).toBe(true);
    expect(out[2]!.npy.length).toBe(128 + ROWS * COLS * 4);
    expect(out[2]!.npy.equals(out[1]!.npy)).toBe(true);
    // The default for uint8 input is uint8 rows, rounded where they are decoded (in the workers with 2):
    // the same bytes with 1 and 2 workers, and what rounding the float32 rows gives.
    const floats = new Float32Array(out[1]!.npy.buffer.slice(out[1]!.npy.byteOffset + 128, out[1]!.npy.byteOffset + out[1]!.npy.length));
    for (const w of [1, 2]) {
      const npy = join(dir, `w${w}-u8.npy`);
      await run(['decompress', bundle.dir, join(dir, 'w1.aez'), '--out', npy, '--workers', String(w)]);
      const bytes = readFileSync(npy);
      expect(bytes.subarray(0, 128).toString('latin1')).toContain("'descr': '|u1'");
      expect(bytes.subarray(128).equals(Buffer.from(Uint8ClampedArray.from(floats)))).toBe(true);
    }
  });

  it('compress of a shard: workers reading the raw file themselves write what one worker and a .gz input give', async () => {
    writeFileSync(join(dir, 'rows.idx.gz'), gzipSync(readFileSync(join(dir, 'rows.idx'))));
    const aez: Record<string, Buffer> = {};
    for (const [name, input, w] of [['raw1', 'rows.idx', 1], ['raw2', 'rows.idx', 2], ['gz2', 'rows.idx.gz', 2]] as const) {
      const out = join(dir, `shard-${name}.aez`);
      const json = JSON.parse(
        await run(['compress', bundle.dir, join(dir, input), '--out', out, '--shard', '2/3', '--rows-per-chunk', '90', '--workers', String(w), '--json']),
      ) as Record<string, unknown>;
      expect(json).toMatchObject({ rows: 1000, firstRow: 1000, workers: w, bytesIn: 1000 * COLS });
      aez[name] = readFileSync(out);
    }
    expect(aez['raw2']!.equals(aez['raw1']!)).toBe(true);
    expect(aez['gz2']!.equals(aez['raw1']!)).toBe(true);
    const back = join(dir, 'shard.npy');
    await run(['decompress', bundle.dir, join(dir, 'shard-raw2.aez'), '--out', back]);
    expect(readFileSync(back).length).toBe(128 + 1000 * COLS); // uint8 rows back, as they went in
  });

  it('encode, decode and eval give the same results with 1 and 2 workers', async () => {
    const files: Record<number, { z: Buffer; y: Buffer; psnr: unknown }> = {};
    for (const w of [1, 2]) {
      const z = join(dir, `z${w}.npy`);
      const y = join(dir, `y${w}.npy`);
      const common = ['--batch-size', '64', '--workers', String(w)];
      await run(['encode', bundle.dir, '--data', join(dir, 'rows.idx'), '--out', z, ...common]);
      await run(['decode', bundle.dir, z, '--out', y, ...common]);
      const ev = JSON.parse(await run(['eval', bundle.dir, '--data', join(dir, 'rows.idx'), '--json', ...common])) as Record<string, unknown>;
      files[w] = { z: readFileSync(z), y: readFileSync(y), psnr: ev['psnr'] };
    }
    expect(files[2]!.z.equals(files[1]!.z)).toBe(true);
    expect(files[2]!.y.equals(files[1]!.y)).toBe(true);
    expect(files[2]!.psnr).toBeTypeOf('number');
    expect(files[2]!.psnr).toBe(files[1]!.psnr);
  });

  it('defaults to one worker below MIN_POOL_ROWS rows (a pool does not pay off there), else to the cores', () => {
    const cores = availableParallelism();
    expect(workersOption(undefined, 'cpu', MIN_POOL_ROWS - 1)).toBe(1);
    expect(workersOption(undefined, 'cpu', MIN_POOL_ROWS)).toBe(cores);
    expect(workersOption(undefined, 'auto', null)).toBe(cores); // a count not known in advance
    expect(workersOption(undefined, 'cuda', 10 * MIN_POOL_ROWS)).toBe(1);
    expect(workersOption('3', 'cpu', 10)).toBe(3);
  });

  it('eval runs in this thread unless --workers says otherwise, however many rows', async () => {
    const n = MIN_POOL_ROWS;
    const rows = new Uint8Array(n * COLS).map((_, i) => (i * 37) % 251);
    const big = join(dir, 'big.idx');
    writeFileSync(big, idx(rows, n, COLS));
    const workers = async (...extra: string[]) =>
      (JSON.parse(await run(['eval', bundle.dir, '--data', big, '--no-baselines', '--json', ...extra])) as { workers: number }).workers;
    expect(await workers()).toBe(1);
    expect(await workers('--workers', '2')).toBe(2);
    rmSync(big);
  });

  it('refuses a --workers that is not a positive integer', async () => {
    const c = capture();
    expect(await main(['compress', bundle.dir, join(dir, 'rows.idx'), '--out', join(dir, 'x.aez'), '--workers', '0'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--workers must be a positive integer/);
  });
});
