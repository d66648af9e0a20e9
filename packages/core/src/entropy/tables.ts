/**
 * Static per-dimension frequency tables for entropy-coding uint8 latent symbols (the `.aez` container's
 * `entropy` latent type, docs/format.md), fitted on the training set and stored in a bundle as
 * `latent_tables.bin` (docs/bundle.md).
 *
 * Precision: 15 bits (each row of a table sums to 2^15). The coder (rans.ts) keeps a 32-bit state in
 * [2^23, 2^31) with byte-wise renormalisation (Giesen's rans_byte), which allows at most 16 bits; 15
 * keeps every product and shift below 2^31, so the hot loops stay in int32 arithmetic. Against 12 bits
 * (4 KiB decode tables) it cuts the cost of the freq >= 1 floor 8×: 256 symbols that never occur take
 * at most 256 / 2^15 = 0.8 % of the probability mass (≤ 0.011 bits per symbol), and rounding the other
 * frequencies to 1/2^15 costs well under 0.1 % (measured: coded sizes within 0.02 % of the
 * cross-entropy, bench/compress.bench.mjs). Decoding finds symbols through 2048 buckets per dimension
 * (rans.ts), so the wider slot range costs no larger decoder tables.
 */
import { BundleError } from '../errors.js';

/** Latent symbols are uint8 (the container's uint8 quantisation). */
export const LATENT_SYMBOLS = 256;
/** Precision fitLatentTables uses: each row of frequencies sums to 2^15. */
export const LATENT_TABLE_PRECISION = 15;
/** Precisions a tables file may declare (2^8 = one count per symbol; the coder allows at most 16). */
export const MIN_TABLE_PRECISION = 8;
export const MAX_TABLE_PRECISION = 16;
/** Most dimensions a tables file may hold (the container's latent-dimension bound). */
export const MAX_TABLE_DIMS = 1 << 16;

/** Frequency tables: row d (256 entries) is the model of latent dimension d. */
export interface LatentTables {
  dims: number;
  precisionBits: number;
  /** dims × 256 frequencies, each >= 1, each row summing to 2^precisionBits. */
  freq: Uint16Array;
}

/**
 * Adds the symbols of row-major rows (`dims` per row) to per-dimension counts: `counts[d*256+s]` += the
 * number of rows whose dimension d is s. Pass the previous result as `counts` to accumulate over batches.
 */
export function countLatentSymbols(symbols: Uint8Array, dims: number, counts?: Float64Array): Float64Array {
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`dims must be a positive integer, got ${dims}`);
  if (symbols.length % dims !== 0) throw new RangeError(`${symbols.length} symbols are not whole rows of ${dims}`);
  const out = counts ?? new Float64Array(dims * LATENT_SYMBOLS);
  if (out.length !== dims * LATENT_SYMBOLS) throw new RangeError(`counts must hold ${dims} × 256 values, has ${out.length}`);
  for (let i = 0, d = 0; i < symbols.length; i++) {
    out[(d << 8) | symbols[i]!]!++;
    if (++d === dims) d = 0;
  }
  return out;
}

/**
 * Fits one row: integer frequencies f_s >= 1 summing to `total` that minimise the cross-entropy
 * Σ c_s · log2(total / f_s) of the counts. The cost is separable and convex in each f_s, so a
 * proportional start followed by greedy unit moves (add where the gain is largest, remove where the
 * loss is smallest, while that helps) reaches the integer optimum.
 */
