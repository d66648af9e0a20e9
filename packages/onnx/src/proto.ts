// onnx-proto is a CommonJS bundle of protobufjs static code; this is its one import site.
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';
