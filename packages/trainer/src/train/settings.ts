/**
 * Phase 1 of `train()`: every setting resolved (from the options, or from the checkpoint being
 * resumed) and validated before any work, so bad input fails fast and writes nothing.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type AdamConfig, CHECKPOINT_FILES, type CheckpointMeta, DEFAULT_ADAM, LOSS_NAMES, type LossName, type LrSchedule, SpecError, UsageError } from '@aekit/core';
import { type LoadedCheckpoint, readCheckpoint } from '../checkpoint/io.js';
import { type VariantPlan, planVariant } from '../variants/plan.js';
import { resolveLrSchedule } from './lr-schedule.js';
import type { TrainOptions } from './types.js';

/**
 * Defaults of `train()` and `aekit train`. Small batches reach a lower MSE per epoch than 256 on the
 * bundled digits (docs/training.md has the default run's time and result).
 */
export const TRAIN_DEFAULTS = Object.freeze({
  epochs: 50,
  batchSize: 32,
  valSplit: 0.1,
  seed: 42,
  loss: 'mse' as LossName,
  l1: 0,
  l2: 0,
});

export function parseLoss(name: string): LossName {
  if ((LOSS_NAMES as readonly string[]).includes(name)) return name as LossName;
  throw new SpecError(`unknown loss "${name}"; valid losses: ${LOSS_NAMES.join(', ')}`);
}

/** The run's settings, each taken from the resumed checkpoint, else the options, else the default. */
export interface Settings {
  /** The checkpoint being resumed (its meta is `prev`). */
  resumed: LoadedCheckpoint | undefined;
  prev: CheckpointMeta | undefined;
  valSplit: number;
  batchSize: number;
  /** Epochs already done (the resumed checkpoint's), and the total to reach. */
  done: number;
  epochs: number;
  patience: number | undefined;
  l1: number;
  l2: number;
  seed: number;
  loss: LossName;
  adam: AdamConfig;
  /** Absent: the learning rate stays adam.learningRate. */
  lrSchedule: LrSchedule | undefined;
  checkpointEvery: number;
  variant: VariantPlan;
  /** Checkpoint directory to write (`out`, else the resumed one), if any. */
  out: string | undefined;
}

function checkNumber(name: string, v: number, ok: (v: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !ok(v)) throw new UsageError(`${name} must be ${what}, got ${v}`);
  return v;
}
const isPosInt = (v: number) => Number.isInteger(v) && v >= 1;

/** Reads the checkpoint to resume (if any) and resolves and checks every setting. */
export async function resolveSettings(options: TrainOptions): Promise<Settings> {
  let resumed: LoadedCheckpoint | undefined;
  if (options.resume !== undefined) resumed = await readCheckpoint(options.resume);
  const prev = resumed?.meta;
  // A setting taken from the checkpoint is named as the checkpoint's, not as a flag the user never gave.
  const from = (flag: string, key: string) => (prev !== undefined ? `${options.resume}/${CHECKPOINT_FILES.meta} training.${key}` : flag);
  const valSplit = prev?.training.valSplit ?? options.valSplit ?? TRAIN_DEFAULTS.valSplit;
  checkNumber(from('--val-split', 'valSplit'), valSplit, (v) => v >= 0 && v < 1, 'in [0, 1)');
  const batchSize = prev?.training.batchSize ?? options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  checkNumber(from('--batch-size', 'batchSize'), batchSize, isPosInt, 'an integer >= 1');
  const done = prev?.epochsCompleted ?? 0;
  // Resuming a run that did not reach its target (killed, interrupted) continues to that target.
  const epochs = options.epochs ?? (prev !== undefined && done < prev.training.epochs ? prev.training.epochs : done + TRAIN_DEFAULTS.epochs);
  checkNumber('--epochs', epochs, isPosInt, 'an integer >= 1');
  if (epochs <= done) {
    throw new UsageError(`--epochs ${epochs}: the checkpoint already has ${done} epochs; --epochs is the total, give more than ${done}`);
  }
  const patience = prev !== undefined ? prev.training.patience : options.patience;
  if (patience !== undefined) checkNumber(from('--patience', 'patience'), patience, isPosInt, 'an integer >= 1');
  const l1 = prev?.training.l1 ?? options.l1 ?? TRAIN_DEFAULTS.l1;
  const l2 = prev?.training.l2 ?? options.l2 ?? TRAIN_DEFAULTS.l2;
  checkNumber(from('--l1', 'l1'), l1, (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  checkNumber(from('--l2', 'l2'), l2, (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  const seed = prev?.training.seed ?? options.seed ?? TRAIN_DEFAULTS.seed;
  checkNumber(from('--seed', 'seed'), seed, (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff, 'an integer in [0, 2^32)');
  const loss = parseLoss(prev?.training.loss ?? options.loss ?? TRAIN_DEFAULTS.loss);
  const adam: AdamConfig = prev !== undefined ? { ...DEFAULT_ADAM, ...stripName(prev.training.optimizer) } : { ...DEFAULT_ADAM, ...options.adam };
  checkNumber(from('--lr', 'optimizer.learningRate'), adam.learningRate, (v) => Number.isFinite(v) && v > 0, 'a number > 0');
  const lrSchedule = prev !== undefined
    ? resolveLrSchedule(prev.training.lrSchedule, adam.learningRate, from('--lr-schedule', 'lrSchedule'))
    : resolveLrSchedule(options.lrSchedule, adam.learningRate);
  const checkpointEvery = options.checkpointEvery ?? 1;
  checkNumber('--checkpoint-every', checkpointEvery, isPosInt, 'an integer >= 1');
  const variant = planVariant(options, prev, seed);
  const out = options.out ?? options.resume;
  if (out !== undefined && out !== options.resume) await checkOutDir(out);
  return { resumed, prev, valSplit, batchSize, done, epochs, patience, l1, l2, seed, loss, adam, lrSchedule, checkpointEvery, variant, out };
}

/**
 * Refuses an --out path that exists and is neither empty nor an aekit checkpoint, so a typo can never
 * replace an unrelated directory.
 */
async function checkOutDir(out: string): Promise<void> {
  const parent = dirname(resolve(out));
  const ps = await stat(parent).catch(() => undefined);
  if (ps === undefined || !ps.isDirectory()) {
    throw new UsageError(`--out ${out}: the parent directory ${parent} does not exist; create it first`);
  }
  const st = await stat(out).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isDirectory()) throw new UsageError(`--out ${out} is an existing file; give a new directory name`);
  const entries = await readdir(out);
  if (entries.length > 0 && !entries.includes(CHECKPOINT_FILES.meta)) {
    throw new UsageError(`--out ${out} exists and is not an aekit checkpoint; refusing to replace it (give a new directory name)`);
  }
}

function stripName(o: { name: 'adam' } & AdamConfig): AdamConfig {
  return { learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon };
}
