import { DataError, UsageError } from '@aekit/core';
import { type CsvOptions, parseCsv } from './csv.js';
import { DATA_FORMATS, type DataFormat, type Dataset } from './dataset.js';
import { looksLikeIdx, parseIdx } from './idx.js';
import { parseNpy } from './npy.js';
import { gunzipFile, openRegularFile } from './read.js';

export interface LoadOptions extends CsvOptions {
  /** idx, npy or csv; guessed from the file name (then from its first bytes) when omitted. */
  format?: DataFormat;
  /**
   * A .gz file may inflate to at most this many bytes. Default: the size its IDX/NPY header declares
   * (a file inflating past it is refused as it inflates); CSV: CSV_MAX_IN_MEMORY (512 MiB).
   */
  maxBytes?: number;
  /**
   * What the user should do when the file cannot be read: ends those error messages. Default
   * DATA_HINT (the train command's --data); a caller with other options passes its own.
   */
  hint?: string;
}

/** The end of every "cannot read --data" message. */
export const DATA_HINT = 'give --data an IDX, NPY or CSV file (or omit --data for the bundled digits)';

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
  const hint = options.hint ?? DATA_HINT;
  const { fh } = await openRegularFile(path, hint);
  let bytes: Uint8Array;
  try {
    const magic = new Uint8Array(2);
    await fh.read(magic, 0, 2, 0);
    if (isGzip(magic)) bytes = await gunzipFile(fh, path, options.format ?? formatFromName(path), options.maxBytes);
    else bytes = await fh.readFile();
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${path}: cannot read (${(e as Error).message}); ${hint}`, { file: path, cause: e });
  } finally {
    await fh.close();
  }
  const format = options.format ?? formatFromName(path) ?? formatFromBytes(bytes);
  if (format === undefined) {
    throw new DataError(`${path}: cannot tell the data format from the name or contents; pass --format ${DATA_FORMATS.join('|')}`, {
      file: path,
    });
  }
  const ds = format === 'idx' ? parseIdx(bytes, path) : format === 'npy' ? parseNpy(bytes, path) : parseCsv(bytes, path, options);
  if (ds.rows === 0 || ds.cols === 0) {
    throw new DataError(`${path}: the data has ${ds.rows} rows of ${ds.cols} values; expected at least one non-empty row`, {
      file: path,
    });
  }
  return ds;
}
