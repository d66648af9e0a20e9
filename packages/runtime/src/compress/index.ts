/** Compression of rows into fingerprinted, checksummed `.aez` containers (docs/format.md). */
export {
  compress,
  compressWithStats,
  decompress,
  compressStream,
  decompressStream,
  readContainerHeader,
  containerSize,
  DEFAULT_ROWS_PER_CHUNK,
} from './api.js';
export type {
  CompressCodec,
  CompressManifest,
  CompressOptions,
  CompressStreamOptions,
  CompressStats,
  CompressStream,
  DecompressStream,
  DecompressResult,
} from './api.js';
export { ContainerError, FingerprintError } from '@aekit/core';
export type { ContainerErrorCode, ContainerErrorOptions } from '@aekit/core';
export {
  AEZ_MAGIC,
  AEZ_VERSION,
  MAX_CHUNK_PAYLOAD_BYTES,
  MAX_INPUT_DIM,
  MAX_LATENT_DIM,
  UNKNOWN_ROW_COUNT,
  encodeHeader,
  parseHeader,
  headerLength,
} from './format.js';
export type { ContainerHeader, InputDtype } from './format.js';
export { LATENT_TYPES, LATENT_TYPE_BYTES, parseLatentType, quantizeLatents, dequantizeLatents } from './quantize.js';
export type { LatentType, LatentRange } from './quantize.js';
export { crc32 } from './crc32.js';
export { float32ToFloat16Bits, float16BitsToFloat32, FLOAT16_MAX } from '@aekit/core';
