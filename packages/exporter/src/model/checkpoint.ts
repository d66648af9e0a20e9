/**
 * Reads an exportable model from its files (bytes in, no file system): an aekit checkpoint
 * (model.json + weights.bin + aekit.json, core checkpoint.ts) or any tfjs layers model (model.json +
 * its weight shards), whose encoder/decoder split is then named by the caller.
 */
import {
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  CheckpointError,
  ExportError,
  NORMALIZATION_KINDS,
  type Normalization,
  decodeLatentTables,
  describeSpec,
  sha256Hex,
  validateSpec,
} from '@aekit/core';
import type { LogVarHead } from '../onnx/graphs.js';
import type { DenseChain } from './chain.js';
import { parseJsonFile, parseLayersModel } from './layers-model.js';
import { type ModelPart, type SplitResult, splitChain, splitPart } from './split.js';
import { shardBytes } from './weights.js';

/** A model's files: name (as model.json's weightsManifest writes it) → bytes. */
export type CheckpointFiles = Readonly<Record<string, Uint8Array>>;

export interface ReadModelOptions {
  /**
   * Last layer of the encoder, for tfjs models without aekit.json: a layer name, a nested layer's
   * qualified name (`encoder/dense_1`) or a sub-model's name (after all of its layers). Default: the
   * first of the two sub-models of a model made of `[encoder, decoder]`.
   */
  splitAfter?: string;
  /**
   * Export one half only: `encoder` (data → latent: the model up to `splitAfter`, or all of it) or
   * `decoder` (latent → data: the model after `splitAfter`, or all of it). The bundle then holds that
   * graph alone and its manifest says which (`part`).
   */
  part?: ModelPart;
  /** Normalisation of a tfjs model without aekit.json (default `none`). */
  normalization?: Normalization;
}

export interface ExportableModel extends SplitResult {
  chain: DenseChain;
  normalization: Normalization;
  latentRange: { min: number[]; max: number[] };
  /** The checkpoint's metadata, when it is an aekit checkpoint. */
  meta?: CheckpointMeta;
  /** Name of the layer the model was split after; absent when a `part` export takes the whole model. */
  splitAfter?: string;
  /** The half exported, when the bundle holds one only. */
  part?: ModelPart;
  /** SHA-256 over model.json, the weight shards in manifest order, then aekit.json when present. */
  checkpointSha256: string;
  /** A VAE's log-variance head (aekit.json `vae`): from vae_head.bin, checked against its SHA-256, or from aekit.json in older checkpoints. */
  vaeHead?: LogVarHead;
  /** The entropy coder's tables (latent_tables.bin, hash and shape checked) of a finished aekit run. */
  latentTables?: Uint8Array;
}

/** latent_tables.bin when aekit.json lists it: its SHA-256 checked and its tables parsed for `latentDim` dimensions. */
async function readLatentTables(meta: CheckpointMeta, files: CheckpointFiles, latentDim: number): Promise<Uint8Array | undefined> {
  if (meta.latentTables === undefined) return undefined;
  const file = CHECKPOINT_FILES.latentTables;
  const bytes = files[file];
  if (bytes === undefined) throw new CheckpointError(`${file} is missing: aekit.json lists the entropy coder's tables in that file; copy the whole checkpoint directory`, { file });
  if ((await sha256Hex(bytes)) !== meta.latentTables.sha256) {
    throw new CheckpointError(`${file} does not match the SHA-256 recorded in aekit.json: the file was changed or replaced after training`, { file });
  }
  const tables = decodeLatentTables(bytes, file);
  if (tables.dims !== latentDim) {
    throw new CheckpointError(`${file} holds tables for ${tables.dims} latent dimensions, the model has ${latentDim}: the file belongs to another model`, { file });
  }
  return bytes;
}

