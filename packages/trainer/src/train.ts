/**
 * `train(options)`: the engine-independent training loop. It owns data preparation (normalisation,
 * seeded validation split, per-epoch reshuffling), batching order, validation, early stopping,
 * history, the latent range and the checkpoint; the engine (see ./engine.ts) only runs steps.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  AEKIT_VERSION,
  type AdamConfig,
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  DEFAULT_ADAM,
  DataError,
  type EarlyStoppingState,
  type EpochRecord,
  InterruptedError,
  LOSS_NAMES,
  type LossName,
  type ModelSpec,
  type Normalization,
  type NormalizationKind,
  Rng,
  SpecError,
  UsageError,
  fitNormalization,
  makeSpec,
  normalize,
} from '@aekit/core';
import { encoderOutputLayerName } from './checkpoint/layer-names.js';
import { type LoadedCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint/io.js';
import type { DataFormat, Dataset } from './data/dataset.js';
import { type RowSource, openRowSource } from './data/stream.js';
import {
  DEFAULT_STREAM_BUFFER_MB,
  type StreamPlan,
  evaluateStreamed,
  fitStreamedNormalization,
  latentRangeStreamed,
  planStream,
  streamEpoch,
  streamLayout,
} from './data/stream-epoch.js';
import { BUNDLED_DIGITS_SOURCE, loadBundledDigits } from './data/digits.js';
import { loadDataset } from './data/load.js';
import type { AdamState, EngineName, ParamSet, TrainingEngine } from './engine.js';
import { glorotUniformParams } from './init.js';
import { type VariantOptions, planVariant } from './variants/plan.js';

/**
 * Defaults of `train()` and `aekit train`. Batch 32 × 50 epochs on the bundled digits (9 000 training
 * rows) with the tfjs engine on wasm: 62 s of CPU time (one core; ~8k rows/s), validation MSE 0.0136.
 * Small batches reach a lower MSE per epoch than 256 on this little data.
 */
export const TRAIN_DEFAULTS = Object.freeze({
  epochs: 50,
  batchSize: 32,
  valSplit: 0.1,
  seed: 42,
  loss: 'mse' as LossName,
  l1: 0,
  l2: 0,
});

export interface EpochEndInfo extends EpochRecord {
  /** Total epochs requested (the run may stop earlier). */
  epochs: number;
  /** Epoch whose weights are currently the best (early stopping), else this epoch. */
  bestEpoch: number;
}

export interface BatchEndInfo {
  epoch: number;
  /** Batches done in this epoch / batches in the epoch. */
  batch: number;
  batches: number;
  /** Mean training loss of the epoch's batches so far. */
  loss: number;
}

export interface TrainStartInfo {
  engine: EngineName;
  backend: string;
  spec: ModelSpec;
  normalization: Normalization;
  /** Where the data came from (file path or `bundled:mnist`). */
  dataSource: string;
  trainRows: number;
  valRows: number;
  /** First epoch number this run trains (1, or the next one when resuming). */
  firstEpoch: number;
  epochs: number;
}

