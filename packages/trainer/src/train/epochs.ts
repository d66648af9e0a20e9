/**
 * Phase 4 of `train()`: the epochs. Each epoch trains on the reshuffled rows in chunks of batches,
 * validates, updates early stopping and writes the checkpoint when due.
 */
import { type EpochRecord, UsageError } from '@aekit/core';
import type { EngineRows } from '../engine.js';
import { streamEpoch } from '../stream-epoch.js';
import { type Progress, saveCheckpoint } from './checkpoint.js';
import { gatherRows, validationLoss } from './data.js';
import { learningRateAt } from './lr-schedule.js';
import { type Run, aborted, monitored } from './run.js';
import type { EngineState } from './types.js';

/** The last complete epoch not yet on disk (checkpointEvery > 1), kept to save it when interrupted. */
export interface Unsaved extends Progress {
  epoch: number;
  rngState: number[];
  state: EngineState;
}

export interface EpochsOutcome {
  /** The last complete epoch. */
  epoch: number;
  /** An abort abandoned an epoch part-way. */
  interrupted: boolean;
  stoppedEarly: boolean;
  unsaved: Unsaved | undefined;
}

/** Runs the epochs from the first not done to the target, or until early stopping or an abort. */
export async function runEpochs(run: Run): Promise<EpochsOutcome> {
  const { options, settings, data } = run;
  const { epochs } = settings;
  const batches = Math.ceil(data.nTrain / settings.batchSize);
  const chunkBatches = batchesPerChunk(run, batches);
  const chunkLength = Math.min(chunkBatches * settings.batchSize, data.nTrain) * data.cols;
  const chunkX = data.trainX instanceof Uint8Array ? new Uint8Array(chunkLength) : new Float32Array(chunkLength);
  const outcome: EpochsOutcome = { epoch: settings.done, interrupted: false, stoppedEarly: false, unsaved: undefined };
  while (outcome.epoch < epochs && !aborted(run)) {
    const epoch = ++outcome.epoch;
    const { lrSchedule, adam } = settings;
    const learningRate = learningRateAt(lrSchedule, adam.learningRate, epoch, epochs);
    if (lrSchedule !== undefined) run.engine.setLearningRate(learningRate);
    const t0 = performance.now();
    const lossSum = data.stream ? await trainStreamedEpoch(run, epoch, batches) : await trainInMemoryEpoch(run, epoch, chunkX, batches, chunkBatches);
    if (aborted(run)) {
      // The epoch is abandoned: its partial updates are never saved.
      outcome.interrupted = true;
      outcome.epoch--;
      break;
    }
    const record = await validateEpoch(run, epoch, lossSum, t0);
    if (lrSchedule !== undefined) record.learningRate = learningRate;
    run.history.push(record);
    const stopping = await trackBest(run, record);
    if (settings.out !== undefined && !stopping && epoch < epochs) await checkpointEpoch(run, epoch, outcome);
    options.onEpochEnd?.({ ...record, epochs, bestEpoch: run.best.epoch });
    if (stopping) {
      outcome.stoppedEarly = epoch < epochs;
      break;
    }
  }
  return outcome;
}

/** An engine's multi-step runs (ort: up to 64 steps per run) stay whole in chunks of a multiple of this. */
const STEPS_PER_RUN = 64;
/** Rows per chunk at least, when nothing asks for smaller ones: each chunk is gathered into one buffer this size. */
const CHUNK_ROWS = 16384;

/**
 * Batches per trainSteps call: with a batch callback, ~50 chunks an epoch so progress can be reported;
 * with only an abort signal, at least 256 batches (seconds at most); else multiples of STEPS_PER_RUN
 * batches of at least CHUNK_ROWS rows.
 */
function batchesPerChunk(run: Run, batches: number): number {
  if (run.options.onBatchEnd) return Math.max(1, Math.ceil(batches / 50));
  if (run.options.signal) return Math.max(256, Math.ceil(batches / 50));
  return Math.min(batches, STEPS_PER_RUN * Math.ceil(CHUNK_ROWS / (STEPS_PER_RUN * run.settings.batchSize)));
}

/**
 * `sum` plus loss × rows of each batch, for the losses of consecutive batches over `rows` rows. Added
 * one batch at a time onto the running sum, so the epoch's loss does not depend on the chunking.
 */
