export { quantizeModelWeights, quantizeInt8PerChannel, parseWeightsDtype, weightsTolerance, WEIGHTS_DTYPES, WEIGHTS_TOLERANCE } from './weights.js';
export type { QuantizeReport, QuantizedWeights } from './weights.js';
export { quantizeBundle } from './bundle.js';
export type { BundleFilesAndManifest } from './bundle.js';
