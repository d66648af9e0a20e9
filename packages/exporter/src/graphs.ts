/**
 * `@aekit/exporter/graphs`: the steps `exportBundle` composes, for pipelines that build their own
 * bundles — parse a tfjs layers model into a dense chain, split it at the latent, write the three
 * inference graphs, quantise their weights.
 */
export { parseLayersModel, SUPPORTED_LAYERS } from './model/layers-model.js';
export { splitChain } from './model/split.js';
export type { SplitModel } from './model/split.js';
export type { DenseChain, Step, DenseStep, ActivationStep, LayerOrigin } from './model/chain.js';
export { buildGraphs, buildEncoder, buildDecoder, buildAutoencoder } from './onnx/graphs.js';
export type { DenseOp, GraphOptions } from './onnx/graphs.js';
export { quantizeModelWeights, quantizeInt8PerChannel } from './quantize/index.js';
export type { QuantizedWeights } from './quantize/index.js';
