/**
 * Deterministic row shards (`aekit encode|compress --shard I/N`, docs/scale.md): row r of R goes to the
 * 0-based shard ⌊r·N/R⌋, so every shard is one contiguous range, shard sizes differ by at most one row,
 * and the shards' outputs concatenated in order hold the rows in their original order.
 */

/** A shard as users write it: `index` is 1-based (1 … count). */
export interface Shard {
  index: number;
  count: number;
}

/** Most shards one run may be split into (far more than any cluster needs; keeps the arithmetic exact). */
export const MAX_SHARDS = 1_000_000;

/**
 * Parses `I/N` (1-based I, 1 ≤ I ≤ N ≤ MAX_SHARDS). A bad value → RangeError naming the valid range
 * (the CLI reports it as a usage error).
 */
export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new RangeError(
      `--shard must be I/N with N shards in 1..${MAX_SHARDS} and a 1-based shard index I in 1..N (e.g. 1/4 … 4/4), got "${spec}"`,
    );
  }
  if (!Number.isInteger(index) || index < 1 || index > count) {
    throw new RangeError(`--shard ${spec.trim()}: the shard index is 1-based, so I must be in 1..${count} for ${count} shards`);
  }
  return { index, count };
}

/**
 * The rows [start, end) shard `index` (1-based) of `count` holds out of `rows`: the r with
 * ⌊r·count/rows⌋ = index − 1, i.e. start = ⌈(index − 1)·rows/count⌉. Exact for every safe-integer row
 * count (BigInt arithmetic). Shards of fewer rows than shards may be empty.
 */
export function shardRange(rows: number, shard: Shard): { start: number; end: number } {
  const { index, count } = shard;
  if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative safe integer, got ${rows}`);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
    throw new RangeError(`shard ${index}/${count}: the index must be in 1..count`);
  }
  const R = BigInt(rows);
  const N = BigInt(count);
  const ceilDiv = (a: bigint): number => Number((a + N - 1n) / N);
  return { start: ceilDiv(BigInt(index - 1) * R), end: ceilDiv(BigInt(index) * R) };
}
