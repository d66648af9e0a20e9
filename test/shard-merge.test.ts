/**
 * `--shard I/N` on `aekit compress` / `aekit encode` and `aekit merge`, end to end on a real bundle:
 * runs docs/scale.md's loop exactly as written (through the `aekit` bin, in a shell) and requires the
 * merged outputs to equal the unsharded ones; bad shard values and mismatched parts are refused.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codec } from '@aekit/runtime';
import { encodeNpy, parseNpy } from '@aekit/data';
import { runCli } from './helpers/cli.js';
import { type Fixture, makeFixture, sampleRows } from './runtime-fixtures.js';

const ROWS = 303; // not a multiple of 4: shards of 76, 76, 76, 75 rows
const COLS = 12;
const BIN = resolve('packages/cli/bin/aekit.js');

function idxBytes(data: Uint8Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  out.set([0, 0, 8, 2]);
  new DataView(out.buffer).setUint32(4, rows, false);
  new DataView(out.buffer).setUint32(8, cols, false);
  out.set(data, 12);
  return out;
}

function bytesOf(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

let dir: string;
let fx: Fixture;
let other: Fixture;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aekit-shard-'));
  fx = makeFixture({ inputDim: COLS, latentDim: 4, dtype: 'uint8', seed: 21 });
  other = makeFixture({ inputDim: COLS, latentDim: 4, dtype: 'uint8', seed: 22 });
  cpSync(fx.dir, join(dir, 'model'), { recursive: true });
  writeFileSync(join(dir, 'data.idx'), idxBytes(sampleRows(ROWS, COLS, 'uint8', 9) as Uint8Array, ROWS, COLS));
});

afterAll(() => {
  for (const d of [dir, fx?.dir, other?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('shards and aekit merge', () => {
  it("docs/scale.md's loop runs as written and merges to exactly the unsharded outputs", async () => {
    const doc = readFileSync('docs/scale.md', 'utf8');
    const block = /<!-- shard-merge-test:begin -->\s*```sh\n([\s\S]*?)```\s*<!-- shard-merge-test:end -->/.exec(doc)?.[1];
    expect(block).toBeDefined();
    expect(block).toMatch(/aekit merge model part1\.aez/);
    execFileSync('bash', ['-euo', 'pipefail', '-c', `aekit() { node ${JSON.stringify(BIN)} "$@"; }\n${block!}`], {
      cwd: dir,
      stdio: 'pipe',
    });

    const model = join(dir, 'model');
    const data = join(dir, 'data.idx');
    expect((await runCli(['compress', model, data, '--out', join(dir, 'whole.aez')])).code).toBe(0);
    expect((await runCli(['encode', model, '--data', data, '--out', join(dir, 'whole.npy')])).code).toBe(0);

    const codec = await Codec.load(model);
    try {
      const whole = await codec.decompress(readFileSync(join(dir, 'whole.aez')));
      const merged = await codec.decompress(readFileSync(join(dir, 'all.aez')));
      expect([merged.rows, merged.cols]).toEqual([ROWS, COLS]);
      expect(bytesOf(merged.data).equals(bytesOf(whole.data))).toBe(true);
      const parts = [1, 2, 3, 4].map((i) => codec.decompress(readFileSync(join(dir, `part${i}.aez`))));
      expect((await Promise.all(parts)).map((p) => p.rows)).toEqual([76, 76, 76, 75]);
    } finally {
      await codec.dispose();
    }
    const npy = parseNpy(readFileSync(join(dir, 'all.npy')), 'all.npy');
    expect(npy.rows).toBe(ROWS);

    const z = parseNpy(readFileSync(join(dir, 'z.npy')), 'z.npy');
    const zWhole = parseNpy(readFileSync(join(dir, 'whole.npy')), 'whole.npy');
    expect([z.rows, z.cols]).toEqual([ROWS, 4]);
    expect(bytesOf(z.data).equals(bytesOf(zWhole.data))).toBe(true);
  });

  it('reports the slice and checks the round trip of a shard only', async () => {
    const r = await runCli(['compress', join(dir, 'model'), join(dir, 'data.idx'), '--shard', '3/4', '--check', '--json', '--out', join(dir, 's3.aez')]);
    expect([r.code, r.err]).toEqual([0, '']);
    const j = JSON.parse(r.out) as Record<string, unknown> & { check: { rows: number } };
    expect([j['rows'], j['shard'], j['firstRow'], j['totalRows'], j.check.rows]).toEqual([76, '3/4', 152, ROWS, 76]);
    const e = await runCli(['encode', join(dir, 'model'), '--data', join(dir, 'data.idx'), '--shard', '4/4', '--out', join(dir, 's4.npy')]);
    expect(e.code).toBe(0);
    expect(e.out).toContain('shard 4/4: rows [228, 303) of 303');
  });

  it('refuses a bad --shard as a usage error naming the valid range', async () => {
    for (const [spec, want] of [
      ['0/4', '1..4'],
      ['5/4', '1..4'],
      ['1/0', 'I/N'],
      ['two/4', 'I/N'],
    ] as const) {
      const c = await runCli(['compress', join(dir, 'model'), join(dir, 'data.idx'), '--shard', spec, '--out', join(dir, 'bad.aez')]);
      expect([c.code, c.err]).toEqual([2, expect.stringContaining(want)]);
      const e = await runCli(['encode', join(dir, 'model'), '--data', join(dir, 'data.idx'), '--shard', spec, '--out', join(dir, 'bad.npy')]);
      expect([e.code, e.err]).toEqual([2, expect.stringContaining(want)]);
    }
    expect(existsSync(join(dir, 'bad.aez'))).toBe(false);
  });

  it('refuses mismatched or damaged parts, naming the file, and writes nothing', async () => {
    const model = join(dir, 'model');
    const data = join(dir, 'data.idx');
    const foreign = join(dir, 'foreign.aez');
    expect((await runCli(['compress', other.dir, data, '--shard', '2/2', '--out', foreign])).code).toBe(0);
    const a = join(dir, 'a.aez');
    expect((await runCli(['compress', model, data, '--shard', '1/2', '--out', a])).code).toBe(0);
    const out = join(dir, 'never.aez');

    const m = await runCli(['merge', model, a, foreign, '--out', out]);
    expect(m.code).toBe(1);
    expect(m.err).toContain(foreign);
    expect(m.err).toMatch(/decoder SHA-256/);

    const f16 = join(dir, 'f16.aez');
    expect((await runCli(['compress', model, data, '--shard', '2/2', '--latent', 'float16', '--out', f16])).code).toBe(0);
    const t = await runCli(['merge', model, a, f16, '--out', out]);
    expect([t.code, t.err]).toEqual([1, expect.stringMatching(/f16\.aez.*latent type is float16/)]);

    const damaged = join(dir, 'damaged.aez');
    const bytes = readFileSync(a);
    bytes[bytes.length - 30]! ^= 0x40;
    writeFileSync(damaged, bytes);
    const d = await runCli(['merge', model, damaged, '--out', out]);
    expect([d.code, d.err]).toEqual([1, expect.stringContaining(damaged)]);
    expect(d.err).toMatch(/CRC/);
    expect(existsSync(out)).toBe(false);

    const narrow = join(dir, 'narrow.npy');
    writeFileSync(narrow, encodeNpy(new Float32Array(30), [10, 3]));
    const n = await runCli(['merge', model, narrow, '--out', join(dir, 'never.npy')]);
    expect([n.code, n.err]).toEqual([1, expect.stringContaining(`${narrow}: has 3 values per row, but the bundle's latentDim is 4`)]);
    const mixed = await runCli(['merge', model, a, narrow, '--out', out]);
    expect(mixed.code).toBe(2);
    const missing = await runCli(['merge', model, a, join(dir, 'nope.aez'), '--out', out]);
    expect([missing.code, missing.err]).toEqual([1, expect.stringContaining('nope.aez')]);
  });
});
