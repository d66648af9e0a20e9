import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DataError, UsageError } from '@aekit/core';
import { parseCsv } from './csv.js';
import { DATA_FORMATS, type DataFormat, type Dataset } from './dataset.js';
import { looksLikeIdx, parseIdx } from './idx.js';
import { parseNpy } from './npy.js';

export interface LoadOptions {
  /** idx, npy or csv; guessed from the file name (then from its first bytes) when omitted. */
  format?: DataFormat;
}

const PARSERS: Record<DataFormat, (bytes: Uint8Array, file: string) => Dataset> = {
  idx: parseIdx,
  npy: parseNpy,
  csv: (bytes, file) => parseCsv(bytes, file),
};

export function parseDataFormat(name: string): DataFormat {
  if ((DATA_FORMATS as readonly string[]).includes(name)) return name as DataFormat;
  throw new UsageError(`unknown data format "${name}"; valid formats: ${DATA_FORMATS.join(', ')}`);
}

/** The format a file name implies (`x.npy`, `x.csv`, `train-images-idx3-ubyte.gz`, …), or undefined. */
export function formatFromName(path: string): DataFormat | undefined {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.npy')) return 'npy';
  if (name.endsWith('.csv')) return 'csv';
  if (/\.idx\d?$/.test(name) || /-ubyte$/.test(name) || /\.idx\d-ubyte$/.test(name)) return 'idx';
  return undefined;
}

/** The format the first bytes of a file show (NPY or IDX magic), or undefined (CSV has none). */
export function formatFromBytes(bytes: Uint8Array): DataFormat | undefined {
  if (bytes[0] === 0x93 && bytes[1] === 0x4e) return 'npy';
  if (looksLikeIdx(bytes)) return 'idx';
  return undefined;
}

/** True when `bytes` start with the gzip magic. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Loads an IDX (raw or gzip), NPY or CSV file into rows × cols. Throws DataError naming the file, the
 * place and what to do for every malformed input.
 */
export async function loadDataset(path: string, options: LoadOptions = {}): Promise<Dataset> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : (e as Error).message;
    throw new DataError(`${path}: ${why}; give --data an IDX, NPY or CSV file (or omit --data for the bundled digits)`, {
      file: path,
      cause: e,
    });
  }
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DataError(`${path}: corrupt or truncated gzip data (${(e as Error).message}); re-download the file`, {
        file: path,
        cause: e,
      });
    }
  }
  const format = options.format ?? formatFromName(path) ?? formatFromBytes(bytes);
  if (format === undefined) {
    throw new DataError(`${path}: cannot tell the data format from the name or contents; pass --format ${DATA_FORMATS.join('|')}`, {
      file: path,
    });
  }
  const ds = PARSERS[format](bytes, path);
  if (ds.rows === 0 || ds.cols === 0) {
    throw new DataError(`${path}: the data has ${ds.rows} rows of ${ds.cols} values; expected at least one non-empty row`, {
      file: path,
    });
  }
  return ds;
}
