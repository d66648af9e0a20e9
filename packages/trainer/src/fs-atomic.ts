/**
 * Writes that never leave a half-written file or directory behind: write into a temporary sibling
 * (same directory, so rename is atomic on one filesystem), then rename into place.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AekitError, IoError } from '@aekit/core';

function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

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