function fitRow(c: ArrayLike<number>, offset: number, total: number, out: Uint16Array): void {
  const S = LATENT_SYMBOLS;
  let n = 0;
  for (let s = 0; s < S; s++) n += Math.max(0, c[offset + s]!);
  if (!(n > 0) || !Number.isFinite(n)) {
    out.fill(total / S, offset, offset + S); // nothing seen: uniform
    return;
  }
  const cnt = new Float64Array(S);
  for (let s = 0; s < S; s++) cnt[s] = Math.max(0, c[offset + s]!);
  const f = new Float64Array(S);
  let sum = 0;
  const spare = total - S;
  for (let s = 0; s < S; s++) {
    f[s] = 1 + Math.floor((cnt[s]! / n) * spare);
    sum += f[s]!;
  }
  // Gain of one more unit for s, loss of one unit less (infinite at the floor of 1).
  const gain = (s: number) => (cnt[s]! > 0 ? cnt[s]! * Math.log2((f[s]! + 1) / f[s]!) : 0);
  const loss = (s: number) => (f[s]! > 1 ? cnt[s]! * Math.log2(f[s]! / (f[s]! - 1)) : Infinity);
  const best = (score: (s: number) => number, max: boolean): number => {
    let bi = -1;
    let bv = max ? -Infinity : Infinity;
    for (let s = 0; s < S; s++) {
      const v = score(s);
      if (max ? v > bv : v < bv) {
        bv = v;
        bi = s;
      }
    }
    return bi;
  };
  while (sum < total) {
    f[best(gain, true)]!++;
    sum++;
  }
  while (sum > total) {
    f[best(loss, false)]!--;
    sum--;
  }
  // Exchange units while that lowers the cost (bounded: each move strictly lowers a convex cost).
  for (let guard = 0; guard < 4 * total; guard++) {
    const up = best(gain, true);
    const down = best(loss, false);
    if (up === down || !(gain(up) > loss(down) * (1 + 1e-12))) break;
    f[up]!++;
    f[down]!--;
  }
  for (let s = 0; s < S; s++) out[offset + s] = f[s]!;
}

/** Fits tables (precision LATENT_TABLE_PRECISION) to per-dimension symbol counts; every symbol stays codable. */
export function fitLatentTables(counts: Float64Array | Uint32Array, dims: number): LatentTables {
  if (!Number.isInteger(dims) || dims < 1 || dims > MAX_TABLE_DIMS) {
    throw new RangeError(`dims must be an integer in 1..${MAX_TABLE_DIMS}, got ${dims}`);
  }
  if (counts.length !== dims * LATENT_SYMBOLS) throw new RangeError(`counts must hold ${dims} × 256 values, has ${counts.length}`);
  const precisionBits = LATENT_TABLE_PRECISION;
  const freq = new Uint16Array(dims * LATENT_SYMBOLS);
  for (let d = 0; d < dims; d++) fitRow(counts, d * LATENT_SYMBOLS, 1 << precisionBits, freq);
  return { dims, precisionBits, freq };
}

/** Total bits the tables predict for the counted symbols: Σ c · log2(2^precision / f). */
export function crossEntropyBits(counts: Float64Array | Uint32Array, t: LatentTables): number {
  if (counts.length !== t.dims * LATENT_SYMBOLS) throw new RangeError(`counts must hold ${t.dims} × 256 values, has ${counts.length}`);
  let bits = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0) bits += c * (t.precisionBits - Math.log2(t.freq[i]!));
  }
  return bits;
}

// latent_tables.bin: magic(8) version(u16) precisionBits(u8) reserved(u8) dims(u32) freq(u16 × dims × 256), little-endian.
/** `\x89AET\r\n\x1a\n` (as the `.aez` magic, with T for tables). */
export const LATENT_TABLES_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x89, 0x41, 0x45, 0x54, 0x0d, 0x0a, 0x1a, 0x0a);
export const LATENT_TABLES_VERSION = 1;
const TABLES_HEADER_BYTES = 16;

/** Bytes of `latent_tables.bin` for `dims` dimensions. */
export function latentTablesFileBytes(dims: number): number {
  return TABLES_HEADER_BYTES + 2 * LATENT_SYMBOLS * dims;
}

