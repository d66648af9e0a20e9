/**
 * The checks every engine makes on its config before building anything, so each engine refuses a bad
 * config with the same typed error (a batch size of 0 would otherwise loop forever in trainSteps).
 */
import { type ModelSpec, UsageError, validateSpec } from '@aekit/core';
import type { EngineConfig } from './engine.js';
import { checkRateWeight } from './variants/rate-math.js';

export function checkEngineConfig(config: EngineConfig): ModelSpec {
  const spec = validateSpec(config.spec);
  const bs = config.batchSize;
  if (!Number.isInteger(bs) || bs < 1) throw new UsageError(`batch size must be an integer >= 1, got ${bs}`);
  const lr = config.adam.learningRate;
  if (!Number.isFinite(lr) || lr <= 0) throw new UsageError(`learning rate must be a finite number > 0, got ${lr}`);
  for (const [name, value] of [['l1', config.l1], ['l2', config.l2]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`${name} must be a finite number >= 0, got ${value}`);
  }
  if (config.rate !== undefined) {
    checkRateWeight(config.rate.weight, 'rate weight');
    const seed = config.rate.seed;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`rate seed must be an integer in [0, 2^32), got ${seed}`);
  }
  return spec;
}

/** The config with Adam's learning rate replaced (engines keep their config and read it at each step). */
export function withLearningRate<C extends Pick<EngineConfig, 'adam'>>(config: C, learningRate: number): C {
  if (!Number.isFinite(learningRate) || learningRate <= 0) throw new UsageError(`learning rate must be a finite number > 0, got ${learningRate}`);
  return { ...config, adam: { ...config.adam, learningRate } };
}
