/** The training-step graphs the ort engine runs (plain autoencoder; the VAE's live in variants/vae-ort.ts). */
export { buildTrainingGraph, buildForwardGraph, buildRateEvaluateGraph, buildReadoutGraph, BYTES_INPUT, RATE_INPUTS, TRAINING_OPSET } from './graph.js';
export type { GraphInput, TrainingGraph, TrainingGraphOptions, ForwardGraph, ForwardGraphOptions } from './graph.js';
export { parameterSlots, stateInputNames, updatedName, PARAM_LAYOUTS } from './layout.js';
export type { ParamLayout, ParamSlot, StateNames } from './layout.js';
export { CONV_LOWERINGS, DEFAULT_CONV_LOWERING } from './conv.js';
export type { ConvLowering } from './conv.js';
