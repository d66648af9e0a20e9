/**
 * The VAE checkpoint resumes exactly: a copy taken after epoch k (what a kill leaves on disk) resumes to
 * the final weights of the uninterrupted run, dense layers and log-variance head, bit for bit, on the
 * tfjs cpu backend and on onnxruntime cpu; with early stopping the kept head is the best epoch's. The
 * head lives in vae_head.bin, hashed: a flipped byte is refused; older checkpoints (head as JSON in
 * aekit.json) still resume.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, type CheckpointMeta, makeSpec } from '@aekit/core';
import { readCheckpoint } from '../src/checkpoint/io.js';
import { type TrainOptions, type TrainResult, train } from '../src/train.js';
import { LOG_VAR_LAYER } from '../src/variants/vae-math.js';
import { selectTfjsBackend } from './backends.js';
import { tempDir } from './helpers.js';
import { smoothRows, trainCopying } from './resume-helpers.js';

const tmp = tempDir('aekit-vae-resume-');
afterAll(tmp.cleanup);
beforeAll(async () => {
  await selectTfjsBackend('cpu');
});

const ROWS = 96;
const COLS = 8;
const values = smoothRows(ROWS, COLS);
const data = { data: values, rows: ROWS, cols: COLS, dtype: 'float32' as const, source: 'memory' };
const spec = makeSpec({ inputDim: COLS, layers: [6], latent: 2 });
const common: TrainOptions = { data, spec, variant: 'vae', beta: 0.5, batchSize: 16, seed: 13, adam: { learningRate: 0.02 } };

/** Trains to `epochs`, copying the checkpoint right after every epoch but the last (a kill's leftovers). */
const runCopying = (opts: TrainOptions, epochs: number) => trainCopying(tmp.dir, opts, epochs);

const bits = (r: { params: TrainResult['params'] }) => r.params.map((p) => [p.name, Array.from(p.kernel), Array.from(p.bias)]);
const resumeOpts = (engine: 'tfjs' | 'ort'): TrainOptions => ({ data, engine, backend: 'cpu' });

describe.each(['tfjs', 'ort'] as const)('VAE resume on %s cpu', (engine) => {
  it('after epoch 2 of 4 gives the uninterrupted run\'s weights, head and moments included, bit for bit', async () => {
    const { result: whole, out, copyOf } = await runCopying({ ...common, engine, backend: 'cpu' }, 4);
    expect(whole.params.at(-1)!.name).toBe(LOG_VAR_LAYER);
    const copy = copyOf(2);
    // The head is in its own hashed file, its moments in optimizer.bin; aekit.json no longer holds its numbers.
    expect(existsSync(join(copy, 'vae_head.bin'))).toBe(true);
    const meta = JSON.parse(readFileSync(join(copy, 'aekit.json'), 'utf8')) as CheckpointMeta;
    expect(meta.vae!.logVar).toBeUndefined();
    expect(meta.vae!.head!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.optimizer!.tensors.map((t) => t.name)).toContain(`${LOG_VAR_LAYER}/kernel/m`);
    const saved = await readCheckpoint(copy);
    expect(saved.params.map((p) => p.name)).toEqual(['enc_0', 'latent', 'dec_0', 'output', LOG_VAR_LAYER]);
    expect(saved.optimizer!.m.at(-1)!.kernel.some((v) => v !== 0)).toBe(true);

    const resumed = await train({ ...resumeOpts(engine), resume: copy });
    expect(resumed.history.map((h) => h.loss)).toEqual(whole.history.map((h) => h.loss));
    expect(bits(resumed)).toEqual(bits(whole));
    expect(resumed.optimizer.step).toBe(whole.optimizer.step);
    expect(bits({ params: [...resumed.optimizer.m, ...resumed.optimizer.v] })).toEqual(bits({ params: [...whole.optimizer.m, ...whole.optimizer.v] }));
    // And what both runs left on disk reads back the same.
    expect(bits(await readCheckpoint(copy))).toEqual(bits(await readCheckpoint(out)));
  });
});

