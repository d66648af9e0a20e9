/**
 * The exporter's normalised view of a model: a chain of steps (dense products and activations) in
 * the order they run, whatever layer layout it came from (aekit checkpoint, Sequential, functional).
 */
import type { ActivationSpec } from '@aekit/core';

/** Where a step came from in model.json, for error messages: layer name and 1-based position. */
export interface LayerOrigin {
  layer: string;
  /** 1-based position among the model's layers. */
  position: number;
  /** Number of layers in the model. */
  count: number;
}

export interface DenseStep {
  kind: 'dense';
  origin: LayerOrigin;
  inputDim: number;
  units: number;
  /** Row-major [inputDim, units] (tfjs/Keras kernel layout: y = x·W + b). */
  kernel: Float32Array;
  /** [units], or null for a Dense layer without bias. */
  bias: Float32Array | null;
}

export interface ActivationStep {
  kind: 'activation';
  origin: LayerOrigin;
  activation: ActivationSpec;
}

export type Step = DenseStep | ActivationStep;

export interface DenseChain {
  /** Width of one input row (the product of the input shape when a Flatten comes first). */
  inputDim: number;
  steps: Step[];
  /** Layer name → number of steps emitted up to and including that layer (for splitting). */
  stepsThrough: Map<string, number>;
  /** Layer names in model order (for error messages listing what exists). */
  layerNames: string[];
}

/** Output width of a run of steps that starts at width `inputDim`. */
export function chainWidth(steps: readonly Step[], inputDim: number): number {
  let w = inputDim;
  for (const s of steps) if (s.kind === 'dense') w = s.units;
  return w;
}
