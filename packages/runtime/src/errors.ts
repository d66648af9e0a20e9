/**
 * Typed errors of the runtime. The runtime depends on nothing but onnxruntime, so it keeps its own
 * error classes; their `code`s match @aekit/core's (`E_BUNDLE` is runtime-only) so callers can branch
 * on `code` without caring which package threw. Bad argument types are plain `TypeError`s and values
 * out of range plain `RangeError`s, as onnxruntime's own API does.
 */
export type RuntimeErrorCode = 'E_BUNDLE' | 'E_BACKEND' | 'E_IO' | 'E_DISPOSED';

export interface RuntimeErrorOptions {
  cause?: unknown;
  /** The file the problem was found in, when there is one. */
  file?: string;
}

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  readonly file?: string;
  constructor(code: RuntimeErrorCode, message: string, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.file !== undefined) this.file = options.file;
  }
}

/** The bundle is missing a file, has a manifest of another format or version, or fails its hash check. */
export class BundleError extends RuntimeError {
  constructor(message: string, options?: RuntimeErrorOptions) {
    super('E_BUNDLE', message, options);
  }
}

/** No requested device (execution provider) could run the bundle; the message lists each one tried and why. */
export class BackendError extends RuntimeError {
  constructor(message: string, options?: RuntimeErrorOptions) {
    super('E_BACKEND', message, options);
  }
}

/** A method was called on a codec after `dispose()`. */
export class DisposedError extends RuntimeError {
  constructor(message = 'this codec has been disposed; load the bundle again') {
    super('E_DISPOSED', message);
  }
}
