/** Temp directories and IDX bytes for the tests of every package (data, trainer, CLI). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'aekit-test-'): { dir: string; cleanup: () => void } {
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
