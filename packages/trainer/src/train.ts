/**
 * `train(options)`: the engine-independent training loop. It owns data preparation (normalisation,
 * seeded validation split, per-epoch reshuffling), batching order, validation, early stopping,
 * history, the latent range and the checkpoint; the engine (see ./engine.ts) only runs steps.
 *
 * A run goes through five phases, one module each under ./train/:
 *   resolveSettings (settings.ts) → loadData (data.ts) → startEngine (below) →
 *   runEpochs (epochs.ts: each epoch trains, validates, checkpoints) → finishRun (finish.ts).
 */
import { Rng } from '@aekit/core';
import { type RowSource, openRowSource } from '@aekit/data';
import type { TrainingEngine } from './engine.js';
import { glorotUniformParams } from './init.js';
import { type TrainingData, loadData, rowsForEngine, shuffleRngOf, streamToOpen } from './train/data.js';
import { runEpochs } from './train/epochs.js';
import { finishRun } from './train/finish.js';
import { type Run, initialBest } from './train/run.js';
import { type Settings, resolveSettings } from './train/settings.js';
import type { TrainOptions, TrainResult } from './train/types.js';

export { TRAIN_DEFAULTS, parseLoss } from './train/settings.js';
export { seededSplit } from './train/data.js';
export type { BatchEndInfo, EpochEndInfo, StreamOptions, TrainOptions, TrainResult, TrainStartInfo } from './train/types.js';

export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const settings = await resolveSettings(options);
  const stream = streamToOpen(options, settings);
  const opened = typeof stream?.source === 'string' ? await openRowSource(stream.source, stream.format === undefined ? {} : { format: stream.format }) : undefined;
  try {
    const loaded = await loadData(options, settings, opened ?? (stream?.source as RowSource | undefined), stream?.bufferMB);
    const shuffleRng = shuffleRngOf(settings);
    const engine = await createRunEngine(options, settings, loaded);
    try {
      const data = rowsForEngine(loaded, engine);
      const run = await startEngine(options, settings, data, engine, shuffleRng);
      return await finishRun(run, await runEpochs(run));
    } finally {
      engine.dispose();
    }
  } finally {
    await opened?.close();
  }
}

/** The engine the options select, for the run's variant and settings. */
function createRunEngine(options: TrainOptions, settings: Settings, data: TrainingData): Promise<TrainingEngine> {
  const { loss, adam, l1, l2, batchSize } = settings;
  const config = {
    spec: data.spec,
    loss,
    adam,
    l1,
    l2,
    batchSize,
    ...(data.trainX instanceof Uint8Array ? { byteInput: true } : {}),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.spinning === undefined ? {} : { spinning: options.spinning }),
  };
  return settings.variant.createEngine(options.engine ?? 'auto', config, options.backend ?? 'auto');
}

/**
 * Loads the starting state into the engine (the resumed checkpoint's, else seeded Glorot-uniform
 * parameters), reports the start and returns the run's state.
 */
async function startEngine(options: TrainOptions, settings: Settings, data: TrainingData, engine: TrainingEngine, shuffleRng: Rng): Promise<Run> {
  const { resumed, prev, done, epochs, seed } = settings;
  await engine.setState(resumed?.params ?? glorotUniformParams(data.spec, new Rng(seed)), resumed?.optimizer);
  const history = [...(prev?.history ?? [])];
  options.onStart?.({
    engine: engine.name,
    backend: engine.backend,
    spec: data.spec,
    normalization: data.normalization,
    dataSource: data.source,
    trainRows: data.nTrain,
    valRows: data.nVal,
    firstEpoch: done + 1,
    epochs,
    ...(settings.variant.rateWeight !== undefined ? { rateWeight: settings.variant.rateWeight } : {}),
  });
  return { options, settings, data, engine, history, shuffleRng, best: initialBest(settings, history) };
}
