/**
 * Typed errors shared by the aekit packages that may depend on `@aekit/core` (trainer, exporter, CLI).
 * Every error carries a stable `code` so callers and the CLI can branch without parsing messages.
 * Messages name the problem, the place (file, row/column/byte offset) and what to do.
 */
export type AekitErrorCode =
  | 'E_SPEC'
  | 'E_DATA'
  | 'E_CHECKPOINT'
  | 'E_EXPORT'
  | 'E_USAGE'
  | 'E_IO'
  | 'E_BACKEND'
  | 'E_INTERRUPTED';

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

/** A requested compute backend or execution provider is not available. */
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
