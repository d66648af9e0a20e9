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
import { sha256Hex } from './hash.js';
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
  /** Optional: the entropy coder's tables (manifest `files.latentTables`). */
  latentTables: 'latent_tables.bin',
  manifest: 'manifest.json',
} as const;
export const MANIFEST_FILE = BUNDLE_FILES.manifest;
export const GRAPH_NAMES = ['encoder', 'decoder', 'autoencoder'] as const;
/** The manifest `files` key of the optional entropy tables (file `latent_tables.bin`). */
export const LATENT_TABLES_KEY = 'latentTables';

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

/** The halves a bundle may hold on its own (manifest `part`): data → latent, or latent → data. */
export const BUNDLE_PARTS = ['encoder', 'decoder'] as const;
export type BundlePart = (typeof BUNDLE_PARTS)[number];

/** The graphs a bundle holds: all three, or only its `part`'s graph. */
export function bundleGraphs(manifest: Pick<BundleManifest, 'part'>): readonly GraphName[] {
  return manifest.part === undefined ? GRAPH_NAMES : [manifest.part];
}
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
  /**
   * Set when the bundle holds one half only (`aekit export --part`): `encoder` (x → z) or `decoder`
   * (z → x_hat); `files` then lists that graph alone (see bundleGraphs). Absent for a whole bundle.
   * inputDim / inputShape always describe data rows and latentDim / latentShape latents.
   */
  part?: BundlePart;
  inputDim: number;
  latentDim: number;
  /**
   * The image one input row holds, [height, width, channels] (row-major HWC, product inputDim), for
   * models that take images; absent for plain vectors and in bundles written before it existed.
   */
  inputShape?: [number, number, number];
  /**
   * A spatial latent's shape [height, width, channels] (z rows are row-major HWC, product latentDim),
   * e.g. for per-channel entropy coding; absent for vector latents.
   */
  latentShape?: [number, number, number];
  inputDtype: IoDtype;
  outputDtype: IoDtype;
  weights: WeightsDtype;
  normalization: Normalization;
  /**
   * Per-dimension latent range over the training set, from the checkpoint; two empty arrays when it
   * was never measured (a foreign tfjs model exported without aekit.json).
   */
  latentRange: { min: number[]; max: number[] };
  /**
   * The three graphs, and optionally `latentTables` (`latent_tables.bin`: the entropy coder's
   * per-dimension frequency tables, core's encodeLatentTables format), checked like the graphs.
   * A `part` bundle lists only its part's graph: iterate bundleGraphs(manifest), not GRAPH_NAMES.
   */
  files: Record<GraphName, BundleFileEntry> & { latentTables?: BundleFileEntry };
  /** The checkpoint the bundle was exported from and its model spec. */
  source: {
    checkpointSha256: string;
    /** The model spec; absent for foreign models a spec cannot express (pooling, upsampling, …), which have `layers`. */
    spec?: ModelSpec;
    /** One line describing every layer, for models without a spec (e.g. `28×28×1 → conv 8 3×3/1×1 same → relu → maxpool … → [latent 7×7×8] → …`). */
    layers?: string;
  };
  createdAt: string;
  /**
   * Ties the graphs to this manifest: every graph's ONNX metadata_props `bundle_id` holds the same
   * value (a SHA-256 of the checkpoint hash and the export options). Absent in bundles written before
   * it existed.
   */
  bundleId?: string;
  /** SHA-256 per field group of the fields that change numbers (FINGERPRINT_GROUPS); absent in older bundles. */
  fingerprint?: ManifestFingerprint;
}

const IO_DTYPES: readonly string[] = ['float32', 'uint8'];
const WEIGHTS_DTYPES: readonly string[] = ['float32', 'float16', 'int8'];
/** Largest inputDim / latentDim a manifest may declare (guards allocations sized from them). */
export const MAX_MANIFEST_DIM = 1 << 24;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The manifest's field groups covered by its fingerprint (`fingerprint.<group>` is the SHA-256 of the
 * group's canonical JSON): every field that changes the numbers a bundle produces.
 * - `model`: bundleId, variant, part, inputDim, latentDim, inputDtype, outputDtype, weights, opset,
 *   source.checkpointSha256
 * - `normalization`, `latentRange`: those fields
 * - `files`: every file entry (path, sha256, bytes), latentTables included
 */
export const FINGERPRINT_GROUPS = ['model', 'normalization', 'latentRange', 'files'] as const;
export type FingerprintGroup = (typeof FINGERPRINT_GROUPS)[number];
export type ManifestFingerprint = Record<FingerprintGroup, string>;

