/**
 * @aekit/runtime for browsers: loads an aekit bundle (URL or bytes) and runs it with onnxruntime-web on
 * `webgpu` or `wasm` (`auto`: WebGPU when a real adapter exists, else wasm). Same Codec API and
 * errors as the Node entry.
 */
export { Codec } from './codec-web.js';
export type { WebLoadOptions, WebLogLevel } from './codec-web.js';
export { WEB_DEVICES, webgpuUnavailableReason } from './device-web.js';
import { WEB_DEVICES } from './device-web.js';

/** Device names `Codec.load` accepts in browsers. */
export function deviceNames(): string[] {
  return [...WEB_DEVICES];
}
export type { WebDevice, WebExecutionProvider } from './device-web.js';
export { bundleBaseUrl, fetchBundle } from './fetch-web.js';
export type { FetchLike } from './fetch-web.js';
export { verifyBundle } from './codec.js';
export type { BundleBytes, LoadOptions, Rows, InputArray, RowsInput, TensorLike } from './codec.js';
// The one aekit error hierarchy (core's): every error below is an AekitError with a stable `code`.
export { AekitError, BackendError, BundleError, DisposedError, IoError } from '@aekit/core';
export type { AekitErrorCode, AekitErrorOptions } from '@aekit/core';
export * from './compress/public.js';
export { BUNDLE_FORMAT, GRAPH_IO, GRAPH_NAMES, MANIFEST_FILE, SUPPORTED_FORMAT_VERSIONS, parseManifest, parseManifestText } from '@aekit/core';
export type { BundleFileEntry, BundleManifest, GraphName, IoDtype, Normalization, WeightsDtype } from '@aekit/core';
