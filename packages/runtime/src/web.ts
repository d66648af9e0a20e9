/**
 * @aekit/runtime for browsers: loads an aekit bundle (URL or bytes) and runs it with onnxruntime-web on
 * `webgpu` or `wasm` (`auto`: WebGPU when a real adapter exists, else wasm). Same Codec API and
 * errors as the Node entry.
 */
import { type OrtWeb, WebCodec, type WebLoadOptions, type WebRuntime } from './codec-web.js';
import type { BundleBytes } from './codec.js';
import { lazyPeer } from './peer.js';

// onnxruntime-web is an optional peer dependency, imported on the first load (BackendError naming
// `npm i onnxruntime-web` when it is absent). Bundlers may split it into a chunk of its own.
const FULL: WebRuntime = {
  entry: '@aekit/runtime',
  loadOrt: lazyPeer('onnxruntime-web', (): Promise<OrtWeb> => import('onnxruntime-web')),
  webgpu: true,
  wasmFiles: 'ort-wasm-simd-threaded.jsep.mjs and .jsep.wasm',
};

export class Codec extends WebCodec {
  /**
   * Loads a bundle from its URL (the directory holding manifest.json, or the manifest's URL) or from
   * bytes, checks the manifest and every file's SHA-256, and starts sessions on the requested device.
   */
  static async load(bundle: string | URL | BundleBytes, options: WebLoadOptions = {}): Promise<Codec> {
    // `Codec.`, not `this.`: a detached `Codec.load` still works. loadOn constructs a Codec.
    return (await Codec.loadOn(FULL, bundle, options)) as Codec;
  }
}
export type { WebLoadOptions, WebLogLevel } from './codec-web.js';
export { WEB_DEVICES, webgpuUnavailableReason } from './device-web.js';
import { WEB_DEVICES } from './device-web.js';

/** Device names `Codec.load` accepts in browsers. */
export function deviceNames(): string[] {
  return [...WEB_DEVICES];
}
export type { WebDevice, WebExecutionProvider } from './device-web.js';
export { bundleBaseUrl, fetchBundle } from './fetch-web.js';
export type { FetchBundleOptions, FetchLike, FetchResponseLike, LoadProgress, ProgressCallback } from './fetch-web.js';
export { verifyBundle } from './codec.js';
export type { BundleBytes, LoadOptions, Rows, InputArray, RowsInput, SessionConfigEntries, SessionOptions, TensorLike } from './codec.js';
// The one aekit error hierarchy (core's): every error below is an AekitError with a stable `code`.
export { AekitError, BackendError, BundleError, DisposedError, IoError } from '@aekit/core';
export type { AekitErrorCode, AekitErrorOptions } from '@aekit/core';
export * from './compress/public.js';
export { BUNDLE_FORMAT, GRAPH_IO, GRAPH_NAMES, MANIFEST_FILE, SUPPORTED_FORMAT_VERSIONS, parseManifest, parseManifestText } from '@aekit/core';
export type { BundleFileEntry, BundleManifest, GraphName, IoDtype, Normalization, WeightsDtype } from '@aekit/core';
