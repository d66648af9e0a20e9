/** The learning rate of each epoch under a schedule (`--lr-schedule`), and the option's checks. */
import { type LrSchedule, UsageError } from '@aekit/core';

/** `train()`'s lrSchedule option: a name, or the schedule with its floor. */
export type LrScheduleOption = 'constant' | 'cosine' | { name: 'cosine'; minLearningRate?: number };

export const LR_SCHEDULES = ['constant', 'cosine'] as const;

/**
 * The schedule an option asks for (undefined: constant), checked against the base learning rate.
 * `minLearningRate` defaults to 0, as PyTorch's eta_min does.
 */
export function resolveLrSchedule(option: LrScheduleOption | undefined, learningRate: number, where = '--lr-schedule'): LrSchedule | undefined {
  const name: unknown = typeof option === 'object' && option !== null ? option.name : option;
  if (name === undefined || name === 'constant') return undefined;
  if (name !== 'cosine') throw new UsageError(`${where} must be one of ${LR_SCHEDULES.join(', ')}, got ${JSON.stringify(name)}`);
  const min: unknown = typeof option === 'object' ? (option.minLearningRate ?? 0) : 0;
  if (typeof min !== 'number' || !Number.isFinite(min) || min < 0 || min >= learningRate) {
    throw new UsageError(`the cosine schedule's minimum learning rate (--lr-min) must be a number >= 0 and below the learning rate ${learningRate}, got ${String(min)}`);
  }
  return { name: 'cosine', minLearningRate: min };
}

/** The learning rate of epoch `epoch` (1-based) of `epochs`. */
export function learningRateAt(schedule: LrSchedule | undefined, learningRate: number, epoch: number, epochs: number): number {
  if (schedule === undefined) return learningRate;
  const { minLearningRate: min } = schedule;
  return min + ((learningRate - min) * (1 + Math.cos((Math.PI * (epoch - 1)) / epochs))) / 2;
}
