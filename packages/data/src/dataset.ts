/** A table of numbers loaded from a data file: `rows` rows of `cols` values, row-major. */
export interface Dataset {
  /** uint8 data stays uint8 (images); everything else is converted to float32. */
  data: Float32Array | Uint8Array;
  rows: number;
  cols: number;
  dtype: 'uint8' | 'float32';
  /** The shape of one row when the file records it (IDX, NPY: e.g. [28, 28]); absent for CSV. */
  rowShape?: number[];
  /** Where the data came from: a file path or `bundled:mnist`. */
  source: string;
}

/**
 * Bytes [start, end) of a file's contents as uint8 rows. A view when `bytes` owns its whole buffer (a
 * file read whole): copying hundreds of MB into fresh memory costs more than reading them. A copy
 * when the buffer is shared (a pooled Node Buffer), so the rows never share memory they do not own.
 */
export function uint8Rows(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const owned = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return owned ? new Uint8Array(bytes.buffer, start, end - start) : new Uint8Array(bytes.subarray(start, end));
}

export type DataFormat = 'idx' | 'npy' | 'csv';
export const DATA_FORMATS: readonly DataFormat[] = ['idx', 'npy', 'csv'];
