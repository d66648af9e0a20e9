/**
 * Writes that never leave a half-written file or directory behind: write into a temporary sibling
 * (same directory, so rename is atomic on one filesystem), then rename into place. The one
 * implementation for every aekit package that writes files (the trainer's checkpoints, the CLI's
 * outputs).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AekitError, IoError } from '@aekit/core';

function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes `bytes` to `path` atomically; throws IoError naming the path on failure. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = tempSibling(path);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new IoError(`cannot write ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/** Bytes gathered before each write of writeStreamAtomic: small stream pieces cost a syscall each. */
const WRITE_BLOCK = 1 << 20;

export interface WriteStreamAtomicOptions {
  /** Written at offset 0 once the stream has ended, over bytes the stream reserved for it (a header holding a count). */
  finalHeader?: () => Uint8Array;
}

/**
 * Writes a byte stream to `path` atomically and returns the bytes written. On any error the temporary
 * file is removed and `path` is untouched: file-system errors are thrown as IoError, errors of the
 * stream itself (or of `finalHeader`) are rethrown as they are.
 */
export async function writeStreamAtomic(
  path: string,
  bytes: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteStreamAtomicOptions = {},
): Promise<number> {
  const tmp = tempSibling(path);
  const disk = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (e) {
      throw new IoError(`cannot write ${path}: ${(e as Error).message}`, { file: path, cause: e });
    }
  };
  const fh = await disk(() => open(tmp, 'w'));
  let handleOpen = true;
  let written = 0;
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const block = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      await disk(async () => {
        for (let off = 0; off < block.length; ) {
          const { bytesWritten } = await fh.write(block, off, block.length - off, written + off);
          off += bytesWritten;
        }
      });
      written += block.length;
    };
    for await (const piece of bytes as unknown as AsyncIterable<Uint8Array>) {
      pending.push(piece);
      pendingBytes += piece.length;
      if (pendingBytes >= WRITE_BLOCK) await flush();
    }
    if (pendingBytes > 0) await flush();
    if (options.finalHeader !== undefined) {
      const h = options.finalHeader();
      await disk(() => fh.write(h, 0, h.length, 0));
    }
    handleOpen = false;
    await disk(() => fh.close());
    await disk(() => rename(tmp, path));
    return written;
  } catch (e) {
    if (handleOpen) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Fills a fresh temporary directory next to `dir` with `fill`, then renames it to `dir`, replacing an
 * existing directory only after the new one is complete. On any error the temporary directory is
 * removed and `dir` is untouched.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  let tmp: string;
  try {
    tmp = await mkdtemp(join(parent, `.${basename(dir)}.tmp-`));
    // mkdtemp creates the directory 0700; give it a normal directory's mode.
    await chmod(tmp, 0o755);
  } catch (e) {
    throw new IoError(`cannot create a directory in ${parent}: ${(e as Error).message}`, { file: dir, cause: e });
  }
  let old: string | undefined;
  try {
    await fill(tmp);
    try {
      await rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR') throw e;
      // dir exists (e.g. resuming into the same directory): move it aside, move the new one in, drop the old.
      old = tempSibling(dir);
      await rename(dir, old);
      await rename(tmp, dir);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (old !== undefined) await rename(old, dir).catch(() => undefined);
    if (e instanceof AekitError) throw e;
    throw new IoError(`cannot write ${dir}: ${(e as Error).message}`, { file: dir, cause: e });
  }
  if (old !== undefined) await rm(old, { recursive: true, force: true });
}
