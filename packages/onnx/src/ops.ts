/**
 * Which ONNX ops each onnxruntime execution provider runs, for every op an aekit graph may emit.
 * Graph generators consult it (`ModelOptions.runsOn`) so a graph meant for an EP never holds a node that EP
 * would refuse or hand back to the CPU; the op-support test builds every graph aekit writes and fails
 * on an op missing from this table, so a new op is recorded here before it ships.
 *
 * `wasm` is onnxruntime-web's CPU kernels (the same kernel set as `cpu`). `webgpu` is onnxruntime-node's
 * WebGPU EP and `webgpu-web` onnxruntime-web's (JSEP): their kernel sets differ (JSEP has no Min, Max,
 * And, Round, Softplus). The conformance suite runs every activation on both (SwiftShader in CI).
 * `cuda` is taken from onnxruntime's CUDA kernel registrations (no CUDA here).
 */
export type ExecutionProvider = 'cpu' | 'wasm' | 'webgpu' | 'webgpu-web' | 'cuda';

export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'wasm', 'webgpu', 'webgpu-web', 'cuda'];

const ALL: readonly ExecutionProvider[] = EXECUTION_PROVIDERS;
const NOT_WEBGPU: readonly ExecutionProvider[] = ['cpu', 'wasm', 'cuda'];
/** onnxruntime-node's WebGPU EP has these; onnxruntime-web's (JSEP) does not. */
const NOT_WEB_WEBGPU: readonly ExecutionProvider[] = ['cpu', 'wasm', 'webgpu', 'cuda'];

/** Op type → the execution providers that have a kernel for it (at the opsets aekit writes, 13–17). */
export const OP_SUPPORT: Readonly<Record<string, readonly ExecutionProvider[]>> = {
  Abs: ALL,
  Add: ALL,
  // Exported image models (pooling layers of foreign tfjs models).
  AveragePool: ALL,
  And: NOT_WEB_WEBGPU,
  Cast: ALL,
  Clip: ALL,
  Concat: ALL,
  Conv: ALL,
  ConvTranspose: ALL,
  DequantizeLinear: ALL,
  Div: ALL,
  Elu: ALL,
  Equal: ALL,
  Erf: ALL,
  Exp: ALL,
  // Nearest upsampling by whole factors (exported UpSampling2D).
  Expand: ALL,
  Gather: ALL,
  Gemm: ALL,
  Greater: ALL,
  GreaterOrEqual: ALL,
  Identity: ALL,
  LeakyRelu: ALL,
  Less: ALL,
  LessOrEqual: ALL,
  Log: ALL,
  // Control flow runs on the CPU EP: on WebGPU every iteration would copy the state to and fro.
  Loop: NOT_WEBGPU,
  MatMul: ALL,
  MaxPool: ALL,
  Min: NOT_WEB_WEBGPU,
  Mul: ALL,
  Neg: ALL,
  Pow: ALL,
  Reciprocal: ALL,
  ReduceMean: ALL,
  ReduceSum: ALL,
  Relu: ALL,
  Reshape: ALL,
  Round: NOT_WEB_WEBGPU,
  Selu: NOT_WEBGPU,
  Shape: ALL,
  Sigmoid: ALL,
  Sign: NOT_WEBGPU,
  Size: NOT_WEB_WEBGPU,
  Softplus: NOT_WEB_WEBGPU,
  Split: ALL,
  Sqrt: ALL,
  Sub: ALL,
  Tanh: ALL,
  Transpose: ALL,
  Where: ALL,
};

/** The ops of `opTypes` that `ep` cannot run (unknown ops included, since nobody has checked them). */
export function opsMissingOn(ep: ExecutionProvider, opTypes: Iterable<string>): string[] {
  const missing = new Set<string>();
  for (const op of opTypes) if (!(OP_SUPPORT[op] ?? []).includes(ep)) missing.add(op);
  return [...missing].sort();
}
