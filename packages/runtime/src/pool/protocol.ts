/**
 * The message protocol between a caller and a Codec running behind a MessagePort-like endpoint: a
 * Node worker_threads Worker (CodecPool) or a browser Web Worker (WorkerCodec / exposeCodec). Browser-
 * safe: no Node APIs. Every request carries an id; the worker answers each with `ok` and a value, or
 * with the error in wire form, re-created on the caller's side as the same class with its `code`.
 * Row arrays travel as transferred ArrayBuffers (moved, not copied) in both directions.
 */
import {
  AekitError,
  BackendError,
  BundleError,
  type BundleManifest,
  CheckpointError,
  ContainerError,
  DataError,
  DisposedError,
  ExportError,
  FingerprintError,
  InterruptedError,
  IoError,
  type LatentTables,
  SpecError,
  UsageError,
} from '@aekit/core';
import type { Attempt } from '../devices.js';
import type { ContainerHeader } from '../compress/format.js';

/** Bumped when a message changes shape: a worker built from another version is refused at load. */
export const PROTOCOL_VERSION = 2;

/** What both sides of the protocol need from a port: Node's Worker / MessagePort and a browser Worker fit. */
export interface Endpoint {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/**
 * The options a worker's Codec is loaded with: the LoadOptions of the worker's platform (Node's, or the
 * web's with wasmPaths / logLevel) less what cannot cross (functions: fetch, onProgress stay with the caller).
 */
export type WireLoadOptions = Record<string, unknown>;

/** `options` without its function-valued entries (they cannot be posted to a worker). */
export function wireOptions(options: object): WireLoadOptions {
  const out: WireLoadOptions = {};
  for (const [k, v] of Object.entries(options)) if (typeof v !== 'function' && v !== undefined) out[k] = v;
  return out;
}

/** A bundle as the worker can load it: a path (Node) or URL (browser), or the files' bytes. */
export type WireBundle = string | { manifest: BundleManifest | string | Uint8Array; files: Record<string, Uint8Array> };

export type RunMethod = 'encode' | 'decode' | 'reconstruct';

export type Request =
  | { id: number; op: 'load'; version: number; bundle: WireBundle; options: WireLoadOptions }
  /** One method call over all the rows (RemoteCodec cuts the parts on batch boundaries). */
  | { id: number; op: 'run'; method: RunMethod; data: Float32Array | Uint8Array; rows: number }
  /**
   * Rows → the chunk records of a container with `header`, numbered from chunk `firstChunk` at row
   * `firstRow` (each record's CRC binds its place in the whole container).
   */
  | { id: number; op: 'compress'; header: ContainerHeader; data: Float32Array | Uint8Array; firstChunk: number; firstRow: number }
  /**
   * As `compress`, for `rows` uint8 rows the worker reads itself from byte `offset` of the file at
   * `path` (Node workers only: CodecPool.compressFile).
   */
  | { id: number; op: 'compressFile'; header: ContainerHeader; path: string; offset: number; rows: number; firstChunk: number; firstRow: number }
  /**
   * Container chunks checked by the caller's reader but not decoded: `data` holds their payloads back
   * to back, `coded` each one's rows, payload bytes, chunk index and byte offset (for errors). The
   * worker decodes the latents, then the rows with one decode call per chunk (so exactly the batches
   * the one-thread path runs); `uint8`: float rows rounded to uint8 there (DecompressOptions.outputDtype).
   */
  | { id: number; op: 'decodeChunks'; header: ContainerHeader; data: Uint8Array; coded: CodedChunk[]; uint8: boolean }
  | { id: number; op: 'dispose' };

/** One chunk of a decodeChunks request. */
export interface CodedChunk {
  rows: number;
  bytes: number;
  index: number;
  offset: number;
}

/** What `load` answers: the loaded Codec's read-only facts. */
export interface LoadedInfo {
  manifest: BundleManifest;
  device: string;
  deviceNotes: Attempt[];
  threads: number;
  batchSize: number;
  latentTables: LatentTables | undefined;
}

export interface RunResult {
  data: Float32Array | Uint8Array;
  rows: number;
  cols: number;
}

export interface CompressResult {
  /** The chunk records, back to back (CRCs included). */
  records: Uint8Array;
  chunks: number;
  rows: number;
  clamped: number;
}

/**
 * `recycled`: the buffer the request's rows came in, handed back once the worker is done with it, so
 * the caller reuses it for later rows (fresh memory costs more to fill than the copy itself: a 47 MB
 * slice takes ~35–45 ms of CPU on this repo's machine, a copy into reused memory a fraction of that).
 */
export type Response = { id: number; ok: true; value: unknown; recycled?: ArrayBuffer } | { id: number; ok: false; error: WireError; recycled?: ArrayBuffer };

/** An error as it crosses: enough to re-create the class, code, file and offset on the other side. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  file?: string;
  offset?: number;
  fileFingerprint?: string;
  bundleFingerprint?: string;
  stack?: string;
}

export function toWireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const w: WireError = { name: e.name, message: e.message };
  if (e.stack !== undefined) w.stack = e.stack;
  if (e instanceof AekitError) {
    w.code = e.code;
    if (e.file !== undefined) w.file = e.file;
  }
  if (e instanceof ContainerError && e.offset !== undefined) w.offset = e.offset;
  if (e instanceof FingerprintError) {
    w.fileFingerprint = e.fileFingerprint;
    w.bundleFingerprint = e.bundleFingerprint;
  }
  return w;
}

/** core's error classes by name (the names `new.target.name` gives them). */
const AEKIT_CLASSES: Record<string, { prototype: AekitError }> = {
  AekitError,
  SpecError,
  DataError,
  CheckpointError,
  ExportError,
  UsageError,
  IoError,
  BackendError,
  InterruptedError,
  BundleError,
  DisposedError,
  ContainerError,
  FingerprintError,
};

const PLAIN_CLASSES: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError, Error };

/**
 * The caller-side error for a wire error: the same AekitError subclass (instanceof works, `code`,
 * `file`, `offset` kept) or TypeError / RangeError; its stack is the caller's, with the worker's
 * appended under "(in the worker)".
 */
export function fromWireError(w: WireError): Error {
  let e: Error;
  const cls = AEKIT_CLASSES[w.name];
  if (w.code !== undefined) {
    // Object.create, not `new`: the subclasses' constructors take different arguments.
    e = Object.create((cls ?? AekitError).prototype) as Error;
    Object.defineProperty(e, 'message', { value: w.message, writable: true, configurable: true });
    Object.defineProperty(e, 'name', { value: w.name, writable: true, configurable: true });
    const fields = e as unknown as Record<string, unknown>;
    fields['code'] = w.code;
    if (w.file !== undefined) fields['file'] = w.file;
    if (w.offset !== undefined) fields['offset'] = w.offset;
    if (w.fileFingerprint !== undefined) fields['fileFingerprint'] = w.fileFingerprint;
    if (w.bundleFingerprint !== undefined) fields['bundleFingerprint'] = w.bundleFingerprint;
    Error.captureStackTrace?.(e, fromWireError);
  } else {
    e = new (PLAIN_CLASSES[w.name] ?? Error)(w.message);
  }
  if (w.stack !== undefined && e.stack !== undefined) e.stack = `${e.stack}\n    (in the worker)\n${w.stack.split('\n').slice(1).join('\n')}`;
  return e;
}

/** The transfer list for a typed array: its buffer when the view covers all of it (else it is copied). */
export function transferOf(a: Float32Array | Uint8Array): ArrayBuffer[] {
  const b = a.buffer;
  return b instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === b.byteLength ? [b] : [];
}
