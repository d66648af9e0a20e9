export declare function writeBenchBundle(files: Record<'encoder' | 'decoder' | 'autoencoder', Uint8Array>): string;
