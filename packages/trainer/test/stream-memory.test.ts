/**
 * Issue 9, data larger than memory: a child process trains one epoch from a 400 MiB float32 NPY file
 * streamed through a 4 MiB shuffle buffer, and its peak RSS (process.resourceUsage().maxRSS) must stay
 * under a cap of the same child's RSS on a 4 MiB file plus 64 MiB — about half the file's size; loading
 * the file in memory would need more than the whole file.
 * Runs the built trainer (packages/trainer/dist): run `npx tsc -b` first (root `pnpm test` does).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const CORE = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));
const COLS = 1024;
const MiB = 2 ** 20;
const tmp = tempDir('aekit-stream-rss-');
afterAll(() => tmp.cleanup());

/** A float32 NPY of rows × COLS with smooth structure, written a chunk at a time (the test holds 16 MiB at most). */
function writeNpy(path: string, rows: number): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${COLS}), }`;
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 11, ' ') + '\n';
  const head = Buffer.alloc(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(header.length, 8);
  head.write(header, 10, 'latin1');
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  const chunk = new Float32Array(4096 * COLS);
  for (let r = 0; r < rows; r += 4096) {
    const n = Math.min(4096, rows - r);
    for (let i = 0; i < n; i++) {
      const a = Math.sin((r + i) * 0.37);
      const b = Math.cos((r + i) * 0.11);
      for (let c = 0; c < COLS; c++) chunk[i * COLS + c] = 0.5 + 0.3 * a * Math.sin(c * 0.05) + 0.15 * b * Math.cos(c * 0.03);
    }
    writeSync(fd, new Uint8Array(chunk.buffer, 0, n * COLS * 4));
  }
  closeSync(fd);
}

/** Trains one streamed epoch in a child process; returns its peak RSS in bytes and the run's losses. */
function trainStreamed(path: string): { maxRSS: number; loss: number; valLoss: number } {
  const script = `
    import { train } from ${JSON.stringify(DIST)};
    import { makeSpec } from ${JSON.stringify(CORE)};
    const r = await train({
      stream: { source: ${JSON.stringify(path)}, bufferMB: 4 },
      spec: makeSpec({ inputDim: ${COLS}, layers: [16], latent: 4 }),
      engine: 'ort', backend: 'cpu', epochs: 1, batchSize: 256,
    });
    console.log(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS * 1024, loss: r.history[0].loss, valLoss: r.valLoss }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as { maxRSS: number; loss: number; valLoss: number };
}

describe('streaming keeps memory bounded', () => {
  const small = join(tmp.dir, 'small.npy');
  const big = join(tmp.dir, 'big.npy');
  beforeAll(() => {
    if (!existsSync(DIST) || !existsSync(CORE)) throw new Error(`${DIST} is missing: build first with npx tsc -b`);
    writeNpy(small, 1024);
    writeNpy(big, 100 * 1024);
  });

  it('a 400 MiB file trains with peak RSS under (RSS on a 4 MiB file + 64 MiB), about half the file', () => {
    const base = trainStreamed(small);
    const run = trainStreamed(big);
    const size = statSync(big).size;
    const cap = base.maxRSS + 64 * MiB;
    expect(size).toBeGreaterThan(400 * MiB);
    expect(cap).toBeLessThan(size * 0.6);
    expect(run.maxRSS).toBeLessThan(cap);
    // It did train: a finite loss that fell below the small run's single epoch.
    expect(Number.isFinite(run.valLoss)).toBe(true);
    expect(run.loss).toBeLessThan(base.loss);
    console.log(`streamed ${(size / MiB).toFixed(0)} MiB: peak RSS ${(run.maxRSS / MiB).toFixed(0)} MiB (4 MiB file: ${(base.maxRSS / MiB).toFixed(0)} MiB, cap ${(cap / MiB).toFixed(0)} MiB)`);
  });
});
