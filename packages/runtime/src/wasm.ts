/**
 * @aekit/runtime/wasm: the browser entry on onnxruntime-web's wasm-only build (`onnxruntime-web/wasm`),
 * whose `ort-wasm-simd-threaded.wasm` is half the size of the full build's WebGPU-capable
 * `.jsep.wasm` (docs/browser.md). Same Codec API and errors as `@aekit/runtime`; devices `wasm` and
 * `auto` (= wasm): `device: 'webgpu'` is a RangeError pointing at the full entry.
 */
import { type OrtWeb, WebCodec, type WebLoadOptions, type WebRuntime } from './codec-web.js';
import type { BundleBytes } from './codec.js';
import { lazyPeer } from './peer.js';

const WASM_ONLY: WebRuntime = {
  entry: '@aekit/runtime/wasm',
  // The same package (types and peer dependency) as the full build: only the entry file differs.
  loadOrt: lazyPeer('onnxruntime-web', (): Promise<OrtWeb> => import('onnxruntime-web/wasm')),
  webgpu: false,
  wasmFiles: 'ort-wasm-simd-threaded.mjs and .wasm',
};

/** Devices the wasm-only entry accepts. */
export const WASM_DEVICES = ['wasm', 'auto'] as const;
export type WasmDevice = (typeof WASM_DEVICES)[number];

export interface WasmLoadOptions extends Omit<WebLoadOptions, 'device'> {
  /** `wasm` or `auto` (the same here). `webgpu` needs the full entry, `@aekit/runtime`. */
  device?: WasmDevice;
}

export class Codec extends WebCodec {
  /**
   * Loads a bundle from its URL (the directory holding manifest.json, or the manifest's URL) or from
   * bytes, checks the manifest and every file's SHA-256, and starts sessions on onnxruntime-web's
   * wasm-only build.
   */
  static async load(bundle: string | URL | BundleBytes, options: WasmLoadOptions = {}): Promise<Codec> {
    // `Codec.`, not `this.`: a detached `Codec.load` still works. loadOn constructs a Codec.
    return (await Codec.loadOn(WASM_ONLY, bundle, options)) as Codec;
  }
}

/** Device names `Codec.load` accepts from this entry. */
export function deviceNames(): string[] {
  return [...WASM_DEVICES];
}

export type { WebLogLevel } from './codec-web.js';
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
