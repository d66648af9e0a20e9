/**
 * The one error hierarchy of every aekit package (trainer, exporter, runtime, CLI): each error is an
 * `AekitError` with a stable `code`, so callers and the CLI branch on `instanceof AekitError` and
 * `code` without parsing messages or caring which package threw. Messages name the problem, the place
 * (file, row/column/byte offset) and what to do. Bad argument types stay plain `TypeError`s and values
 * out of range plain `RangeError`s, as onnxruntime's own API does.
 */

/** Codes of the `.aez` compressed container (docs/format.md), carried by `ContainerError`. */
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
  | 'E_AEZ_CORRUPT'
  /** Containers given to merge disagree (bundle, latent type, dimensions, range): not shards of one run. */
  | 'E_AEZ_MISMATCH';

export type AekitErrorCode =
  | 'E_SPEC'
  | 'E_DATA'
  | 'E_CHECKPOINT'
  | 'E_EXPORT'
  | 'E_USAGE'
  | 'E_IO'
  | 'E_BACKEND'
  | 'E_INTERRUPTED'
  | 'E_BUNDLE'
  | 'E_DISPOSED'
  | ContainerErrorCode;

export interface AekitErrorOptions {
  cause?: unknown;
  /** File the problem was found in, when there is one. */
  file?: string;
}

export class AekitError extends Error {
  readonly code: AekitErrorCode;
  readonly file?: string;
  constructor(code: AekitErrorCode, message: string, options: AekitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.file !== undefined) this.file = options.file;
  }
}

/** The model spec is invalid: unknown activation, bad layer sizes, … */
export class SpecError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_SPEC', message, options);
  }
}

/** A data file is missing, malformed, or does not fit the model. */
export class DataError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_DATA', message, options);
  }
}

/** A checkpoint (tfjs layers model + aekit metadata) is missing, damaged or inconsistent. */
export class CheckpointError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_CHECKPOINT', message, options);
  }
}

/** The model cannot be exported to ONNX (unsupported layer, bad opset, …). */
export class ExportError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_EXPORT', message, options);
  }
}

/** A command-line or API option is invalid (out of range, unknown value, …). */
export class UsageError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_USAGE', message, options);
  }
}

/** Reading or writing a file failed (disk full, read-only, permission). */
export class IoError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_IO', message, options);
  }
}

/**
 * A requested compute backend or execution provider is not available; from the runtime, no requested
 * device could run the bundle and the message lists each one tried and why.
 */
export class BackendError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_BACKEND', message, options);
  }
}

/** A run was stopped by a signal (Ctrl-C, SIGTERM); the message says what was saved and how to continue. */
export class InterruptedError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_INTERRUPTED', message, options);
  }
}

/** The bundle is missing a file, has a manifest of another format or version, or fails its hash check. */
export class BundleError extends AekitError {
  constructor(message: string, options?: AekitErrorOptions) {
    super('E_BUNDLE', message, options);
  }
}

/** A method was called on a runtime codec after `dispose()`. */
export class DisposedError extends AekitError {
  constructor(message = 'this codec has been disposed; load the bundle again') {
    super('E_DISPOSED', message);
  }
}

export interface ContainerErrorOptions {
  /** Byte offset in the container where the problem was found. */
  offset?: number;
  cause?: unknown;
}

/** An `.aez` container is not one, is damaged or truncated, or does not fit the bundle reading it. */
export class ContainerError extends AekitError {
  declare readonly code: ContainerErrorCode;
  readonly offset?: number;
  constructor(code: ContainerErrorCode, message: string, options: ContainerErrorOptions = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    if (options.offset !== undefined) this.offset = options.offset;
  }

  /**
   * Names the file the container came from (the codec only sees bytes, so the caller that opened the
   * file adds it): sets `file` and prefixes the message once. Returns the same error, to rethrow.
   */
  inFile(file: string): this {
    if (this.file === undefined) {
      (this as { file?: string }).file = file;
      this.message = `${file}: ${this.message}`;
    }
    return this;
  }
}

/** Decompressing with a bundle whose decoder is not the one that made the file. */
export class FingerprintError extends ContainerError {
  declare readonly code: 'E_AEZ_FINGERPRINT';
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
    this.fileFingerprint = fileFingerprint;
    this.bundleFingerprint = bundleFingerprint;
  }
}
