/**
 * Writing and reading aekit checkpoints (layout: core's checkpoint.ts; model.json and weights.bin
 * through core's writeLayersModel / readLayersModel, without tfjs). Written into a temporary
 * sibling directory and renamed into place, so a crash or error never leaves a half checkpoint.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CheckpointError,
  type CheckpointMeta,
  type ModelSpec,
  type TensorEntry,
  readLayersModel,
  sha256Hex,
  validateSpec,
  writeLayersModel,
} from '@aekit/core';
import type { AdamState, ParamSet } from '../engine.js';
import { LOG_VAR_LAYER } from '../variants/vae-math.js';
import { writeDirAtomic } from '@aekit/data';
import { decodeParamsAndMoments, encodeParamsAndMoments } from './best.js';
import { recoverCheckpointDir, removeStaleTemps, syncDir, writeFileSynced } from './durable.js';
import { decodeHead, encodeHead, splitHead } from './vae-head.js';
import { decodeDensity, encodeDensity, splitDensity } from './density.js';

/** Adam moments as one float32 buffer plus its TensorEntry table (`<dense>/kernel/m`, …). */
export function encodeOptimizer(opt: AdamState): { bytes: Uint8Array; tensors: TensorEntry[] } {
  const tensors: TensorEntry[] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], values: Float32Array) => {
    tensors.push({ name, shape, offset });
    parts.push(values);
    offset += values.byteLength;
  };
  for (const [key, set] of [
    ['m', opt.m],
    ['v', opt.v],
  ] as const) {
    for (const p of set) {
      add(`${p.name}/kernel/${key}`, [p.inputDim, p.units], p.kernel);
      add(`${p.name}/bias/${key}`, [p.units], p.bias);
    }
  }
  const bytes = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  return { bytes, tensors };
}

export interface CheckpointContents {
  /** Metadata without weightsSha256 / optimizer / encoderOutputLayer (filled in when writing). */
  meta: Omit<CheckpointMeta, 'weightsSha256' | 'optimizer'>;
  /**
   * The spec's dense layers; a VAE (meta.vae set) appends its `latent_log_var` head (→ vae_head.bin), a
   * rate model (meta.rate set) its `latent_density` (→ density.bin).
   */
  params: ParamSet;
  optimizer?: AdamState;
  /** Best epoch's state of an unfinished run with early stopping (best.bin); needs meta.earlyStopping. */
  best?: { params: ParamSet; optimizer: AdamState };
  /** latent_tables.bin (core's encodeLatentTables) of a finished run. */
  latentTables?: Uint8Array;
}

