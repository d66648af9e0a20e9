/** Entropy coding of uint8 latent symbols: fitted per-dimension tables and the rANS coder (docs/format.md). */
export {
  LATENT_SYMBOLS,
  LATENT_TABLE_PRECISION,
  LATENT_TABLES_MAGIC,
  LATENT_TABLES_VERSION,
  MAX_TABLE_DIMS,
  type LatentTables,
  countLatentSymbols,
  crossEntropyBits,
  decodeLatentTables,
  encodeLatentTables,
  fitLatentTables,
  latentTablesFileBytes,
} from './tables.js';
export { RANS_LOOKUP_BUDGET, ransDecodeRows, ransEncodeRows, ransMaxBytes } from './rans.js';
