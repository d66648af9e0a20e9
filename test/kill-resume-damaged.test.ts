/**
 * Issue 9, verified files: one flipped byte in a checkpoint's weights (or optimizer state) makes
 * `aekit export` and `aekit train --resume` refuse it with a message naming the file and the hash,
 * and writes nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { encodeNpy } from '@aekit/data';

const dir = mkdtempSync(join(tmpdir(), 'aekit-damaged-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...argv: string[]) => runCli(argv);

const ckpt = join(dir, 'ckpt');

beforeAll(async () => {
  const x = Float32Array.from({ length: 64 * 8 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.7));
  const data = join(dir, 'x.npy');
  writeFileSync(data, encodeNpy(x, [64, 8]));
  const r = await run('train', '--data', data, '--layers', '6', '--latent', '2', '--batch-size', '16', '--epochs', '2', '--engine', 'tfjs', '--backend', 'cpu', '--out', ckpt);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
});

function flipByte(file: string, at: number): () => void {
  const original = readFileSync(file);
  const bytes = Buffer.from(original);
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(file, bytes);
  return () => writeFileSync(file, original);
}

describe('a damaged checkpoint is refused', () => {
  it('the intact checkpoint exports (control)', async () => {
    const r = await run('export', ckpt, '--out', join(dir, 'bundle-ok'), '--no-verify');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('one flipped bit in weights.bin: export and resume refuse it, nothing is written', async () => {
    const restore = flipByte(join(ckpt, 'weights.bin'), 77);
    try {
      const bundle = join(dir, 'bundle-bad');
      const ex = await run('export', ckpt, '--out', bundle, '--no-verify');
      expect(ex.code).toBe(1);
      expect(ex.err).toMatch(/^aekit: .*weights\.bin.*SHA-256/);
      expect(existsSync(bundle)).toBe(false);

      const before = readFileSync(join(ckpt, 'aekit.json'), 'utf8');
      const re = await run('train', '--resume', ckpt, '--epochs', '3', '--engine', 'tfjs', '--backend', 'cpu');
      expect(re.code).toBe(1);
      expect(re.err).toMatch(new RegExp(`^aekit: ${join(ckpt, 'weights.bin').replace(/[/.]/g, '\\$&')}: SHA-256 does not match`));
      expect(readFileSync(join(ckpt, 'aekit.json'), 'utf8')).toBe(before);
    } finally {
      restore();
    }
  });

  it('one flipped bit in optimizer.bin: resume refuses it', async () => {
    const restore = flipByte(join(ckpt, 'optimizer.bin'), 5);
    try {
      const re = await run('train', '--resume', ckpt, '--epochs', '3', '--engine', 'tfjs', '--backend', 'cpu');
      expect(re.code).toBe(1);
      expect(re.err).toMatch(/^aekit: .*optimizer\.bin: SHA-256 does not match/);
    } finally {
      restore();
    }
  });
});
