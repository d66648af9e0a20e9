/**
 * Typed errors of the `.aez` container (docs/format.md). The runtime depends on no aekit package, so
 * it has its own error class; `code` is stable for callers and the CLI to branch on.
 */
export type ContainerErrorCode =
  /** The bytes do not start with the `.aez` magic: not an aekit compressed file. */
  | 'E_AEZ_MAGIC'
  /** Format version (or flags) this reader does not know. */
  | 'E_AEZ_VERSION'
  /** A header or length field outside its bounds (absurd sizes are refused before any allocation). */
  | 'E_AEZ_BOUNDS'
  /** The data ends before the container does. */
  | 'E_AEZ_TRUNCATED'
  /** A CRC-32 does not match: the bytes were damaged. */
  | 'E_AEZ_CRC'
  /** Row or chunk counts disagree between the header, the chunks and the trailer. */
  | 'E_AEZ_ROWS'
  /** The file was made with another model's decoder. */
  | 'E_AEZ_FINGERPRINT'
  /** Any other structural problem: bytes after the trailer, header that contradicts the bundle. */
  | 'E_AEZ_CORRUPT';

export interface ContainerErrorOptions {
  /** Byte offset in the container where the problem was found. */
  offset?: number;
  cause?: unknown;
}

export class ContainerError extends Error {
  readonly code: ContainerErrorCode;
  readonly offset?: number;
  constructor(code: ContainerErrorCode, message: string, options: ContainerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ContainerError';
    this.code = code;
    if (options.offset !== undefined) this.offset = options.offset;
  }
}

/** Decompressing with a bundle whose decoder is not the one that made the file. */
export class FingerprintError extends ContainerError {
  /** Hex SHA-256 of the decoder that made the file. */
  readonly fileFingerprint: string;
  /** Hex SHA-256 of the decoder of the bundle in use. */
  readonly bundleFingerprint: string;
  constructor(fileFingerprint: string, bundleFingerprint: string) {
    super(
      'E_AEZ_FINGERPRINT',
      `this file was compressed by the model whose decoder SHA-256 is ${fileFingerprint}, but this bundle's ` +
        `decoder is ${bundleFingerprint}; decompress it with the bundle that compressed it`,
      { offset: 16 },
    );
    this.name = 'FingerprintError';
    this.fileFingerprint = fileFingerprint;
    this.bundleFingerprint = bundleFingerprint;
  }
}
