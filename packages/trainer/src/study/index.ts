export {
  runActivationStudy,
  summarise,
  psnrOf,
  epochsToReach,
  pcaReference,
  STUDY_ACTIVATIONS,
  STUDY_DEFAULTS,
  DEFAULT_THRESHOLD_FACTOR,
  type ActivationStudy,
  type ActivationStudyOptions,
  type ActivationSummary,
  type PcaReference,
  type StudyReferences,
  type StudyRun,
} from './activations.js';
export { studyMarkdown, studyCsv, studyCurvesCsv, renderLossChart, CHART_COLORS, LINEAR_REF_COLOR, PCA_REF_COLOR } from './report.js';
export { renderXyChart, type XyChartOptions, type XySeries } from './xy-chart.js';
export { Canvas, type RgbaImage, type Rgb } from './raster.js';
