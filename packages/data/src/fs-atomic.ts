/**
 * Writes that never leave a half-written file or directory behind: write into a temporary sibling
 * (same directory, so rename is atomic on one filesystem), then rename into place. The one
 * implementation for every aekit package that writes files (the trainer's checkpoints, the CLI's
 * outputs). Around that core:
 *
 * - **Recognisable temps.** A temp is named `.<target>.tmp-<pid>-<hex>`: the pid tells a later run
 *   whether the writer is still alive, so a temp left by `kill -9` is removed by the next write to the
 *   same target while a live writer's temp is never touched.
 * - **Signals.** Every temp in flight is recorded here; `abandonAtomicWritesSync()` (the CLI calls it
 *   on SIGINT/SIGTERM before exiting) removes them, or finishes a directory swap already half done,
 *   so an interrupted command leaves the target as it was or complete, never a temp.
 * - **A lock per target.** `.<target>.lock` holds the writer's pid, created with link(2), which fails
 *   when the file exists and never shows a half-written pid. A second writer gets a LockError naming
 *   the target and the holder's pid; a lock whose pid is dead (kill -9) is stale and taken over.
 * - **Normal modes.** Files and directories are created with the process umask (0644 / 0755 under
 *   umask 022): mkdtemp's 0700 would make a bundle unreadable to the web server that serves it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AekitError, IoError } from '@aekit/core';

/** Another live process holds the lock on `target`: two writers to one file or directory are refused. */
export class LockError extends IoError {
  readonly target: string;
  /** Pid of the process holding the lock. */
  readonly holderPid: number;
  constructor(target: string, holderPid: number) {
    super(
      `${target} is being written by another aekit process (pid ${holderPid}); wait for it to finish or stop it, ` +
        `or write to another path (lock file ${lockPath(target)})`,
      { file: target },
    );
    this.target = target;
    this.holderPid = holderPid;
  }
}

// ---------------------------------------------------------------------------------------------
// Temp names and the writes in flight

/** One write in flight: its temp, and (while a directory is being swapped) the old one moved aside. */
interface LiveWrite {
  target: string;
  temp: string;
  /** Set once the complete new directory is in `temp` and the old one was renamed here. */
  old?: string;
}

const live = new Set<LiveWrite>();
/** Targets written completely by this process since the last `takeCompletedWrites()`. */
let completed: string[] = [];

function tempPrefix(target: string): string {
  return `.${basename(target)}.tmp-`;
}

function newTemp(target: string): string {
  return join(dirname(target), `${tempPrefix(target)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** The pid in a temp or lock written by this module, or undefined for names it did not make. */
function tempPid(name: string, target: string): { pid: number; old: boolean } | undefined {
  const prefix = tempPrefix(target);
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d+)-[0-9a-f]+(\.old)?$/.exec(name.slice(prefix.length));
  return m === null ? undefined : { pid: Number(m[1]), old: m[2] !== undefined };
}

/**
 * Why a file-system call failed, without the path Node puts in its message: that path is this
 * module's temp or lock file, which the user never named; errors name the target instead.
 */
function fsReason(e: unknown, target: string): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return `the folder ${dirname(resolve(target))} does not exist; create it first`;
  const m = typeof err.message === 'string' ? err.message : String(e);
  return err.syscall !== undefined ? m.replace(/, \w+ '[^']*'( -> '[^']*')?$/, '') : m;
}

/** True when `pid` is a running process (EPERM: it runs under another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temps of `target` left by dead processes (kill -9, power cut). A directory swap cut
 * between its two renames (old moved aside as `<temp>.old`, new complete in `<temp>`, target missing)
 * is finished: the new directory is moved in, or the old one back when the new one is gone.
 */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const dir = dirname(target);
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => {
    const t = tempPid(n, target);
    return t !== undefined && t.pid !== process.pid && !pidAlive(t.pid);
  });
  const removed: string[] = [];
  // Half-done swaps first, so their new directory is moved in rather than removed as a stray temp.
  for (const n of stale.filter((x) => x.endsWith('.old'))) {
    const old = join(dir, n);
    const fresh = old.slice(0, -'.old'.length);
    if (!existsSync(target)) {
      await rename(existsSync(fresh) ? fresh : old, target).catch(() => undefined);
    }
    await rm(old, { recursive: true, force: true });
    removed.push(old);
  }
  for (const n of stale.filter((x) => !x.endsWith('.old'))) {
    const p = join(dir, n);
    if (!existsSync(p)) continue;
    await rm(p, { recursive: true, force: true });
    removed.push(p);
  }
  return removed;
}

/**
 * For a signal handler that is about to exit: removes every temp in flight (or finishes a directory
 * swap already half done, so the target is complete) and releases this process's locks. Synchronous,
 * because the process exits right after. Returns the targets left as they were and those completed.
 */
export function abandonAtomicWritesSync(): { abandoned: string[]; completed: string[] } {
  const abandoned: string[] = [];
  for (const w of live) {
    try {
      if (w.old !== undefined) {
        // The new directory is complete: finish the swap rather than lose both.
        if (!existsSync(w.target)) {
          try {
            renameSync(w.temp, w.target);
          } catch {
            renameSync(w.old, w.target);
          }
        }
        rmSync(w.old, { recursive: true, force: true });
        completed.push(w.target);
      } else {
        abandoned.push(w.target);
      }
      rmSync(w.temp, { recursive: true, force: true });
    } catch {
      // Best effort: the next write to this target removes what is left (its pid will be dead).
    }
  }
  live.clear();
  for (const [target, held] of locks) {
    try {
      unlinkSync(held.path);
    } catch {
      // already gone
    }
    locks.delete(target);
  }
  return { abandoned, completed: [...completed] };
}

/** The targets completed since the last call (the CLI resets it per command). */
export function takeCompletedWrites(): string[] {
  const out = completed;
  completed = [];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Locks

function lockPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.lock`);
}

