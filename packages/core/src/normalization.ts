/**
 * How raw data values map to the values the network sees. Recorded in checkpoints and bundles so that
 * inference applies exactly what training applied.
 *  - scale255: x / 255 (the default for uint8 data such as images)
 *  - minmax: per column (x - min) / (max - min), columns with max == min map to 0
 *  - none: values used as they are
 */
import { UsageError } from './errors.js';

export type Normalization =
  | { kind: 'scale255' }
  | { kind: 'minmax'; min: number[]; max: number[] }
  | { kind: 'none' };

export type NormalizationKind = Normalization['kind'];
export const NORMALIZATION_KINDS: readonly NormalizationKind[] = ['scale255', 'minmax', 'none'];

/** Per-column affine form: normalised = (raw - offset[c]) * scale[c]. */
export interface AffineNormalization {
  offset: Float32Array;
  scale: Float32Array;
}

export function parseNormalizationKind(name: string): NormalizationKind {
  if ((NORMALIZATION_KINDS as readonly string[]).includes(name)) return name as NormalizationKind;
  throw new UsageError(`unknown normalisation "${name}"; valid: ${NORMALIZATION_KINDS.join(', ')}`);
}

/** A per-column range: ±Infinity in a column that has seen no value yet. */
export interface ColumnRange {
  min: number[];
  max: number[];
}

/**
 * Per-column min and max of row-major `data` of `cols` columns (NaN ignored). Given `into`, widens that
 * range instead, so a range can be accumulated over chunks of rows.
 */
export function columnRange(data: ArrayLike<number>, cols: number, into?: ColumnRange): ColumnRange {
  const min = into?.min ?? new Array<number>(cols).fill(Infinity);
  const max = into?.max ?? new Array<number>(cols).fill(-Infinity);
  for (let i = 0; i < data.length; i++) {
    const c = i % cols;
    const v = data[i]!;
    if (v < min[c]!) min[c] = v;
    if (v > max[c]!) max[c] = v;
  }
  return { min, max };
}

/** Fits a normalisation of the given kind to row-major data of `cols` columns. */
export function fitNormalization(kind: NormalizationKind, data: ArrayLike<number>, cols: number): Normalization {
  if (kind !== 'minmax') return { kind };
  const { min, max } = columnRange(data, cols);
  for (let c = 0; c < cols; c++) {
    if (!Number.isFinite(min[c]!)) {
      min[c] = 0;
      max[c] = 0;
    }
  }
  return { kind, min, max };
}

export function toAffine(n: Normalization, cols: number): AffineNormalization {
  const offset = new Float32Array(cols);
  const scale = new Float32Array(cols).fill(1);
  if (n.kind === 'scale255') scale.fill(1 / 255);
  else if (n.kind === 'minmax') {
    for (let c = 0; c < cols; c++) {
      const range = n.max[c]! - n.min[c]!;
      offset[c] = n.min[c]!;
      scale[c] = range > 0 ? 1 / range : 0;
    }
  }
  return { offset, scale };
}

/** Applies the normalisation to row-major data, returning a new Float32Array. */
export function normalize(n: Normalization, data: ArrayLike<number>, cols: number): Float32Array {
  return normalizeRows(n, data, cols);
}

/** x / 255 for every byte value: a table read is several times faster than the division per value, and equal to it. */
let scale255Table: Float32Array | undefined;
const byteTable = (kind: 'scale255' | 'none'): Float32Array => {
  if (kind === 'none') return Float32Array.from({ length: 256 }, (_, v) => v);
  return (scale255Table ??= Float32Array.from({ length: 256 }, (_, v) => v / 255));
};

/**
 * Normalises the rows `order` of row-major `data` (all rows, in order, when omitted) into `out` from
 * row `at` (a new array when omitted): a gather and normalisation in one pass, so a training split
 * never holds a raw copy. Same arithmetic as {@link normalize}.
 */
export function normalizeRows(
  n: Normalization,
  data: ArrayLike<number>,
  cols: number,
  order?: ArrayLike<number>,
  out?: Float32Array,
  at = 0,
): Float32Array {
  const rows = order?.length ?? (cols > 0 ? data.length / cols : 0);
  const dst = out ?? new Float32Array(rows * cols);
  const src = (i: number): number => (order === undefined ? i : order[i]!) * cols;
  if (data instanceof Uint8Array && n.kind !== 'minmax') {
    const table = byteTable(n.kind);
    for (let i = 0, o = at * cols; i < rows; i++) {
      const s = src(i);
      for (let c = 0; c < cols; c++, o++) dst[o] = table[data[s + c]!]!;
    }
    return dst;
  }
  const { offset, scale } = toAffine(n, cols);
  for (let i = 0, o = at * cols; i < rows; i++) {
    const s = src(i);
    if (n.kind === 'none') for (let c = 0; c < cols; c++, o++) dst[o] = data[s + c]!;
    else if (n.kind === 'scale255') for (let c = 0; c < cols; c++, o++) dst[o] = data[s + c]! / 255;
    else for (let c = 0; c < cols; c++, o++) dst[o] = (data[s + c]! - offset[c]!) * scale[c]!;
  }
  return dst;
}

/** Maps normalised values back to raw units. */
export function denormalize(n: Normalization, data: ArrayLike<number>, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  if (n.kind === 'none') {
    for (let i = 0; i < data.length; i++) out[i] = data[i]!;
    return out;
  }
  if (n.kind === 'scale255') {
    for (let i = 0; i < data.length; i++) out[i] = data[i]! * 255;
    return out;
  }
  for (let i = 0; i < data.length; i++) {
    const c = i % cols;
    out[i] = data[i]! * (n.max[c]! - n.min[c]!) + n.min[c]!;
  }
  return out;
}
