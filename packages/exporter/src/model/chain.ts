/**
 * The exporter's normalised view of a model: a chain of steps in the order they run, whatever layer
 * layout it came from (aekit checkpoint, Sequential, functional). Every step knows the logical shape
 * of its input and output as tfjs sees them (per row, batch excluded, channels last); a row's values
 * are that shape's row-major (HWC) order, which is what graph inputs and outputs hold. The ONNX side
 * (onnx/layout.ts) decides where the data physically sits (NCHW inside convolution runs).
 */
import type { ActivationSpec } from '@aekit/core';

/** Where a step came from in model.json, for error messages: layer name and 1-based position. */
export interface LayerOrigin {
  layer: string;
  /** 1-based position among the model's layers. */
  position: number;
  /** Number of layers in the model. */
  count: number;
}

/** [height, width, channels]. */
export type Hwc = [number, number, number];

export interface DenseStep {
  kind: 'dense';
  origin: LayerOrigin;
  inputDim: number;
  units: number;
  /** Row-major [inputDim, units] (tfjs/Keras kernel layout: y = x·W + b). */
  kernel: Float32Array;
  /** [units], or null for a Dense layer without bias. */
  bias: Float32Array | null;
}

export interface ActivationStep {
  kind: 'activation';
  origin: LayerOrigin;
  activation: ActivationSpec;
}

/** A Reshape or Flatten: the row's values stay as they are, only their logical shape changes. */
export interface ReshapeStep {
  kind: 'reshape';
  origin: LayerOrigin;
  from: number[];
  to: number[];
}

/**
 * A Conv2D (`conv`) or Conv2DTranspose (`convTranspose`) over an HWC input, `pads` [top, left,
 * bottom, right] explicit: for Conv2D the zero padding, for Conv2DTranspose what is cropped from the
 * full output; `outputPadding` [rows, cols] (Conv2DTranspose only) is appended at the bottom/right
 * when the kernel is smaller than the stride.
 */
export interface ConvStep {
  kind: 'conv' | 'convTranspose';
  origin: LayerOrigin;
  inShape: Hwc;
  outShape: Hwc;
  kernelSize: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  outputPadding: [number, number];
  /** 'same' or 'valid' as the layer declared it (for descriptions). */
  padding: 'same' | 'valid';
  /** tfjs layout: Conv2D [kh, kw, cin, cout]; Conv2DTranspose [kh, kw, cout, cin]; row-major. */
  kernel: Float32Array;
  /** [output channels], or null without bias. */
  bias: Float32Array | null;
}

/** MaxPooling2D / AveragePooling2D; `pads` as TensorFlow pads (padded cells never count). */
export interface PoolStep {
  kind: 'pool';
  origin: LayerOrigin;
  op: 'max' | 'average';
  inShape: Hwc;
  outShape: Hwc;
  poolSize: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  padding: 'same' | 'valid';
}

/** UpSampling2D with nearest interpolation: each value repeated `size` [rows, cols] times. */
export interface UpsampleStep {
  kind: 'upsample';
  origin: LayerOrigin;
  inShape: Hwc;
  outShape: Hwc;
  size: [number, number];
}

export type SpatialStep = ConvStep | PoolStep | UpsampleStep;
export type Step = DenseStep | ActivationStep | ReshapeStep | SpatialStep;

export interface DenseChain {
  /** Width of one input row (the product of the input shape). */
  inputDim: number;
  /** The input's logical shape per row ([inputDim] for flat rows). */
  inputShape: number[];
  steps: Step[];
  /**
   * Layer name → number of steps emitted up to and including that layer (for splitting). Layers
   * inside nested sub-models are listed by qualified name (`encoder/dense_1`) and, when no other
   * layer has it, by their own name; a sub-model's name covers all of its layers.
   */
  stepsThrough: Map<string, number>;
  /** Layer names in model order (for error messages listing what exists). */
  layerNames: string[];
  /** The last layer of the top-level model (its output). */
  outputLayer: string;
  /** Where to split when nothing names a layer: set when the model is two sub-models (`[encoder, decoder]`). */
  defaultSplitAfter?: string;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** True for steps that hold weights (Dense, convolutions). */
export function hasWeights(s: Step): s is DenseStep | ConvStep {
  return s.kind === 'dense' || s.kind === 'conv' || s.kind === 'convTranspose';
}

/** The logical shape after a step that receives `shape`. */
export function stepOutShape(s: Step, shape: readonly number[]): number[] {
  switch (s.kind) {
    case 'dense':
      return [s.units];
    case 'activation':
      return [...shape];
    case 'reshape':
      return [...s.to];
    default:
      return [...s.outShape];
  }
}

/** Logical output shape of a run of steps that starts at `shape`. */
export function chainShape(steps: readonly Step[], shape: readonly number[]): number[] {
  let sh = [...shape];
  for (const s of steps) sh = stepOutShape(s, sh);
  return sh;
}

/** Output width of a run of steps that starts at width `inputDim` (flat input). */
export function chainWidth(steps: readonly Step[], inputDim: number): number {
  return size(chainShape(steps, [inputDim]));
}