/** Writes a checkpoint directory atomically and returns the metadata written to aekit.json. */
export async function writeCheckpoint(dir: string, c: CheckpointContents): Promise<CheckpointMeta> {
  const { rest, density } = splitDensity(c.params);
  const { dense, head } = splitHead(c.meta.spec, rest);
  const { modelJson, weights } = writeLayersModel(c.meta.spec, dense);
  const meta: CheckpointMeta = { ...c.meta, weightsSha256: await sha256Hex(weights) };
  let headBytes: Uint8Array | undefined;
  if ((head === undefined) !== (meta.vae === undefined)) throw new Error('writeCheckpoint: a VAE needs both meta.vae and the latent_log_var head');
  if (head !== undefined && meta.vae !== undefined) {
    const enc = encodeHead(head);
    headBytes = enc.bytes;
    // The head lives in vae_head.bin, hashed; the JSON copy of older checkpoints is not written.
    const { logVar: _json, ...vae } = meta.vae;
    meta.vae = { ...vae, head: { inputDim: head.inputDim, units: head.units, tensors: enc.tensors, sha256: await sha256Hex(enc.bytes) } };
  }
  let densityBytes: Uint8Array | undefined;
  if ((density === undefined) !== (meta.rate === undefined)) throw new Error('writeCheckpoint: a rate model needs both meta.rate and the latent_density state');
  if (density !== undefined && meta.rate !== undefined) {
    const enc = encodeDensity(density);
    densityBytes = enc.bytes;
    meta.rate = { ...meta.rate, density: { units: density.units, tensors: enc.tensors, sha256: await sha256Hex(enc.bytes) } };
  }
  let optimizerBytes: Uint8Array | undefined;
  if (c.optimizer !== undefined) {
    const enc = encodeOptimizer(c.optimizer);
    optimizerBytes = enc.bytes;
    meta.optimizer = { step: c.optimizer.step, tensors: enc.tensors, sha256: await sha256Hex(enc.bytes) };
  }
  let bestBytes: Uint8Array | undefined;
  if (c.best !== undefined && meta.earlyStopping !== undefined) {
    bestBytes = encodeParamsAndMoments(c.best.params, c.best.optimizer);
    meta.earlyStopping = { ...meta.earlyStopping, bestStep: c.best.optimizer.step, bestSha256: await sha256Hex(bestBytes) };
  }
  if (c.latentTables !== undefined) meta.latentTables = { sha256: await sha256Hex(c.latentTables), bytes: c.latentTables.length };
  // A run killed between the two renames of writeDirAtomic leaves the checkpoint under a temporary
  // name: put it back before replacing it; leftovers of a run killed while filling are dropped.
  await recoverCheckpointDir(dir);
  await removeStaleTemps(dir);
  // Each file is flushed to disk before the rename, and the parent after it, so a power cut leaves
  // the old checkpoint or the new one, never a mix.
  await writeDirAtomic(dir, async (tmp) => {
    await writeFileSynced(join(tmp, CHECKPOINT_FILES.model), modelJson);
    await writeFileSynced(join(tmp, CHECKPOINT_FILES.weights), weights);
    if (headBytes !== undefined) await writeFileSynced(join(tmp, CHECKPOINT_FILES.vaeHead), headBytes);
    if (densityBytes !== undefined) await writeFileSynced(join(tmp, CHECKPOINT_FILES.density), densityBytes);
    if (optimizerBytes !== undefined) await writeFileSynced(join(tmp, CHECKPOINT_FILES.optimizer), optimizerBytes);
    if (bestBytes !== undefined) await writeFileSynced(join(tmp, CHECKPOINT_FILES.best), bestBytes);
    if (c.latentTables !== undefined) await writeFileSynced(join(tmp, CHECKPOINT_FILES.latentTables), c.latentTables);
    await writeFileSynced(join(tmp, CHECKPOINT_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
  });
  await syncDir(dir);
  return meta;
}

export interface LoadedCheckpoint {
  dir: string;
  meta: CheckpointMeta;
  /**
   * The spec's dense layers, then a VAE's `latent_log_var` head (from vae_head.bin, or aekit.json in
   * older checkpoints) or a rate model's `latent_density` (from density.bin).
   */
  params: ParamSet;
  /** Present when the checkpoint holds optimizer.bin. */
  optimizer?: AdamState;
  /** Best epoch's state of an unfinished run with early stopping (best.bin). */
  best?: { params: ParamSet; optimizer: AdamState };
}

/**
 * Reads a checkpoint for --resume (or inspection). Refuses a directory that is not a checkpoint, and one
 * whose weights.bin does not match the hash in aekit.json, with a CheckpointError saying what to do.
 */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const fail = (msg: string, file = dir, cause?: unknown): never => {
    throw new CheckpointError(msg, { file, cause });
  };
  await recoverCheckpointDir(dir);
  const st = await stat(dir).catch(() => undefined);
  if (st === undefined) fail(`${dir}: no such checkpoint directory; give the --out directory of an earlier aekit train`);
  if (!st!.isDirectory()) fail(`${dir} is a file, not a checkpoint directory; give the --out directory of an earlier aekit train`);
  const read = async (name: string): Promise<Buffer> => {
    const path = join(dir, name);
    return readFile(path).catch((e: unknown) =>
      fail(
        `${dir} is not an aekit checkpoint: ${name} is missing (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}); ` +
          'give the --out directory of an earlier aekit train',
        path,
        e,
      ),
    );
  };
  const metaPath = join(dir, CHECKPOINT_FILES.meta);
  const metaText = (await read(CHECKPOINT_FILES.meta)).toString('utf8');
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metaText) as CheckpointMeta;
  } catch (e) {
    return fail(`${metaPath}: not valid JSON (${(e as Error).message}); the checkpoint is damaged, train again`, metaPath, e);
  }
  if (meta?.format !== CHECKPOINT_FORMAT) {
    fail(`${metaPath}: format is ${JSON.stringify(meta?.format)}, expected "${CHECKPOINT_FORMAT}"; not an aekit checkpoint`, metaPath);
  }
  let spec: ModelSpec;
  try {
    spec = validateSpec(meta.spec);
  } catch (e) {
    return fail(`${metaPath}: invalid model spec (${(e as Error).message})`, metaPath, e);
  }
  checkResumeMeta(meta, metaPath);
  const weights = await read(CHECKPOINT_FILES.weights);
  const weightsPath = join(dir, CHECKPOINT_FILES.weights);
  if ((await sha256Hex(weights)) !== meta.weightsSha256) {
    fail(`${weightsPath}: SHA-256 does not match aekit.json's weightsSha256; the checkpoint is damaged or was edited, train again`, weightsPath);
  }
  const modelPath = join(dir, CHECKPOINT_FILES.model);
  const modelText = (await read(CHECKPOINT_FILES.model)).toString('utf8');
  const params: ParamSet = readLayersModel(spec, modelText, weights, { model: modelPath, weights: weightsPath });
  const f32 = (buf: Buffer, at: number, n: number, file: string, name: string): Float32Array => {
    if (at + 4 * n > buf.length) fail(`${file}: tensor ${name} runs past the end of the file (byte ${at + 4 * n} > ${buf.length})`, file);
    // Copy into an aligned buffer (Buffer slices may start at any byte).
    return new Float32Array(new Uint8Array(buf.buffer, buf.byteOffset + at, 4 * n).slice().buffer);
  };
  if (meta.vae !== undefined) {
    const headPath = join(dir, CHECKPOINT_FILES.vaeHead);
    let bytes: Uint8Array | undefined;
    if (meta.vae.head !== undefined) {
      bytes = await read(CHECKPOINT_FILES.vaeHead);
      if ((await sha256Hex(bytes)) !== meta.vae.head.sha256) {
        fail(`${headPath}: SHA-256 does not match aekit.json's vae.head.sha256; the checkpoint is damaged or was edited, train again`, headPath);
      }
    }
    params.push(decodeHead(spec, meta.vae, bytes, meta.vae.head !== undefined ? headPath : metaPath));
  }
  if (meta.rate !== undefined) {
    const densityPath = join(dir, CHECKPOINT_FILES.density);
    const bytes = await read(CHECKPOINT_FILES.density);
    if ((await sha256Hex(bytes)) !== meta.rate.density?.sha256) {
      fail(`${densityPath}: SHA-256 does not match aekit.json's rate.density.sha256; the checkpoint is damaged or was edited, train again`, densityPath);
    }
    params.push(decodeDensity(spec, meta.rate, bytes, densityPath));
  }
  const loaded: LoadedCheckpoint = { dir, meta: { ...meta, spec }, params };
  if (meta.optimizer !== undefined) {
    const optPath = join(dir, CHECKPOINT_FILES.optimizer);
    const bytes = await read(CHECKPOINT_FILES.optimizer);
    if (meta.optimizer.sha256 !== undefined && (await sha256Hex(bytes)) !== meta.optimizer.sha256) {
      fail(`${optPath}: SHA-256 does not match aekit.json's optimizer.sha256; the checkpoint is damaged or was edited, train again`, optPath);
    }
    const byName = new Map(meta.optimizer.tensors.map((t) => [t.name, t]));
    const moment = (key: 'm' | 'v'): ParamSet =>
      params.map((p) => {
        const k = byName.get(`${p.name}/kernel/${key}`);
        const b = byName.get(`${p.name}/bias/${key}`);
        if (k === undefined || b === undefined) {
          // Checkpoints written before vae_head.bin did not save the head's moments: they restart at zero.
          if (p.name === LOG_VAR_LAYER && meta.vae?.head === undefined) return { ...p, kernel: new Float32Array(p.kernel.length), bias: new Float32Array(p.bias.length) };
          return fail(`${metaPath}: optimizer state for ${p.name} is missing`, metaPath);
        }
        return { ...p, kernel: f32(bytes, k.offset, p.kernel.length, optPath, k.name), bias: f32(bytes, b.offset, p.bias.length, optPath, b.name) };
      });
    loaded.optimizer = { step: meta.optimizer.step, m: moment('m'), v: moment('v') };
  }
  const es = meta.earlyStopping;
  if (es?.bestSha256 !== undefined && es.bestStep !== undefined) {
    const bestPath = join(dir, CHECKPOINT_FILES.best);
    const bytes = await read(CHECKPOINT_FILES.best);
    if ((await sha256Hex(bytes)) !== es.bestSha256) {
      fail(`${bestPath}: SHA-256 does not match aekit.json's earlyStopping.bestSha256; the checkpoint is damaged or was edited, train again`, bestPath);
    }
    const best = decodeParamsAndMoments(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), params, es.bestStep) ??
      (meta.vae !== undefined && meta.vae.head === undefined ? legacyVaeBest(bytes, params, es.bestStep) : undefined);
    if (best === undefined) fail(`${bestPath}: ${bytes.length} bytes, not the size of the model's parameters and moments; the checkpoint is damaged`, bestPath);
    loaded.best = best;
  }
  return loaded;
}

