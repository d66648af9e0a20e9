export type { Dataset, DataFormat } from './dataset.js';
export { DATA_FORMATS } from './dataset.js';
export { parseIdx, parseIdxHeader, type IdxHeader } from './idx.js';
export { parseNpy, encodeNpy, writeNpy, parseHeader as parseNpyHeader } from './npy.js';
export { parseCsv, csvNumber, type CsvOptions } from './csv.js';
export { loadDataset, parseDataFormat, formatFromName, type LoadOptions } from './load.js';
export { openRegularFile, readRegularFile, assertInputPath, removeScratchFilesSync, CSV_MAX_IN_MEMORY, CSV_MAX_STREAMED } from './read.js';
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
export {
  writeFileAtomic,
  writeDirAtomic,
  writeStreamAtomic,
  type WriteStreamAtomicOptions,
  LockError,
  lockTarget,
  heldLocks,
  removeStaleTemps,
  abandonAtomicWritesSync,
  takeCompletedWrites,
  pidAlive,
} from './fs-atomic.js';
