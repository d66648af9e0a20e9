export type { Dataset, DataFormat } from './dataset.js';
export { DATA_FORMATS } from './dataset.js';
export { parseIdx, parseIdxHeader, type IdxHeader } from './idx.js';
export { parseNpy, encodeNpy, writeNpy } from './npy.js';
export { parseCsv, type CsvOptions } from './csv.js';
export { loadDataset, parseDataFormat, formatFromName, type LoadOptions } from './load.js';
export { loadBundledDigits, BUNDLED_DIGITS_SOURCE, type LabelledDataset } from './digits.js';
export {
  openRowSource,
  openRowStream,
  streamsByDefault,
  STREAM_AUTO_BYTES,
  type RowSource,
  type OpenRowSourceOptions,
  type RowStream,
  type OpenRowStreamOptions,
} from './stream.js';
export { writeFileAtomic, writeDirAtomic, writeStreamAtomic, type WriteStreamAtomicOptions } from './fs-atomic.js';
