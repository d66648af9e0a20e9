/**
 * `aekit study activations` end to end, in process, on a tiny run: the table, the CSVs and a PNG chart
 * that decodes, and bad options failing with one line and exit 2 before anything is written.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, structuredCsv } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-study-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...argv: string[]) => runCli(argv);

const csvRows = (rows = 120, cols = 10): string => structuredCsv(rows, cols);

const TINY = ['--layers', '6', '--latent', '2', '--batch-size', '16', '--epochs', '3', '--engine', 'tfjs', '--backend', 'cpu'];

describe('aekit study activations', () => {
  it('writes study.md, study.csv, curves.csv and a loss-curve PNG on a tiny run', async () => {
    const data = join(dir, 'rows.csv');
    writeFileSync(data, csvRows());
    const out = join(dir, 'out');
    const r = await run('study', 'activations', '--data', data, '--activations', 'relu,tanh', '--seeds', '2', '--limit', '100', '--out', out, ...TINY);
    expect(r.code).toBe(0);
    // progress on stderr, the table on stdout
    expect(r.err).toMatch(/\[5\/6\] tanh seed 43: val MSE 0\.\d{5}/);
    expect(r.err).toMatch(/\[6\/6\] linear seed 43: val MSE 0\.\d{5}/); // the all-linear reference
    expect(r.out).not.toMatch(/\[\d\/6\]/);
    const md = readFileSync(join(out, 'study.md'), 'utf8');
    expect(md).toContain('(evenly spaced subset of its 120 rows) (100 rows');
    const tableRows = md.split('\n').filter((l) => /^\| [12] \| (relu|tanh) \| 0\.\d{5} ± 0\.\d{5} \|/.test(l));
    expect(tableRows).toHaveLength(2);
    expect(md).toMatch(/\| ref \| linear \(all hidden activations linear\) \| 0\.\d{5} ± 0\.\d{5} \|/);
    expect(md).toMatch(/\| ref \| PCA-2 \(linear optimum, fitted on each training split\) \| 0\.\d{5} ± 0\.\d{5} \|/);
    const csv = readFileSync(join(out, 'study.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv.slice(3).map((l) => l.split(',')[0])).toEqual(['linear', 'pca-2']);
    for (const line of csv.slice(1)) {
      const mse = Number(line.split(',')[2]);
      expect(mse).toBeGreaterThan(0);
      expect(mse).toBeLessThan(0.5); // data in [0, 1]: any sane model is far below 0.5
    }
    expect(readFileSync(join(out, 'curves.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 3 * 2 * 3);
    const png = PNG.sync.read(readFileSync(join(out, 'loss-curves.png')));
    expect([png.width, png.height]).toEqual([960, 600]);

    const bare = join(dir, 'bare');
    const n = await run('study', 'activations', '--data', data, '--activations', 'relu', '--seeds', '1', '--limit', '100', '--no-references', '--out', bare, ...TINY);
    expect(n.code).toBe(0);
    expect(n.err).toMatch(/\[1\/1\] relu seed 42/);
    expect(readFileSync(join(bare, 'study.md'), 'utf8')).not.toContain('| ref |');
  });

  it('bad options: one line on stderr, exit 2, nothing written', async () => {
    const out = join(dir, 'bad');
    for (const argv of [
      ['--activations', 'relu,nope'],
      ['--seeds', '0'],
      ['--epochs', 'x'],
      ['--threshold', '-1'],
    ]) {
      const r = await run('study', 'activations', ...argv, '--out', out);
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^aekit: /);
      expect(existsSync(join(out, 'study.md'))).toBe(false);
    }
  });
});
