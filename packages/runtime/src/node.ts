/**
 * @aekit/runtime for Node: loads an aekit bundle (directory or bytes) and runs it with
 * onnxruntime-node on `cpu`, `cuda` or `webgpu` (`auto`: cuda when it loads, else cpu).
 */
import { readBundleDir } from './bundle-node.js';
import { type BundleBytes, Codec as CodecCore, type LoadOptions } from './codec.js';
import { NODE_DEVICES, nodePlatform } from './devices-node.js';
import type { Platform } from './devices.js';
import { lazyPeer } from './peer.js';

// onnxruntime-node is an optional peer dependency, imported on the first load (BackendError naming
// `npm i onnxruntime-node` when it is absent); it satisfies core's structural OrtModule.
const platform = lazyPeer('onnxruntime-node', async (): Promise<Platform> => nodePlatform(await import('onnxruntime-node')));

export class Codec extends CodecCore {
  /**
   * Loads a bundle from a directory (or its manifest.json path) or from bytes, checks the manifest and
   * every file's SHA-256, and starts sessions on the requested device.
   */
  static async load(bundle: string | BundleBytes, options: LoadOptions = {}): Promise<Codec> {
    const bytes = typeof bundle === 'string' ? await readBundleDir(bundle) : bundle;
    return Codec.open(await platform(), bytes, options);
  }
}

/** Device names `Codec.load` accepts in Node. */
export function deviceNames(): string[] {
  return [...Object.keys(NODE_DEVICES), 'auto'];
}

export { readBundleDir } from './bundle-node.js';
export { verifyBundle } from './codec.js';
export type { BundleBytes, LoadOptions, Rows, InputArray, RowsInput, TensorLike } from './codec.js';
// The one aekit error hierarchy (core's): every error below is an AekitError with a stable `code`.
export { AekitError, BackendError, BundleError, DisposedError, IoError } from '@aekit/core';
export type { AekitErrorCode, AekitErrorOptions } from '@aekit/core';
export * from './compress/public.js';
export { BUNDLE_FORMAT, GRAPH_IO, GRAPH_NAMES, MANIFEST_FILE, SUPPORTED_FORMAT_VERSIONS, parseManifest, parseManifestText } from '@aekit/core';
export type { BundleFileEntry, BundleManifest, GraphName, IoDtype, Normalization, WeightsDtype } from '@aekit/core';
export type { Attempt, DeviceProvider, Platform } from './devices.js';
export type { OrtModule } from '@aekit/core';
