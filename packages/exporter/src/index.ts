/**
 * @aekit/exporter: an aekit checkpoint or a tfjs layers model → an ONNX bundle (encoder, decoder,
 * autoencoder + manifest.json), bytes in and bytes out, so it runs in browsers too. Reading checkpoint
 * directories and writing bundles to disk: `@aekit/exporter/node`. The graph-level pieces (split,
 * graph building, weight quantisation) for custom pipelines: `@aekit/exporter/graphs`.
 */
export { exportBundle, DEFAULT_OPSET, MIN_OPSET, MAX_OPSET, EXPORTER_PRODUCER } from './bundle.js';
export type { ExportOptions, ExportResult } from './bundle.js';
export { readExportableModel, checkNormalization } from './model/checkpoint.js';
export type { CheckpointFiles, ExportableModel, ReadModelOptions } from './model/checkpoint.js';
export { quantizeBundle, parseWeightsDtype, weightsTolerance, WEIGHTS_DTYPES, WEIGHTS_TOLERANCE } from './quantize/index.js';
export type { BundleFilesAndManifest, QuantizeReport } from './quantize/index.js';
// A foreign (PyTorch) ONNX autoencoder → a bundle: `aekit import`.
export { importOnnx, withLatentRange } from './import/index.js';
export type { ImportOptions, ImportReport, ImportResult } from './import/index.js';
