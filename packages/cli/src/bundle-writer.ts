/**
 * Writing a bundle directory from the CLI (export, demo): through @aekit/data's one atomic writer, not
 * the exporter's writeBundle, so a bundle gets the umask's modes, a lock on the target, and no temp left
 * behind by Ctrl-C or kill -9; the exporter's checkBundleTarget keeps it from replacing anything but an
 * aekit bundle or an empty directory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { IoError, UsageError } from '@aekit/core';
import { writeDirAtomic } from '@aekit/data';
import { checkBundleTarget } from '@aekit/exporter/node';

/** Writes `files` as the bundle `dir`; `beforeCommit` runs on the complete temporary directory (throw to write nothing). */
export async function writeBundleFiles(
  dir: string,
  files: Record<string, Uint8Array>,
  beforeCommit?: (tmp: string) => Promise<void>,
): Promise<string> {
  const target = resolve(dir);
  await checkBundleTarget(target);
  await mkdir(dirname(target), { recursive: true }).catch((e: unknown) => {
    throw new IoError(`cannot create ${dirname(target)}: ${(e as Error).message}`, { file: target, cause: e });
  });
  await writeDirAtomic(target, async (tmp) => {
    for (const [name, bytes] of Object.entries(files)) {
      if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new UsageError(`bad bundle file name ${JSON.stringify(name)}`);
      await writeFile(join(tmp, name), bytes);
    }
    await beforeCommit?.(tmp);
  });
  return target;
}
