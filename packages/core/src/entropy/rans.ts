/**
 * rANS coder for rows of uint8 latent symbols under static per-dimension tables (tables.ts), after
 * Giesen's rans_byte: one 32-bit state kept in [RANS_L, 2^31) = [2^23, 2^31), renormalised a byte at a
 * time. Symbol i of a row-major stream uses the table of dimension i mod dims.
 *
 * Stream layout (what ransEncodeRows returns): the encoder's final state (u32, little-endian), then the
 * renormalisation bytes in the order the decoder reads them. The decoder must end in the encoder's
 * initial state RANS_L with every byte consumed; anything else is a damaged stream (ContainerError).
 *
 * Size bound: before a symbol of frequency f is coded the state is shifted below 2^(31-precision)·2^8·f
 * ≥ 2^15 (precision ≤ 16), which takes at most two bytes from a state below 2^31; so n symbols take at
 * most 2n + 4 bytes (ransMaxBytes), what the container allows a coded chunk before it buffers it.
 */
import { ContainerError } from '../errors.js';
import { LATENT_SYMBOLS, type LatentTables, latentTablesProblem } from './tables.js';

/** Lower bound of the normalised state interval (2^23: one byte below 2^31). */
const RANS_L = 1 << 23;

/** Most bytes ransEncodeRows can produce for n symbols (at most 16 bits each, plus the 4-byte state). */
export function ransMaxBytes(symbols: number): number {
  return 2 * symbols + 4;
}

/** Cumulative starts per dimension: cum[d*257 + s] = Σ_{r<s} freq[d*256 + r]. */
function cumulative(t: LatentTables): Uint32Array {
  const cum = new Uint32Array(t.dims * (LATENT_SYMBOLS + 1));
  for (let d = 0; d < t.dims; d++) {
    let c = 0;
    for (let s = 0; s < LATENT_SYMBOLS; s++) {
      cum[d * (LATENT_SYMBOLS + 1) + s] = c;
      c += t.freq[d * LATENT_SYMBOLS + s]!;
    }
    cum[d * (LATENT_SYMBOLS + 1) + LATENT_SYMBOLS] = c;
  }
  return cum;
}

interface Prepared {
  /** Start of each symbol's slot range, dims × 256 (the table's own layout). */
  start: Uint32Array;
  cum: Uint32Array;
  /**
   * Per dimension, 2^BUCKET_BITS buckets of 2^(precision − BUCKET_BITS) slots: the symbol whose range
   * holds the bucket's first slot. Decoding starts there and steps past at most the few (rare) symbols
   * whose ranges are narrower than a bucket. Built when it fits RANS_LOOKUP_BUDGET.
   */
  buckets: Uint8Array | undefined;
}

/**
 * Buckets per dimension of the decoder's symbol lookup (2048: 2 KiB per dimension, 64 KiB for 32
 * latents, so it stays in cache). A full slot → symbol table at 15 bits takes 32 KiB per dimension and
 * decoded about 3× slower (60 000 × 32 Gaussian-like latents, one core: 6–14 vs 18–45 Msymbols/s on a
 * loaded 2-core machine), from cache misses.
 */
const BUCKET_BITS = 11;

/**
 * Bytes of bucket tables one tables object may take (32 MiB: 16 384 dimensions). Wider tables decode
 * by binary search over the cumulative frequencies instead (slower per symbol, bench/compress.bench.mjs).
 */
export const RANS_LOOKUP_BUDGET = 1 << 25;

const prepared = new WeakMap<LatentTables, Prepared>();

/** Derived tables, built once per tables object (tables are treated as immutable once made). */
function prepare(t: LatentTables, withLookup: boolean): Prepared {
  let p = prepared.get(t);
  if (p === undefined) {
    const problem = latentTablesProblem(t);
    if (problem !== undefined) throw new RangeError(`invalid latent tables: ${problem}`);
    const cum = cumulative(t);
    const start = new Uint32Array(t.dims * LATENT_SYMBOLS);
    for (let d = 0; d < t.dims; d++) start.set(cum.subarray(d * 257, d * 257 + 256), d * 256);
    p = { start, cum, buckets: undefined };
    prepared.set(t, p);
  }
  const bits = Math.min(BUCKET_BITS, t.precisionBits);
  if (withLookup && p.buckets === undefined && t.dims << bits <= RANS_LOOKUP_BUDGET) {
    const shift = t.precisionBits - bits;
    const buckets = new Uint8Array(t.dims << bits);
    for (let d = 0; d < t.dims; d++) {
      let s = 0;
      for (let b = 0; b < 1 << bits; b++) {
        const first = b << shift;
        while (p.cum[d * 257 + s + 1]! <= first) s++;
        buckets[(d << bits) | b] = s;
      }
    }
    p.buckets = buckets;
  }
  return p;
}

function checkShape(what: string, n: number, dims: number, t: LatentTables): void {
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`${what}: dims must be a positive integer, got ${dims}`);
  if (dims !== t.dims) throw new RangeError(`${what}: rows have ${dims} dimensions but the tables have ${t.dims}`);
  if (n % dims !== 0) throw new RangeError(`${what}: ${n} symbols are not whole rows of ${dims}`);
}

