/**
 * The slice of the onnxruntime JavaScript API aekit uses (the onnxruntime-common shape), as types
 * only: core takes no onnxruntime dependency. Both onnxruntime-node and onnxruntime-web satisfy it;
 * callers pass their module in, so the runtime's codec (and the trainer's engine, which extends
 * `OrtModule`) never import an onnxruntime package themselves and run unchanged in Node and browsers.
 */

/** Where onnxruntime leaves an output tensor (onnxruntime-common's `Tensor.DataLocation`). */
export type OrtDataLocation = 'none' | 'cpu' | 'cpu-pinned' | 'texture' | 'gpu-buffer' | 'ml-tensor';

export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

export interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
  new (type: 'uint8', data: Uint8Array, dims: readonly number[]): OrtTensor;
}

/** Session options the codec sets; see onnxruntime's InferenceSession.SessionOptions for their meaning. */
export interface OrtSessionOptions {
  executionProviders?: ReadonlyArray<string | { name: string; [option: string]: unknown }>;
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  preferredOutputLocation?: OrtDataLocation | { readonly [outputName: string]: OrtDataLocation };
  /** Flattened into session config entries, e.g. `{ session: { intra_op: { allow_spinning: '0' } } }`. */
  extra?: Record<string, unknown>;
}

/** A graph input's or output's declared type and shape (named dims are strings), when onnxruntime reports it. */
export interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: ReadonlyArray<number | string>;
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Present in onnxruntime ≥ 1.21 (node and web). */
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  /** Computes and returns every output. */
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  /**
   * Computes and returns the outputs named in `fetches`. Two overloads, as onnxruntime declares them,
   * so that onnxruntime's own session type is assignable to this one.
   */
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: OrtTensorConstructor;
}
