/**
 * Phase 5 of `train()`: the end of the run. An interrupted run saves its last complete epoch and
 * rejects; a finished one restores the best epoch's weights (early stopping), writes the final
 * checkpoint and returns the result.
 */
import { InterruptedError } from '@aekit/core';
import { saveCheckpoint } from './checkpoint.js';
import { validationLoss } from './data.js';
import { measureTrainingLatents } from './latent-tables.js';
import type { EpochsOutcome } from './epochs.js';
import { type Run, aborted } from './run.js';
import type { TrainResult } from './types.js';

/** The run's result (and final checkpoint); an InterruptedError when an abort cut it short. */
export async function finishRun(run: Run, outcome: EpochsOutcome): Promise<TrainResult> {
  const { settings, engine, data, best } = run;
  const { epoch } = outcome;
  if (outcome.interrupted || (aborted(run) && epoch < settings.epochs && !outcome.stoppedEarly)) return saveInterrupted(run, outcome);
  const restored = settings.patience !== undefined && best.epoch !== epoch && best.state !== undefined;
  if (restored) await engine.setState(best.state!.params, best.state!.optimizer);
  const state = await engine.getState();
  const { range, tables: latentTables } = await measureTrainingLatents(data, engine);
  // The validation loss of an epoch this run trained is the final one, unless early stopping restored an earlier epoch.
  const last = run.history.at(-1);
  const fresh = !restored && epoch > settings.done && last?.epoch === epoch ? last.valLoss : undefined;
  const valLoss = data.nVal === 0 ? undefined : (fresh ?? (await validationLoss(data, engine)));
  const result: TrainResult = {
    engine: engine.name,
    backend: engine.backend,
    spec: data.spec,
    normalization: data.normalization,
    history: run.history,
    bestEpoch: best.epoch,
    epochsCompleted: epoch,
    stoppedEarly: outcome.stoppedEarly,
    params: state.params,
    optimizer: state.optimizer,
    latentRange: range,
    ...(latentTables !== undefined ? { latentTables } : {}),
    ...(valLoss !== undefined ? { valLoss } : {}),
  };
  if (settings.out !== undefined) {
    const meta = await saveCheckpoint(run, epoch, run.shuffleRng.getState(), undefined, { range, tables: latentTables });
    result.checkpoint = { dir: settings.out, meta };
  }
  return result;
}

/** Saves the last complete epoch if it is not on disk yet, then rejects saying where the run stands. */
async function saveInterrupted(run: Run, outcome: EpochsOutcome): Promise<never> {
  const { out, done } = run.settings;
  const { epoch, unsaved } = outcome;
  let where = 'no epoch was completed, nothing was saved';
  if (out !== undefined && unsaved !== undefined) {
    await run.engine.setState(unsaved.state.params, unsaved.state.optimizer);
    await saveCheckpoint(run, unsaved.epoch, unsaved.rngState, unsaved);
  }
  if (out !== undefined && epoch > 0) where = `${out} holds epoch ${epoch}; continue with: aekit train --resume ${out}`;
  else if (epoch > done) where = `epoch ${epoch} was not saved (no --out)`;
  throw new InterruptedError(`interrupted during epoch ${epoch + 1}: ${where}`, out !== undefined ? { file: out } : {});
}
