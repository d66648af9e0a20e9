/** Shared by the resume tests: smooth deterministic rows, and runs that leave per-epoch checkpoint copies. */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { type TrainOptions, type TrainResult, train } from '../src/train.js';

/** Rows × cols values in (0, 1), smooth in both the row and the column. */
export function smoothRows(rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, (_, i) => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    return 0.5 + 0.3 * Math.sin(r * 0.9) * Math.cos(c) + 0.1 * Math.cos(r * 2.3 + c);
  });
}

let runs = 0;

/**
 * Trains to `epochs` into a new directory under `dir`, copying the checkpoint right after epoch
 * `copyAt` (`all`: every epoch but the last) to `copyOf(epoch)`: what a kill would leave behind.
 */
export async function trainCopying(
  dir: string,
  opts: TrainOptions,
  epochs: number,
  copyAt: number | 'all' = 'all',
): Promise<{ result: TrainResult; out: string; copyOf: (epoch: number) => string }> {
  const out = join(dir, `run-${++runs}`);
  const copyOf = (epoch: number) => `${out}-epoch${epoch}`;
  const result = await train({
    ...opts,
    epochs,
    out,
    onEpochEnd: (e) => {
      if ((copyAt === 'all' && e.epoch < epochs) || e.epoch === copyAt) cpSync(out, copyOf(e.epoch), { recursive: true });
    },
  });
  return { result, out, copyOf };
}
