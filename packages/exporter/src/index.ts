export { GraphBuilder, attr, decodeModel, tensorProto, toFloat16Bits, valueInfo, IR_VERSION, DTYPE_CODE } from './onnx/builder.js';
export type { Attr, DType, Dim, ModelOptions, TensorData } from './onnx/builder.js';
