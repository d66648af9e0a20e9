/**
 * @aekit/runtime for Node: loads an aekit bundle (directory or bytes) and runs it with
 * onnxruntime-node on `cpu`, `cuda` or `webgpu` (`auto`: cuda when it loads, else cpu).
 */
import { readBundleSource } from './bundle-node.js';
import { type BundleBytes, Codec as CodecCore, type LoadOptions, checkSessionOptions } from './codec.js';
import { NODE_DEVICES, nodePlatform } from './devices-node.js';
import type { Platform } from './devices.js';
import { lazyPeer } from './peer.js';

// onnxruntime-node is an optional peer dependency, imported on the first load (BackendError naming
// `npm i onnxruntime-node` when it is absent); it satisfies core's structural OrtModule.
const platform = lazyPeer('onnxruntime-node', async (): Promise<Platform> => nodePlatform(await import('onnxruntime-node')));

export class Codec extends CodecCore {
  /**
   * Loads a bundle, checks the manifest and every file's SHA-256, and starts sessions on the requested
   * device. `bundle`: a directory (or its manifest.json path); a `file:` URL of either (string or URL
   * object); an `http:`/`https:` URL of the bundle directory or its manifest.json (downloaded with
   * `options.fetch` or the global fetch: the manifest first, then the files it lists); or bytes.
   */
  static async load(bundle: string | URL | BundleBytes, options: LoadOptions = {}): Promise<Codec> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    checkSessionOptions(options.sessionOptions); // before any download (Codec.open checks the rest)
    const bytes = await readBundleSource(bundle, options);
    return Codec.open(await platform(), bytes, options);
  }
}

/** Device names `Codec.load` accepts in Node. */
export function deviceNames(): string[] {
  return [...Object.keys(NODE_DEVICES), 'auto'];
}

export { readBundleDir } from './bundle-node.js';
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
export type { Attempt, DeviceProvider, Platform } from './devices.js';
export type { OrtModule } from '@aekit/core';
// Worker pool (pool/): a Codec whose sessions run in worker threads (docs/scale.md).
export { CodecPool } from './pool/pool-node.js';
export type { CompressFileStream, PoolOptions, RowFile } from './pool/pool-node.js';
export { RemoteCodec } from './pool/remote.js';
