/** Everything of the `.aez` container inside the runtime: the public part, plus the byte-level pieces tests use. */
export * from './public.js';
export {
  AEZ_MAGIC,
  AEZ_VERSION,
  AEZ_READ_VERSIONS,
  chunkCrc,
  MAX_CHUNK_PAYLOAD_BYTES,
  MAX_INPUT_DIM,
  MAX_LATENT_DIM,
  UNKNOWN_ROW_COUNT,
  encodeHeader,
  parseHeader,
  headerLength,
} from './format.js';
export { LATENT_TYPE_BYTES, quantizeLatents, dequantizeLatents } from '@aekit/core';
export { crc32 } from './crc32.js';
