/** The state one `train()` run carries from phase to phase once its engine has started. */
import type { EpochRecord, Rng } from '@aekit/core';
import type { TrainingEngine } from '../engine.js';
import type { TrainingData } from './data.js';
import type { Settings } from './settings.js';
import type { EngineState, TrainOptions } from './types.js';

/**
 * Early stopping's state. The final checkpoint of a run with patience holds its best epoch's weights,
 * so on resume the loaded state is the best so far and the patience count starts again. A per-epoch
 * checkpoint of an unfinished run (earlyStopping set) holds the current weights, and the wait count
 * and best state (best.bin) apart, so the run goes on exactly as if never stopped.
 */
export interface BestSoFar {
  epoch: number;
  /** The monitored loss of that epoch. */
  value: number;
  /** Its parameters and optimizer state (with patience; kept to restore at the end). */
  state: EngineState | undefined;
  /** Epochs since it without improvement. */
  wait: number;
}

export interface Run {
  options: TrainOptions;
  settings: Settings;
  data: TrainingData;
  engine: TrainingEngine;
  /** Every epoch so far, the resumed checkpoint's included. */
  history: EpochRecord[];
  shuffleRng: Rng;
  best: BestSoFar;
}

/** The loss early stopping watches: validation loss, else training loss. */
export const monitored = (r: EpochRecord): number => r.valLoss ?? r.loss;

/** Whether the caller aborted (options.signal). */
export const aborted = (run: Run): boolean => run.options.signal?.aborted === true;

/** Early stopping's state at the start: the resumed checkpoint's, else nothing seen yet. */
export function initialBest(settings: Settings, history: readonly EpochRecord[]): BestSoFar {
  const { prev, resumed, done } = settings;
  const epoch = prev?.bestEpoch ?? done;
  const record = history.find((r) => r.epoch === epoch);
  return {
    epoch,
    value: prev?.earlyStopping?.bestValue ?? (record ? monitored(record) : Infinity),
    state: resumed?.best ?? (resumed?.optimizer !== undefined ? { params: resumed.params, optimizer: resumed.optimizer } : undefined),
    wait: prev?.earlyStopping?.wait ?? 0,
  };
}
