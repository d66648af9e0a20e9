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

export type DataFormat = 'idx' | 'npy' | 'csv';
export const DATA_FORMATS: readonly DataFormat[] = ['idx', 'npy', 'csv'];
