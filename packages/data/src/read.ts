/**
 * Reading input files defensively: only regular files are read (a FIFO would block forever, a device
 * never ends), and gzip is inflated as a stream that stops at a ceiling taken from the file's own
 * header (IDX dims, NPY shape), so a small .gz that inflates to gigabytes is refused after at most
 * the declared size, with memory bounded by it, instead of being inflated whole and checked after.
 */
import { randomBytes } from 'node:crypto';
import { constants, rmSync } from 'node:fs';
import { type FileHandle, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { AekitError, DataError, IoError } from '@aekit/core';
import type { DataFormat } from './dataset.js';
import { looksLikeIdx, parseIdxHeader } from './idx.js';
import { parseHeader as parseNpyHeader } from './npy.js';
import { pidAlive } from './fs-atomic.js';

/** What a stat says a non-regular path is. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Opens `path` for reading only if it is a regular file. O_NONBLOCK makes opening a FIFO return at
 * once (a plain open blocks until a writer appears); fstat on the open handle then refuses it, with no
 * window for the path to be swapped between a check and the open. `hint` ends the error messages.
 */
export async function openRegularFile(path: string, hint: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new DataError(`${path}: ${why}; ${hint}`, { file: path, cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new DataError(`${path} is ${kindOf(st)}, not a regular file; ${hint}`, { file: path });
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Reads a whole regular file (see openRegularFile). */
export async function readRegularFile(path: string, hint: string): Promise<Uint8Array> {
  const { fh } = await openRegularFile(path, hint);
  try {
    return await fh.readFile();
  } catch (e) {
    throw new DataError(`${path}: cannot read (${(e as Error).message}); ${hint}`, { file: path, cause: e });
  } finally {
    await fh.close();
  }
}

/**
 * Default ceiling on the bytes a .gz may inflate to when the format has no size in its header (CSV
 * loaded in memory): V8 cannot hold a longer string, so a larger CSV could not be parsed anyway.
 * `--stream` has no such limit (rows are read from disk).
 */
export const CSV_MAX_IN_MEMORY = 512 * 2 ** 20;
/** Ceiling for CSV inflated to a scratch file to be streamed (`maxBytes` overrides). */
export const CSV_MAX_STREAMED = 64 * 2 ** 30;

/**
 * The size the header at the front of `head` declares for the whole decompressed file, `undefined`
 * while more bytes are needed, or `null` when the format has no size (CSV) or the header is not
 * understood here (the parser reports it once the bytes are in).
 */
function declaredSize(format: DataFormat, head: Uint8Array, path: string): number | null | undefined {
  if (format === 'idx') {
    if (head.length < 4 || head.length < 4 + 4 * head[3]!) return undefined;
    if (head[0] !== 0 || head[1] !== 0) return null;
    try {
      return parseIdxHeader(head, path).totalBytes;
    } catch {
      return null;
    }
  }
  if (format === 'npy') {
    if (head.length < 12) return undefined;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const major = head[6]!;
    const start = major === 1 ? 10 : 12;
    const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
    // A header of more than 1 MiB is no numpy header: let the parser refuse it.
    if (headerLen > 2 ** 20) return null;
    if (head.length < start + headerLen) return undefined;
    try {
      const h = parseNpyHeader(head, path);
      const item = Number(/(\d+)$/.exec(h.descr)?.[1] ?? NaN);
      if (!Number.isInteger(item) || item <= 0) return null;
      return h.dataOffset + h.shape.reduce((a, b) => a * b, 1) * item;
    } catch {
      return null;
    }
  }
  return null;
}

export interface GunzipLimits {
  /** Hard ceiling in bytes, whatever the header says (default: the header's size; CSV: CSV_MAX_IN_MEMORY). */
  maxBytes?: number;
  /** Ceiling when the format declares no size (CSV). */
  sizelessMax: number;
}

/**
 * Inflates the gzip file open as `fh`, handing each piece to `sink`, and stops with a DataError as soon
 * as the output passes the ceiling: the size the header declares (IDX/NPY), capped by `maxBytes`, or
 * `sizelessMax` for CSV. A header that declares more than `maxBytes` is refused before inflating on.
 * Corrupt gzip ("incorrect header check", "unexpected end of file") becomes a DataError naming the path.
 */
async function inflateBounded(
  fh: FileHandle,
  path: string,
  format: DataFormat | undefined,
  limits: GunzipLimits,
  sink: (piece: Buffer) => Promise<void> | void,
): Promise<number> {
  // 1 MiB pieces: a quarter less time than 64 KiB ones on a 47 MB IDX file, memory still bounded by the ceiling.
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  const file = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 });
  file.on('error', (e) => gunzip.destroy(e));
  file.pipe(gunzip);
  let total = 0;
  let ceiling: number | null | undefined;
  let head: Buffer[] = [];
  let fmt = format;
  const hard = limits.maxBytes;
  const fail = (msg: string) => new DataError(`${path}: ${msg}`, { file: path });
  try {
    for await (const piece of gunzip as AsyncIterable<Buffer>) {
      total += piece.length;
      if (ceiling === undefined) {
        head.push(piece);
        const bytes = head.length === 1 ? head[0]! : Buffer.concat(head);
        if (fmt === undefined && bytes.length >= 4) fmt = bytes[0] === 0x93 && bytes[1] === 0x4e ? 'npy' : looksLikeIdx(bytes) ? 'idx' : 'csv';
        if (fmt !== undefined) ceiling = declaredSize(fmt, bytes, path);
        if (ceiling === null) {
          if (fmt !== 'csv') {
            // An IDX/NPY header this reader cannot size is one the parser refuses: hand it the header
            // bytes only, so it names the problem, rather than inflating on.
            await sink(piece);
            return total;
          }
          ceiling = hard ?? limits.sizelessMax;
        }
        if (ceiling !== undefined) head = [];
        if (typeof ceiling === 'number' && hard !== undefined && ceiling > hard) {
          throw fail(`its ${fmt?.toUpperCase()} header declares ${ceiling} bytes, more than the limit of ${hard} bytes; refusing to decompress it`);
        }
      }
      if (typeof ceiling === 'number' && total > ceiling) {
        const what = fmt === 'idx' || fmt === 'npy' ? `the ${ceiling} bytes its ${fmt.toUpperCase()} header declares` : `the limit of ${ceiling} bytes`;
        throw fail(
          `decompresses to more than ${what} (stopped after ${total} bytes); the file is damaged or a decompression bomb` +
            (fmt === 'csv' ? ' (a larger CSV must be decompressed first: gunzip -k, then --stream)' : ''),
        );
      }
      await sink(piece);
    }
  } catch (e) {
    if (e instanceof AekitError) throw e;
    throw fail(`corrupt or truncated gzip data (${(e as Error).message}); re-download or re-create the file`);
  } finally {
    file.unpipe(gunzip);
    gunzip.destroy();
    file.destroy();
  }
  return total;
}

/** Inflates a gzip file into memory, bounded as inflateBounded says. */
export async function gunzipFile(fh: FileHandle, path: string, format: DataFormat | undefined, maxBytes?: number): Promise<Uint8Array> {
  const pieces: Buffer[] = [];
  const total = await inflateBounded(fh, path, format, { ...(maxBytes !== undefined ? { maxBytes } : {}), sizelessMax: CSV_MAX_IN_MEMORY }, (p) => {
    pieces.push(p);
  });
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total);
}

// Scratch files: a .gz to be streamed is inflated to a file in the OS temp directory first (rows are
// read at random offsets, which gzip cannot do). Named with the pid so a later run removes those of a
// killed process; removed on close, on process exit and by the CLI's signal handler.
const SCRATCH_PREFIX = 'aekit-gunzip-';
const scratch = new Set<string>();
let exitHook = false;

/** Removes this process's scratch files now (signal handlers; also runs on process exit). */
export function removeScratchFilesSync(): void {
  for (const p of scratch) rmSync(p, { force: true });
  scratch.clear();
}

async function removeStaleScratch(dir: string): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const m = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`).exec(n);
    if (m !== null && !pidAlive(Number(m[1]))) await rm(join(dir, n), { force: true });
  }
}

/**
 * Inflates the gzip file open as `fh` into a scratch file (bounded like gunzipFile, CSV by
 * CSV_MAX_STREAMED) and returns its path and a function removing it.
 */
export async function gunzipToScratch(
  fh: FileHandle,
  path: string,
  format: DataFormat | undefined,
  maxBytes?: number,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = tmpdir();
  await removeStaleScratch(dir);
  const out = join(dir, `${SCRATCH_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${basename(path).replace(/\.gz$/i, '')}`);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeScratchFilesSync);
  }
  scratch.add(out);
  const remove = async () => {
    scratch.delete(out);
    await rm(out, { force: true });
  };
  let w: FileHandle;
  try {
    w = await open(out, 'wx', 0o600);
  } catch (e) {
    scratch.delete(out);
    throw new IoError(`cannot decompress ${path} into ${dir}: ${(e as Error).message}; free space there or set TMPDIR`, { file: path, cause: e });
  }
  try {
    await inflateBounded(fh, path, format, { ...(maxBytes !== undefined ? { maxBytes } : {}), sizelessMax: CSV_MAX_STREAMED }, async (p) => {
      try {
        await w.write(p);
      } catch (e) {
        throw new IoError(`cannot decompress ${path} into ${out}: ${(e as Error).message}; free space there or set TMPDIR`, { file: path, cause: e });
      }
    });
    await w.close();
  } catch (e) {
    await w.close().catch(() => undefined);
    await remove();
    throw e;
  }
  return { path: out, remove };
}

/**
 * For a CLI argument naming an input (a data file, a bundle or checkpoint directory): throws a
 * DataError when `path` is a FIFO, device or socket, or when it is a directory in which one of
 * `expected` (file names a bundle or checkpoint holds) is not a regular file. Missing paths pass:
 * the reader reports them with its own message. stat never blocks, even on a FIFO.
 */
export async function assertInputPath(path: string, expected: readonly string[]): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (st === undefined || st.isFile()) return;
  if (!st.isDirectory()) throw new DataError(`${path} is ${kindOf(st)}, not a regular file or directory; give a file or directory`, { file: path });
  for (const name of expected) {
    const p = join(path, name);
    const s = await stat(p).catch(() => undefined);
    if (s !== undefined && !s.isFile()) throw new DataError(`${p} is ${kindOf(s)}, not a regular file; the directory ${path} is damaged`, { file: p });
  }
}