/** Checks tables in memory (the same rules decodeLatentTables applies to a file); returns a problem or undefined. */
export function latentTablesProblem(t: LatentTables): string | undefined {
  if (!Number.isInteger(t.dims) || t.dims < 1 || t.dims > MAX_TABLE_DIMS) return `dims ${t.dims} is outside 1..${MAX_TABLE_DIMS}`;
  if (!Number.isInteger(t.precisionBits) || t.precisionBits < MIN_TABLE_PRECISION || t.precisionBits > MAX_TABLE_PRECISION) {
    return `precision ${t.precisionBits} bits is outside ${MIN_TABLE_PRECISION}..${MAX_TABLE_PRECISION}`;
  }
  if (!(t.freq instanceof Uint16Array) || t.freq.length !== t.dims * LATENT_SYMBOLS) {
    return `freq must be a Uint16Array of ${t.dims} × 256 values`;
  }
  const total = 2 ** t.precisionBits;
  for (let d = 0; d < t.dims; d++) {
    let sum = 0;
    for (let s = 0; s < LATENT_SYMBOLS; s++) {
      const f = t.freq[d * LATENT_SYMBOLS + s]!;
      if (f === 0) return `dimension ${d}: symbol ${s} has frequency 0 (every symbol needs at least 1 to stay codable)`;
      sum += f;
    }
    if (sum !== total) return `dimension ${d}: frequencies sum to ${sum}, not 2^${t.precisionBits} = ${total}`;
  }
  return undefined;
}

/** The `latent_tables.bin` bytes of valid tables (RangeError for invalid ones). */
export function encodeLatentTables(t: LatentTables): Uint8Array {
  const problem = latentTablesProblem(t);
  if (problem !== undefined) throw new RangeError(`invalid latent tables: ${problem}`);
  const out = new Uint8Array(latentTablesFileBytes(t.dims));
  const v = new DataView(out.buffer);
  out.set(LATENT_TABLES_MAGIC, 0);
  v.setUint16(8, LATENT_TABLES_VERSION, true);
  v.setUint8(10, t.precisionBits);
  v.setUint8(11, 0);
  v.setUint32(12, t.dims, true);
  for (let i = 0; i < t.freq.length; i++) v.setUint16(TABLES_HEADER_BYTES + 2 * i, t.freq[i]!, true);
  return out;
}

/**
 * Parses and validates `latent_tables.bin` bytes. Anything wrong (magic, version, sizes, a zero
 * frequency, a row not summing to 2^precision) → BundleError naming `where` (the file) and the fault.
 */
export function decodeLatentTables(bytes: Uint8Array, where: string): LatentTables {
  const fail = (what: string): never => {
    throw new BundleError(`${where}: ${what}; the latent tables file is damaged or not one, re-export the bundle`, { file: where });
  };
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeLatentTables takes the file as a Uint8Array');
  if (bytes.length < TABLES_HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the ${TABLES_HEADER_BYTES}-byte header`);
  for (let i = 0; i < LATENT_TABLES_MAGIC.length; i++) {
    if (bytes[i] !== LATENT_TABLES_MAGIC[i]) fail(`byte ${i} does not match the latent tables magic (\\x89AET\\r\\n\\x1a\\n)`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint16(8, true);
  if (version !== LATENT_TABLES_VERSION) fail(`version ${version} is not supported (this reader knows ${LATENT_TABLES_VERSION})`);
  const precisionBits = v.getUint8(10);
  if (v.getUint8(11) !== 0) fail('reserved byte 11 is not zero');
  const dims = v.getUint32(12, true);
  if (dims < 1 || dims > MAX_TABLE_DIMS) fail(`dims ${dims} is outside 1..${MAX_TABLE_DIMS}`);
  if (bytes.length !== latentTablesFileBytes(dims)) {
    fail(`${bytes.length} bytes, but ${dims} dimensions take ${latentTablesFileBytes(dims)} (16 + 512 per dimension)`);
  }
  const freq = new Uint16Array(dims * LATENT_SYMBOLS);
  for (let i = 0; i < freq.length; i++) freq[i] = v.getUint16(TABLES_HEADER_BYTES + 2 * i, true);
  const t = { dims, precisionBits, freq };
  const problem = latentTablesProblem(t);
  if (problem !== undefined) fail(problem);
  return t;
}
