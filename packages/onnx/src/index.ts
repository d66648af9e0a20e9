export { GraphBuilder, attr, decodeModel, opTypesOf, tensorProto, toFloat16Bits, valueInfo, IR_VERSION, DTYPE_CODE } from './builder.js';
export type { Attr, DType, Dim, ModelOptions, TensorData } from './builder.js';
export { ACTIVATIONS, sign, step } from './activations.js';
export type { ActivationLowering, ActivationNodes } from './activations.js';
export { f32, i64 } from './consts.js';
export { EXECUTION_PROVIDERS, OP_SUPPORT, opsMissingOn } from './ops.js';
export type { ExecutionProvider } from './ops.js';
export { onnx } from './proto.js';
export type { OnnxTypes } from './proto.js';