/** Locks held by this process: target → lock file and nesting count (the CLI holds train's --out for the whole run). */
const locks = new Map<string, { path: string; count: number }>();

/** The targets this process holds locks on. */
export function heldLocks(): string[] {
  return [...locks.keys()];
}

/**
 * Takes the lock on `target` (re-entrant within this process) and returns its release function.
 * Throws LockError when another live process holds it; a lock left by a dead process is taken over.
 */
export async function lockTarget(target: string): Promise<() => Promise<void>> {
  const key = resolve(target);
  const held = locks.get(key);
  if (held !== undefined) {
    held.count++;
    return () => releaseLock(key);
  }
  const path = lockPath(key);
  // The pid goes into a private file first, then link() publishes it under the lock name: link fails
  // with EEXIST when the lock exists, and a reader never sees an empty or half-written lock.
  const mine = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(mine, `${process.pid}\n`);
  } catch (e) {
    throw new IoError(`cannot write ${target}: ${fsReason(e, target)}`, { file: target, cause: e });
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(mine, path);
        locks.set(key, { path, count: 1 });
        return () => releaseLock(key);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) {
          throw new IoError(`cannot lock ${target}: ${fsReason(e, target)}`, { file: target, cause: e });
        }
      }
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pidAlive(pid)) throw new LockError(target, pid);
      // Stale (its writer died): remove it and try again.
      await unlink(path).catch(() => undefined);
    }
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

async function releaseLock(key: string): Promise<void> {
  const held = locks.get(key);
  if (held === undefined) return;
  if (--held.count > 0) return;
  locks.delete(key);
  await unlink(held.path).catch(() => undefined);
}

/**
 * Test hook: AEKIT_TEST_WRITE_DELAY_MS holds each write this long with its temp in place, so the
 * signal tests can interrupt a write deterministically (real outputs are written in milliseconds).
 */
