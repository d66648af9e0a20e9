/**
 * Issue 15, interrupted and concurrent writes through the CLI: every writing command, stopped by
 * SIGINT / SIGTERM while its output is being written, exits 130 / 143 with one line saying what was
 * kept and leaves no temp or lock; killed with SIGKILL it leaves them, and the next run to the same
 * target removes them and succeeds; two writers to one target fail with the lock's error naming the
 * other pid; outputs get normal modes; a FIFO as input is refused at once.
 *
 * AEKIT_TEST_WRITE_DELAY_MS (a test hook of @aekit/data's writers) holds each write open with its temp
 * in place, so the signal lands mid-write every time. Spawns the built CLI: run `npx tsc -b` first.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@aekit/data';

const BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'aekit-hard-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const p = (name: string) => join(dir, name);
/** Small and fast: 128 rows of 28×28 (so image commands work), tiny models, tfjs on the CPU. */
const MODEL = ['--layers', '8', '--latent', '2', '--batch-size', '64', '--engine', 'tfjs', '--backend', 'cpu'];

interface Child {
  proc: ChildProcess;
  exit: Promise<number | null>;
  stderr: () => string;
}

function aekit(args: string[], delayMs = 0): Child {
  const env = { ...process.env, AEKIT_TEST_WRITE_DELAY_MS: String(delayMs) };
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exit, stderr: () => err };
}

async function ok(args: string[]): Promise<void> {
  const c = aekit(args);
  expect(await c.exit, `aekit ${args.join(' ')}: ${c.stderr()}`).toBe(0);
}

/** Names beside `target` that are its temps or its lock. */
function leftovers(target: string): string[] {
  const base = target.split('/').pop()!;
  const parent = target.slice(0, -base.length - 1);
  return existsSync(parent) ? readdirSync(parent).filter((n) => n.startsWith(`.${base}.tmp-`) || n === `.${base}.lock`) : [];
}

async function until(what: string, cond: () => boolean, child: Child): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (child.proc.exitCode !== null) throw new Error(`child exited (${child.proc.exitCode}) before ${what}: ${child.stderr()}`);
    if (Date.now() - t0 > 60_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const hasTemp = (target: string) => () => leftovers(target).some((n) => n.includes('.tmp-'));

/** Each writing command: its arguments for a target, and the target path (file or directory). */
const COMMANDS: Record<string, (t: string) => string[]> = {
  train: (t) => ['train', '--data', p('rows.npy'), '--epochs', '3', ...MODEL, '--out', t],
  export: (t) => ['export', p('ck'), '--out', t, '--no-verify'],
  encode: (t) => ['encode', p('b'), '--data', p('rows.npy'), '--out', t],
  decode: (t) => ['decode', p('b'), p('z.npy'), '--out', t],
  compress: (t) => ['compress', p('b'), p('rows.npy'), '--out', t],
  decompress: (t) => ['decompress', p('b'), p('x.aez'), '--out', t],
  sample: (t) => ['sample', p('vb'), '--n', '4', '--out', t],
  interpolate: (t) => ['interpolate', p('b'), '0', '1', '--data', p('rows.npy'), '--steps', '3', '--out', t],
  study: (t) => ['study', 'activations', '--data', p('rows.npy'), '--activations', 'relu', '--epochs', '1', '--seeds', '1', '--layers', '8', '--latent', '2', '--engine', 'tfjs', '--backend', 'cpu', '--out', t],
};
const TARGET: Record<string, string> = {
  train: 'ck2', export: 'b2', encode: 'z2.npy', decode: 'y2.npy', compress: 'x2.aez', decompress: 'r2.npy', sample: 's2.png', interpolate: 'i2.png', study: 'st2',
};
/** Where the first write happens: study writes files inside its --out directory. */
const written = (cmd: string) => (cmd === 'study' ? join(p(TARGET[cmd]!), 'study.md') : p(TARGET[cmd]!));

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first with npx tsc -b`);
  process.umask(0o022);
  const x = Float32Array.from({ length: 128 * 784 }, (_, i) => ((i * 7919) % 255) / 255);
  writeFileSync(p('rows.npy'), encodeNpy(x, [128, 784]));
  await Promise.all([
    ok(['train', '--data', p('rows.npy'), '--epochs', '1', ...MODEL, '--out', p('ck')]),
    ok(['train', '--data', p('rows.npy'), '--epochs', '1', ...MODEL, '--variant', 'vae', '--out', p('vck')]),
  ]);
  await Promise.all([ok(['export', p('ck'), '--out', p('b'), '--no-verify']), ok(['export', p('vck'), '--out', p('vb'), '--no-verify'])]);
  await Promise.all([
    ok(['encode', p('b'), '--data', p('rows.npy'), '--out', p('z.npy')]),
    ok(['compress', p('b'), p('rows.npy'), '--out', p('x.aez')]),
  ]);
}, 180_000);

describe('SIGINT / SIGTERM mid-write: exit 130 / 143, one line saying what was kept, no temp or lock left', () => {
  it('every writing command', async () => {
    const results = await Promise.all(
      Object.keys(COMMANDS).map(async (cmd) => {
        const target = written(cmd);
        const signal = cmd === 'sample' || cmd === 'export' ? 'SIGTERM' : 'SIGINT';
        // train stops gracefully: it finishes the checkpoint write in flight, so keep that one short.
        const c = aekit(COMMANDS[cmd]!(p(TARGET[cmd]!)), cmd === 'train' ? 1500 : 30_000);
        await until(`${cmd}'s temp`, hasTemp(target), c);
        c.proc.kill(signal);
        return { cmd, target, signal, code: await c.exit, err: c.stderr() };
      }),
    );
    for (const { cmd, target, signal, code, err } of results) {
      expect(code, `${cmd}: ${err}`).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(leftovers(target), cmd).toEqual([]);
      if (cmd === 'train') {
        expect(err).toMatch(/aekit: interrupted during epoch 2: .*ck2 holds epoch 1; continue with: aekit train --resume .*ck2/);
        expect(existsSync(join(target, 'aekit.json'))).toBe(true);
      } else {
        expect(err.trim().split('\n').at(-1)).toBe(`aekit: interrupted by ${signal}; nothing written to ${target} (temporary files removed)`);
        expect(existsSync(target), cmd).toBe(false);
      }
    }
  }, 120_000);
});

