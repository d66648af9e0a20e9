/**
 * Reads the float32 tensors a tfjs `weightsManifest` describes out of its binary shards. Every
 * problem (missing shard, short binary, unsupported dtype, NaN/Infinity) is a CheckpointError that
 * names the file, the weight and the byte offset.
 */
import { CheckpointError, concatBytes } from '@aekit/core';

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
      const bytes = files[p];
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
    for (const w of group.weights) {
      const where = fileAt(offset);
      if ((w.dtype ?? 'float32') !== 'float32' || w.quantization !== undefined) {
        throw new CheckpointError(
          `weight "${w.name}" is stored as ${w.quantization !== undefined ? 'quantised ' : ''}${w.dtype ?? 'float32'}; ` +
            'the exporter reads float32 weights only (re-save the model without weight quantisation)',
          { file: where.file },
        );
      }
      const count = w.shape.reduce((a, b) => a * b, 1);
      const bytes = count * 4;
      if (offset + bytes > buffer.length) {
        throw new CheckpointError(
          `weights binary ${group.paths.join(' + ')} is too short: ${buffer.length} bytes, but weight "${w.name}" ` +
            `[${w.shape.join(', ')}] needs bytes ${offset}–${offset + bytes} (the file is truncated or belongs to another model)`,
          { file: where.file },
        );
      }
      // Copy: the tensor may start at an offset that is not a multiple of 4.
      const data = new Float32Array(buffer.slice(offset, offset + bytes).buffer);
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) {
          const at = fileAt(offset + i * 4);
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
