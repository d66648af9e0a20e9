/**
 * The bundle manifest (`manifest.json`) the exporter writes and the runtime reads, its one parser, and
 * the names of the graphs' inputs and outputs: the bundle contract every aekit stage shares
 * (docs/bundle.md documents it).
 *
 * Graph I/O (GRAPH_IO): encoder `x` → `z`, decoder `z` → `x_hat`, autoencoder `x` → `x_hat`, batch
 * dim `batch`. Graphs take and return data in raw units (what the data file holds): the normalisation
 * recorded here is applied inside the graphs, so callers never normalise by hand.
 */
import { BundleError } from './errors.js';
import type { Normalization } from './normalization.js';
import type { ModelSpec } from './spec.js';

export const BUNDLE_FORMAT = 'aekit-bundle';
/** The manifest format version the exporter writes. */
export const BUNDLE_FORMAT_VERSION = 1;
/** Manifest format versions the parser (and so the runtime) reads. */
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [BUNDLE_FORMAT_VERSION];
export const BUNDLE_FILES = {
  encoder: 'encoder.onnx',
  decoder: 'decoder.onnx',
  autoencoder: 'autoencoder.onnx',
  manifest: 'manifest.json',
} as const;
export const MANIFEST_FILE = BUNDLE_FILES.manifest;
export const GRAPH_NAMES = ['encoder', 'decoder', 'autoencoder'] as const;

/**
 * Names of the graphs' inputs, outputs and dynamic batch dimension. They are part of the on-disk
 * format: bundles already written use these names, so they must never change.
 */
export const GRAPH_IO = {
  /** Encoder and autoencoder input: rows in raw units, `[batch, inputDim]`. */
  x: 'x',
  /** Encoder output and decoder input: latent codes, `[batch, latentDim]` float32. */
  z: 'z',
  /** Decoder and autoencoder output: reconstructed rows in raw units, `[batch, inputDim]`. */
  xHat: 'x_hat',
  /**
   * Optional encoder / autoencoder output of float32 graphs: the sum of the first layer's
   * pre-activations, finite only if every input value is (the runtime's NaN/Infinity check).
   */
  xCheck: 'x_check',
  /** A VAE encoder's mean output (used as the latent code, in place of `z`). */
  zMean: 'z_mean',
  /** A VAE encoder's log-variance output. */
  zLogVar: 'z_log_var',
  /** The dynamic batch dimension of every input and output. */
  batch: 'batch',
} as const;

export type GraphName = (typeof GRAPH_NAMES)[number];
export type IoDtype = 'float32' | 'uint8';
export type WeightsDtype = 'float32' | 'float16' | 'int8';

export interface BundleFileEntry {
  path: string;
  sha256: string;
  bytes: number;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  producer: string;
  aekitVersion: string;
  opset: number;
  /** 'ae' for a plain autoencoder; 'vae' when the encoder outputs z_mean and z_log_var. */
  variant: 'ae' | 'vae';
  inputDim: number;
  latentDim: number;
  inputDtype: IoDtype;
  outputDtype: IoDtype;
  weights: WeightsDtype;
  normalization: Normalization;
  /**
   * Per-dimension latent range over the training set, from the checkpoint; two empty arrays when it
   * was never measured (a foreign tfjs model exported without aekit.json).
   */
  latentRange: { min: number[]; max: number[] };
  files: Record<GraphName, BundleFileEntry>;
  /** The checkpoint the bundle was exported from and its model spec. */
  source: { checkpointSha256: string; spec: ModelSpec };
  createdAt: string;
}

const IO_DTYPES: readonly string[] = ['float32', 'uint8'];
const WEIGHTS_DTYPES: readonly string[] = ['float32', 'float16', 'int8'];

/**
 * The one manifest check (the runtime's, before any session starts): takes an untrusted, already
 * JSON-parsed manifest and returns it typed. Throws a BundleError that names the field and what was
 * expected. `where` names the manifest in messages (a path or "bytes"). Fields the runtime does not
 * need (producer, opset, source.spec, …) are passed through unchecked, so older bundles still load.
 */