/** JSON with object keys sorted at every level: the canonical form hashed by the fingerprint. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function fingerprintParts(m: BundleManifest): Record<FingerprintGroup, unknown> {
  return {
    model: {
      bundleId: m.bundleId,
      variant: m.variant,
      part: m.part,
      inputDim: m.inputDim,
      latentDim: m.latentDim,
      inputShape: m.inputShape,
      latentShape: m.latentShape,
      inputDtype: m.inputDtype,
      outputDtype: m.outputDtype,
      weights: m.weights,
      opset: m.opset,
      checkpointSha256: m.source?.checkpointSha256,
    },
    normalization: m.normalization,
    latentRange: m.latentRange,
    files: m.files,
  };
}

/** The fingerprint of a manifest's current fields (the exporter writes it; `fingerprint` itself is ignored). */
export async function computeManifestFingerprint(m: BundleManifest): Promise<ManifestFingerprint> {
  const parts = fingerprintParts(m);
  const enc = new TextEncoder();
  const out = {} as ManifestFingerprint;
  for (const g of FINGERPRINT_GROUPS) out[g] = await sha256Hex(enc.encode(`aekit-manifest-${g}:${canonicalJson(parts[g])}`));
  return out;
}

/**
 * Checks a manifest's fingerprint against its fields: BundleError naming the first group that differs
 * (the manifest was edited after export). A manifest without a fingerprint (written before it existed)
 * passes: the runtime then relies on the per-file hashes and the graphs' own metadata.
 */
export async function checkManifestFingerprint(m: BundleManifest, where: string = MANIFEST_FILE): Promise<void> {
  if (m.fingerprint === undefined) return;
  const actual = await computeManifestFingerprint(m);
  for (const g of FINGERPRINT_GROUPS) {
    if (actual[g] !== m.fingerprint[g]) {
      throw new BundleError(
        `${where}: the fields of group "${g}" (${FINGERPRINT_FIELDS[g]}) do not match the manifest's fingerprint: ` +
          'the manifest was edited after export; re-export the bundle',
        { file: where },
      );
    }
  }
}

const FINGERPRINT_FIELDS: Record<FingerprintGroup, string> = {
  model: 'bundleId, variant, part, inputDim, latentDim, inputShape, latentShape, inputDtype, outputDtype, weights, opset, source.checkpointSha256',
  normalization: 'normalization',
  latentRange: 'latentRange',
  files: 'files: every path, sha256 and size',
};

