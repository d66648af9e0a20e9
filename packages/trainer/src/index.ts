export { DEFAULT_STREAM_BUFFER_MB, streamLayout, type StreamLayout } from './stream-epoch.js';
export type * from './engine.js';
export { TFJS_ENGINE, ORT_ENGINE } from './engine.js';
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
export { learningRateAt, resolveLrSchedule, type LrScheduleOption } from './train/lr-schedule.js';
export { readCheckpoint, writeCheckpoint, type LoadedCheckpoint, type CheckpointContents } from './checkpoint/io.js';
export { predictCheckpoint, type CheckpointPrediction } from './checkpoint/predict.js';
export {
  createEngine,
  registerEngine,
  engineFactories,
  engineChoices,
  backendChoices,
  backendHelp,
  parseEngineName,
  type EngineFactory,
  type EngineSelection,
} from './engines/registry.js';
export {
  runActivationStudy,
  STUDY_ACTIVATIONS,
  STUDY_DEFAULTS,
  studyMarkdown,
  studyCsv,
  studyCurvesCsv,
  renderLossChart,
  type ActivationStudy,
  type ActivationStudyOptions,
  type ActivationSummary,
  type StudyRun,
  type RgbaImage,
  type PcaReference,
  type StudyReferences,
  renderXyChart,
  type XyChartOptions,
  type XySeries,
} from './study/index.js';
export { parseNoise, parseVariant, type NoiseSpec, type VariantOptions } from './variants/index.js';
export { checkRateWeight, latentBits, totalLatentBits, RATE_DENSITY_LAYER, type RateConfig } from './variants/index.js';
export type { VaeEngineConfig } from './variants/vae-math.js';
// PCA and BD-rate, also on the tfjs-free subpath @aekit/trainer/baselines (what `aekit eval` imports).
export * from './baselines/index.js';
