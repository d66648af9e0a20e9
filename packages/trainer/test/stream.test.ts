/**
 * Streamed data (issue 9): row sources read the same rows as the in-memory loaders, refuse what they
 * cannot stream, and one streamed epoch visits every training row exactly once, in a seeded order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, Rng, UsageError, fitNormalization } from '@aekit/core';
import { encodeNpy, loadDataset } from '../src/data/index.js';
import { openRowSource } from '../src/data/stream.js';
import { fitStreamedNormalization, planStream, streamEpoch, streamLayout } from '../src/data/stream-epoch.js';
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

  it('refuses gzip (not seekable) with the way out, and names the line of a bad CSV cell', async () => {
    const gz = put('x.idx.gz', gzipSync(idxBytes(0x0d, [ROWS, COLS], values)));
    await expect(openRowSource(gz)).rejects.toThrow(UsageError);
    await expect(openRowSource(gz)).rejects.toThrow(/--in-memory/);
    const bad = put('bad.csv', '1,2\n3,4\n5,x\n');
    await expect(openRowSource(bad)).rejects.toThrow(DataError);
    await expect(openRowSource(bad)).rejects.toThrow(/line 3, column 2/);
    const short = put('short.idx', idxBytes(0x0d, [ROWS, COLS], values).subarray(0, 100));
    await expect(openRowSource(short)).rejects.toThrow(/the file has 100 bytes/);
  });

  it('the buffer must hold one batch', () => {
    expect(() => streamLayout(1000, 'float32', 0.001, 32)).toThrow(/fewer than one batch/);
    const l = streamLayout(COLS, 'float32', 1, 8);
    expect(l.bufferRows % l.blockRows).toBe(0);
    expect(l.bufferRows * COLS * 8).toBeLessThanOrEqual(2 ** 20);
  });
});

describe('streamed epochs', () => {
  const valRows = [3, 50, 51, 102, 0];
  const layout = { bufferRows: 24, blockRows: 6 };

  async function epoch(rngState: number[], batch: number): Promise<{ rows: number[]; chunks: number[]; state: number[] }> {
    const src = await openRowSource(files['float32 IDX']());
    const plan = planStream(src, valRows, layout);
    const rng = Rng.fromState(rngState);
    const rows: number[] = [];
    const chunks: number[] = [];
    for await (const c of streamEpoch(plan, rng, { kind: 'none' }, batch)) {
      chunks.push(c.rows);
      for (let i = 0; i < c.rows; i++) rows.push(c.data[i * COLS]! / 10);
    }
    await src.close();
    return { rows, chunks, state: rng.getState() };
  }

  it('visits every training row once, never a validation row, in whole batches, reproducibly', async () => {
    const start = new Rng(7).getState();
    const a = await epoch(start, 5);
    expect([...a.rows].sort((x, y) => x - y)).toEqual(Array.from({ length: ROWS }, (_, r) => r).filter((r) => !valRows.includes(r)));
    expect(a.chunks.slice(0, -1).every((n) => n % 5 === 0)).toBe(true);
    expect(a.rows).not.toEqual([...a.rows].sort((x, y) => x - y));
    const again = await epoch(start, 5);
    expect(again).toEqual(a);
    // The next epoch, from the generator's state after this one, is another order.
    const next = await epoch(a.state, 5);
    expect(next.rows).not.toEqual(a.rows);
  });

  it('fits minmax on the training rows only, as the in-memory fit does', async () => {
    const src = await openRowSource(files['float32 NPY']());
    const plan = planStream(src, valRows, layout);
    const n = await fitStreamedNormalization(plan, 'minmax');
    const trainRows = Array.from({ length: ROWS }, (_, r) => r).filter((r) => !valRows.includes(r));
    const raw = Float32Array.from(trainRows.flatMap((r) => Array.from(values.subarray(r * COLS, (r + 1) * COLS))));
    expect(n).toEqual(fitNormalization('minmax', raw, COLS));
    await src.close();
  });
});
