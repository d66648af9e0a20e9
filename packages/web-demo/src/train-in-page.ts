/**
 * Trains an autoencoder in the page with the onnxruntime training engine
 * (@aekit/trainer/ort on onnxruntime-web, wasm or WebGPU), then turns the parameters into an aekit
 * checkpoint in memory and exports it with exportBundle, so the page's Codec runs the fresh model.
 * Nothing here uses tfjs or Node APIs.
 */
import { DEFAULT_ADAM, DEFAULT_SPEC, type LossName, type ModelSpec, Rng, columnRange } from '@aekit/core';
import { exportBundle, type ExportResult } from '@aekit/exporter';
import type { BundleBytes } from '@aekit/runtime';
import { OrtEngine, type OrtModule, glorotUniformParams } from '@aekit/trainer/ort';
import { checkpointFiles } from './checkpoint-files.js';

export type TrainDevice = 'wasm' | 'webgpu';

export interface TrainSettings {
  device: TrainDevice;
  epochs: number;
  /** Training rows: the first `rows` of the pixel rows given (all of them when larger). */
  rows: number;
  /** Default: 32, smaller for few rows (see defaultBatchSize). */
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  spec?: ModelSpec;
  loss?: LossName;
  /** Called after each epoch (the page repaints between epochs). */
  onEpoch?: (e: EpochLoss) => void;
}

export interface EpochLoss {
  epoch: number;
  /** Mean training loss over the epoch's batches (rows-weighted). */
  loss: number;
  ms: number;
}

export interface TrainedInPage {
  /** The execution provider that ran the training (the engine's `backend`). */
  backend: string;
  spec: ModelSpec;
  rows: number;
  batchSize: number;
  /** Loss of the initial weights over the training rows, before any step. */
  initialLoss: number;
  history: EpochLoss[];
  trainMs: number;
  exportMs: number;
  export: ExportResult;
  bundle: BundleBytes;
}

/** Defaults: the default architecture (784-64-32-[32]-32-64-784, relu, sigmoid output), Adam. */
export const TRAIN_DEFAULTS = Object.freeze({ epochs: 30, rows: 500, batchSize: 32, learningRate: 2e-3, seed: 42, loss: 'bce' as LossName });

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

/**
 * 32 rows a batch, but at least 8 steps an epoch down to batches of 4: the page may hold only a few
 * sample digits (20 with `pnpm web-demo`), where one batch an epoch learns next to nothing in 15 epochs.
 */
export function defaultBatchSize(rows: number): number {
  return Math.max(4, Math.min(TRAIN_DEFAULTS.batchSize, Math.floor(rows / 8)));
}

/** `pixels`: uint8 rows of `spec.inputDim` values (scale255 normalisation: the network sees x / 255). */
export async function trainInPage(ort: OrtModule, pixels: Uint8Array, settings: TrainSettings): Promise<TrainedInPage> {
  const spec = settings.spec ?? DEFAULT_SPEC;
  const cols = spec.inputDim;
  const available = Math.floor(pixels.length / cols);
  const epochs = checkInt('epochs', settings.epochs, 1, 1000);
  const rows = Math.min(checkInt('rows', settings.rows, 1, 1_000_000), available);
  if (rows < 1) throw new RangeError(`no training rows: the page has ${pixels.length} sample bytes, less than one row of ${cols}`);
  const batchSize = settings.batchSize ?? defaultBatchSize(rows);
  const loss = settings.loss ?? TRAIN_DEFAULTS.loss;
  const seed = settings.seed ?? TRAIN_DEFAULTS.seed;
  const adam = { ...DEFAULT_ADAM, learningRate: settings.learningRate ?? TRAIN_DEFAULTS.learningRate };

  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i]! / 255;
  const rng = new Rng(seed);
  const engine = await OrtEngine.create({ spec, loss, adam, l1: 0, l2: 0, batchSize }, { ort, device: settings.device });
  try {
    await engine.setState(glorotUniformParams(spec, rng));
    const initialLoss = await engine.evaluate(x, rows);
    const order = Uint32Array.from({ length: rows }, (_, i) => i);
    const batch = new Float32Array(rows * cols);
    const history: EpochLoss[] = [];
    const t0 = performance.now();
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const e0 = performance.now();
      rng.shuffle(order);
      for (let r = 0; r < rows; r++) batch.set(x.subarray(order[r]! * cols, (order[r]! + 1) * cols), r * cols);
      const losses = await engine.trainSteps(batch, rows);
      // Every batch is full but the last: weight each batch's mean loss by its rows.
      let sum = 0;
      losses.forEach((l, b) => (sum += l * Math.min(batchSize, rows - b * batchSize)));
      const record = { epoch, loss: sum / rows, ms: performance.now() - e0 };
      if (!Number.isFinite(record.loss)) throw new RangeError(`training diverged: the loss is ${record.loss} at epoch ${epoch}; lower the learning rate`);
      history.push(record);
      settings.onEpoch?.(record);
      // Let the page paint the epoch's loss before the next one starts.
      await new Promise((r) => setTimeout(r, 0));
    }
    const trainMs = performance.now() - t0;
    const { params } = await engine.getState();
    const z = await engine.encode(x, rows);
    const latentRange = columnRange(z, spec.latent.units);

    const e0 = performance.now();
    const files = await checkpointFiles(spec, params, {
      normalization: { kind: 'scale255' },
      latentRange,
      training: { engine: 'ort', backend: engine.backend, loss, optimizer: { name: 'adam', ...adam }, batchSize, epochs, seed, valSplit: 0, l1: 0, l2: 0 },
      history: history.map((h) => ({ epoch: h.epoch, loss: h.loss, seconds: h.ms / 1000, rowsPerSecond: rows / (h.ms / 1000) })),
      epochsCompleted: epochs,
      data: { source: 'web demo sample digits', rows, cols },
      versions: { ...engine.versions },
    });
    const result = await exportBundle(files);
    const exportMs = performance.now() - e0;
    const f = result.files;
    const bundle: BundleBytes = {
      manifest: result.manifest,
      files: { encoder: f['encoder.onnx']!, decoder: f['decoder.onnx']!, autoencoder: f['autoencoder.onnx']! },
    };
    return { backend: engine.backend, spec, rows, batchSize, initialLoss, history, trainMs, exportMs, export: result, bundle };
  } finally {
    engine.dispose();
  }
}
