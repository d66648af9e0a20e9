/**
 * Numeric CSV: comma-separated numbers, one row per line, every row the same length; blank lines are
 * skipped. The header rule (docs/data.md), shared by the in-memory parser and the streamed reader:
 *
 * - `header: true` (`--header`): the first non-blank line is a header and is skipped.
 * - `header: false` (`--no-header`): every line is data.
 * - `auto` (default): the first line is a header when none of its cells is a number. `onWarning`
 *   reports a skipped line with cells that look like data rather than names (`0x1F`, `NaN`, empty),
 *   and a first line 0,1,…,n-1 (the column-index header pandas writes by default), which `auto`
 *   reads as data.
 *
 * Cells are strict decimal numbers (`-1`, `2.5`, `.5`, `1e-3`, spaces around them allowed): no hex,
 * no `Infinity`/`NaN`, no empty cells, no trailing junk (`Number()` would take `0x10`, `''` and
 * `1_000`-free but surprising forms). Errors name the 1-based row and column, and the line.
 */
import { DataError } from '@aekit/core';
import type { Dataset } from './dataset.js';

export interface CsvOptions {
  /** true: skip the first line; false: it is data; `auto` (default): skip it when none of its cells is a number. */
  header?: boolean | 'auto';
  /** Called with a warning about the header guess (auto mode only). */
  onWarning?: (message: string) => void;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** What a column name looks like: starts with a letter or _, then letters, digits, spaces, _ . - ( ) / : (quoted or not). */
const HEADER_NAME = /^"?[A-Za-z_][\w .()/:-]*"?$/;

/** A strict decimal number, or NaN. */
export function csvNumber(cell: string): number {
  const t = cell.trim();
  return NUMBER.test(t) ? Number(t) : NaN;
}

/**
 * Decides whether the first non-blank line (`cells`, at 1-based `lineNo`) is a header, warning in
 * auto mode. Shared by parseCsv and the streamed reader so both apply one rule.
 */
export function isCsvHeader(cells: string[], lineNo: number, file: string, options: CsvOptions): boolean {
  const mode = options.header ?? 'auto';
  if (mode !== 'auto') return mode;
  const shown = cells.length > 6 ? `${cells.slice(0, 6).join(',')},…` : cells.join(',');
  if (cells.every((c) => Number.isNaN(csvNumber(c)))) {
    // Column names pass silently; a dropped line holding cells that look like data (hex, NaN, empty,
    // 1.5e) is named, since it may be a first row of data whose values are all unreadable.
    const odd = cells.find((c) => !HEADER_NAME.test(c.trim()) || /^[+-]?(nan|inf(inity)?)$/i.test(c.trim()));
    if (odd !== undefined) {
      options.onWarning?.(
        `${file}: line ${lineNo} ("${shown}") has no numbers and is skipped as a header, but cells like "${odd.trim()}" look like data, not column names ` +
          '(--header says it is a header and silences this; --no-header reads it as data)',
      );
    }
    return true;
  }
  if (cells.length >= 2 && cells.every((c, i) => c.trim() === String(i))) {
    options.onWarning?.(
      `${file}: line ${lineNo} is 0,1,…,${cells.length - 1}, like the column-index header pandas writes by default; it is read as data ` +
        '(--header skips it, --no-header silences this; write the file with df.to_csv(path, header=False, index=False))',
    );
  }
  return false;
}

/**
 * Parses one data line into `out` at `offset`; throws a DataError naming row, column and line.
 * `firstLine` is the line that set the column count.
 */
export function parseCsvRow(
  cells: string[],
  cols: number,
  where: { file: string; row: number; line: number; firstLine: number; headerSkipped: boolean },
  out: Float32Array,
  offset: number,
): void {
  const { file, row, line, firstLine } = where;
  if (cells.length !== cols) {
    throw new DataError(
      `${file}: line ${line} has ${cells.length} values but line ${firstLine} has ${cols}; every row must have the same number of columns`,
      { file },
    );
  }
  for (let c = 0; c < cols; c++) {
    const v = csvNumber(cells[c]!);
    if (Number.isFinite(v)) {
      out[offset + c] = v;
      continue;
    }
    const cell = cells[c]!.trim();
    const what =
      cell === ''
        ? 'empty'
        : /^[+-]?(nan|inf(inity)?)$/i.test(cell)
          ? `${cell} (not a finite number)`
          : `not a number ("${cell.length > 40 ? `${cell.slice(0, 40)}…` : cell}")`;
    const hint =
      row === 1 && !where.headerSkipped
        ? '; if this line is a header, pass --header'
        : '; every cell must be a plain decimal number (no hex, units or empty cells: fill or drop missing values)';
    throw new DataError(`${file}: row ${row}, column ${c + 1} (line ${line}) is ${what}${hint}`, { file });
  }
}

export function parseCsv(bytes: Uint8Array, file: string, options: CsvOptions = {}): Dataset {
  const text = new TextDecoder('utf-8').decode(bytes);
  const lines = text.split('\n');
  const blank = (l: string) => !/\S/.test(l);
  const first = lines.findIndex((l) => !blank(l));
  if (first < 0) throw new DataError(`${file}: the CSV file is empty; expected rows of comma-separated numbers`, { file });
  const strip = (l: string) => (l.endsWith('\r') ? l.slice(0, -1) : l);
  const headerSkipped = isCsvHeader(strip(lines[first]!).split(','), first + 1, file, options);
  let rows = 0;
  for (let i = headerSkipped ? first + 1 : first; i < lines.length; i++) if (!blank(lines[i]!)) rows++;
  if (rows === 0) throw new DataError(`${file}: the CSV file has a header but no data rows`, { file });
  let cols = -1;
  let firstLine = 0;
  let data = new Float32Array(0);
  let r = 0;
  for (let i = headerSkipped ? first + 1 : first; i < lines.length; i++) {
    if (blank(lines[i]!)) continue;
    const cells = strip(lines[i]!).split(',');
    if (cols < 0) {
      cols = cells.length;
      firstLine = i + 1;
      data = new Float32Array(rows * cols);
    }
    parseCsvRow(cells, cols, { file, row: r + 1, line: i + 1, firstLine, headerSkipped }, data, r * cols);
    r++;
  }
  return { data, rows, cols, dtype: 'float32', source: file };
}
