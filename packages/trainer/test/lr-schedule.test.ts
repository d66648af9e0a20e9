/**
 * `--lr-schedule cosine`: the learning rate of each epoch is PyTorch's CosineAnnealingLR (stepped once
 * per epoch), both engines train with it, the checkpoint records it, and a resume follows it to the
 * same weights, bit for bit, as the run that went on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, UsageError, makeSpec } from '@aekit/core';
import { readCheckpoint } from '../src/checkpoint/io.js';
import { type TrainOptions, type TrainResult, train } from '../src/train.js';
import { learningRateAt, resolveLrSchedule } from '../src/train/lr-schedule.js';
import { tempDir } from './helpers.js';
import { smoothRows, trainCopying } from './resume-helpers.js';

const tmp = tempDir('aekit-lr-schedule-');
afterAll(() => tmp.cleanup());

const ROWS = 96;
const COLS = 10;
const data = { data: smoothRows(ROWS, COLS), rows: ROWS, cols: COLS, dtype: 'float32' as const, source: 'memory' };
const spec = makeSpec({ inputDim: COLS, layers: [8], latent: 3 });
const bits = (r: TrainResult) => r.params.map((p) => [Array.from(p.kernel), Array.from(p.bias)]);

describe('cosine schedule', () => {
  it("gives PyTorch's CosineAnnealingLR learning rates, one per epoch", () => {
    // torch 1.13: Adam(lr=1e-3) with CosineAnnealingLR(T_max=5, eta_min=1e-4), param_groups[0]['lr']
    // read before each epoch's optimizer steps, scheduler.step() after them.
    const torch = [0.001, 0.0009140576474687263, 0.0006890576474687263, 0.0004109423525312736, 0.00018594235253127368];
    const schedule = { name: 'cosine' as const, minLearningRate: 1e-4 };
    torch.forEach((want, i) => expect(Math.abs(learningRateAt(schedule, 1e-3, i + 1, 5) - want) / want).toBeLessThan(1e-12));
    expect(learningRateAt(undefined, 1e-3, 3, 5)).toBe(1e-3);
  });

  it('refuses names and floors it cannot follow, with the flag in the message', () => {
    expect(resolveLrSchedule(undefined, 1e-3)).toBeUndefined();
    expect(resolveLrSchedule('constant', 1e-3)).toBeUndefined();
    expect(resolveLrSchedule('cosine', 1e-3)).toEqual({ name: 'cosine', minLearningRate: 0 });
    expect(() => resolveLrSchedule('step' as 'cosine', 1e-3)).toThrow(/--lr-schedule must be one of constant, cosine, got "step"/);
    expect(() => resolveLrSchedule({ name: 'cosine', minLearningRate: 1e-3 }, 1e-3)).toThrow(UsageError);
    expect(() => resolveLrSchedule({ name: 'cosine', minLearningRate: -1 }, 1e-3)).toThrow(/--lr-min.*below the learning rate 0.001/);
  });

  for (const engine of ['tfjs', 'ort'] as const) {
    it(`${engine} engine: trains each epoch at its rate, records it, and resumes exactly`, async () => {
      const common: TrainOptions = { data, spec, batchSize: 8, seed: 5, engine, ...(engine === 'tfjs' ? { backend: 'cpu' } : {}), adam: { learningRate: 0.01 } };
      const cosine: TrainOptions = { ...common, lrSchedule: { name: 'cosine', minLearningRate: 0.001 } };
      const { result: whole, copyOf } = await trainCopying(tmp.dir, cosine, 4, 2);
      expect(whole.history.map((h) => h.learningRate)).toEqual([1, 2, 3, 4].map((e) => learningRateAt({ name: 'cosine', minLearningRate: 0.001 }, 0.01, e, 4)));
      const saved = await readCheckpoint(copyOf(2));
      expect(saved.meta.training.lrSchedule).toEqual({ name: 'cosine', minLearningRate: 0.001 });
      // The schedule changes the numbers: a constant rate after epoch 1 gives other weights.
      const constant = await train({ ...common, epochs: 4 });
      expect(constant.history[0]!.loss).toBe(whole.history[0]!.loss);
      expect(constant.history[0]!.learningRate).toBeUndefined();
      expect(bits(constant)).not.toEqual(bits(whole));
      // The copy after epoch 2 resumes at epoch 3's rate to the same weights.
      const resumed = await train({ resume: copyOf(2), data, engine, ...(engine === 'tfjs' ? { backend: 'cpu' } : {}) });
      expect(resumed.history.map((h) => h.learningRate)).toEqual(whole.history.map((h) => h.learningRate));
      expect(resumed.history.map((h) => h.loss)).toEqual(whole.history.map((h) => h.loss));
      expect(bits(resumed)).toEqual(bits(whole));
    });
  }

  it('an edited schedule in aekit.json is refused on resume, naming the field', async () => {
    const { copyOf } = await trainCopying(tmp.dir, { data, spec, batchSize: 8, engine: 'ort', lrSchedule: 'cosine' }, 3, 1);
    const meta = join(copyOf(1), 'aekit.json');
    const m = JSON.parse(readFileSync(meta, 'utf8'));
    m.training.lrSchedule = { name: 'cosine', minLearningRate: 5 };
    writeFileSync(meta, JSON.stringify(m));
    const err = await train({ resume: copyOf(1), data, engine: 'ort' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/aekit\.json: training\.lrSchedule must be .*minLearningRate/);
  });
});
