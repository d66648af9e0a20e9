export type { Dataset, DataFormat } from './dataset.js';
export { DATA_FORMATS } from './dataset.js';
export { parseIdx } from './idx.js';
export { parseNpy, encodeNpy, writeNpy } from './npy.js';
export { parseCsv, type CsvOptions } from './csv.js';
export { loadDataset, parseDataFormat, formatFromName, type LoadOptions } from './load.js';
export { loadBundledDigits, BUNDLED_DIGITS_SOURCE, type LabelledDataset } from './digits.js';
export { openRowSource, streamsByDefault, STREAM_AUTO_BYTES, type RowSource, type OpenRowSourceOptions } from './stream.js';
export { DEFAULT_STREAM_BUFFER_MB, streamLayout, type StreamLayout } from './stream-epoch.js';
