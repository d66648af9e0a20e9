/** Builders for small data files in every supported format, valid and broken, for the data tests. */
import { join } from 'node:path';

export { idxBytes, tempDir } from '../../../test/helpers/files.js';

/** NPY bytes with a hand-written header (any version, descr, order), as numpy would lay them out. */
export function npyBytes(opts: { version?: 1 | 2; descr: string; fortran?: boolean; shape: number[]; body: Uint8Array }): Uint8Array {
  const version = opts.version ?? 1;
  const shape = opts.shape.length === 1 ? `(${opts.shape[0]},)` : `(${opts.shape.join(', ')})`;
  let header = `{'descr': '${opts.descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  header = header.padEnd(Math.ceil((pre + header.length + 1) / 64) * 64 - pre - 1, ' ') + '\n';
  const out = new Uint8Array(pre + header.length + opts.body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, header.length, true);
  else v.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(opts.body, pre + header.length);
  return out;
}

export function f64le(values: number[]): Uint8Array {
  return new Uint8Array(Float64Array.from(values).buffer);
}

export function f32be(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setFloat32(4 * i, x, false));
  return out;
}
