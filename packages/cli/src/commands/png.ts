/** PNG helpers shared by the study, sample and interpolate commands (pngjs does the encoding). */
import { PNG } from 'pngjs';
import { type Normalization, UsageError } from '@aekit/core';
import type { RgbaImage } from '@aekit/trainer';

export function encodePng(img: RgbaImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data.set(img.data);
  return new Uint8Array(PNG.sync.write(png));
}

/**
 * A grid of square grey-scale tiles (e.g. 28×28 images with values in [0, 255]), dark ink on white,
 * `cols` tiles per row, each pixel scaled ×`zoom`.
 */
export function tileGrid(rows: Float32Array, count: number, side: number, cols: number, zoom = 3): RgbaImage {
  const gap = 2;
  const tile = side * zoom;
  const gridRows = Math.ceil(count / cols);
  const width = cols * (tile + gap) + gap;
  const height = gridRows * (tile + gap) + gap;
  const data = new Uint8Array(width * height * 4).fill(255);
  for (let k = 0; k < count; k++) {
    const ox = gap + (k % cols) * (tile + gap);
    const oy = gap + Math.floor(k / cols) * (tile + gap);
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const v = rows[k * side * side + Math.floor(y / zoom) * side + Math.floor(x / zoom)]!;
        const g = 255 - Math.max(0, Math.min(255, Math.round(v)));
        const o = ((oy + y) * width + ox + x) * 4;
        data[o] = data[o + 1] = data[o + 2] = g;
      }
    }
  }
  return { width, height, data };
}

/** The bundle's output rows as grey levels 0–255 for display (raw units mapped through the normalisation's range). */
export function toGrey(rows: ArrayLike<number>, cols: number, normalization: Normalization): Float32Array {
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]!;
    if (normalization.kind === 'scale255') out[i] = v;
    else if (normalization.kind === 'none') out[i] = v * 255;
    else {
      const c = i % cols;
      const lo = normalization.min[c]!;
      const range = normalization.max[c]! - lo;
      out[i] = range > 0 ? ((v - lo) / range) * 255 : 0;
    }
  }
  return out;
}

/** Side of a square image of `dim` pixels, or a UsageError saying why a PNG cannot be drawn. */
export function squareSide(dim: number, what: string): number {
  const side = Math.round(Math.sqrt(dim));
  if (side * side !== dim) {
    throw new UsageError(`${what}: rows of ${dim} values are not square images, so no PNG can be drawn; write .npy instead`);
  }
  return side;
}
