/**
 * Numeric CSV: comma-separated numbers, one row per line, every row the same length. A first line
 * whose cells are all non-numeric is a header and is skipped (`header: true/false` forces it).
 */
import { DataError } from '@aekit/core';
import type { Dataset } from './dataset.js';

export interface CsvOptions {
  /** `auto` (default): the first line is a header when none of its cells is a number. */
  header?: boolean | 'auto';
}

export function parseCsv(bytes: Uint8Array, file: string, options: CsvOptions = {}): Dataset {
  const text = new TextDecoder('utf-8').decode(bytes);
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new DataError(`${file}: the CSV file is empty; expected rows of comma-separated numbers`, { file });
  let first = 0;
  const header = options.header ?? 'auto';
  if (header === true || (header === 'auto' && lines[0]!.split(',').every((c) => !isNumeric(c)))) first = 1;
  const rows = lines.length - first;
  if (rows === 0) throw new DataError(`${file}: the CSV file has a header but no data rows`, { file });
  const cols = lines[first]!.split(',').length;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const lineNo = first + r + 1;
    const cells = lines[first + r]!.split(',');
    if (cells.length !== cols) {
      throw new DataError(
        `${file}: line ${lineNo} has ${cells.length} values but line ${first + 1} has ${cols}; ` +
          'every row must have the same number of columns',
        { file },
      );
    }
    for (let c = 0; c < cols; c++) {
      const cell = cells[c]!.trim();
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        const what = cell === '' ? 'empty' : Number.isNaN(v) && !/^[+-]?nan$/i.test(cell) ? `not a number ("${cell}")` : `${cell}`;
        throw new DataError(
          `${file}: line ${lineNo}, column ${c + 1} is ${what}; every cell must be a finite number ` +
            '(fill or drop missing values before training)',
          { file },
        );
      }
      data[r * cols + c] = v;
    }
  }
  return { data, rows, cols, dtype: 'float32', source: file };
}

function isNumeric(cell: string): boolean {
  const t = cell.trim();
  return t !== '' && !Number.isNaN(Number(t));
}
