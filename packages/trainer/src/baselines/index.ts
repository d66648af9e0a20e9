export {
  fitPca,
  pcaProject,
  pcaReconstruct,
  pcaBaseline,
  fitCoefficientQuantizer,
  quantizeCoefficients,
  dequantizeCoefficients,
  meanSquaredError,
  type Pca,
  type PcaRows,
  type PcaFitOptions,
  type PcaReconstructOptions,
  type PcaBaseline,
  type CoefficientQuantizer,
} from './pca.js';
export { bdRate, type BdRate, type RdPoint } from './bd-rate.js';
