/**
 * `--workers`: encode, decode, compress, decompress and eval give the same bytes with one worker (the
 * in-thread Codec) and two (a CodecPool), on a real bundle; rows and chunks are split across workers.
 * The workers run the built runtime (npx tsc -b first).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from 'aekit';
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

  it('refuses a --workers that is not a positive integer', async () => {
    const c = capture();
    expect(await main(['compress', bundle.dir, join(dir, 'rows.idx'), '--out', join(dir, 'x.aez'), '--workers', '0'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--workers must be a positive integer/);
  });
});
