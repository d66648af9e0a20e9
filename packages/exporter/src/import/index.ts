/** ONNX import: foreign (PyTorch) ONNX autoencoders → aekit bundles (bundle.ts), cut by graph surgery (graph.ts). */
export { importOnnx, withLatentRange } from './bundle.js';
export type { ImportOptions, ImportReport, ImportResult } from './bundle.js';
