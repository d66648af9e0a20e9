import { DataError } from '@aekit/core';

/**
 * Throws a DataError at the first NaN or ±Infinity, naming the file, row and column (both 1-based, as
 * an editor or spreadsheet shows them).
 */
export function assertFinite(data: Float32Array, cols: number, file: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is NaN for NaN and ±Infinity, 0 for every finite number: one test instead of two.
    if (v - v !== 0) {
      const row = Math.floor(i / cols) + 1;
      const col = (i % cols) + 1;
      throw new DataError(
        `${file}: row ${row}, column ${col} is ${v}; training data must be finite numbers ` +
          '(fill or drop missing values before training)',
        { file },
      );
    }
  }
}
