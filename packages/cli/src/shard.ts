/**
 * `--shard I/N` of `aekit encode` and `aekit compress` (docs/scale.md): the option, its parsing into a
 * usage error, and the row slice as a stream transform. The range rule is the runtime's shardRange.
 */
import { UsageError } from '@aekit/core';
import { type Shard, parseShard, shardRange } from '@aekit/runtime';

export const SHARD_HELP =
  'process only shard I of N (1-based, 1 ≤ I ≤ N): a contiguous slice of the rows; the shards in order, joined by aekit merge, give the whole output';

/** Parses --shard; undefined when not given. A bad value → UsageError naming the valid range. */
export function shardOption(spec: string | undefined): Shard | undefined {
  if (spec === undefined) return undefined;
  try {
    return parseShard(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The rows [start, end) a shard takes of `rows` (all of them without a shard). */
export function shardRows(rows: number, shard: Shard | undefined): { start: number; end: number } {
  return shard === undefined ? { start: 0, end: rows } : shardRange(rows, shard);
}

/**
 * Passes on only rows [start, end) of a stream of row values (rows may span pieces): pieces before
 * the slice are dropped, and once it is complete the source is cancelled.
 */
export function sliceRows<T extends Uint8Array | Float32Array>(cols: number, start: number, end: number): TransformStream<T, T> {
  const from = start * cols;
  const to = end * cols;
  let at = 0; // values seen so far
  return new TransformStream<T, T>({
    transform(piece, controller) {
      const lo = Math.max(from - at, 0);
      const hi = Math.min(to - at, piece.length);
      at += piece.length;
      if (hi > lo) controller.enqueue((lo === 0 && hi === piece.length ? piece : piece.subarray(lo, hi)) as T);
      // Past the slice: close downstream and cancel the source, so a first shard does not read the whole file.
      if (at >= to) controller.terminate();
    },
  });
}
