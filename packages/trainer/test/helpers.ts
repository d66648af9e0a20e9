/** Builders for small data files in every supported format, valid and broken, for the trainer tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'aekit-trainer-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** IDX bytes: type code, dims, big-endian values. */
export function idxBytes(type: number, dims: number[], values: ArrayLike<number>): Uint8Array {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type]!;
  const out = new Uint8Array(4 + 4 * dims.length + values.length * size);
  const v = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const at = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (type === 0x08) v.setUint8(at + i, x);
    else if (type === 0x09) v.setInt8(at + i, x);
    else if (type === 0x0b) v.setInt16(at + 2 * i, x, false);
    else if (type === 0x0c) v.setInt32(at + 4 * i, x, false);
    else if (type === 0x0d) v.setFloat32(at + 4 * i, x, false);
    else v.setFloat64(at + 8 * i, x, false);
  }
  return out;
}

/**
 * Small structured data: `rows` rows of `cols` values in [0, 1] generated from `factors` hidden
 * factors (so an autoencoder with that many latent units can reconstruct it), deterministic.
 */
export function structuredData(rows: number, cols: number, factors = 2, seed = 7): Float32Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const basis = Array.from({ length: factors }, () => Array.from({ length: cols }, () => rand() * 2 - 1));
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const f = Array.from({ length: factors }, () => rand() * 2 - 1);
    for (let c = 0; c < cols; c++) {
      let x = 0;
      for (let k = 0; k < factors; k++) x += f[k]! * basis[k]![c]!;
      out[r * cols + c] = 1 / (1 + Math.exp(-2 * x));
    }
  }
  return out;
}