/** A VAE checkpoint's log-variance head, from vae_head.bin (hash checked) or, in checkpoints written before it, aekit.json. */
async function readVaeHead(meta: CheckpointMeta, files: CheckpointFiles): Promise<LogVarHead | undefined> {
  const vae = meta.vae;
  if (vae === undefined) return undefined;
  const file = CHECKPOINT_FILES.vaeHead;
  if (vae.head === undefined) {
    if (vae.logVar === undefined) throw new CheckpointError('aekit.json: "vae" has neither "head" nor "logVar"; the checkpoint is damaged, train again', { file: CHECKPOINT_FILES.meta });
    return vae.logVar;
  }
  const bytes = files[file];
  if (bytes === undefined) throw new CheckpointError(`${file} is missing: aekit.json describes a VAE whose log-variance head is in that file; copy the whole checkpoint directory`, { file });
  if ((await sha256Hex(bytes)) !== vae.head.sha256) {
    throw new CheckpointError(`${file} does not match the SHA-256 recorded in aekit.json: the file was changed or replaced after training`, { file });
  }
  const { inputDim, units, tensors } = vae.head;
  const take = (name: string, n: number): Float32Array => {
    const t = tensors.find((e) => e.name === `latent_log_var/${name}`);
    if (t === undefined || t.offset < 0 || t.offset + 4 * n > bytes.length) {
      throw new CheckpointError(`${file}: tensor latent_log_var/${name} (${n} values) is not listed in aekit.json or runs past the file's ${bytes.length} bytes`, { file });
    }
    // A copy of its own: the bytes may be a Buffer view at any offset.
    return new Float32Array(Uint8Array.from(bytes.subarray(t.offset, t.offset + 4 * n)).buffer);
  };
  return { inputDim, units, kernel: take('kernel', inputDim * units), bias: take('bias', units) };
}

/** Checks a normalisation from JSON or from the caller (kinds, array lengths, finite values). */
export function checkNormalization(n: unknown, dim: number, where: string): Normalization {
  const v = n as Partial<Normalization & { min: unknown; max: unknown }> | null;
  if (!v || !(NORMALIZATION_KINDS as readonly string[]).includes(v.kind as string)) {
    throw new ExportError(`${where}: normalisation must be one of ${NORMALIZATION_KINDS.join(', ')}, got ${JSON.stringify(n)}`);
  }
  if (v.kind !== 'minmax') return { kind: v.kind! } as Normalization;
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length === dim && a.every((x) => Number.isFinite(x));
  if (!ok(v.min) || !ok(v.max)) {
    throw new ExportError(`${where}: minmax normalisation needs finite "min" and "max" arrays of ${dim} values (one per input column)`);
  }
  return { kind: 'minmax', min: [...v.min], max: [...v.max] };
}

function parseMeta(bytes: Uint8Array): CheckpointMeta {
  const meta = parseJsonFile(bytes, CHECKPOINT_FILES.meta) as unknown as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`aekit.json has format ${JSON.stringify(meta.format)}; expected "${CHECKPOINT_FORMAT}"`, { file: CHECKPOINT_FILES.meta });
  }
  if (meta.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      `aekit.json is checkpoint format version ${meta.formatVersion}; this exporter reads version ${CHECKPOINT_FORMAT_VERSION} (upgrade aekit)`,
      { file: CHECKPOINT_FILES.meta },
    );
  }
  if (typeof meta.encoderOutputLayer !== 'string') {
    throw new CheckpointError('aekit.json has no "encoderOutputLayer"', { file: CHECKPOINT_FILES.meta });
  }
  return meta;
}

function orderedFileNames(modelJson: Record<string, unknown>): string[] {
  const groups = Array.isArray(modelJson['weightsManifest']) ? (modelJson['weightsManifest'] as Array<{ paths?: unknown }>) : [];
  return groups.flatMap((g) => (Array.isArray(g.paths) ? (g.paths as string[]) : []));
}

