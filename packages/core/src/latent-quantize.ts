/**
 * Latent quantisation, shared by the `.aez` container (runtime) and the trainer (which fits the entropy
 * coder's tables to exactly the symbols the container stores): float32 (exact), float16 (round to nearest even,
 * magnitudes above 65504 clamped), uint8 (per-dimension affine over the latent range the bundle's
 * manifest records: q = round((z - min) · 255 / (max - min)), values outside [min, max] clamped).
 * Clamped values are counted so callers can report them. Payloads are little-endian.
 */
import { FLOAT16_MAX, float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** How one latent value is stored (the container adds `entropy`: uint8 symbols, rANS-coded). */
export const LATENT_TYPES = ['float32', 'float16', 'uint8'] as const;
export type LatentType = (typeof LATENT_TYPES)[number];

/** Bytes one latent value takes in a container payload. */
export const LATENT_TYPE_BYTES: Readonly<Record<LatentType, number>> = { float32: 4, float16: 2, uint8: 1 };

/** Per-dimension latent range, as float32 (exactly what the container header stores). */
export interface LatentRange {
  min: Float32Array;
  max: Float32Array;
}

/**
 * Quantises row-major latents (`range.min.length` values per row) into `out`, which must hold exactly
 * `z.length * LATENT_TYPE_BYTES[type]` bytes. Returns how many values were clamped (NaN counts too and
 * becomes the range minimum, or 0 for float types).
 */
export function quantizeLatents(z: Float32Array, type: LatentType, range: LatentRange, out: Uint8Array): number {
  const dim = range.min.length;
  if (out.length !== z.length * LATENT_TYPE_BYTES[type]) {
    throw new RangeError(`quantizeLatents: output holds ${out.length} bytes, needs ${z.length * LATENT_TYPE_BYTES[type]}`);
  }
  let clamped = 0;
  if (type === 'uint8') {
    const { min, max } = range;
    const scale = new Float64Array(dim);
    for (let d = 0; d < dim; d++) {
      const span = max[d]! - min[d]!;
      scale[d] = span > 0 ? 255 / span : 0;
    }
    for (let i = 0; i < z.length; i += dim) {
      for (let d = 0; d < dim; d++) {
        const v = z[i + d]!;
        const lo = min[d]!;
        if (v >= lo && v <= max[d]!) {
          // x + 0.5 truncated (a Uint8Array store truncates) is Math.round for x >= 0, and faster
          out[i + d] = (v - lo) * scale[d]! + 0.5;
        } else {
          clamped++;
          out[i + d] = v > lo ? 255 : 0; // NaN fails both comparisons and lands on 0
        }
      }
    }
    return clamped;
  }
  if (type === 'float32') {
    if (LITTLE_ENDIAN && out.byteOffset % 4 === 0) new Float32Array(out.buffer, out.byteOffset, z.length).set(z);
    else {
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < z.length; i++) view.setFloat32(i * 4, z[i]!, true);
    }
    return 0;
  }
  const aligned = LITTLE_ENDIAN && out.byteOffset % 2 === 0;
  const halves = aligned ? new Uint16Array(out.buffer, out.byteOffset, z.length) : undefined;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < z.length; i++) {
    let v = z[i]!;
    if (!(v >= -FLOAT16_MAX && v <= FLOAT16_MAX)) {
      clamped++;
      v = v > 0 ? FLOAT16_MAX : v < 0 ? -FLOAT16_MAX : 0;
    }
    const h = float32ToFloat16Bits(v);
    if (halves) halves[i] = h;
    else view.setUint16(i * 2, h, true);
  }
  return clamped;
}

/** Inverse of quantizeLatents: payload bytes → float32 latents written to `out` (uint8: min + q·step). */
export function dequantizeLatents(bytes: Uint8Array, type: LatentType, range: LatentRange, out: Float32Array): void {
  const dim = range.min.length;
  if (bytes.length !== out.length * LATENT_TYPE_BYTES[type]) {
    throw new RangeError(`dequantizeLatents: ${bytes.length} bytes do not hold ${out.length} ${type} values`);
  }
  if (type === 'uint8') {
    const step = new Float64Array(dim);
    for (let d = 0; d < dim; d++) step[d] = (range.max[d]! - range.min[d]!) / 255;
    for (let i = 0, d = 0; i < out.length; i++) {
      out[i] = range.min[d]! + bytes[i]! * step[d]!;
      if (++d === dim) d = 0;
    }
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'float32') {
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return;
  }
  for (let i = 0; i < out.length; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
}