const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * The fields of aekit.json that --resume trusts for its arithmetic (epoch counts, history, the
 * shuffling generator's state, Adam's step): CheckpointError naming the first that is out of range.
 */
function checkResumeMeta(meta: CheckpointMeta, metaPath: string): void {
  const fail = (what: string): never => {
    throw new CheckpointError(`${metaPath}: ${what}; the checkpoint was edited or damaged, train again (or restore aekit.json)`, { file: metaPath });
  };
  const training = meta.training as unknown;
  if (typeof training !== 'object' || training === null) fail('training must be an object');
  const t = meta.training;
  if (!isInt(t.epochs, 1)) fail(`training.epochs must be an integer >= 1, got ${JSON.stringify(t.epochs)}`);
  if (!isInt(t.batchSize, 1)) fail(`training.batchSize must be an integer >= 1, got ${JSON.stringify(t.batchSize)}`);
  const schedule = t.lrSchedule as unknown;
  if (schedule !== undefined) {
    const ok = typeof schedule === 'object' && schedule !== null && (schedule as { name?: unknown }).name === 'cosine';
    const min = ok ? (schedule as { minLearningRate?: unknown }).minLearningRate : undefined;
    if (!ok || typeof min !== 'number' || !Number.isFinite(min) || min < 0 || !(min < (t.optimizer?.learningRate ?? Number.NaN))) {
      fail(`training.lrSchedule must be {"name":"cosine","minLearningRate":m} with 0 <= m < optimizer.learningRate, got ${JSON.stringify(schedule).slice(0, 80)}`);
    }
  }
  const done = meta.epochsCompleted;
  if (!isInt(done, 0, t.epochs)) {
    fail(`epochsCompleted must be an integer from 0 to training.epochs (${t.epochs}), got ${JSON.stringify(done)}`);
  }
  if (!Array.isArray(meta.history)) fail('history must be an array of epoch records');
  if (meta.history.length > done) fail(`history holds ${meta.history.length} epochs but epochsCompleted is ${done}`);
  let last = 0;
  meta.history.forEach((r, i) => {
    const at = `history[${i + 1}] (1-based)`;
    if (typeof r !== 'object' || r === null) fail(`${at} must be an object`);
    if (!isInt(r.epoch, last + 1, done)) fail(`${at}.epoch must be an integer from ${last + 1} to epochsCompleted (${done}), got ${JSON.stringify(r.epoch)}`);
    if (typeof r.loss !== 'number' && r.loss !== null) fail(`${at}.loss must be a number, got ${JSON.stringify(r.loss)}`);
    last = r.epoch;
  });
  if (meta.bestEpoch !== undefined && !isInt(meta.bestEpoch, 0, done)) {
    fail(`bestEpoch must be an integer from 0 to epochsCompleted (${done}), got ${JSON.stringify(meta.bestEpoch)}`);
  }
  const rng = meta.rngState as unknown;
  if (rng !== undefined) {
    // core Rng (xoshiro128**): four 32-bit words, not all zero (an all-zero state only ever yields zeros).
    if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => isInt(w, 0, 0xffffffff)) || rng.every((w) => w === 0)) {
      fail(`rngState must be 4 integers in [0, 2^32), not all zero, got ${JSON.stringify(rng).slice(0, 80)}`);
    }
  }
  if (meta.optimizer !== undefined) {
    if (!isInt(meta.optimizer.step, 0)) fail(`optimizer.step must be an integer >= 0, got ${JSON.stringify(meta.optimizer.step)}`);
    if (!Array.isArray(meta.optimizer.tensors)) fail('optimizer.tensors must be an array');
  }
  const es = meta.earlyStopping;
  if (es !== undefined) {
    if (!isInt(es.wait, 0, done)) fail(`earlyStopping.wait must be an integer from 0 to epochsCompleted (${done}), got ${JSON.stringify(es.wait)}`);
    if (es.bestStep !== undefined && !isInt(es.bestStep, 0)) fail(`earlyStopping.bestStep must be an integer >= 0, got ${JSON.stringify(es.bestStep)}`);
  }
}

/**
 * best.bin of a VAE checkpoint written before vae_head.bin holds only the dense layers' state: the
 * head is taken as it is now, with zero moments (what resuming such a checkpoint always did).
 */
function legacyVaeBest(bytes: Buffer, params: ParamSet, step: number): { params: ParamSet; optimizer: AdamState } | undefined {
  const head = params.at(-1);
  if (head?.name !== LOG_VAR_LAYER) return undefined;
  const best = decodeParamsAndMoments(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), params.slice(0, -1), step);
  if (best === undefined) return undefined;
  const zero = { ...head, kernel: new Float32Array(head.kernel.length), bias: new Float32Array(head.bias.length) };
  return { params: [...best.params, head], optimizer: { step, m: [...best.optimizer.m, zero], v: [...best.optimizer.v, { ...zero }] } };
}
