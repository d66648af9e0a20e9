/**
 * `@aekit/exporter/graphs`: the steps `exportBundle` composes, for pipelines that build their own
 * bundles — parse a tfjs layers model into a chain of steps (dense, convolution, pooling, …), split it
 * at the latent, write the three inference graphs, quantise their weights.
 */
export { parseLayersModel, SUPPORTED_LAYERS } from './model/layers-model.js';
export { splitChain, describeChain } from './model/split.js';
export type { SplitModel, SplitResult } from './model/split.js';
export type {
  DenseChain,
  Step,
  DenseStep,
  ActivationStep,
  ReshapeStep,
  ConvStep,
  PoolStep,
  UpsampleStep,
  SpatialStep,
  Hwc,
  LayerOrigin,
} from './model/chain.js';
export { buildGraphs, buildEncoder, buildDecoder, buildAutoencoder } from './onnx/graphs.js';
export type { DenseOp, GraphModel, GraphOptions } from './onnx/graphs.js';
export { quantizeModelWeights, quantizeInt8PerChannel } from './quantize/index.js';
export type { QuantizedWeights } from './quantize/index.js';