describe('kill -9 mid-write, then the same command again', () => {
  it('the temp and lock left behind are removed by the next run, which succeeds (file, stream, directory, train)', async () => {
    const cmds = ['encode', 'compress', 'export', 'train'];
    await Promise.all(
      cmds.map(async (cmd) => {
        const target = p(`k-${TARGET[cmd]}`);
        const c = aekit(COMMANDS[cmd]!(target), 30_000);
        await until(`${cmd}'s temp`, hasTemp(target), c);
        c.proc.kill('SIGKILL');
        await c.exit;
        expect(leftovers(target).length, cmd).toBeGreaterThan(0);
        const again = aekit(COMMANDS[cmd]!(target).map((a) => (a === '3' ? '1' : a)));
        expect(await again.exit, `${cmd}: ${again.stderr()}`).toBe(0);
        expect(leftovers(target), cmd).toEqual([]);
        expect(existsSync(target), cmd).toBe(true);
      }),
    );
  }, 120_000);
});

describe('two writers to one target', () => {
  it('the second fails at once with the lock error naming the target and the first pid (train --out, encode --out)', async () => {
    for (const cmd of ['train', 'encode']) {
      const target = p(`two-${TARGET[cmd]}`);
      const first = aekit(COMMANDS[cmd]!(target), 30_000);
      // train holds its --out from the start; encode from its write.
      await until(`${cmd}'s lock`, () => leftovers(target).length > 0, first);
      const second = aekit(COMMANDS[cmd]!(target));
      expect(await second.exit).toBe(1);
      expect(second.stderr().trim()).toMatch(
        new RegExp(`^aekit: ${target} is being written by another aekit process \\(pid ${first.proc.pid}\\); wait for it to finish`),
      );
      first.proc.kill('SIGKILL');
      await first.exit;
    }
  }, 120_000);
});

describe('modes and inputs', () => {
  it('a bundle is 0755 with 0644 files, an output file 0644 (umask 022)', () => {
    expect(statSync(p('b')).mode & 0o777).toBe(0o755);
    for (const f of readdirSync(p('b'))) expect(statSync(join(p('b'), f)).mode & 0o777, f).toBe(0o644);
    expect(statSync(p('z.npy')).mode & 0o777).toBe(0o644);
  });

  it('a FIFO as --data or inside a bundle is refused by name at once', async () => {
    execFileSync('mkfifo', [p('pipe.npy')]);
    cpSync(p('b'), p('fifo-bundle'), { recursive: true });
    rmSync(p('fifo-bundle/manifest.json'));
    execFileSync('mkfifo', [p('fifo-bundle/manifest.json')]);
    const t0 = Date.now();
    const a = aekit(['encode', p('b'), '--data', p('pipe.npy'), '--out', p('never.npy')]);
    const b = aekit(['info', p('fifo-bundle')]);
    expect(await a.exit).toBe(1);
    expect(await b.exit).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(a.stderr()).toContain(`aekit: ${p('pipe.npy')} is a named pipe (FIFO), not a regular file`);
    expect(b.stderr()).toContain(`aekit: ${p('fifo-bundle/manifest.json')} is a named pipe (FIFO), not a regular file`);
  });
});
