// Fashion-MNIST-style IDX3 uint8 images (.gz) as float32 rows for the benches: raw pixel values, or
// divided by `divisor` (255 for the models' units).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** @returns {{ data: Float32Array, rows: number, cols: number }} */
export function loadIdxImages(path, divisor = 1) {
  const b = gunzipSync(readFileSync(path));
  const dv = new DataView(b.buffer, b.byteOffset);
  if (dv.getUint32(0) !== 0x803) throw new Error(`${path}: not an IDX3 uint8 file`);
  const rows = dv.getUint32(4);
  const cols = dv.getUint32(8) * dv.getUint32(12);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = b[16 + i] / divisor;
  return { data, rows, cols };
}
