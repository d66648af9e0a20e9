/**
 * Forward-only passes in batches over an onnxruntime session (evaluate, encode), shared by the plain
 * and the VAE onnxruntime engines. Uses no Node API (the browser engine runs it too).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import type { EngineRows } from '../engine.js';

/** Rows per run() for forward-only passes (the training batch size does not matter there). */
export const EVAL_BATCH = 1024;

/** The feeds of one forward run: input rows `x` ([rows, cols]) and the parameters. */
export type ForwardFeeds = (x: EngineRows, rows: number) => Record<string, Tensor>;

/** The mean of the session's scalar `loss` output over the rows (each batch's mean weighted by its rows). */
export async function forwardMeanLoss(session: InferenceSession, feeds: ForwardFeeds, data: EngineRows, rows: number, cols: number): Promise<number> {
  let total = 0;
  for (let start = 0; start < rows; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, rows - start);
    const out = await session.run(feeds(data.subarray(start * cols, (start + n) * cols), n));
    total += (out['loss']!.data as Float32Array)[0]! * n;
  }
  return total / rows;
}

/** The session's `output` ([batch, width]) over the rows, as [rows, width] row-major. */
export async function forwardRows(
  session: InferenceSession,
  output: string,
  width: number,
  feeds: ForwardFeeds,
  data: EngineRows,
  rows: number,
  cols: number,
): Promise<Float32Array> {
  const out = new Float32Array(rows * width);
  for (let start = 0; start < rows; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, rows - start);
    const r = await session.run(feeds(data.subarray(start * cols, (start + n) * cols), n));
    out.set(r[output]!.data as Float32Array, start * width);
  }
  return out;
}
