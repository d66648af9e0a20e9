/**
 * Issue 9, recovery: `aekit train` in a child process is killed with SIGKILL in the middle of an epoch,
 * resumed with --resume, and its final weights are compared with an uninterrupted run of the same seed
 * on the same engine and backend: they must be bit-identical. A second child gets SIGINT and must
 * exit 130 (128 + SIGINT), saying how to resume, with its last complete epoch saved.
 * Spawns the built CLI (packages/cli/dist/bin.js): run `npx tsc -b` first (root `pnpm test` does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@aekit/data';

const BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'aekit-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 8_000;
const COLS = 48;
const EPOCHS = 4;
/** Same engine and backend for every run: bit-identity is promised per engine/backend. */
const ARGS = ['--layers', '24', '--latent', '6', '--batch-size', '16', '--seed', '9', '--engine', 'tfjs', '--backend', 'wasm', '--json'];
let data: string;

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first with npx tsc -b`);
  // Two smooth factors per row, so the model has something to learn.
  const x = new Float32Array(ROWS * COLS);
  for (let r = 0; r < ROWS; r++) {
    const a = Math.sin(r * 0.37);
    const b = Math.cos(r * 0.11);
    for (let c = 0; c < COLS; c++) x[r * COLS + c] = 0.5 + 0.3 * a * Math.sin(c * 0.5) + 0.15 * b * Math.cos(c * 0.3);
  }
  data = join(dir, 'rows.npy');
  writeFileSync(data, encodeNpy(x, [ROWS, COLS]));
});

interface Child {
  proc: ChildProcess;
  events: Record<string, unknown>[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when an event matching `pred` has been printed. */
  until: (pred: (e: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
}

function aekit(args: string[]): Child {
  const proc = spawn(process.execPath, [BIN, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = [];
  let out = '';
  let err = '';
  proc.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const e = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
      out = out.slice(nl + 1);
      events.push(e);
      for (const w of waiters.filter((w) => w.pred(e))) w.resolve(e);
    }
  });
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    events,
    stderr: () => err,
    exit,
    until: (pred) =>
      new Promise((resolve, reject) => {
        const hit = events.find(pred);
        if (hit) return resolve(hit);
        waiters.push({ pred, resolve });
        void exit.then(() => reject(new Error(`child exited before the expected event; stderr: ${err}`)));
      }),
  };
}

const esc = (s: string) => s.replace(/[/.]/g, '\\$&');
const meta = (ckpt: string) => JSON.parse(readFileSync(join(ckpt, 'aekit.json'), 'utf8')) as { epochsCompleted: number; history: { loss: number }[] };

describe('kill -9 and resume', () => {
  it('a run killed mid-epoch and resumed ends with the weights of an uninterrupted run', async () => {
    const whole = join(dir, 'whole');
    const full = aekit(['--data', data, ...ARGS, '--epochs', String(EPOCHS), '--out', whole]);
    expect((await full.exit).code, full.stderr()).toBe(0);

    const killed = join(dir, 'killed');
    const victim = aekit(['--data', data, ...ARGS, '--epochs', String(EPOCHS), '--out', killed]);
    const second = await victim.until((e) => e['event'] === 'epoch' && e['epoch'] === 2);
    // Half an epoch later: in the middle of epoch 3.
    await new Promise((r) => setTimeout(r, (1000 * (second['seconds'] as number)) / 2));
    victim.proc.kill('SIGKILL');
    expect((await victim.exit).signal).toBe('SIGKILL');
    const saved = meta(killed).epochsCompleted;
    expect(saved).toBeGreaterThanOrEqual(2);
    expect(saved).toBeLessThan(EPOCHS);

    const resumed = aekit(['--resume', killed, '--epochs', String(EPOCHS), '--engine', 'tfjs', '--backend', 'wasm', '--json']);
    expect((await resumed.exit).code, resumed.stderr()).toBe(0);
    expect(resumed.events[0]).toMatchObject({ event: 'start', firstEpoch: saved + 1 });
    expect(meta(killed).history.map((h) => h.loss)).toEqual(meta(whole).history.map((h) => h.loss));
    expect(Buffer.compare(readFileSync(join(killed, 'weights.bin')), readFileSync(join(whole, 'weights.bin')))).toBe(0);
    expect(Buffer.compare(readFileSync(join(killed, 'optimizer.bin')), readFileSync(join(whole, 'optimizer.bin')))).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('Ctrl-C stops cleanly: exit 130, the last complete epoch saved, a message saying how to resume', async () => {
    const out = join(dir, 'interrupted');
    const child = aekit(['--data', data, ...ARGS, '--epochs', '50', '--out', out]);
    const first = await child.until((e) => e['event'] === 'epoch' && e['epoch'] === 1);
    await new Promise((r) => setTimeout(r, (1000 * (first['seconds'] as number)) / 2));
    child.proc.kill('SIGINT');
    const { code } = await child.exit;
    expect(code).toBe(130);
    const done = meta(out).epochsCompleted;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBe(child.events.filter((e) => e['event'] === 'epoch').length);
    expect(child.stderr()).toMatch(new RegExp(`^aekit: interrupted during epoch ${done + 1}: ${esc(out)} holds epoch ${done}; continue with: aekit train --resume ${esc(out)}$`, 'm'));
  });
});
