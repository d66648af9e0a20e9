/**
 * `aekit demo [--out DIR] [--epochs N]` (root `pnpm demo`): the whole path in one command. Trains the
 * default autoencoder on the bundled MNIST digits with train()'s defaults (a seeded tenth held out for
 * testing), exports the bundle, evaluates the held-out digits through @aekit/runtime, prints MSE / PSNR /
 * compression ratio and writes a PNG of originals above their reconstructions.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command } from 'commander';
import { PNG } from 'pngjs';
import { Rng, UsageError, describeSpec } from '@aekit/core';
import { exportBundle } from '@aekit/exporter';
import { readCheckpointFiles } from '@aekit/exporter/node';
import { writeBundleFiles } from '../bundle-writer.js';
import { Codec } from '@aekit/runtime';
import { type LabelledDataset, loadBundledDigits, writeFileAtomic } from '@aekit/data';
import { TRAIN_DEFAULTS, train } from '@aekit/trainer';
import { type CliIO, type OutputOptions, addOutputOptions } from '../io.js';
import { type RuntimeCliOptions, addRuntimeOptions, loadOptions } from './encode.js';
import { evaluateCodec, formatReport, normalisedMse } from './eval.js';

export const DEMO_DEFAULT_OUT = 'artifacts/demo';
const TEST_FRACTION = 0.1;
const SIDE = 28;

export interface DemoOptions extends RuntimeCliOptions {
  out: string;
  epochs?: string;
  seed?: string;
}

export interface DemoResult {
  checkpoint: string;
  bundle: string;
  png: string;
  testRows: number;
  mse: number;
  psnr: number;
  /** MSE of predicting the training set's mean image for every test digit (normalised units). */
  meanImageMse: number;
  compressionRatio: number;
}

/** Splits the digits with a seeded shuffle: the first `TEST_FRACTION` for testing, the rest for training. */
function split(d: LabelledDataset, seed: number) {
  const order = new Rng(seed).permutation(d.rows);
  const nTest = Math.round(d.rows * TEST_FRACTION);
  const take = (idx: Uint32Array) => {
    const data = new Uint8Array(idx.length * d.cols);
    const labels = new Uint8Array(idx.length);
    idx.forEach((r, i) => {
      data.set(d.data.subarray(r * d.cols, (r + 1) * d.cols), i * d.cols);
      labels[i] = d.labels[r]!;
    });
    return { data, labels, rows: idx.length };
  };
  return { test: take(order.subarray(0, nTest)), train: take(order.subarray(nTest)) };
}

function meanImageMse(train: Uint8Array, test: Uint8Array, cols: number): number {
  const mean = new Float64Array(cols);
  for (let i = 0; i < train.length; i++) mean[i % cols]! += train[i]!;
  const rows = train.length / cols;
  const pred = Float32Array.from(mean, (s) => s / rows);
  let sum = 0;
  for (let i = 0; i < test.length; i++) sum += ((test[i]! - pred[i % cols]!) / 255) ** 2;
  return sum / test.length;
}

/** A PNG of `originals` (top row) above `recons` (bottom row), 28×28 digits scaled ×`zoom`. */
export function digitGrid(originals: ArrayLike<number>, recons: ArrayLike<number>, count: number, zoom = 4): Uint8Array {
  const gap = 2;
  const tile = SIDE * zoom;
  const png = new PNG({ width: count * (tile + gap) + gap, height: 2 * (tile + gap) + gap });
  png.data.fill(255);
  const put = (src: ArrayLike<number>, k: number, row: number) => {
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const v = src[k * SIDE * SIDE + Math.floor(y / zoom) * SIDE + Math.floor(x / zoom)]!;
        const g = 255 - Math.max(0, Math.min(255, Math.round(v))); // dark digits on white
        const o = ((gap + row * (tile + gap) + y) * png.width + gap + k * (tile + gap) + x) * 4;
        png.data[o] = png.data[o + 1] = png.data[o + 2] = g;
        png.data[o + 3] = 255;
      }
    }
  };
  for (let k = 0; k < count; k++) {
    put(originals, k, 0);
    put(recons, k, 1);
  }
  return new Uint8Array(PNG.sync.write(png));
}

