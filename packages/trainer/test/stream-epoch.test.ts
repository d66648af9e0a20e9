/**
 * Streamed epochs: the shuffle buffer holds one batch, and one streamed epoch visits every training
 * row exactly once, in a seeded order, never a validation row.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, fitNormalization } from '@aekit/core';
import { encodeNpy, openRowSource } from '@aekit/data';
import { fitStreamedNormalization, planStream, streamEpoch, streamLayout } from '../src/stream-epoch.js';
import { idxBytes, tempDir } from './helpers.js';

const tmp = tempDir('aekit-stream-epoch-');
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
  'float32 NPY': () => put('x.npy', encodeNpy(values, [ROWS, COLS])),
};

describe('stream layout', () => {
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
