/**
 * Crash safety of checkpoint directories. Files are flushed before the directory is renamed into
 * place, and the parent directory after. Replacing an existing checkpoint takes two renames
 * (old → temporary name, new → final name, see fs-atomic.ts): a process killed between them leaves
 * the final name missing and both complete checkpoints under temporary names, which
 * `recoverCheckpointDir` puts back (the one with the most epochs).
 */
import { createHash } from 'node:crypto';
import { open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CHECKPOINT_FILES, CHECKPOINT_FORMAT, type CheckpointMeta } from '@aekit/core';
import { pidAlive } from '@aekit/data';

export async function writeFileSynced(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a directory (and its parent), so renames inside them survive a power cut; best effort where unsupported. */
export async function syncDir(dir: string): Promise<void> {
  for (const d of [dir, dirname(dir)]) {
    try {
      const fh = await open(d, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch {
      // Some platforms (Windows) and file systems cannot fsync a directory; the data files are synced.
    }
  }
}

function tempPrefix(dir: string): string {
  return `.${basename(dir)}.tmp-`;
}

/**
 * Temporary siblings of `dir`, except those of a live writer: @aekit/data names its temps
 * `.<dir>.tmp-<pid>-<hex>`, and another process's write in flight must never be taken or removed.
 */
async function temps(dir: string): Promise<string[]> {
  const names = await readdir(dirname(dir)).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(tempPrefix(dir)))
    .filter((n) => {
      const pid = /^(\d+)-[0-9a-f]+(\.old)?$/.exec(n.slice(tempPrefix(dir).length))?.[1];
      return pid === undefined || Number(pid) === process.pid || !pidAlive(Number(pid));
    })
    .map((n) => join(dirname(dir), n));
}

/** A complete checkpoint: aekit.json readable and weights.bin matching its hash. */
async function completeEpochs(candidate: string): Promise<number | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(candidate, CHECKPOINT_FILES.meta), 'utf8')) as CheckpointMeta;
    if (meta.format !== CHECKPOINT_FORMAT) return undefined;
    const weights = await readFile(join(candidate, CHECKPOINT_FILES.weights));
    if (createHash('sha256').update(weights).digest('hex') !== meta.weightsSha256) return undefined;
    return meta.epochsCompleted;
  } catch {
    return undefined;
  }
}

/** When `dir` is missing but a complete checkpoint waits under a temporary sibling name, renames it to `dir`. */
export async function recoverCheckpointDir(dir: string): Promise<boolean> {
  if ((await stat(dir).catch(() => undefined)) !== undefined) return false;
  let best: { path: string; epochs: number } | undefined;
  for (const t of await temps(dir)) {
    const epochs = await completeEpochs(t);
    if (epochs !== undefined && (best === undefined || epochs > best.epochs)) best = { path: t, epochs };
  }
  if (best === undefined) return false;
  await rename(best.path, dir);
  return true;
}

/** Removes temporary siblings of an existing checkpoint left by a process killed while writing it. */
export async function removeStaleTemps(dir: string): Promise<void> {
  if ((await stat(dir).catch(() => undefined)) === undefined) return;
  for (const t of await temps(dir)) await rm(t, { recursive: true, force: true });
}
