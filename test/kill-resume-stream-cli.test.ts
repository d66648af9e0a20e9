/**
 * Issue 9 flags of `aekit train`, in process: --stream / --in-memory / --stream-buffer-mb and
 * --checkpoint-every, and their usage errors.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from 'aekit';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-stream-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...argv: string[]) => runCli(argv);

const csv = ['a,b,c,d,e,f', ...Array.from({ length: 80 }, (_, r) => Array.from({ length: 6 }, (_, c) => (0.5 + 0.4 * Math.sin(r * 0.7 + c)).toFixed(4)).join(','))].join('\n');
const data = join(dir, 'x.csv');
writeFileSync(data, `${csv}\n`);
const SMALL = ['--layers', '4', '--latent', '2', '--batch-size', '8', '--engine', 'tfjs', '--backend', 'cpu'];

describe('aekit train reliability flags', () => {
  it('--help lists them', async () => {
    const r = await run('train', '--help');
    for (const o of ['--checkpoint-every', '--stream', '--in-memory', '--stream-buffer-mb']) expect(r.out).toContain(o);
  });

  it('--stream trains from the file through a small buffer and records the layout; resume streams again', async () => {
    const out = join(dir, 'streamed');
    const r = await run('train', '--data', data, ...SMALL, '--stream', '--stream-buffer-mb', '0.002', '--epochs', '2', '--json', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const meta = JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8'));
    // 0.002 MiB / (6 columns × 8 bytes) = 43 rows: blocks of 1 row, buffer 43 rows.
    expect(meta.training.stream).toEqual({ bufferRows: 43, blockRows: 1 });
    expect(meta.data).toEqual({ source: data, rows: 80, cols: 6 });
    const again = await run('train', '--resume', out, '--epochs', '3', '--engine', 'tfjs', '--backend', 'cpu', '--json');
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')).history).toHaveLength(3);
  });

  it('--checkpoint-every 2 keeps the checkpoint of epoch 2 while epoch 3 runs', async () => {
    const out = join(dir, 'every2');
    const seen: number[] = [];
    let err = '';
    const code = await main(['train', '--data', data, ...SMALL, '--checkpoint-every', '2', '--epochs', '4', '--json', '--out', out], {
      stdout: (t) => {
        for (const line of t.trim().split('\n')) {
          const e = JSON.parse(line) as { event: string; epoch?: number };
          if (e.event === 'epoch') seen.push(existsSync(out) ? (JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')).epochsCompleted as number) : 0);
        }
      },
      stderr: (t) => (err += t),
      isTTY: false,
    });
    expect(err).toBe('');
    expect(code).toBe(0);
    // On disk when each epoch's event is printed (the last epoch's checkpoint is written after it).
    expect(seen).toEqual([0, 2, 2, 2]);
    expect(JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')).epochsCompleted).toBe(4);
  }, 30_000);

  it('a .gz file streams too (inflated once to a scratch file): same rows as the raw file', async () => {
    const gz = join(dir, 'x.csv.gz');
    writeFileSync(gz, gzipSync(csv));
    const out = join(dir, 'zipped');
    const r = await run('train', '--data', gz, ...SMALL, '--stream', '--epochs', '1', '--json', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'aekit.json'), 'utf8')).data).toEqual({ source: gz, rows: 80, cols: 6 });
  });

  it('usage errors: exit 2 and one line naming the fix', async () => {
    const both = await run('train', '--data', data, '--stream', '--in-memory', '--out', join(dir, 'no1'));
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/^aekit: --stream and --in-memory exclude each other/);
    const every = await run('train', '--data', data, '--checkpoint-every', '0', '--out', join(dir, 'no3'));
    expect(every.code).toBe(2);
    expect(every.err).toMatch(/^aekit: --checkpoint-every must be a positive integer/);
    const tiny = await run('train', '--data', data, '--stream', '--stream-buffer-mb', '0.0001', '--out', join(dir, 'no4'));
    expect(tiny.code).toBe(2);
    expect(tiny.err).toMatch(/--stream-buffer-mb 0.0001 holds 2 rows of 6 values, fewer than one batch of 32/);
  });
});
