/**
 * What the runtime's entries export of the `.aez` container (docs/format.md): whole-array and
 * streaming compression, header inspection, the latent types and the container's errors. The
 * byte-level pieces (header codec, CRC, quantisers) stay internal to compress/.
 */
export {
  compress,
  compressWithStats,
  decompress,
  compressStream,
  decompressStream,
  readContainerHeader,
  roundToUint8,
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
  DecompressOptions,
  DecompressStream,
  DecompressResult,
} from './api.js';
export { ContainerMerger, mergeContainers, mergeContainerStream, readMergeHeader } from './merge.js';
export type { MergeBundle, MergePart, MergeStreamPart, MergeStats } from './merge.js';
export { MAX_SHARDS, parseShard, shardRange } from './shard.js';
export type { Shard } from './shard.js';
export { ContainerError, FingerprintError } from '@aekit/core';
export type { ContainerErrorCode, ContainerErrorOptions } from '@aekit/core';
export type { ContainerHeader, InputDtype } from './format.js';
export { LATENT_TYPES, parseLatentType } from './format.js';
export type { LatentType, LatentRange } from './format.js';
export type { LatentTables } from '@aekit/core';