/**
 * The one manifest check (the runtime's, before any session starts): takes an untrusted, already
 * JSON-parsed manifest and returns it typed. Throws a BundleError that names the field (and the
 * 1-based index in arrays) and what was expected. `where` names the manifest in messages (a path or
 * "bytes"). Fields the runtime does not need (producer, source.spec, createdAt, …) are passed through
 * unchecked, so older bundles still load; the fingerprint (when present) is checked separately
 * (checkManifestFingerprint, async).
 *
 * Minmax normalisation: each column's min must be <= its max; min == max is a constant column, which
 * the graphs map to 0 (scale 0, core normalization.ts toAffine) and back to min.
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
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_MANIFEST_DIM) {
      fail(`${key} must be an integer from 1 to ${MAX_MANIFEST_DIM}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const oneOf = (key: string, valid: readonly string[]): string => {
    const v = m[key];
    if (typeof v !== 'string' || !valid.includes(v)) fail(`${key} must be one of ${valid.join(', ')}, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const inputDim = dim('inputDim');
  const latentDim = dim('latentDim');
  /** An optional [height, width, channels] whose product must be the dimension it describes. */
  const shape3 = (key: string, n: number): void => {
    const v = m[key];
    if (v === undefined) return;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1)) {
      fail(`${key} must be [height, width, channels] (three positive integers), got ${JSON.stringify(v)}`);
    }
    const [h, w, c] = v as number[];
    if (h! * w! * c! !== n) fail(`${key} ${h}×${w}×${c} holds ${h! * w! * c!} values but the manifest's ${key === 'inputShape' ? 'inputDim' : 'latentDim'} is ${n}`);
  };
  shape3('inputShape', inputDim);
  shape3('latentShape', latentDim);
  oneOf('inputDtype', IO_DTYPES);
  oneOf('outputDtype', IO_DTYPES);
  if (m['weights'] !== undefined) oneOf('weights', WEIGHTS_DTYPES);
  if (m['variant'] !== undefined) oneOf('variant', ['ae', 'vae']);
  const opset = m['opset'];
  if (opset !== undefined && (typeof opset !== 'number' || !Number.isInteger(opset) || opset < 1)) {
    fail(`opset must be a positive integer, got ${JSON.stringify(opset)}`);
  }
  const part = m['part'];
  if (part !== undefined) oneOf('part', BUNDLE_PARTS);
  const graphs = bundleGraphs({ part: part as BundlePart | undefined });
  const files = m['files'];
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    fail(`files must be an object with ${graphs.join(', ')} entries`);
  }
  for (const g of GRAPH_NAMES) {
    if (!graphs.includes(g) && (files as Record<string, unknown>)[g] !== undefined) {
      fail(`files.${g} is listed but the bundle holds the ${String(part)} only (part "${String(part)}"): the manifest was edited`);
    }
  }
  const optional = (files as Record<string, unknown>)[LATENT_TABLES_KEY] === undefined ? [] : [LATENT_TABLES_KEY];
  const paths = new Set<string>();
  for (const g of [...graphs, ...optional]) {
    const e = (files as Record<string, unknown>)[g] as Record<string, unknown> | undefined;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) fail(`files.${g} is ${e === undefined ? 'missing' : 'not an object'}`);
    const entry = e as Record<string, unknown>;
    const path = entry['path'];
    if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split(/[\\/]/).includes('..')) {
      fail(`files.${g}.path must be a file name inside the bundle, got ${JSON.stringify(path)}`);
    }
    if (paths.has(path as string) || path === MANIFEST_FILE) fail(`files.${g}.path ${JSON.stringify(path)} names a file listed twice`);
    paths.add(path as string);
    if (typeof entry['sha256'] !== 'string' || !HEX64.test(entry['sha256'])) {
      fail(`files.${g}.sha256 must be 64 lowercase hex digits, got ${JSON.stringify(entry['sha256'])}`);
    }
    const bytes = entry['bytes'];
    if (bytes !== undefined && (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0)) {
      fail(`files.${g}.bytes must be a non-negative integer, got ${JSON.stringify(bytes)}`);
    }
  }
  /** An array of `n` finite numbers, else a failure naming the first bad element (1-based). */
  const finiteArray = (field: string, a: unknown, n: number): number[] => {
    if (!Array.isArray(a)) fail(`${field} must be an array of ${n} numbers, got ${a === null ? 'null' : typeof a}`);
    const arr = a as unknown[];
    if (arr.length !== n) fail(`${field} must hold ${n} numbers, got ${arr.length}`);
    arr.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${field}[${i + 1}] (1-based) must be a finite number, got ${JSON.stringify(x)}`);
    });
    return arr as number[];
  };
  /** min[i] <= max[i] for every i (1-based in the message). */
  const ordered = (field: string, min: number[], max: number[]): void => {
    min.forEach((lo, i) => {
      if (!(lo <= max[i]!)) fail(`${field}.min[${i + 1}] = ${lo} is above ${field}.max[${i + 1}] = ${max[i]} (1-based index)`);
    });
  };
  const range = m['latentRange'];
  if (range !== undefined) {
    if (typeof range !== 'object' || range === null || Array.isArray(range)) fail('latentRange must be an object with min and max arrays');
    const r = range as { min?: unknown; max?: unknown };
    const empty = Array.isArray(r.min) && r.min.length === 0 && Array.isArray(r.max) && r.max.length === 0;
    if (!empty) {
      ordered('latentRange', finiteArray('latentRange.min', r.min, latentDim), finiteArray('latentRange.max', r.max, latentDim));
    }
  }
  const norm = m['normalization'];
  if (norm !== undefined) {
    if (typeof norm !== 'object' || norm === null || Array.isArray(norm)) fail('normalization must be an object with a kind');
    const n = norm as { kind?: unknown; min?: unknown; max?: unknown };
    if (n.kind !== 'scale255' && n.kind !== 'minmax' && n.kind !== 'none') {
      fail(`normalization.kind must be scale255, minmax or none, got ${JSON.stringify(n.kind)}`);
    }
    if (n.kind === 'minmax') {
      ordered('normalization', finiteArray('normalization.min', n.min, inputDim), finiteArray('normalization.max', n.max, inputDim));
    }
  }
  const source = m['source'];
  if (source !== undefined) {
    if (typeof source !== 'object' || source === null || Array.isArray(source)) fail('source must be an object');
    const layers = (source as Record<string, unknown>)['layers'];
    if (layers !== undefined && (typeof layers !== 'string' || layers === '')) fail(`source.layers must be a non-empty string, got ${JSON.stringify(layers)}`);
    const sha = (source as Record<string, unknown>)['checkpointSha256'];
    if (sha !== undefined && (typeof sha !== 'string' || !HEX64.test(sha))) {
      fail(`source.checkpointSha256 must be 64 lowercase hex digits, got ${JSON.stringify(sha)}`);
    }
  }
  const id = m['bundleId'];
  if (id !== undefined && (typeof id !== 'string' || !HEX64.test(id))) fail(`bundleId must be 64 lowercase hex digits, got ${JSON.stringify(id)}`);
  const fp = m['fingerprint'];
  if (fp !== undefined) {
    if (typeof fp !== 'object' || fp === null || Array.isArray(fp)) fail('fingerprint must be an object');
    for (const g of FINGERPRINT_GROUPS) {
      const v = (fp as Record<string, unknown>)[g];
      if (typeof v !== 'string' || !HEX64.test(v)) fail(`fingerprint.${g} must be 64 lowercase hex digits, got ${JSON.stringify(v)}`);
    }
  }
  // The id ties the graphs to the manifest and the fingerprint protects it: one without the other is an edit.
  if ((id === undefined) !== (fp === undefined)) {
    fail(`${id === undefined ? 'bundleId' : 'fingerprint'} is missing while ${id === undefined ? 'fingerprint' : 'bundleId'} is present: the manifest was edited`);
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