function addWeightedLosses(sum: number, losses: Float32Array, rows: number, batchSize: number): number {
  losses.forEach((l, i) => {
    sum += l * Math.min(batchSize, rows - i * batchSize);
  });
  return sum;
}

/** One epoch over the in-memory rows, reshuffled; returns Σ loss × rows (stops early on abort). */
async function trainInMemoryEpoch(run: Run, epoch: number, chunkX: EngineRows, batches: number, chunkBatches: number): Promise<number> {
  const { data, settings, engine, options } = run;
  const { cols, nTrain } = data;
  const bs = settings.batchSize;
  const order = run.shuffleRng.permutation(nTrain);
  let lossSum = 0;
  for (let b = 0; b < batches && !aborted(run); b += chunkBatches) {
    const startRow = b * bs;
    const rows = Math.min(chunkBatches * bs, nTrain - startRow);
    const x = gatherRows(data.trainX, cols, order.subarray(startRow, startRow + rows), chunkX.subarray(0, rows * cols));
    const losses = await settings.variant.trainSteps(engine, epoch, x, rows);
    lossSum = addWeightedLosses(lossSum, losses, rows, bs);
    options.onBatchEnd?.({ epoch, batch: Math.min(b + chunkBatches, batches), batches, loss: lossSum / (startRow + rows) });
  }
  return lossSum;
}

/** One epoch over the streamed rows, chunk by chunk from the shuffle buffer; returns Σ loss × rows. */
async function trainStreamedEpoch(run: Run, epoch: number, batches: number): Promise<number> {
  const { data, settings, engine, options } = run;
  const bs = settings.batchSize;
  let lossSum = 0;
  let seen = 0;
  for await (const chunk of streamEpoch(data.stream!, run.shuffleRng, data.normalization, bs)) {
    if (aborted(run)) break;
    const losses = await settings.variant.trainSteps(engine, epoch, chunk.data, chunk.rows);
    lossSum = addWeightedLosses(lossSum, losses, chunk.rows, bs);
    seen += chunk.rows;
    options.onBatchEnd?.({ epoch, batch: Math.ceil(seen / bs), batches, loss: lossSum / seen });
  }
  return lossSum;
}

/** The epoch's record: mean training loss (a diverged run stops here), speed, validation loss. */
async function validateEpoch(run: Run, epoch: number, lossSum: number, t0: number): Promise<EpochRecord> {
  const { nTrain, nVal } = run.data;
  const trainSeconds = (performance.now() - t0) / 1000;
  const epochLoss = lossSum / nTrain;
  if (!Number.isFinite(epochLoss)) {
    throw new UsageError(`training diverged: the loss is ${epochLoss} at epoch ${epoch}; lower --lr or check the data's scale (--normalize)`);
  }
  const record: EpochRecord = { epoch, loss: epochLoss, seconds: 0, rowsPerSecond: nTrain / trainSeconds };
  if (nVal > 0) record.valLoss = await validationLoss(run.data, run.engine);
  record.seconds = (performance.now() - t0) / 1000;
  return record;
}

/** Updates early stopping with the epoch; true when patience has run out. */
async function trackBest(run: Run, record: EpochRecord): Promise<boolean> {
  const { patience } = run.settings;
  const best = run.best;
  if (patience === undefined) {
    best.epoch = record.epoch;
    return false;
  }
  if (monitored(record) < best.value) {
    best.value = monitored(record);
    best.epoch = record.epoch;
    best.state = await run.engine.getState();
    best.wait = 0;
  } else {
    best.wait++;
  }
  return best.wait >= patience;
}

/** Writes the epoch's checkpoint when due (every checkpointEvery epochs), else keeps it to save on an abort. */
async function checkpointEpoch(run: Run, epoch: number, outcome: EpochsOutcome): Promise<void> {
  const { best, settings } = run;
  const progress: Progress = { wait: best.wait, bestValue: best.value, bestEpoch: best.epoch, ...(best.state ? { best: best.state } : {}) };
  if ((epoch - settings.done) % settings.checkpointEvery === 0) {
    await saveCheckpoint(run, epoch, run.shuffleRng.getState(), progress);
    outcome.unsaved = undefined;
  } else if (run.options.signal) {
    outcome.unsaved = { epoch, rngState: run.shuffleRng.getState(), state: await run.engine.getState(), ...progress };
  }
}
