export {
  runActivationStudy,
  summarise,
  psnrOf,
  epochsToReach,
  STUDY_ACTIVATIONS,
  STUDY_DEFAULTS,
  DEFAULT_THRESHOLD_FACTOR,
  type ActivationStudy,
  type ActivationStudyOptions,
  type ActivationSummary,
  type StudyRun,
} from './activations.js';
export { studyMarkdown, studyCsv, studyCurvesCsv, renderLossChart, CHART_COLORS } from './report.js';
export { Canvas, type RgbaImage, type Rgb } from './raster.js';
