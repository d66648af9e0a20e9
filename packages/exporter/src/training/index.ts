export { buildTrainingGraph, buildForwardGraph, buildReadoutGraph, TRAINING_OPSET } from './graph.js';
export type { TrainingGraph, TrainingGraphOptions, ForwardGraph, ForwardGraphOptions } from './graph.js';
export { parameterSlots, stateInputNames, updatedName, PARAM_LAYOUTS } from './layout.js';
export type { ParamLayout, ParamSlot, StateNames } from './layout.js';
export { ACTIVATION_GRAPHS } from './activations.js';
export { BCE_EPSILON } from './step.js';
export { referenceTrainStep, referenceLoss } from './reference.js';
export type { ReferenceState, ReferenceSettings } from './reference.js';
