/**
 * The batch loops the tfjs engines share: slicing rows into tensors, the autodiff training pass (VAE and
 * autodiff engines), forward-only passes in batches (evaluate, encode, decode) and reading a run of step
 * losses back.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamConfig, LossName } from '@aekit/core';
import { adamAssign, reconstructionSum } from './step.js';

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

/** The optimizer state of an autodiff engine: steps taken and Adam moments, one per variable. */
export interface AutodiffState {
  step: number;
  m: tf.Tensor[];
  v: tf.Tensor[];
}

/** One autodiff training pass's inputs (the rows and how to batch them). */
export interface AutodiffBatches {
  data: Float32Array;
  rows: number;
  /** What the output is scored against (denoising); `data` when omitted. */
  targets?: Float32Array;
  cols: number;
  batchSize: number;
  adam: AdamConfig;
}

/**
 * One Adam step per batch with gradients from `tf.variableGrads` (the VAE and autodiff engines):
 * `draw(t, n)` gives the step's random values ([n, drawWidth], drawn in JS from the step number so
 * every engine draws the same; undefined for none) and `loss` the scalar to minimise. Updates the
 * variables and `state` in place; returns each step's loss tensor (read with readLosses).
 */
export function autodiffSteps(
  b: AutodiffBatches,
  vars: readonly tf.Variable[],
  state: AutodiffState,
  draw: (t: number, n: number) => Float32Array | undefined,
  drawWidth: number,
  loss: (x: tf.Tensor2D, drawn: tf.Tensor2D | undefined, target: tf.Tensor2D) => tf.Scalar,
): tf.Tensor[] {
  const losses: tf.Tensor[] = [];
  for (let start = 0; start < b.rows; start += b.batchSize) {
    const n = Math.min(b.batchSize, b.rows - start);
    const t = ++state.step;
    const values = draw(t, n);
    const oldM = state.m;
    const oldV = state.v;
    const out = tf.tidy(() => {
      const { x, target } = batchTensors(b.data, b.targets, start, n, b.cols);
      const drawn = values === undefined ? undefined : tf.tensor2d(values, [n, drawWidth]);
      const { value, grads } = tf.variableGrads(() => loss(x, drawn, target), [...vars]);
      return { value, ...adamAssign(vars, grads, oldM, oldV, b.adam, t) };
    });
    tf.dispose([...oldM, ...oldV]);
    state.m = out.m;
    state.v = out.v;
    losses.push(out.value);
  }
  return losses;
}