export function parseManifest(input: unknown, where: string = MANIFEST_FILE): BundleManifest {
  const fail = (what: string): never => {
    throw new BundleError(`${where}: ${what}`, { file: where });
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('the manifest must be a JSON object');
  const m = input as Record<string, unknown>;
  if (m['format'] !== BUNDLE_FORMAT) {
    fail(`format is ${JSON.stringify(m['format'])}, expected "${BUNDLE_FORMAT}": this is not an aekit bundle manifest`);
  }
  const version = m['formatVersion'];
  if (typeof version !== 'number' || !SUPPORTED_FORMAT_VERSIONS.includes(version)) {
    fail(
      `formatVersion ${JSON.stringify(version)} is not supported by this runtime (it reads ` +
        `${SUPPORTED_FORMAT_VERSIONS.join(', ')}); re-export the bundle with a matching aekit or upgrade @aekit/runtime`,
    );
  }
  const dim = (key: string): number => {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const oneOf = (key: string, valid: readonly string[]): string => {
    const v = m[key];
    if (typeof v !== 'string' || !valid.includes(v)) fail(`${key} must be one of ${valid.join(', ')}, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const inputDim = dim('inputDim');
  const latentDim = dim('latentDim');
  oneOf('inputDtype', IO_DTYPES);
  oneOf('outputDtype', IO_DTYPES);
  if (m['weights'] !== undefined) oneOf('weights', WEIGHTS_DTYPES);
  if (m['variant'] !== undefined) oneOf('variant', ['ae', 'vae']);
  const files = m['files'];
  if (typeof files !== 'object' || files === null) fail('files must be an object with encoder, decoder and autoencoder entries');
  for (const g of GRAPH_NAMES) {
    const e = (files as Record<string, unknown>)[g] as Record<string, unknown> | undefined;
    if (typeof e !== 'object' || e === null) fail(`files.${g} is missing`);
    const entry = e as Record<string, unknown>;
    const path = entry['path'];
    if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split(/[\\/]/).includes('..')) {
      fail(`files.${g}.path must be a file name inside the bundle, got ${JSON.stringify(path)}`);
    }
    if (typeof entry['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(entry['sha256'])) {
      fail(`files.${g}.sha256 must be 64 lowercase hex digits, got ${JSON.stringify(entry['sha256'])}`);
    }
    const bytes = entry['bytes'];
    if (bytes !== undefined && (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0)) {
      fail(`files.${g}.bytes must be a non-negative integer, got ${JSON.stringify(bytes)}`);
    }
  }
  const range = m['latentRange'] as { min?: unknown; max?: unknown } | undefined;
  if (range !== undefined) {
    const ok = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number');
    const unmeasured = ok(range.min, 0) && ok(range.max, 0);
    if (!unmeasured && (!ok(range.min, latentDim) || !ok(range.max, latentDim))) {
      fail(`latentRange.min and .max must be arrays of ${latentDim} numbers (or both empty when not measured)`);
    }
  }
  const norm = m['normalization'] as { kind?: unknown; min?: unknown; max?: unknown } | undefined;
  if (norm !== undefined) {
    if (norm.kind !== 'scale255' && norm.kind !== 'minmax' && norm.kind !== 'none') {
      fail(`normalization.kind must be scale255, minmax or none, got ${JSON.stringify(norm.kind)}`);
    }
    if (norm.kind === 'minmax') {
      const ok = (a: unknown) => Array.isArray(a) && a.length === inputDim;
      if (!ok(norm.min) || !ok(norm.max)) fail(`normalization minmax needs min and max arrays of ${inputDim} numbers`);
    }
  }
  return m as unknown as BundleManifest;
}

/** Parses manifest bytes or text (UTF-8 JSON), naming the byte offset of a syntax error. */
export function parseManifestText(text: string | Uint8Array, where: string = MANIFEST_FILE): BundleManifest {
  const s = typeof text === 'string' ? text : new TextDecoder().decode(text);
  let json: unknown;
  try {
    json = JSON.parse(s);
  } catch (e) {
    throw new BundleError(`${where} is not valid JSON (${(e as Error).message}); re-export the bundle`, { file: where, cause: e });
  }
  return parseManifest(json, where);
}
