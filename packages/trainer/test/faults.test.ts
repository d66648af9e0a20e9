/**
 * Issue 9, write failures: when the disk is full or read-only while a checkpoint is replaced, train()
 * fails with an IoError naming the path, and the previous checkpoint stays complete and verified.
 * Two ways: an injected ENOSPC (always), and a real 256 KiB tmpfs filled up, then remounted read-only
 * (needs root to mount; skipped visibly otherwise). Also: a checkpoint left under its temporary name
 * by a kill between the two renames of a replace is found again.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IoError } from '@aekit/core';
import { readCheckpoint } from '../src/checkpoint/io.js';
import { train } from '../src/train.js';
import { tempDir } from './helpers.js';

/** When set, opening a file whose name ends with it for writing fails with this errno code. */
const inject: { suffix?: string; code?: string } = {};
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (path: Parameters<typeof real.open>[0], flags?: string | number, mode?: number) => {
    if (inject.suffix !== undefined && flags === 'w' && String(path).endsWith(inject.suffix)) {
      throw Object.assign(new Error(`${inject.code}: injected failure, open '${String(path)}'`), { code: inject.code });
    }
    return real.open(path, flags, mode);
  }) as typeof real.open;
  return { ...real, open, default: { ...real, open } };
});

const tmp = tempDir('aekit-faults-');
afterAll(() => tmp.cleanup());

const ROWS = 64;
const COLS = 8;
const data = {
  data: Float32Array.from({ length: ROWS * COLS }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.61)),
  rows: ROWS,
  cols: COLS,
  dtype: 'float32' as const,
  source: 'memory',
};
const base = { data, spec: undefined, batchSize: 16, engine: 'tfjs' as const, backend: 'cpu', seed: 3 };
const small = async (out: string, epochs: number, resume?: string) =>
  train({ ...base, epochs, ...(resume ? { resume } : { out }) });

function tempsBeside(dir: string): string[] {
  const name = dir.split('/').pop()!;
  return readdirSync(join(dir, '..')).filter((f) => f.startsWith(`.${name}.tmp-`));
}

describe('a failed checkpoint write leaves the previous checkpoint intact', () => {
  it('injected ENOSPC while writing optimizer.bin: IoError naming the path; epoch 2 still loads', async () => {
    const out = join(tmp.dir, 'injected');
    await small(out, 2);
    inject.suffix = 'optimizer.bin';
    inject.code = 'ENOSPC';
    try {
      const err = await small(out, 4, out).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IoError);
      expect((err as IoError).message).toContain(`cannot write ${out}`);
      expect((err as IoError).message).toContain('ENOSPC');
    } finally {
      inject.suffix = undefined;
    }
    const ck = await readCheckpoint(out);
    expect(ck.meta.epochsCompleted).toBe(2);
    expect(ck.optimizer?.step).toBe(2 * Math.ceil((ROWS - Math.floor(ROWS * 0.1)) / 16));
    expect(tempsBeside(out)).toEqual([]);
    // With room again, the same resume goes through.
    expect((await small(out, 4, out)).epochsCompleted).toBe(4);
  });

  it('a checkpoint left under its temporary name by a kill mid-replace is put back', async () => {
    const out = join(tmp.dir, 'renamed');
    await small(out, 2);
    // What a kill between "rename old aside" and "rename new in" leaves: no `out`, a complete temp.
    renameSync(out, join(tmp.dir, '.renamed.tmp-4242-deadbeef'));
    mkdirSync(join(tmp.dir, '.renamed.tmp-half'));
    writeFileSync(join(tmp.dir, '.renamed.tmp-half', 'model.json'), '{');
    const ck = await readCheckpoint(out);
    expect(ck.meta.epochsCompleted).toBe(2);
    expect((await small(out, 3, out)).epochsCompleted).toBe(3);
    expect(tempsBeside(out)).toEqual([]);
  });

  describe('on a real 256 KiB tmpfs', () => {
    const mnt = join(tmp.dir, 'tiny');
    let mounted = false;
    beforeAll(() => {
      mkdirSync(mnt);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
        mounted = true;
      } catch {
        mounted = false;
      }
    });
    afterAll(() => {
      if (mounted) execFileSync('umount', [mnt]);
    });

    it.skipIf(process.getuid?.() !== 0)('disk full, then read-only: IoError naming the path, previous checkpoint readable', async () => {
      expect(mounted, 'mount -t tmpfs failed although running as root').toBe(true);
      const out = join(mnt, 'ckpt');
      await small(out, 2);
      // Leave less room than one more checkpoint needs.
      const fs = statfsSync(mnt);
      writeFileSync(join(mnt, 'filler'), new Uint8Array(Math.max(0, fs.bavail * fs.bsize - 2048)));
      const full = await small(out, 4, out).catch((e: unknown) => e);
      expect(full).toBeInstanceOf(IoError);
      expect((full as IoError).message).toMatch(new RegExp(`cannot write ${out}.*ENOSPC`));
      expect((await readCheckpoint(out)).meta.epochsCompleted).toBe(2);
      expect(tempsBeside(out)).toEqual([]);

      execFileSync('rm', [join(mnt, 'filler')]);
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const ro = await small(out, 4, out).catch((e: unknown) => e);
      expect(ro).toBeInstanceOf(IoError);
      expect((ro as IoError).message).toMatch(/EROFS/);
      expect((ro as IoError).message).toContain(mnt);
      expect((await readCheckpoint(out)).meta.epochsCompleted).toBe(2);
    });
  });
});
