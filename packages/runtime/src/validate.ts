/** Argument checks shared by the codec's methods: TypeError for wrong types, RangeError for bad values. */

/** Rows in a flat row-major array of `cols` columns; RangeError when the length does not divide. */
export function rowCount(method: string, what: string, length: number, cols: number, rows?: number): number {
  if (length % cols !== 0) {
    throw new RangeError(
      `${method}: ${what} has ${length} values, which is not a multiple of the ${cols} values per row ` +
        `(${Math.floor(length / cols)} rows and ${length % cols} left over): pass whole rows`,
    );
  }
  const n = length / cols;
  if (rows !== undefined) {
    if (typeof rows !== 'number' || !Number.isInteger(rows) || rows < 0) {
      throw new RangeError(`${method}: rows must be a non-negative integer, got ${String(rows)}`);
    }
    if (rows !== n) throw new RangeError(`${method}: rows is ${rows} but ${what} holds ${n} rows of ${cols} values`);
  }
  return n;
}

/**
 * Throws a RangeError naming the row and column of the first NaN or ±Infinity. The fast path sums the
 * values in a pairwise tree, 16 at a time (the fastest of the loops measured in V8): a finite sum proves
 * every value finite, as NaN and infinities make it non-finite; only when it is not (or a huge sum
 * overflowed) is the array scanned value by value. `firstRow` is the row number of `data[0]` in the
 * caller's input (for a batch of a larger input).
 *
 * Costs ~1–1.4 ns per value on this repo's 2-core machine (V8, Node 20): +80–100 % on the default
 * encoder at batch 64–1024. Graphs exported with an `x_check` output (docs/bundle.md) let the codec
 * skip it: see IN_GRAPH_CHECK_MIN_ROWS in codec.ts.
 */
export function checkFinite(method: string, what: string, data: Float32Array, cols: number, firstRow = 0): void {
  let s0 = 0;
  let s1 = 0;
  const n16 = data.length & ~15;
  for (let i = 0; i < n16; i += 16) {
    s0 += data[i]! + data[i + 1]! + (data[i + 2]! + data[i + 3]!) + (data[i + 4]! + data[i + 5]! + (data[i + 6]! + data[i + 7]!));
    s1 += data[i + 8]! + data[i + 9]! + (data[i + 10]! + data[i + 11]!) + (data[i + 12]! + data[i + 13]! + (data[i + 14]! + data[i + 15]!));
  }
  for (let i = n16; i < data.length; i++) s0 += data[i]!;
  if (Number.isFinite(s0 + s1)) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      throw new RangeError(
        `${method}: ${what} row ${firstRow + Math.floor(i / cols)}, column ${i % cols} is ${v}; values must be finite numbers`,
      );
    }
  }
}