/** Parses and checks a model's files, and splits it into encoder and decoder. */
export async function readExportableModel(files: CheckpointFiles, options: ReadModelOptions = {}): Promise<ExportableModel> {
  const modelBytes = files[CHECKPOINT_FILES.model];
  if (modelBytes === undefined) {
    throw new CheckpointError(`${CHECKPOINT_FILES.model} is missing: give a tfjs layers model or an aekit checkpoint`, {
      file: CHECKPOINT_FILES.model,
    });
  }
  const modelJson = parseJsonFile(modelBytes, CHECKPOINT_FILES.model);
  const metaBytes = files[CHECKPOINT_FILES.meta];
  const meta = metaBytes ? parseMeta(metaBytes) : undefined;
  if (meta) {
    const weights = files[CHECKPOINT_FILES.weights];
    // Without the hash nothing ties weights.bin to the run that wrote aekit.json: refuse rather than trust.
    if (typeof meta.weightsSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(meta.weightsSha256)) {
      throw new CheckpointError(
        `aekit.json has no valid "weightsSha256" (got ${JSON.stringify(meta.weightsSha256)}), so weights.bin cannot be checked; ` +
          'the checkpoint is damaged or was edited: train again (or export model.json alone with --split-after as a plain tfjs model)',
        { file: CHECKPOINT_FILES.meta },
      );
    }
    if (weights && (await sha256Hex(weights)) !== meta.weightsSha256) {
      throw new CheckpointError(
        `weights.bin does not match the SHA-256 recorded in aekit.json: the file was changed or replaced after training`,
        { file: CHECKPOINT_FILES.weights },
      );
    }
  }
  const vaeHead = meta ? await readVaeHead(meta, files) : undefined;
  const chain = parseLayersModel(modelJson, files);

  const part = options.part;
  if (part !== undefined && part !== 'encoder' && part !== 'decoder') {
    throw new ExportError(`part ${JSON.stringify(part)} is not one of encoder, decoder`);
  }
  let splitAfter: string | undefined;
  if (meta) {
    if (options.splitAfter !== undefined && options.splitAfter !== meta.encoderOutputLayer) {
      throw new ExportError(
        `the checkpoint records its encoder's last layer ("${meta.encoderOutputLayer}"); --split-after "${options.splitAfter}" ` +
          'is for tfjs models without aekit.json',
      );
    }
    splitAfter = meta.encoderOutputLayer;
  } else if (options.splitAfter !== undefined) splitAfter = options.splitAfter;
  else if (chain.defaultSplitAfter !== undefined) splitAfter = chain.defaultSplitAfter;
  else if (part === undefined) {
    throw new ExportError(
      `no aekit.json next to model.json, so the encoder's last layer is unknown; name it with --split-after LAYER ` +
        `(layers: ${chain.layerNames.join(', ')}), or export an encoder or decoder on its own with --part encoder|decoder`,
    );
  }
  // The whole autoencoder, split: what an aekit checkpoint's spec is checked against.
  const whole = part === undefined || meta ? splitChain(chain, splitAfter!) : undefined;
  const split = part === undefined ? whole! : splitPart(chain, part, splitAfter);

  let normalization: Normalization;
  let latentRange = { min: [] as number[], max: [] as number[] };
  if (meta) {
    let recorded;
    try {
      recorded = validateSpec(meta.spec);
    } catch (e) {
      throw new CheckpointError(`aekit.json: ${(e as Error).message}`, { file: CHECKPOINT_FILES.meta, cause: e });
    }
    // describeSpec names every layer's kind, width, kernel, stride, activation and the image / latent shapes.
    const found = whole!.spec;
    if (found === undefined || describeSpec(recorded) !== describeSpec(found)) {
      throw new CheckpointError(
        `model.json (${found ? describeSpec(found) : whole!.layers}) does not match the spec in aekit.json (${describeSpec(recorded)})`,
        { file: CHECKPOINT_FILES.meta },
      );
    }
    normalization = checkNormalization(meta.normalization, split.inputDim, 'aekit.json');
    const r = meta.latentRange;
    if (r && Array.isArray(r.min) && Array.isArray(r.max)) {
      if (r.min.length !== split.latentDim || r.max.length !== split.latentDim) {
        throw new CheckpointError(`aekit.json: latentRange has ${r.min.length}/${r.max.length} values for a latent of ${split.latentDim}`, {
          file: CHECKPOINT_FILES.meta,
        });
      }
      for (let d = 0; d < split.latentDim; d++) {
        const lo: unknown = r.min[d];
        const hi: unknown = r.max[d];
        if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
          throw new CheckpointError(
            `aekit.json: latentRange of latent dimension ${d + 1} is [${JSON.stringify(lo)}, ${JSON.stringify(hi)}]; it must be two finite ` +
              'numbers with min <= max (the checkpoint is damaged or was edited: train again)',
            { file: CHECKPOINT_FILES.meta },
          );
        }
      }
      latentRange = { min: [...r.min], max: [...r.max] };
    }
  } else normalization = checkNormalization(options.normalization ?? { kind: 'none' }, split.inputDim, 'normalization option');

  // The entropy tables serve compress, which needs both halves: a part bundle goes without them.
  const latentTables = meta && part === undefined ? await readLatentTables(meta, files, split.latentDim) : undefined;
  const hashed = [modelBytes, ...orderedFileNames(modelJson).map((p) => shardBytes(files, p)!), ...(metaBytes ? [metaBytes] : [])];
  return {
    ...split,
    chain,
    normalization,
    latentRange,
    ...(meta ? { meta } : {}),
    // A decoder alone has no log-variance head to run.
    ...(vaeHead && part !== 'decoder' ? { vaeHead } : {}),
    ...(latentTables ? { latentTables } : {}),
    ...(splitAfter !== undefined ? { splitAfter } : {}),
    ...(part !== undefined ? { part } : {}),
    checkpointSha256: await sha256Hex(...hashed),
  };
}