/** Row-major uint8 symbols (`dims` per row) → one rANS stream; dimension d uses table d. */
export function ransEncodeRows(symbols: Uint8Array, dims: number, t: LatentTables): Uint8Array {
  checkShape('ransEncodeRows', symbols.length, dims, t);
  const { start } = prepare(t, false);
  const freq = t.freq;
  const scale = t.precisionBits;
  // x_max(f) = ((RANS_L >> scale) << 8) · f: the state must be below it before coding a symbol of frequency f.
  const xMaxBase = (RANS_L >>> scale) << 8;
  const n = symbols.length;
  const buf = new Uint8Array(ransMaxBytes(n));
  let ptr = buf.length;
  let x = RANS_L;
  // rANS is last in, first out: code backwards so the decoder reads forwards.
  let d = n === 0 ? 0 : (n - 1) % dims;
  for (let i = n - 1; i >= 0; i--) {
    const k = (d << 8) | symbols[i]!;
    const f = freq[k]!;
    const xMax = xMaxBase * f;
    while (x >= xMax) {
      buf[--ptr] = x & 0xff;
      x >>>= 8;
    }
    const q = (x / f) >>> 0;
    x = ((q << scale) >>> 0) + (x - q * f) + start[k]!;
    if (--d < 0) d = dims - 1;
  }
  ptr -= 4;
  buf[ptr] = x & 0xff;
  buf[ptr + 1] = (x >>> 8) & 0xff;
  buf[ptr + 2] = (x >>> 16) & 0xff;
  buf[ptr + 3] = x >>> 24;
  return buf.subarray(ptr);
}

function corrupt(message: string): ContainerError {
  return new ContainerError('E_AEZ_CORRUPT', `entropy-coded latents: ${message}`);
}

/**
 * Decodes `rows` rows of `dims` symbols from one rANS stream into `out` (rows × dims bytes). A stream
 * that is too short or too long, or does not end in the encoder's initial state, → ContainerError
 * (E_AEZ_CORRUPT). The state stays in [2^23, 2^31) whatever the bytes, so a bad stream never loops or
 * reads outside `bytes`.
 */
export function ransDecodeRows(bytes: Uint8Array, rows: number, dims: number, t: LatentTables, out: Uint8Array): void {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`ransDecodeRows: rows must be a non-negative integer, got ${rows}`);
  checkShape('ransDecodeRows', rows * dims, dims, t);
  const n = rows * dims;
  if (out.length !== n) throw new RangeError(`ransDecodeRows: out holds ${out.length} bytes, needs ${n}`);
  if (bytes.length < 4) throw corrupt(`a stream holds at least its 4-byte state, got ${bytes.length} bytes`);
  if (bytes.length > ransMaxBytes(n)) throw corrupt(`${bytes.length} bytes is more than ${n} symbols can take (${ransMaxBytes(n)})`);
  const { start, cum, buckets } = prepare(t, true);
  let x = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
  if (x < RANS_L || x >= 0x80000000) throw corrupt(`initial state 0x${x.toString(16)} is outside [2^23, 2^31)`);
  const st = { x, ptr: 4 };
  if (buckets !== undefined) decodeWithBuckets(bytes, n, dims, t, cum, buckets, out, st);
  else decodeWithSearch(bytes, n, dims, t, start, cum, out, st);
  x = st.x;
  const ptr = st.ptr;
  const end = bytes.length;
  if (ptr !== end) throw corrupt(`${end - ptr} bytes left over after ${n} symbols`);
  if (x !== RANS_L) throw corrupt(`the final state 0x${x.toString(16)} is not the initial one: the stream is damaged`);
}

interface DecodeState {
  x: number;
  ptr: number;
}

// Two copies of the decode loop (bucket table / cumulative search) so each stays monomorphic and
// branch-free in its symbol search.
function decodeWithBuckets(
  bytes: Uint8Array,
  n: number,
  dims: number,
  t: LatentTables,
  cum: Uint32Array,
  buckets: Uint8Array,
  out: Uint8Array,
  st: DecodeState,
): void {
  const scale = t.precisionBits;
  const mask = (1 << scale) - 1;
  const bits = Math.min(BUCKET_BITS, scale);
  const shift = scale - bits;
  const end = bytes.length;
  let x = st.x;
  let ptr = st.ptr;
  for (let i = 0, d = 0; i < n; i++) {
    const slot = x & mask;
    const base = d * 257;
    let s = buckets[(d << bits) | (slot >>> shift)]!;
    let hi = cum[base + s + 1]!;
    while (hi <= slot) hi = cum[base + ++s + 1]!;
    const lo = cum[base + s]!;
    out[i] = s;
    x = (hi - lo) * (x >>> scale) + slot - lo;
    while (x < RANS_L) {
      if (ptr === end) throw corrupt(`the stream ends after ${end} bytes, inside symbol ${i} of ${n}`);
      x = (x << 8) | bytes[ptr++]!;
    }
    if (++d === dims) d = 0;
  }
  st.x = x;
  st.ptr = ptr;
}

function decodeWithSearch(
  bytes: Uint8Array,
  n: number,
  dims: number,
  t: LatentTables,
  start: Uint32Array,
  cum: Uint32Array,
  out: Uint8Array,
  st: DecodeState,
): void {
  const freq = t.freq;
  const scale = t.precisionBits;
  const mask = (1 << scale) - 1;
  const end = bytes.length;
  let x = st.x;
  let ptr = st.ptr;
  for (let i = 0, d = 0; i < n; i++) {
    const slot = x & mask;
    // largest s with cum[s] <= slot (cum[0] = 0 <= slot < cum[256] = 2^scale)
    const base = d * 257;
    let lo = 0;
    let hi = 256;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (cum[base + mid]! <= slot) lo = mid;
      else hi = mid;
    }
    out[i] = lo;
    const k = (d << 8) | lo;
    x = freq[k]! * (x >>> scale) + slot - start[k]!;
    while (x < RANS_L) {
      if (ptr === end) throw corrupt(`the stream ends after ${end} bytes, inside symbol ${i} of ${n}`);
      x = (x << 8) | bytes[ptr++]!;
    }
    if (++d === dims) d = 0;
  }
  st.x = x;
  st.ptr = ptr;
}
