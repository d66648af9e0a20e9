/**
 * Issue 9, per-epoch checkpoints: a copy of the checkpoint taken after epoch k (what a kill leaves on
 * disk) resumes to the same final weights as the run that went on, bit for bit: with early stopping
 * mid-wait (best.bin), with streamed data, and after an abort that saves a not-yet-written epoch.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InterruptedError, UsageError, makeSpec } from '@aekit/core';
import { readCheckpoint } from '../src/checkpoint/io.js';
import { encodeNpy } from '@aekit/data';
import { type TrainOptions, type TrainResult, train } from '../src/train.js';
import { tempDir } from './helpers.js';
import { smoothRows, trainCopying } from './resume-helpers.js';

const tmp = tempDir('aekit-resume-');
afterAll(() => tmp.cleanup());

const ROWS = 120;
const COLS = 10;
const values = smoothRows(ROWS, COLS);
const data = { data: values, rows: ROWS, cols: COLS, dtype: 'float32' as const, source: 'memory' };
const spec = makeSpec({ inputDim: COLS, layers: [8], latent: 3 });
const common: TrainOptions = { spec, batchSize: 8, seed: 11, engine: 'tfjs', backend: 'cpu' };

/** Runs to `epochs`, copying the checkpoint on disk right after each epoch in `copyAt` (a kill's leftovers). */
async function runCopying(opts: TrainOptions, epochs: number, copyAt: number | 'all'): Promise<{ result: TrainResult; copy: string; copyOf: (epoch: number) => string }> {
  const run = await trainCopying(tmp.dir, opts, epochs, copyAt);
  return { ...run, copy: run.copyOf(copyAt === 'all' ? 1 : copyAt) };
}

const bits = (r: TrainResult) => r.params.map((p) => [Array.from(p.kernel), Array.from(p.bias)]);

describe('per-epoch checkpoints resume exactly', () => {
  it('with early stopping in the middle of its wait: best state and wait count restored', async () => {
    const opts: TrainOptions = { ...common, data, patience: 3, adam: { learningRate: 0.05 } };
    const { result: whole, copyOf } = await runCopying(opts, 40, 'all');
    // Copy taken one epoch after the best one: the run then waited without improving until it stopped,
    // so the kept weights come from best.bin and the stop epoch from the saved wait count.
    expect(whole.stoppedEarly, 'the run did not stop early: change the learning rate').toBe(true);
    const k = whole.bestEpoch + 1;
    const copy = copyOf(k);
    const saved = await readCheckpoint(copy);
    expect(saved.meta.epochsCompleted).toBe(k);
    expect(saved.meta.bestEpoch).toBe(k - 1);
    expect(saved.meta.earlyStopping!.wait).toBe(1);
    expect(existsSync(join(copy, 'best.bin'))).toBe(true);
    expect(saved.best?.params[0]!.kernel).not.toEqual(saved.params[0]!.kernel);

    const resumed = await train({ ...common, data, resume: copy });
    expect(resumed.epochsCompleted).toBe(whole.epochsCompleted);
    expect(resumed.stoppedEarly).toBe(whole.stoppedEarly);
    expect(resumed.bestEpoch).toBe(whole.bestEpoch);
    expect(resumed.history.map((h) => h.valLoss)).toEqual(whole.history.map((h) => h.valLoss));
    expect(bits(resumed)).toEqual(bits(whole));
    // The finished checkpoint holds the kept weights and no early-stopping state.
    const final = await readCheckpoint(copy);
    expect(final.meta.earlyStopping).toBeUndefined();
    expect(existsSync(join(copy, 'best.bin'))).toBe(false);
  });

  it('with data streamed from a file: same blocks, same buffer shuffles after resume', async () => {
    const file = join(tmp.dir, 'rows.npy');
    writeFileSync(file, encodeNpy(values, [ROWS, COLS]));
    const opts: TrainOptions = { ...common, stream: { source: file, bufferMB: (64 * COLS * 8) / 2 ** 20 } };
    const { result: whole, copy } = await runCopying(opts, 4, 2);
    const saved = await readCheckpoint(copy);
    expect(saved.meta.training.stream).toEqual({ bufferRows: 64, blockRows: 2 });
    // Without data, the resume streams the checkpoint's file with the recorded layout.
    const resumed = await train({ resume: copy, engine: 'tfjs', backend: 'cpu' });
    expect(resumed.history.map((h) => h.loss)).toEqual(whole.history.map((h) => h.loss));
    expect(bits(resumed)).toEqual(bits(whole));
    // Streamed training differs from in-memory only in order: it learns as well on this data.
    const mem = await train({ ...common, data, epochs: 4 });
    expect(whole.valLoss!).toBeLessThan(mem.history[0]!.valLoss!);
  });

  it('an abort mid-epoch saves the last complete epoch (not yet written with --checkpoint-every 3) and resumes exactly', async () => {
    const { result: whole } = await runCopying({ ...common, data }, 6, 99);
    const out = join(tmp.dir, 'aborted');
    const controller = new AbortController();
    const err = await train({
      ...common,
      data,
      epochs: 6,
      out,
      checkpointEvery: 3,
      signal: controller.signal,
      onBatchEnd: (b) => {
        if (b.epoch === 5 && b.batch >= b.batches / 2) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as Error).message).toBe(`interrupted during epoch 5: ${out} holds epoch 4; continue with: aekit train --resume ${out}`);
    const saved = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')) as { epochsCompleted: number; history: unknown[] };
    expect(saved.epochsCompleted).toBe(4);
    expect(saved.history).toHaveLength(4);
    // No --epochs on resume: an unfinished run continues to its own target.
    const resumed = await train({ ...common, data, resume: out });
    expect(resumed.epochsCompleted).toBe(6);
    expect(bits(resumed)).toEqual(bits(whole));
  });

  it('on the onnxruntime engine too (cpu), from a copy taken after epoch 2 of 4', async () => {
    const opts: TrainOptions = { ...common, data, engine: 'ort', backend: 'cpu' };
    const { result: whole, copy } = await runCopying(opts, 4, 2);
    const resumed = await train({ ...opts, resume: copy });
    expect(resumed.backend).toBe('cpu');
    expect(resumed.history.map((h) => h.loss)).toEqual(whole.history.map((h) => h.loss));
    expect(bits(resumed)).toEqual(bits(whole));
  });

  it('--checkpoint-every must be a positive integer', async () => {
    await expect(train({ ...common, data, epochs: 2, out: join(tmp.dir, 'x'), checkpointEvery: 0 })).rejects.toThrow(UsageError);
  });
});
