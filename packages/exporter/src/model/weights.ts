/**
 * Reads the float32 tensors a tfjs `weightsManifest` describes out of its binary shards, dequantising
 * the weights the tfjs converter stored as uint8 / uint16 (value = q·scale + min) or float16, exactly
 * as tfjs's own loader does. Every problem (missing shard, short binary, unsupported dtype,
 * NaN/Infinity) is a CheckpointError that names the file, the weight and the byte offset.
 */
import { CheckpointError, concatBytes, float16BitsToFloat32 } from '@aekit/core';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: unknown;
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightEntry[];
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  /** Shard file holding the tensor's first byte, and the byte offset there (for messages). */
  file: string;
  offset: number;
}

/** The files of a model: manifest path (as written in model.json) → bytes. */
export type WeightFiles = Readonly<Record<string, Uint8Array>>;

/**
 * A shard's bytes by its manifest path. tfjs's browser `downloads://` handler writes paths as
 * `./name.weights.bin`: the same file as `name.weights.bin`, so either key is accepted.
 */
export function shardBytes(files: WeightFiles, path: string): Uint8Array | undefined {
  return files[path] ?? (path.startsWith('./') ? files[path.slice(2)] : files[`./${path}`]);
}

/** How a weight is stored: bytes per value and the decoder of one value (tfjs's decodeWeights rules; float32 is copied whole). */
interface Storage {
  bytes: 1 | 2 | 4;
  describe: string;
  read: (view: DataView, at: number) => number;
}

function storageOf(w: WeightEntry, file: string): Storage {
  const dtype = w.dtype ?? 'float32';
  const fail = (why: string): never => {
    throw new CheckpointError(`weight "${w.name}" ${why}`, { file });
  };
  if (dtype !== 'float32') {
    fail(`has dtype ${JSON.stringify(dtype)}; the exporter reads float32 weights (optionally quantised by the tfjs converter to uint8, uint16 or float16)`);
  }
  if (w.quantization === undefined || w.quantization === null) return { bytes: 4, describe: 'float32', read: (v, at) => v.getFloat32(at, true) };
  const q = w.quantization as { dtype?: unknown; scale?: unknown; min?: unknown };
  if (q.dtype === 'float16') return { bytes: 2, describe: 'float16', read: (v, at) => float16BitsToFloat32(v.getUint16(at, true)) };
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16') {
    fail(`is quantised as ${JSON.stringify(q.dtype)}; the tfjs converter's quantisations uint8, uint16 and float16 are supported (re-convert with one of them, or without quantisation)`);
  }
  const { scale, min } = q;
  if (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale) || !Number.isFinite(min)) {
    fail(`is quantised as ${String(q.dtype)} without finite "scale" and "min" in model.json; the file is damaged: convert the model again`);
  }
  const s = scale as number;
  const m = min as number;
  // tfjs dequantises in double precision and stores float32: the same numbers as tfjs predict sees.
  return q.dtype === 'uint8'
    ? { bytes: 1, describe: 'uint8-quantised', read: (v, at) => v.getUint8(at) * s + m }
    : { bytes: 2, describe: 'uint16-quantised', read: (v, at) => v.getUint16(at, true) * s + m };
}


function checkManifest(manifest: unknown): WeightsManifestGroup[] {
  if (!Array.isArray(manifest)) {
    throw new CheckpointError('model.json has no weightsManifest array: save the model with tfjs `model.save` (layers format)', {
      file: 'model.json',
    });
  }
  return manifest.map((g: unknown, i) => {
    const group = g as Partial<WeightsManifestGroup> | null;
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new CheckpointError(`model.json: weightsManifest[${i}] needs "paths" and "weights" arrays`, { file: 'model.json' });
    }
    for (const w of group.weights) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new CheckpointError(`model.json: weightsManifest[${i}] has an entry without a name or an integer shape`, {
          file: 'model.json',
        });
      }
    }
    return group as WeightsManifestGroup;
  });
}

/** Decodes every weight of the manifest; returns them by name. */
export function readWeights(manifest: unknown, files: WeightFiles): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const group of checkManifest(manifest)) {
    const shards = group.paths.map((p) => {
      const bytes = shardBytes(files, p);
      if (bytes === undefined) {
        throw new CheckpointError(`weights file "${p}" listed in model.json is missing; put it next to model.json`, { file: p });
      }
      return bytes;
    });
    const shardStarts: number[] = [];
    let acc = 0;
    for (const s of shards) {
      shardStarts.push(acc);
      acc += s.length;
    }
    const fileAt = (offset: number): { file: string; offset: number } => {
      let i = shardStarts.length - 1;
      while (i > 0 && shardStarts[i]! > offset) i--;
      return { file: group.paths[i] ?? '(none)', offset: offset - (shardStarts[i] ?? 0) };
    };
    const buffer = concatBytes(shards);
    let offset = 0;
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    for (const w of group.weights) {
      const where = fileAt(offset);
      const storage = storageOf(w, where.file);
      const count = w.shape.reduce((a, b) => a * b, 1);
      const bytes = count * storage.bytes;
      if (offset + bytes > buffer.length) {
        throw new CheckpointError(
          `weights binary ${group.paths.join(' + ')} is too short: ${buffer.length} bytes, but weight "${w.name}" ` +
            `[${w.shape.join(', ')}]${storage.describe === 'float32' ? '' : ` (${storage.describe})`} needs bytes ${offset}–${offset + bytes} (the file is truncated or belongs to another model)`,
          { file: where.file },
        );
      }
      let data: Float32Array;
      if (storage.bytes === 4) {
        // float32 as stored: one copy (the tensor may start at an offset that is not a multiple of 4).
        data = new Float32Array(buffer.slice(offset, offset + bytes).buffer);
      } else {
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = storage.read(view, offset + i * storage.bytes);
      }
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) {
          const at = fileAt(offset + i * storage.bytes);
          throw new CheckpointError(
            `weight "${w.name}" element ${i} is ${data[i]} (${at.file}, byte offset ${at.offset}); ` +
              'the model diverged or the file is damaged: export a checkpoint with finite weights',
            { file: at.file },
          );
        }
      }
      out.set(w.name, { name: w.name, shape: [...w.shape], data, ...where });
      offset += bytes;
    }
  }
  return out;
}
