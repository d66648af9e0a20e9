/**
 * The batch loops both tfjs engines (plain and VAE) share: slicing rows into tensors, forward-only
 * passes in batches (evaluate, encode, decode) and reading a run of step losses back.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossName } from '@aekit/core';
import { reconstructionSum } from './step.js';

/** Rows per batch for forward-only passes (the training batch size does not matter there). */
export const EVAL_BATCH = 1024;

/** Rows [start, start + n) of row-major `data` of `cols` columns, as an [n, cols] tensor (no copy in JS). */
export function rowsTensor(data: Float32Array, start: number, n: number, cols: number): tf.Tensor2D {
  return tf.tensor2d(data.subarray(start * cols, (start + n) * cols), [n, cols]);
}

/** A training batch: its inputs, and what the output is scored against (`targets` when given, else the inputs). */
export function batchTensors(data: Float32Array, targets: Float32Array | undefined, start: number, n: number, cols: number): { x: tf.Tensor2D; target: tf.Tensor2D } {
  const x = rowsTensor(data, start, n, cols);
  return { x, target: targets === undefined ? x : rowsTensor(targets, start, n, cols) };
}

/**
 * Mean reconstruction loss (no penalties) of `reconstruct(x)` against x over the rows: summed per batch
 * in tfjs, accumulated in float64, divided by rows × cols.
 */
export async function meanReconstructionLoss(
  loss: LossName,
  data: Float32Array,
  rows: number,
  cols: number,
  reconstruct: (x: tf.Tensor2D) => tf.Tensor,
): Promise<number> {
  let total = 0;
  for (let start = 0; start < rows; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, rows - start);
    const s = tf.tidy(() => {
      const x = rowsTensor(data, start, n, cols);
      return reconstructionSum(loss, reconstruct(x), x);
    });
    total += (await s.data())[0]!;
    s.dispose();
  }
  return total / (rows * cols);
}

/** `f` applied to the rows in batches; the outputs as [rows, outWidth] row-major. */
export async function mapRows(
  data: Float32Array,
  rows: number,
  inWidth: number,
  outWidth: number,
  f: (x: tf.Tensor2D) => tf.Tensor,
): Promise<Float32Array> {
  const out = new Float32Array(rows * outWidth);
  for (let start = 0; start < rows; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, rows - start);
    const y = tf.tidy(() => f(rowsTensor(data, start, n, inWidth)));
    out.set((await y.data()) as Float32Array, start * outWidth);
    y.dispose();
  }
  return out;
}

/**
 * The step losses of one trainSteps call, read back in one go (a readback per step would stall an
 * asynchronous backend every batch); frees the loss tensors.
 */
export async function readLosses(losses: tf.Tensor[]): Promise<Float32Array> {
  const stacked = tf.stack(losses);
  const out = (await stacked.data()) as Float32Array;
  tf.dispose([stacked, ...losses]);
  return out;
}