describe('VAE checkpoint integrity', () => {
  it('a flipped byte in vae_head.bin is refused by --resume, naming the file', async () => {
    const out = join(tmp.dir, 'damaged');
    await train({ ...common, engine: 'tfjs', backend: 'cpu', epochs: 1, out });
    const file = join(out, 'vae_head.bin');
    const bytes = readFileSync(file);
    bytes[5]! ^= 0x10;
    writeFileSync(file, bytes);
    const e = await train({ ...resumeOpts('tfjs'), resume: out, epochs: 2 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/vae_head\.bin: SHA-256 does not match aekit\.json's vae\.head\.sha256/);
    expect(JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')).epochsCompleted).toBe(1); // nothing written
  });

  it('an older checkpoint with the head as JSON in aekit.json still resumes from that head', async () => {
    const out = join(tmp.dir, 'legacy');
    const first = await train({ ...common, engine: 'tfjs', backend: 'cpu', epochs: 1, out });
    const head = first.params.at(-1)!;
    // Rewrite it as checkpoints were written before vae_head.bin: logVar in JSON, no head moments.
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')) as CheckpointMeta;
    meta.vae = { beta: meta.vae!.beta, logVar: { inputDim: head.inputDim, units: head.units, kernel: Array.from(head.kernel), bias: Array.from(head.bias) } };
    meta.optimizer!.tensors = meta.optimizer!.tensors.filter((t) => !t.name.startsWith(LOG_VAR_LAYER));
    writeFileSync(join(out, 'aekit.json'), JSON.stringify(meta));
    writeFileSync(join(out, 'vae_head.bin'), new Uint8Array(0)); // not read any more
    const legacy = await readCheckpoint(out);
    expect(bits({ params: [legacy.params.at(-1)!] })).toEqual(bits({ params: [head] }));
    expect(legacy.optimizer!.m.at(-1)!.kernel.every((v) => v === 0)).toBe(true);
    const r = await train({ ...resumeOpts('tfjs'), resume: out, epochs: 2 });
    expect(r.epochsCompleted).toBe(2);
    // Rewritten in the current layout.
    const now = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')) as CheckpointMeta;
    expect(now.vae!.logVar).toBeUndefined();
    expect(bits({ params: [(await readCheckpoint(out)).params.at(-1)!] })).toEqual(bits({ params: [r.params.at(-1)!] }));
  });
});

describe('VAE early stopping', () => {
  it('keeps the best epoch\'s head, and a resume from mid-wait (best.bin) ends the same, bit for bit', async () => {
    const opts: TrainOptions = { ...common, engine: 'tfjs', backend: 'cpu', patience: 2, adam: { learningRate: 0.08 } };
    const { result: whole, copyOf } = await runCopying(opts, 30);
    expect(whole.stoppedEarly, 'the run did not stop early: change the learning rate').toBe(true);
    const best = whole.bestEpoch;
    // The kept head is the one the best epoch's checkpoint held, not the last epoch's.
    const atBest = await readCheckpoint(copyOf(best));
    expect(bits(whole)).toEqual(bits(atBest));
    const midWait = await readCheckpoint(copyOf(best + 1));
    expect(midWait.meta.earlyStopping!.wait).toBe(1);
    expect(bits({ params: [midWait.best!.params.at(-1)!] })).toEqual(bits({ params: [atBest.params.at(-1)!] }));
    expect(midWait.params.at(-1)!.kernel).not.toEqual(atBest.params.at(-1)!.kernel);

    const resumed = await train({ ...resumeOpts('tfjs'), resume: copyOf(best + 1) });
    expect(resumed.bestEpoch).toBe(best);
    expect(resumed.epochsCompleted).toBe(whole.epochsCompleted);
    expect(bits(resumed)).toEqual(bits(whole));
  });
});