export interface TrainOptions extends VariantOptions {
  /** Training data; when omitted, the bundled digits (or, when resuming, the checkpoint's data file). */
  data?: Dataset;
  /** Model; the Keras example with `inputDim = data.cols` when omitted. Ignored when resuming. */
  spec?: ModelSpec;
  /** Default: scale255 for uint8 data, minmax (fitted on the training split) for float data. */
  normalization?: NormalizationKind;
  loss?: LossName;
  /** Total epochs (when resuming: total including the epochs already done). */
  epochs?: number;
  batchSize?: number;
  adam?: Partial<AdamConfig>;
  /** Fraction of rows held out for validation, taken after a seeded shuffle; in [0, 1). */
  valSplit?: number;
  /** Stop after this many epochs without improvement of the validation loss (training loss without a split), keeping the best epoch's weights. */
  patience?: number;
  l1?: number;
  l2?: number;
  seed?: number;
  engine?: EngineName | 'auto';
  /** Engine backend: for tfjs `auto`, `tensorflow`, `wasm` or `cpu`. */
  backend?: string;
  /** Intra-op threads of the ort engine (onnxruntime-node); its default when omitted. Not recorded: it does not change results. */
  threads?: number;
  /** Let the ort engine's threads spin between ops: faster on a machine of its own, much slower on a shared one. */
  spinning?: boolean;
  /** Checkpoint directory to write (atomically); nothing is written when omitted. */
  out?: string;
  /** Checkpoint directory to continue from: spec, normalisation, loss and optimizer come from it. */
  resume?: string;
  /**
   * Train from a file streamed in shuffled blocks instead of `data`, with memory bounded by
   * `bufferMB` (default 64 MiB) whatever the file's size. A checkpoint records the buffer layout, so a
   * resume without data streams the same file alike.
   */
  stream?: StreamOptions;
  /** With `out`: write the checkpoint every this many epochs (default 1) and at the end. */
  checkpointEvery?: number;
  /**
   * Aborting stops training at the next chunk of batches: the current epoch is abandoned, the last
   * complete epoch is saved to `out` (if not already), and train() rejects with an InterruptedError.
   */
  signal?: AbortSignal;
  onStart?: (info: TrainStartInfo) => void;
  onEpochEnd?: (info: EpochEndInfo) => void;
  onBatchEnd?: (info: BatchEndInfo) => void;
}

export interface StreamOptions {
  /** A file path (opened and closed by train()) or an open RowSource (the caller closes it). */
  source: string | RowSource;
  format?: DataFormat;
  /** Shuffle-buffer memory in MiB (default 64); ignored when resuming (the checkpoint's layout is kept). */
  bufferMB?: number;
}

export interface TrainResult {
  engine: EngineName;
  backend: string;
  spec: ModelSpec;
  normalization: Normalization;
  history: EpochRecord[];
  /** Epoch whose weights were kept. */
  bestEpoch: number;
  epochsCompleted: number;
  stoppedEarly: boolean;
  /** Validation loss of the kept weights (undefined without a validation split). */
  valLoss?: number;
  /** The dense layers in spec order; a VAE appends its `latent_log_var` head (also in checkpoint.meta.vae). */
  params: ParamSet;
  optimizer: AdamState;
  latentRange: { min: number[]; max: number[] };
  /** Present when `out` was given. */
  checkpoint?: { dir: string; meta: CheckpointMeta };
}

export function parseLoss(name: string): LossName {
  if ((LOSS_NAMES as readonly string[]).includes(name)) return name as LossName;
  throw new SpecError(`unknown loss "${name}"; valid losses: ${LOSS_NAMES.join(', ')}`);
}

function checkNumber(name: string, v: number, ok: (v: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !ok(v)) throw new UsageError(`${name} must be ${what}, got ${v}`);
  return v;
}
const isPosInt = (v: number) => Number.isInteger(v) && v >= 1;

/**
 * Refuses an --out path that exists and is neither empty nor an aekit checkpoint, so a typo can never
 * replace an unrelated directory.
 */
async function checkOutDir(out: string): Promise<void> {
  const parent = dirname(resolve(out));
  const ps = await stat(parent).catch(() => undefined);
  if (ps === undefined || !ps.isDirectory()) {
    throw new UsageError(`--out ${out}: the parent directory ${parent} does not exist; create it first`);
  }
  const st = await stat(out).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isDirectory()) throw new UsageError(`--out ${out} is an existing file; give a new directory name`);
  const entries = await readdir(out);
  if (entries.length > 0 && !entries.includes(CHECKPOINT_FILES.meta)) {
    throw new UsageError(`--out ${out} exists and is not an aekit checkpoint; refusing to replace it (give a new directory name)`);
  }
}