async function testDelay(): Promise<void> {
  const ms = Number(process.env['AEKIT_TEST_WRITE_DELAY_MS'] ?? 0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/** Runs `write` holding the target's lock, after removing the target's stale temps. */
async function withTarget<T>(target: string, write: () => Promise<T>): Promise<T> {
  const release = await lockTarget(target);
  try {
    await removeStaleTemps(target);
    const out = await write();
    completed.push(target);
    return out;
  } finally {
    await release();
  }
}

// ---------------------------------------------------------------------------------------------
// The writers

/** Writes `bytes` to `path` atomically; throws IoError naming the path on failure. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await withTarget(path, async () => {
    const w: LiveWrite = { target: path, temp: newTemp(path) };
    live.add(w);
    try {
      // writeFile creates with mode 0o666 & ~umask (0644 under umask 022).
      await writeFile(w.temp, bytes);
      await testDelay();
      await rename(w.temp, path);
    } catch (e) {
      await rm(w.temp, { force: true });
      throw new IoError(`cannot write ${path}: ${fsReason(e, path)}`, { file: path, cause: e });
    } finally {
      live.delete(w);
    }
  });
}

/** Bytes gathered before each write of writeStreamAtomic: small stream pieces cost a syscall each. */
const WRITE_BLOCK = 1 << 20;
/** Most pieces written with one writev; more are joined into one block first. */
const MAX_WRITEV_PIECES = 64;

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
  return withTarget(path, () => writeStream(path, bytes, options));
}

async function writeStream(
  path: string,
  bytes: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteStreamAtomicOptions,
): Promise<number> {
  const w: LiveWrite = { target: path, temp: newTemp(path) };
  const disk = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (e) {
      throw new IoError(`cannot write ${path}: ${fsReason(e, path)}`, { file: path, cause: e });
    }
  };
  live.add(w);
  let fh;
  try {
    fh = await disk(() => open(w.temp, 'w'));
  } catch (e) {
    live.delete(w);
    throw e;
  }
  await testDelay();
  let handleOpen = true;
  let written = 0;
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const parts = pending;
      const total = pendingBytes;
      pending = [];
      pendingBytes = 0;
      await disk(async () => {
        // A few large pieces go out as they are (writev): copying them into one block meant fresh memory
        // for every MB written. Many small ones are joined first (one iovec each would be more syscalls).
        if (parts.length > 1 && parts.length <= MAX_WRITEV_PIECES) {
          const { bytesWritten } = await fh.writev(parts, written);
          if (bytesWritten === total) return;
        }
        const block = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        for (let off = 0; off < block.length; ) {
          const { bytesWritten } = await fh.write(block, off, block.length - off, written + off);
          off += bytesWritten;
        }
      });
      written += total;
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
    await disk(() => rename(w.temp, path));
    return written;
  } catch (e) {
    if (handleOpen) await fh.close().catch(() => undefined);
    await rm(w.temp, { force: true });
    throw e;
  } finally {
    live.delete(w);
  }
}

/**
 * Fills a fresh temporary directory next to `dir` with `fill`, then renames it to `dir`, replacing an
 * existing directory only after the new one is complete. On any error the temporary directory is
 * removed and `dir` is untouched.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await withTarget(dir, () => writeDir(dir, fill));
}

async function writeDir(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const w: LiveWrite = { target: dir, temp: newTemp(dir) };
  live.add(w);
  try {
    try {
      // mkdir, not mkdtemp: mode 0o777 & ~umask (0755), where mkdtemp would give 0700.
      await mkdir(w.temp);
    } catch (e) {
      throw new IoError(`cannot create a directory in ${dirname(dir)}: ${fsReason(e, dir)}`, { file: dir, cause: e });
    }
    try {
      await fill(w.temp);
      await testDelay();
      try {
        await rename(w.temp, dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR') throw e;
        // dir exists (e.g. resuming into the same directory): move it aside, move the new one in, drop
        // the old. The aside name pairs it with the new temp, so a kill between the two renames can be
        // finished by the next run (removeStaleTemps) or the signal handler.
        const old = `${w.temp}.old`;
        await rename(dir, old);
        w.old = old;
        await rename(w.temp, dir);
      }
    } catch (e) {
      await rm(w.temp, { recursive: true, force: true });
      if (w.old !== undefined) await rename(w.old, dir).catch(() => undefined);
      w.old = undefined;
      if (e instanceof AekitError) throw e;
      throw new IoError(`cannot write ${dir}: ${fsReason(e, dir)}`, { file: dir, cause: e });
    }
    if (w.old !== undefined) await rm(w.old, { recursive: true, force: true });
  } finally {
    live.delete(w);
  }
}

/** Statistics for tests and diagnostics: the temps in flight now. */
export function liveTemps(): string[] {
  return [...live].map((w) => w.temp);
}
