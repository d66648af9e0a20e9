export * from './data/index.js';
export type * from './engine.js';
export {
  train,
  parseLoss,
  TRAIN_DEFAULTS,
  type TrainOptions,
  type TrainResult,
  type TrainStartInfo,
  type EpochEndInfo,
  type BatchEndInfo,
  type StreamOptions,
} from './train.js';
export { readCheckpoint, writeCheckpoint, sha256Hex, type LoadedCheckpoint, type CheckpointContents } from './checkpoint/io.js';
export { encoderOutputLayerName, TFJS_ACTIVATION } from './checkpoint/layer-names.js';
export { glorotUniformParams, cloneParams } from './init.js';
export {
  createEngine,
  registerEngine,
  availableEngines,
  parseEngineName,
  ENGINE_CHOICES,
  type EngineFactory,
} from './engines/registry.js';
export { TFJS_BACKENDS, parseTfjsBackend, type TfjsBackendName } from './engines/tfjs/backend-names.js';
export { writeFileAtomic, writeDirAtomic } from './fs-atomic.js';
export {
  OrtEngine,
  ORT_DEVICES,
  defaultStepsPerRun,
  type OrtModule,
  type OrtDevice,
  type OrtEngineOptions,
} from './engines/ort.js';
export { createOrtNodeEngine, ortNodeDevices, type OrtNodeEngineOptions } from './engines/ort-node.js';
export * from './study/index.js';
export * from './variants/index.js';