export async function runDemo(o: DemoOptions, io: CliIO): Promise<DemoResult> {
  const out = resolve(o.out);
  const epochs = o.epochs === undefined ? TRAIN_DEFAULTS.epochs : Number(o.epochs);
  if (!Number.isInteger(epochs) || epochs < 1) throw new UsageError(`--epochs must be a positive integer, got "${o.epochs}"`);
  const seed = o.seed === undefined ? TRAIN_DEFAULTS.seed : Number(o.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got "${o.seed}"`);
  const runtimeOptions = loadOptions(o);

  const digits = await loadBundledDigits();
  await mkdir(out, { recursive: true });
  const { train: trainSet, test } = split(digits, seed);
  const checkpoint = join(out, 'checkpoint');
  const bundle = join(out, 'bundle');
  const png = join(out, 'digits.png');
  const t0 = performance.now();
  const trained = await train({
    data: { data: trainSet.data, rows: trainSet.rows, cols: digits.cols, dtype: 'uint8', source: digits.source },
    epochs,
    seed,
    out: checkpoint,
    onStart: (s) =>
      io.stdout(
        `training ${describeSpec(s.spec)} on ${s.trainRows} bundled MNIST digits (${s.valRows} for validation, ` +
          `${test.rows} held out for testing), ${s.epochs} epochs, ${s.engine}/${s.backend}\n`,
      ),
    onEpochEnd: (e) =>
      io.stdout(
        `  epoch ${String(e.epoch).padStart(2)}/${e.epochs}  loss ${e.loss.toFixed(5)}` +
          `${e.valLoss === undefined ? '' : `  val ${e.valLoss.toFixed(5)}`}  ${e.seconds.toFixed(1)} s\n`,
      ),
  });
  io.stdout(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${checkpoint}\n`);

  const exported = await exportBundle(await readCheckpointFiles(checkpoint));
  await writeBundleFiles(bundle, exported.files);
  io.stdout(`exported ${exported.manifest.inputDim}→${exported.manifest.latentDim}→${exported.manifest.inputDim} ONNX bundle → ${bundle}\n`);

  const codec = await Codec.load(bundle, { ...runtimeOptions, checkFinite: false }); // rows come from uint8 pixels
  try {
    const rows = Float32Array.from(test.data);
    const reconstruction = new Float32Array(rows.length);
    const report = await evaluateCodec(codec, rows, 1, (y, first) => reconstruction.set(y, first * digits.cols));
    const baseline = meanImageMse(trainSet.data, test.data, digits.cols);
    io.stdout(`evaluated ${test.rows} held-out digits through @aekit/runtime:\n`);
    io.stdout(formatReport(report).replace(/^/gm, '  ').trimEnd() + '\n');
    io.stdout(`  mean-image baseline MSE ${baseline.toPrecision(4)} (predicting the average training digit)\n`);
    // one held-out example of each digit 0–9
    const picks: number[] = [];
    for (let digit = 0; digit < 10; digit++) {
      const i = test.labels.indexOf(digit);
      if (i >= 0) picks.push(i);
    }
    const gather = (src: ArrayLike<number>) => {
      const a = new Float32Array(picks.length * digits.cols);
      picks.forEach((r, k) => {
        for (let c = 0; c < digits.cols; c++) a[k * digits.cols + c] = src[r * digits.cols + c]!;
      });
      return a;
    };
    await writeFileAtomic(png, digitGrid(gather(test.data), gather(reconstruction), picks.length));
    io.stdout(`wrote ${png} (top: originals, bottom: reconstructions)\n`);
    void trained;
    return {
      checkpoint,
      bundle,
      png,
      testRows: test.rows,
      mse: normalisedMse(codec.manifest, rows, reconstruction),
      psnr: report.psnr,
      meanImageMse: baseline,
      compressionRatio: report.compressionRatio,
    };
  } finally {
    await codec.dispose();
  }
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('demo')
    .description('train on the bundled MNIST digits, export, evaluate through the runtime, and draw originals vs reconstructions')
    .option('--out <dir>', 'directory for the checkpoint, bundle and digits.png', DEMO_DEFAULT_OUT)
    .option('--epochs <n>', `training epochs (default ${TRAIN_DEFAULTS.epochs})`)
    .option('--seed <n>', `seed of the test split and of training (default ${TRAIN_DEFAULTS.seed})`);
  addOutputOptions(cmd);
  addRuntimeOptions(cmd).action(async (o: DemoOptions & OutputOptions) => {
    if (o.json === true) {
      // The narrative becomes progress (stderr, silenced by --quiet); the result is one JSON line.
      const result = await runDemo(o, { ...io, stdout: (t) => (o.quiet === true ? undefined : io.stderr(t)) });
      io.stdout(`${JSON.stringify({ command: 'demo', ...result })}\n`);
      return;
    }
    // --quiet drops the per-epoch lines; the rest is the demo's result.
    await runDemo(o, o.quiet === true ? { ...io, stdout: (t) => (t.startsWith('  epoch ') ? undefined : io.stdout(t)) } : io);
  });
}
