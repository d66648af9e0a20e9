/**
 * Bridges the runtime's Codec (encode/decode return `{ data, rows, cols }`) to the `CompressCodec`
 * interface the container code is written against.
 */
import { BundleError, type BundlePart, type LatentTables } from '@aekit/core';
import type { CompressCodec, CompressManifest } from './api.js';

/** The part of the runtime's Codec that compression uses. */
export interface RowCodec {
  readonly manifest: CompressManifest & { part?: BundlePart | undefined };
  readonly latentTables: LatentTables | undefined;
  encode(input: Float32Array | Uint8Array): Promise<{ data: Float32Array }>;
  decode(latents: Float32Array): Promise<{ data: Float32Array | Uint8Array }>;
}

export function compressCodecOf(codec: RowCodec): CompressCodec {
  const part = codec.manifest.part;
  // A container records the decoder that reads it back: both halves are needed.
  if (part !== undefined) {
    throw new BundleError(`compression needs a whole bundle (encoder and decoder); this one is the ${part} alone (manifest part "${part}"): export the model without --part`);
  }
  return {
    manifest: codec.manifest,
    latentTables: codec.latentTables,
    encode: async (rows) => (await codec.encode(rows)).data,
    decode: async (latents) => (await codec.decode(latents)).data,
  };
}
