/**
 * Bridges the runtime's Codec (encode/decode return `{ data, rows, cols }`) to the `CompressCodec`
 * interface the container code is written against.
 */
import type { LatentTables } from '@aekit/core';
import type { CompressCodec, CompressManifest } from './api.js';

/** The part of the runtime's Codec that compression uses. */
export interface RowCodec {
  readonly manifest: CompressManifest;
  readonly latentTables: LatentTables | undefined;
  encode(input: Float32Array | Uint8Array): Promise<{ data: Float32Array }>;
  decode(latents: Float32Array): Promise<{ data: Float32Array | Uint8Array }>;
}

export function compressCodecOf(codec: RowCodec): CompressCodec {
  return {
    manifest: codec.manifest,
    latentTables: codec.latentTables,
    encode: async (rows) => (await codec.encode(rows)).data,
    decode: async (latents) => (await codec.decode(latents)).data,
  };
}
