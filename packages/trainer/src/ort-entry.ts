/**
 * `@aekit/trainer/ort`: the onnxruntime training engine and what a caller needs around it (initial
 * parameters, the engine contract's types), without tfjs or Node APIs, so it bundles for browsers.
 * The caller passes the onnxruntime module (onnxruntime-web or onnxruntime-node).
 */
export {
  OrtEngine,
  ORT_DEVICES,
  defaultStepsPerRun,
  type OrtModule,
  type OrtDevice,
  type OrtEngineOptions,
} from './engines/ort.js';
export { CONV_LOWERINGS, DEFAULT_CONV_LOWERING, type ConvLowering } from './graphs/conv.js';
export { glorotUniformParams, cloneParams } from './init.js';
export type { LayerParams, ParamSet, AdamState, EngineConfig, EngineName, TrainingEngine } from './engine.js';
