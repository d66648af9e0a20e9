/**
 * Byte input: uint8 data normalised by scale255 reaches the ort engine as bytes and the graphs divide
 * by 255 themselves. The run must be bit for bit the run on the same values given as float32 — losses,
 * parameters, latent range and entropy tables — and engines that cannot take bytes get float32 rows.
 */
import { describe, expect, it } from 'vitest';
import { DataError, DEFAULT_ADAM, Rng, makeSpec } from '@aekit/core';
import type { Dataset } from '@aekit/data';
import { train, type TrainResult } from '@aekit/trainer';
import { createOrtNodeEngine } from '../src/engines/ort-node.js';

const COLS = 48;
const ROWS = 300;

function bytes(): Uint8Array {
  const rng = new Rng(11);
  const u = new Uint8Array(ROWS * COLS);
  // Structured enough to learn: each row a ramp with noise; every byte value occurs.
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS; c++) u[r * COLS + c] = Math.min(255, Math.floor(((r * 7 + c * 5) % 256) * 0.8 + rng.next() * 52));
  return u;
}
const asUint8 = (u: Uint8Array): Dataset => ({ data: u, rows: ROWS, cols: COLS, dtype: 'uint8', source: 'test:bytes' });
const asFloat = (u: Uint8Array): Dataset => ({ data: Float32Array.from(u), rows: ROWS, cols: COLS, dtype: 'float32', source: 'test:bytes' });
const spec = makeSpec({ inputDim: COLS, layers: [16], latent: 4 });

function expectSameRun(a: TrainResult, b: TrainResult): void {
  expect(a.history.map((h) => [h.loss, h.valLoss])).toEqual(b.history.map((h) => [h.loss, h.valLoss]));
  a.params.forEach((l, i) => {
    expect(Buffer.from(l.kernel.buffer, l.kernel.byteOffset, l.kernel.byteLength).equals(Buffer.from(b.params[i]!.kernel.buffer, b.params[i]!.kernel.byteOffset, b.params[i]!.kernel.byteLength))).toBe(true);
    expect([...l.bias]).toEqual([...b.params[i]!.bias]);
  });
  expect(a.latentRange).toEqual(b.latentRange);
  expect(Buffer.from(a.latentTables!).equals(Buffer.from(b.latentTables!))).toBe(true);
  expect(a.valLoss).toBe(b.valLoss);
}

describe('byte input', () => {
  it('ort: uint8 rows train bit for bit as the same values in float32 with scale255 (3 epochs, a short last batch)', async () => {
    const u = bytes();
    const options = { spec, epochs: 3, batchSize: 32, engine: 'ort', threads: 1 } as const;
    const a = await train({ ...options, data: asUint8(u) });
    const b = await train({ ...options, data: asFloat(u), normalization: 'scale255' });
    expect(a.history[2]!.loss).toBeLessThan(a.history[0]!.loss);
    expectSameRun(a, b);
  });

  it('ort: the rate variant too (its evaluate graph takes the bytes)', async () => {
    const u = bytes();
    const options = { spec, epochs: 2, batchSize: 64, engine: 'ort', threads: 1, rateWeight: 0.01 } as const;
    expectSameRun(await train({ ...options, data: asUint8(u) }), await train({ ...options, data: asFloat(u), normalization: 'scale255' }));
  });

  it('tfjs takes no bytes: uint8 rows are normalised for it, the same run as float32', async () => {
    const u = bytes();
    const options = { spec, epochs: 2, batchSize: 64, engine: 'tfjs', backend: 'cpu' } as const;
    expectSameRun(await train({ ...options, data: asUint8(u) }), await train({ ...options, data: asFloat(u), normalization: 'scale255' }));
  });

  it('an engine created for bytes refuses float rows, and one for floats refuses bytes, with a DataError', async () => {
    const config = { spec, loss: 'mse' as const, adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 16 };
    const byteEngine = await createOrtNodeEngine({ ...config, byteInput: true }, { threads: 1 });
    const floatEngine = await createOrtNodeEngine(config, { threads: 1 });
    try {
      expect(byteEngine.byteInput).toBe(true);
      expect(floatEngine.byteInput).toBe(false);
      const { glorotUniformParams } = await import('../src/init.js');
      const params = glorotUniformParams(spec, new Rng(1));
      await byteEngine.setState(params);
      await floatEngine.setState(params);
      await expect(byteEngine.encode(new Float32Array(16 * COLS), 16)).rejects.toThrow(DataError);
      await expect(floatEngine.trainSteps(new Uint8Array(16 * COLS), 16)).rejects.toThrow(/Float32Array/);
      // The same rows as bytes and as x / 255 encode to the same latents.
      const u = bytes().subarray(0, 16 * COLS);
      const f = Float32Array.from(u, (v) => v / 255);
      expect([...(await byteEngine.encode(u, 16))]).toEqual([...(await floatEngine.encode(f, 16))]);
    } finally {
      byteEngine.dispose();
      floatEngine.dispose();
    }
  });
});
