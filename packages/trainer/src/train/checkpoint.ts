/** Writing a run's checkpoint: the engine's state and everything `aekit.json` records about the run. */
import {
  AEKIT_VERSION,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  type EarlyStoppingState,
  type TrainingConfig,
  encoderOutputLayerName,
} from '@aekit/core';
import { writeCheckpoint } from '../checkpoint/io.js';
import { unfinishedLatentRange } from './data.js';
import type { Run } from './run.js';
import type { EngineState } from './types.js';

/** An unfinished run's early-stopping progress, saved so that a resume goes on exactly alike. */
export interface Progress {
  wait: number;
  bestValue: number;
  bestEpoch: number;
  best?: EngineState;
}

/** The training settings aekit.json records. */
function trainingConfig(run: Run): TrainingConfig {
  const { settings: s, engine, data } = run;
  return {
    engine: engine.name,
    backend: engine.backend,
    loss: s.loss,
    optimizer: { name: 'adam' as const, ...s.adam },
    batchSize: s.batchSize,
    epochs: s.epochs,
    seed: s.seed,
    valSplit: s.valSplit,
    ...(s.patience !== undefined ? { patience: s.patience } : {}),
    l1: s.l1,
    l2: s.l2,
    ...(data.stream ? { stream: { bufferRows: data.stream.bufferRows, blockRows: data.stream.blockRows } } : {}),
    ...s.variant.trainingFields(),
    ...(s.lrSchedule !== undefined ? { lrSchedule: s.lrSchedule } : {}),
  };
}

/**
 * Writes the engine's current state to `settings.out` as the checkpoint of `epochsDone` epochs;
 * `unfinished` adds the early-stopping state (and best.bin when the best epoch is an earlier one);
 * `latent` passes a finished run's latent range and entropy tables (measured once for result and file);
 * without it, the range is the validation rows' (unfinishedLatentRange).
 */
export async function saveCheckpoint(
  run: Run,
  epochsDone: number,
  rngState: number[],
  unfinished?: Progress,
  latent?: { range: { min: number[]; max: number[] }; tables: Uint8Array | undefined },
): Promise<CheckpointMeta> {
  const { settings, engine, data } = run;
  const { variant, patience } = settings;
  const state = await engine.getState();
  const range = latent?.range ?? (await unfinishedLatentRange(data, engine));
  const earlyStopping: EarlyStoppingState | undefined = unfinished && patience !== undefined ? { wait: unfinished.wait, bestValue: unfinished.bestValue } : undefined;
  return writeCheckpoint(settings.out!, {
    meta: {
      format: CHECKPOINT_FORMAT,
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      spec: data.spec,
      encoderOutputLayer: encoderOutputLayerName(data.spec),
      normalization: data.normalization,
      latentRange: range,
      training: trainingConfig(run),
      history: run.history.filter((h) => h.epoch <= epochsDone),
      bestEpoch: unfinished?.bestEpoch ?? run.best.epoch,
      epochsCompleted: epochsDone,
      rngState,
      ...(earlyStopping ? { earlyStopping } : {}),
      data: { source: data.source, rows: data.rows, cols: data.cols },
      versions: { aekit: AEKIT_VERSION, node: process.versions.node, ...engine.versions },
      createdAt: new Date().toISOString(),
      ...variant.metaFields(state),
    },
    ...variant.checkpointState(state),
    ...(earlyStopping && unfinished?.best && unfinished.bestEpoch !== epochsDone ? { best: variant.checkpointState(unfinished.best) } : {}),
    ...(latent?.tables !== undefined ? { latentTables: latent.tables } : {}),
  });
}