function gatherRows<T extends Float32Array | Uint8Array>(src: T, cols: number, idx: ArrayLike<number>, into?: T): T {
  const out = into ?? ((src instanceof Float32Array ? new Float32Array(idx.length * cols) : new Uint8Array(idx.length * cols)) as T);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    out.set(src.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return out;
}

/**
 * The validation split: a seeded permutation of the rows, the first ⌊rows·valSplit⌋ of it held out
 * (tfjs's own validationSplit takes the last rows unshuffled).
 */
export function seededSplit(rows: number, valSplit: number, seed: number): { train: Uint32Array; val: Uint32Array } {
  const order = new Rng(seed + SPLIT_SEED_OFFSET).permutation(rows);
  const nVal = Math.floor(rows * valSplit);
  return { train: order.subarray(nVal), val: order.subarray(0, nVal) };
}

function latentRangeOf(z: Float32Array, dim: number): { min: number[]; max: number[] } {
  const min = new Array<number>(dim).fill(Infinity);
  const max = new Array<number>(dim).fill(-Infinity);
  for (let i = 0; i < z.length; i++) {
    const d = i % dim;
    const v = z[i]!;
    if (v < min[d]!) min[d] = v;
    if (v > max[d]!) max[d] = v;
  }
  return { min, max };
}

/** Seeds derived from the user's seed for the three random streams. */
const SPLIT_SEED_OFFSET = 1;
const SHUFFLE_SEED_OFFSET = 2;

export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  // ---- validate everything before any work, so bad input fails fast and writes nothing
  let resumed: LoadedCheckpoint | undefined;
  if (options.resume !== undefined) resumed = await readCheckpoint(options.resume);
  const prev = resumed?.meta;
  const valSplit = prev?.training.valSplit ?? options.valSplit ?? TRAIN_DEFAULTS.valSplit;
  checkNumber('--val-split', valSplit, (v) => v >= 0 && v < 1, 'in [0, 1)');
  const batchSize = prev?.training.batchSize ?? options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  checkNumber('--batch-size', batchSize, isPosInt, 'an integer >= 1');
  const done = prev?.epochsCompleted ?? 0;
  // Resuming a run that did not reach its target (killed, interrupted) continues to that target.
  const epochs = options.epochs ?? (prev !== undefined && done < prev.training.epochs ? prev.training.epochs : done + TRAIN_DEFAULTS.epochs);
  checkNumber('--epochs', epochs, isPosInt, 'an integer >= 1');
  if (epochs <= done) {
    throw new UsageError(`--epochs ${epochs}: the checkpoint already has ${done} epochs; --epochs is the total, give more than ${done}`);
  }
  const patience = prev !== undefined ? prev.training.patience : options.patience;
  if (patience !== undefined) checkNumber('--patience', patience, isPosInt, 'an integer >= 1');
  const l1 = prev?.training.l1 ?? options.l1 ?? TRAIN_DEFAULTS.l1;
  const l2 = prev?.training.l2 ?? options.l2 ?? TRAIN_DEFAULTS.l2;
  checkNumber('--l1', l1, (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  checkNumber('--l2', l2, (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  const seed = prev?.training.seed ?? options.seed ?? TRAIN_DEFAULTS.seed;
  checkNumber('--seed', seed, (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff, 'an integer in [0, 2^32)');
  const loss = parseLoss(prev?.training.loss ?? options.loss ?? TRAIN_DEFAULTS.loss);
  const adam: AdamConfig = prev !== undefined ? { ...DEFAULT_ADAM, ...stripName(prev.training.optimizer) } : { ...DEFAULT_ADAM, ...options.adam };
  checkNumber('--lr', adam.learningRate, (v) => Number.isFinite(v) && v > 0, 'a number > 0');
  const checkpointEvery = options.checkpointEvery ?? 1;
  checkNumber('--checkpoint-every', checkpointEvery, isPosInt, 'an integer >= 1');
  const variant = planVariant(options, prev, seed);
  const out = options.out ?? options.resume;
  if (out !== undefined && out !== options.resume) await checkOutDir(out);

  // Resuming without data: the data the checkpoint was trained on, when it names a file (streamed
  // again when it was streamed).
  const prevSource = prev?.data?.source;
  const streamFrom =
    options.stream ??
    (options.data === undefined && prev?.training.stream !== undefined && prevSource !== undefined ? { source: prevSource } : undefined);
  const opened =
    typeof streamFrom?.source === 'string'
      ? await openRowSource(streamFrom.source, streamFrom.format === undefined ? {} : { format: streamFrom.format })
      : undefined;
  try {
    return await trainOn(opened ?? (streamFrom?.source as RowSource | undefined), streamFrom?.bufferMB);
  } finally {
    await opened?.close();
  }

  async function trainOn(rowSource: RowSource | undefined, bufferMB: number | undefined): Promise<TrainResult> {
    const data: Dataset | RowSource =
      rowSource ??
      options.data ??
      (prevSource !== undefined && prevSource !== BUNDLED_DIGITS_SOURCE ? await loadDataset(prevSource) : await loadBundledDigits());
    const spec = prev?.spec ?? options.spec ?? makeSpec({ inputDim: data.cols });
    if (data.cols !== spec.inputDim) {
      throw new DataError(
        `${data.source}: rows have ${data.cols} values but the model's input dim is ${spec.inputDim}; ` +
          (prev ? 'resume with data of the same width as the checkpoint was trained on' : 'give data of the model\'s width'),
        { file: data.source },
      );
    }
    const cols = data.cols;
    const nVal = Math.floor(data.rows * valSplit);
    const nTrain = data.rows - nVal;
    if (nTrain < 1 || (valSplit > 0 && nVal < 1)) {
      throw new DataError(
        `${data.source}: ${data.rows} rows cannot be split with --val-split ${valSplit} (${nTrain} training, ${nVal} validation rows); ` +
          'give more rows or change --val-split',
        { file: data.source },
      );
    }

    // ---- data: seeded shuffle, then the validation split, then normalisation fitted on the training rows
    const split = seededSplit(data.rows, valSplit, seed);
    const normKind = options.normalization ?? (data.dtype === 'uint8' ? 'scale255' : 'minmax');
    let normalization: Normalization;
    let trainX: Float32Array = new Float32Array(0);
    let valX: Float32Array = new Float32Array(0);
    let plan: StreamPlan | undefined;
    if (rowSource !== undefined) {
      // Streamed: only the split's bitmap and the shuffle buffer are held (see data/stream-epoch.ts).
      plan = planStream(rowSource, split.val, prev?.training.stream ?? streamLayout(cols, rowSource.dtype, bufferMB ?? DEFAULT_STREAM_BUFFER_MB, batchSize));
      normalization = prev?.normalization ?? (await fitStreamedNormalization(plan, normKind));
    } else {
      const inMemory = data as Dataset;
      const rawTrain = gatherRows(inMemory.data, cols, split.train);
      const rawVal = gatherRows(inMemory.data, cols, split.val);
      normalization = prev?.normalization ?? fitNormalization(normKind, rawTrain, cols);
      trainX = normalize(normalization, rawTrain, cols);
      valX = normalize(normalization, rawVal, cols);
    }
    const streamPlan = plan;
    const evaluateVal = () => (streamPlan ? evaluateStreamed(streamPlan, normalization, engine) : engine.evaluate(valX, nVal));
    const latentRangeNow = async () =>
      streamPlan ? latentRangeStreamed(streamPlan, normalization, engine, spec.latent.units) : latentRangeOf(await engine.encode(trainX, nTrain), spec.latent.units);
    const shuffleRng = prev?.rngState ? Rng.fromState(prev.rngState) : new Rng(seed + SHUFFLE_SEED_OFFSET);

    const engine: TrainingEngine = await variant.createEngine(options.engine ?? 'auto', { spec, loss, adam, l1, l2, batchSize, ...(options.threads === undefined ? {} : { threads: options.threads }), ...(options.spinning === undefined ? {} : { spinning: options.spinning }) }, options.backend ?? 'auto');
    try {
      await engine.setState(resumed?.params ?? glorotUniformParams(spec, new Rng(seed)), resumed?.optimizer);
      const history: EpochRecord[] = [...(prev?.history ?? [])];
      options.onStart?.({
        engine: engine.name,
        backend: engine.backend,
        spec,
        normalization,
        dataSource: data.source,
        trainRows: nTrain,
        valRows: nVal,
        firstEpoch: done + 1,
        epochs,
      });

      // Early stopping. The final checkpoint of a run with patience holds its best epoch's weights, so on
      // resume the loaded state is the best so far and the patience count starts again. A per-epoch
      // checkpoint of an unfinished run (earlyStopping set) holds the current weights, and the wait count
      // and best state (best.bin) apart, so the run goes on exactly as if never stopped.
      const monitor = (r: EpochRecord) => r.valLoss ?? r.loss;
      let bestEpoch = prev?.bestEpoch ?? done;
      const best = history.find((r) => r.epoch === bestEpoch);
      let bestValue = prev?.earlyStopping?.bestValue ?? (best ? monitor(best) : Infinity);
      let bestState: { params: ParamSet; optimizer: AdamState } | undefined =
        resumed?.best ?? (resumed?.optimizer !== undefined ? { params: resumed.params, optimizer: resumed.optimizer } : undefined);
      let wait = prev?.earlyStopping?.wait ?? 0;
      let stoppedEarly = false;

      const trainingConfig = () => ({
        engine: engine.name,
        backend: engine.backend,
        loss,
        optimizer: { name: 'adam' as const, ...adam },
        batchSize,
        epochs,
        seed,
        valSplit,
        ...(patience !== undefined ? { patience } : {}),
        l1,
        l2,
        ...(streamPlan ? { stream: { bufferRows: streamPlan.bufferRows, blockRows: streamPlan.blockRows } } : {}),
        ...variant.trainingFields(),
      });
      /** Writes the engine's current state as the checkpoint of `epochsDone` epochs; `unfinished` adds the early-stopping state. */
      const save = async (epochsDone: number, rngState: number[], unfinished?: { wait: number; bestValue: number; bestEpoch: number; best?: { params: ParamSet; optimizer: AdamState } }) => {
        const state = await engine.getState();
        const latentRange = await latentRangeNow();
        const earlyStopping: EarlyStoppingState | undefined = unfinished && patience !== undefined ? { wait: unfinished.wait, bestValue: unfinished.bestValue } : undefined;
        const meta = await writeCheckpoint(out!, {
          meta: {
            format: CHECKPOINT_FORMAT,
            formatVersion: CHECKPOINT_FORMAT_VERSION,
            spec,
            encoderOutputLayer: encoderOutputLayerName(spec),
            normalization,
            latentRange,
            training: trainingConfig(),
            history: history.filter((h) => h.epoch <= epochsDone),
            bestEpoch: unfinished?.bestEpoch ?? bestEpoch,
            epochsCompleted: epochsDone,
            rngState,
            ...(earlyStopping ? { earlyStopping } : {}),
            data: { source: data.source, rows: data.rows, cols },
            versions: { aekit: AEKIT_VERSION, node: process.versions.node, ...engine.versions },
            createdAt: new Date().toISOString(),
            ...variant.metaFields(state),
          },
          ...variant.checkpointState(state),
          ...(earlyStopping && unfinished?.best && unfinished.bestEpoch !== epochsDone ? { best: variant.checkpointState(unfinished.best) } : {}),
        });
        return { meta, state, latentRange };
      };
      // The last complete epoch not yet on disk (checkpointEvery > 1), kept to save it when interrupted.
      let unsaved: { epoch: number; rngState: number[]; state: { params: ParamSet; optimizer: AdamState }; wait: number; bestValue: number; bestEpoch: number; best?: { params: ParamSet; optimizer: AdamState } } | undefined;
      let interrupted = false;
      const aborted = () => options.signal?.aborted === true;

      const batches = Math.ceil(nTrain / batchSize);
      // With a batch callback, run the epoch in chunks so progress can be reported ~50 times per epoch;
      // with only an abort signal, in chunks of at least 256 batches (seconds at most), long enough to
      // keep an engine's multi-step runs (ort: up to 64 steps per run) whole.
      const chunkBatches = options.onBatchEnd
        ? Math.max(1, Math.ceil(batches / 50))
        : options.signal
          ? Math.max(256, Math.ceil(batches / 50))
          : batches;
      const epochX = new Float32Array(trainX.length);
      let epoch = done;
      while (epoch < epochs && !aborted()) {
        epoch++;
        const t0 = performance.now();
        let lossSum = 0;
        if (streamPlan) {
          let seen = 0;
          for await (const chunk of streamEpoch(streamPlan, shuffleRng, normalization, batchSize)) {
            if (aborted()) break;
            const losses = await variant.trainSteps(engine, epoch, chunk.data, chunk.rows);
            losses.forEach((l, i) => {
              lossSum += l * Math.min(batchSize, chunk.rows - i * batchSize);
            });
            seen += chunk.rows;
            options.onBatchEnd?.({ epoch, batch: Math.ceil(seen / batchSize), batches, loss: lossSum / seen });
          }
        } else {
          gatherRows(trainX, cols, shuffleRng.permutation(nTrain), epochX);
          for (let b = 0; b < batches && !aborted(); b += chunkBatches) {
            const startRow = b * batchSize;
            const rows = Math.min(chunkBatches * batchSize, nTrain - startRow);
            const losses = await variant.trainSteps(engine, epoch, epochX.subarray(startRow * cols, (startRow + rows) * cols), rows);
            losses.forEach((l, i) => {
              lossSum += l * Math.min(batchSize, rows - i * batchSize);
            });
            options.onBatchEnd?.({ epoch, batch: Math.min(b + chunkBatches, batches), batches, loss: lossSum / (startRow + rows) });
          }
        }
        if (aborted()) {
          // The epoch is abandoned: its partial updates are never saved.
          interrupted = true;
          epoch--;
          break;
        }
        const trainSeconds = (performance.now() - t0) / 1000;
        const epochLoss = lossSum / nTrain;
        if (!Number.isFinite(epochLoss)) {
          throw new UsageError(`training diverged: the loss is ${epochLoss} at epoch ${epoch}; lower --lr or check the data's scale (--normalize)`);
        }
        const record: EpochRecord = { epoch, loss: epochLoss, seconds: 0, rowsPerSecond: nTrain / trainSeconds };
        if (nVal > 0) record.valLoss = await evaluateVal();
        record.seconds = (performance.now() - t0) / 1000;
        history.push(record);
        if (patience === undefined) {
          bestEpoch = epoch;
        } else if (monitor(record) < bestValue) {
          bestValue = monitor(record);
          bestEpoch = epoch;
          bestState = await engine.getState();
          wait = 0;
        } else {
          wait++;
        }
        const stopping = patience !== undefined && wait >= patience;
        if (out !== undefined && !stopping && epoch < epochs) {
          const progress = { wait, bestValue, bestEpoch, ...(bestState ? { best: bestState } : {}) };
          if ((epoch - done) % checkpointEvery === 0) {
            await save(epoch, shuffleRng.getState(), progress);
            unsaved = undefined;
          } else if (options.signal) {
            unsaved = { epoch, rngState: shuffleRng.getState(), state: await engine.getState(), ...progress };
          }
        }
        options.onEpochEnd?.({ ...record, epochs, bestEpoch });
        if (stopping) {
          stoppedEarly = epoch < epochs;
          break;
        }
      }
      if (interrupted || (aborted() && epoch < epochs && !stoppedEarly)) {
        let where = 'no epoch was completed, nothing was saved';
        if (out !== undefined && unsaved !== undefined) {
          await engine.setState(unsaved.state.params, unsaved.state.optimizer);
          await save(unsaved.epoch, unsaved.rngState, unsaved);
        }
        if (out !== undefined && epoch > 0) where = `${out} holds epoch ${epoch}; continue with: aekit train --resume ${out}`;
        else if (epoch > done) where = `epoch ${epoch} was not saved (no --out)`;
        throw new InterruptedError(`interrupted during epoch ${epoch + 1}: ${where}`, out !== undefined ? { file: out } : {});
      }
      if (patience !== undefined && bestEpoch !== epoch && bestState !== undefined) {
        await engine.setState(bestState.params, bestState.optimizer);
      }
      const state = await engine.getState();
      const latentRange = await latentRangeNow();
      const valLoss = nVal > 0 ? await evaluateVal() : undefined;
      const result: TrainResult = {
        engine: engine.name,
        backend: engine.backend,
        spec,
        normalization,
        history,
        bestEpoch,
        epochsCompleted: epoch,
        stoppedEarly,
        params: state.params,
        optimizer: state.optimizer,
        latentRange,
        ...(valLoss !== undefined ? { valLoss } : {}),
      };
      if (out !== undefined) {
        const { meta } = await save(epoch, shuffleRng.getState());
        result.checkpoint = { dir: out, meta };
      }
      return result;
    } finally {
      engine.dispose();
    }
  }
}

function stripName(o: { name: 'adam' } & AdamConfig): AdamConfig {
  return { learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon };
}
