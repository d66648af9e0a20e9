/**
 * `aekit train`: trains a dense or convolutional autoencoder (bundled digits when --data is omitted)
 * and writes a checkpoint directory. Output: one line per epoch and a summary on stdout (--quiet: the
 * summary only), or JSON lines (--json): `{"event":"start",…}`, one `{"event":"epoch",…}` per epoch, then
 * `{"event":"done",…}`. On a TTY, a progress bar with an ETA on stderr.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { type ConvOption, type ImageShape, LOSS_NAMES, type ModelSpec, SpecError, NORMALIZATION_KINDS, type SpecOptions, UsageError, describeSpec, makeSpec, parseNormalizationKind } from '@aekit/core';
import { DATA_FORMATS, STREAM_AUTO_BYTES, loadBundledDigits, loadDataset, lockTarget, openRowSource, parseDataFormat, streamsByDefault } from '@aekit/data';
import {
  DEFAULT_STREAM_BUFFER_MB,
  TRAIN_DEFAULTS,
  backendHelp,
  engineChoices,
  type LrScheduleOption,
  type TrainOptions,
  parseEngineName,
  parseLoss,
  resolveLrSchedule,
  parseNoise,
  parseVariant,
  train,
} from '@aekit/trainer';
import { type CliIO, ProgressBar, csvOptions, onInterrupt } from '../io.js';

interface TrainCliOptions {
  data?: string;
  format?: string;
  header?: boolean;
  layers?: string;
  conv?: string;
  inputShape?: string;
  latent?: string;
  activation?: string;
  latentActivation?: string;
  outputActivation?: string;
  loss?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  lrSchedule?: string;
  lrMin?: string;
  valSplit?: string;
  patience?: string;
  l1?: string;
  l2?: string;
  seed?: string;
  normalize?: string;
  engine: string;
  backend: string;
  resume?: string;
  json?: boolean;
  quiet?: boolean;
  out?: string;
  checkpointEvery?: string;
  stream?: boolean;
  inMemory?: boolean;
  streamBufferMb?: string;
  variant?: string;
  beta?: string;
  noise?: string;
  rateWeight?: string;
  threads?: string;
  spin?: boolean;
}

/** Options fixed by the checkpoint: giving one together with --resume is an error. */
const FIXED_ON_RESUME: (keyof TrainCliOptions)[] = [
  'layers', 'conv', 'inputShape', 'latent', 'activation', 'latentActivation', 'outputActivation', 'loss', 'batchSize', 'lr', 'lrSchedule', 'lrMin',
  'valSplit', 'patience', 'l1', 'l2', 'seed', 'normalize', 'streamBufferMb', 'variant', 'beta', 'noise',
  'rateWeight',
];

function flag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function num(name: string, v: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !check(n)) throw new UsageError(`${name} must be ${what}, got "${v}"`);
  return n;
}
const int = (n: number) => Number.isInteger(n) && n >= 1;
const nonNeg = (n: number) => Number.isFinite(n) && n >= 0;

function parseLayers(v: string): number[] {
  if (v.trim() === '') return [];
  return v.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--layers must be comma-separated positive integers (e.g. 64,32), got "${v}"`);
    return n;
  });
}

/** `--conv 32,64` or `32:5:2,64` (filters[:kernel[:stride]] per layer). */
function parseConv(v: string): ConvOption[] {
  return v.split(',').map((part) => {
    const nums = part.trim().split(':').map((t) => Number(t));
    if (nums.length > 3 || !nums.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new UsageError(`--conv takes filters[:kernel[:stride]] per layer, comma-separated (e.g. 32,64 or 32:5:2,64), got "${v}"`);
    }
    const [filters, kernel, stride] = nums as [number, number?, number?];
    return { filters, ...(kernel !== undefined ? { kernel } : {}), ...(stride !== undefined ? { stride } : {}) };
  });
}

/** `--latent 32` (a vector) or `--latent 7x7x8` (a spatial latent, height × width × channels). */
function parseLatent(v: string): { latent?: number; latentShape?: [number, number, number] } {
  const parts = v.trim().split('x');
  const nums = parts.map((t) => Number(t));
  if ((parts.length === 1 || parts.length === 3) && nums.every((n) => Number.isInteger(n) && n >= 1)) {
    return parts.length === 1 ? { latent: nums[0]! } : { latentShape: nums as [number, number, number] };
  }
  throw new UsageError(`--latent must be a positive integer (e.g. 32) or a spatial shape HxWxC (e.g. 7x7x8), got "${v}"`);
}

/** The image shape of one row: --input-shape H,W,C, else the file's row shape ([H, W] → one channel). */
export function imageShape(option: string | undefined, rowShape: readonly number[] | undefined, cols: number, file: string): ImageShape {
  if (option !== undefined) {
    const nums = option.split(',').map((t) => Number(t.trim()));
    if (nums.length !== 3 || !nums.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new UsageError(`--input-shape must be H,W,C (three positive integers, e.g. 28,28,1), got "${option}"`);
    }
    const [height, width, channels] = nums as [number, number, number];
    if (height * width * channels !== cols) {
      throw new UsageError(`--input-shape ${nums.join(',')} holds ${height * width * channels} values but ${file} has ${cols} per row; give the shape of one row`);
    }
    return { height, width, channels };
  }
  if (rowShape !== undefined && (rowShape.length === 2 || rowShape.length === 3)) {
    return { height: rowShape[0]!, width: rowShape[1]!, channels: rowShape[2] ?? 1 };
  }
  throw new UsageError(
    `${file} does not record an image shape (${rowShape === undefined ? 'CSV rows are flat' : `its rows are shaped [${rowShape.join(', ')}]`}); ` +
      `a convolutional model needs one: pass --input-shape H,W,C (H·W·C = ${cols})`,
  );
}

/** makeSpec for model flags: a spec that does not fit is a usage error (exit 2), not a damaged file. */
function specFromFlags(options: SpecOptions): ModelSpec {
  try {
    return makeSpec(options);
  } catch (e) {
    if (e instanceof SpecError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x.toPrecision(4);
}

export function register(program: Command, io: CliIO): void {
  program
    .command('train')
    .description('train a dense or convolutional autoencoder and write a checkpoint (tfjs layers format + aekit.json)')
    .option('--data <path>', 'training data: IDX (.gz ok), NPY or CSV (default: the bundled 10 000 MNIST digits)')
    .option('--format <format>', `data format: ${DATA_FORMATS.join(', ')} (default: from the file name, then its contents)`)
    .option('--header', 'CSV: the first line is a header (skip it)')
    .option('--no-header', 'CSV: the first line is data (default: a header when none of its cells is a number)')
    .option('--layers <list>', 'encoder hidden (dense) widths, mirrored by the decoder; "none" for no hidden layer (default: 64,32; none with --conv)', '64,32')
    .option('--conv <list>', 'convolutional encoder: filters[:kernel[:stride]] per layer (default kernel 3, stride 2, "same" padding), e.g. 32,64; the decoder mirrors it with transposed convolutions')
    .option('--input-shape <h,w,c>', 'image shape of one row for --conv (default: from the IDX/NPY file, [H, W] = one channel)')
    .option('--latent <n|HxWxC>', 'latent width, or with --conv a spatial latent HxWxC (fully convolutional, e.g. 7x7x8)', '32')
    .option('--activation <name|list>', 'hidden activation, or one per hidden layer (encoder then decoder), e.g. relu or relu,tanh,tanh,relu; leakyRelu:0.1 sets alpha', 'relu')
    .option('--latent-activation <name>', 'latent layer activation', 'linear')
    .option('--output-activation <name>', 'output layer activation', 'sigmoid')
    .option('--loss <name>', `reconstruction loss: ${LOSS_NAMES.join(', ')}`, TRAIN_DEFAULTS.loss)
    .option('--epochs <n>', `epochs in total (with --resume: including those done; default ${TRAIN_DEFAULTS.epochs} more)`)
    .option('--batch-size <n>', 'rows per step', String(TRAIN_DEFAULTS.batchSize))
    .option('--lr <x>', 'Adam learning rate', '0.001')
    .option('--lr-schedule <name>', 'learning rate over the epochs: constant, or cosine (annealed each epoch from --lr to --lr-min over --epochs, as PyTorch CosineAnnealingLR)', 'constant')
    .option('--lr-min <x>', 'with --lr-schedule cosine: the learning rate it anneals to', '0')
    .option('--val-split <x>', 'fraction of rows held out for validation (after a seeded shuffle), in [0, 1)', String(TRAIN_DEFAULTS.valSplit))
    .option('--patience <n>', 'early stopping: stop after n epochs without a better validation loss, keep the best weights')
    .option('--l1 <x>', 'L1 penalty on kernels', '0')
    .option('--l2 <x>', 'L2 penalty on kernels', '0')
    .option('--seed <n>', 'seed for initialisation, validation split and shuffling', String(TRAIN_DEFAULTS.seed))
    .option('--normalize <kind>', `input normalisation: ${NORMALIZATION_KINDS.join(', ')} (default: scale255 for uint8 data, minmax for float data)`)
    .option('--engine <name>', `training engine: ${engineChoices().join(', ')} (auto = the highest-priority one that starts)`, 'auto')
    .option('--backend <name>', backendHelp(), 'auto')
    .option('--threads <n>', "ort engine: onnxruntime intra-op threads (default: onnxruntime's, one per physical core)")
    .option('--spin', 'ort engine: let the threads spin between ops (with --threads 2: ~1.4x faster on a machine of its own, ~2x slower when another job shares the cores)')
    .option('--resume <dir>', 'continue training from a checkpoint (model and training settings come from it)')
    .option('--json', 'print one JSON object per line (start, each epoch, done) instead of text')
    .option('-q, --quiet', 'print only the summary: no progress bar, no per-epoch lines (with --json: the done event only)')
    .option('--out <dir>', 'checkpoint directory to write (default with --resume: the resumed directory)')
    .option('--checkpoint-every <n>', 'write the checkpoint every n epochs (atomically; a killed run resumes from the last one)', '1')
    .option('--stream', `stream --data from disk in shuffled blocks, memory bounded by --stream-buffer-mb (default for files over ${STREAM_AUTO_BYTES / 2 ** 20} MiB)`)
    .option('--in-memory', 'load --data whole into memory (default for smaller files and gzip)')
    .option('--stream-buffer-mb <n>', 'shuffle-buffer memory when streaming, in MiB', String(DEFAULT_STREAM_BUFFER_MB))
    .option('--variant <name>', 'ae (plain autoencoder) or vae (variational: encoder outputs z_mean and z_log_var; generate with aekit sample)')
    .option('--beta <x>', 'VAE: weight of the KL term (default 1)')
    .option('--noise <kind:x>', 'denoising: corrupt training inputs, gaussian:STD (e.g. gaussian:0.2) or mask:RATE (e.g. mask:0.3)')
    .option('--rate-weight <x>', 'rate–distortion training (plain autoencoder): loss = distortion + x × estimated bits per input value; latents are coded on the integer lattice (default 0: off)')
    .action(async (o: TrainCliOptions, cmd: Command) => {
      const fromCli = (k: string) => cmd.getOptionValueSource(k) === 'cli';
      if (o.resume !== undefined) {
        const fixed = FIXED_ON_RESUME.filter(fromCli);
        if (fixed.length > 0) {
          throw new UsageError(`${fixed.map(flag).join(', ')} cannot be given with --resume: the run continues with the checkpoint's settings`);
        }
      } else if (o.out === undefined) {
        throw new UsageError('--out DIR is required: the directory to write the checkpoint to');
      }
      // Engine names are checked against those registered for the variant (any variant on resume).
      const variant = o.variant === undefined ? undefined : parseVariant(o.variant);
      const opts: TrainOptions = {
        engine: parseEngineName(o.engine, variant),
        backend: o.backend,
        loss: parseLoss(o.loss ?? TRAIN_DEFAULTS.loss),
      };
      const set = <K extends keyof TrainOptions>(k: K, v: TrainOptions[K] | undefined) => {
        if (v !== undefined) opts[k] = v;
      };
      set('epochs', num('--epochs', o.epochs, int, 'a positive integer'));
      set('batchSize', num('--batch-size', o.batchSize, int, 'a positive integer'));
      set('valSplit', num('--val-split', o.valSplit, (n) => n >= 0 && n < 1, 'a number in [0, 1)'));
      set('patience', num('--patience', o.patience, int, 'a positive integer'));
      set('l1', num('--l1', o.l1, nonNeg, 'a number >= 0'));
      set('l2', num('--l2', o.l2, nonNeg, 'a number >= 0'));
      set('seed', num('--seed', o.seed, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32, 'an integer in [0, 2^32)'));
      const lr = num('--lr', o.lr, (n) => Number.isFinite(n) && n > 0, 'a number > 0');
      if (lr !== undefined) opts.adam = { learningRate: lr };
      const lrMin = num('--lr-min', o.lrMin, (n) => Number.isFinite(n) && n >= 0, 'a number >= 0');
      if (o.lrSchedule !== undefined) {
        if (o.lrSchedule !== 'cosine' && lrMin !== undefined && lrMin !== 0) throw new UsageError(`--lr-min needs --lr-schedule cosine (got --lr-schedule ${o.lrSchedule})`);
        opts.lrSchedule = o.lrSchedule === 'cosine' ? { name: 'cosine', minLearningRate: lrMin ?? 0 } : (o.lrSchedule as LrScheduleOption);
        // Checked here too, so a bad schedule stops before any folder is created.
        if (o.resume === undefined) resolveLrSchedule(opts.lrSchedule, lr ?? 0.001);
      }
      if (o.normalize !== undefined) opts.normalization = parseNormalizationKind(o.normalize);
      set('resume', o.resume);
      set('out', o.out);
      if (variant !== undefined) opts.variant = variant;
      set('beta', num('--beta', o.beta, nonNeg, 'a number >= 0'));
      if (o.noise !== undefined) opts.noise = parseNoise(o.noise);
      set('rateWeight', num('--rate-weight', o.rateWeight, nonNeg, 'a finite number >= 0'));
      if (opts.rateWeight !== undefined && variant === 'vae') throw new UsageError('--rate-weight applies to the plain autoencoder only; it cannot be combined with --variant vae');
      set('checkpointEvery', num('--checkpoint-every', o.checkpointEvery, int, 'a positive integer'));
      set('threads', num('--threads', o.threads, int, 'a positive integer'));
      if (o.spin === true) opts.spinning = true;
      if (o.stream === true && o.inMemory === true) throw new UsageError('--stream and --in-memory exclude each other; give one');
      if (o.stream === true && o.data === undefined) throw new UsageError('--stream needs --data FILE (the bundled digits are loaded in memory)');
      const bufferMB = num('--stream-buffer-mb', o.streamBufferMb, (n) => Number.isFinite(n) && n > 0, 'a number > 0');
      const conv = o.conv !== undefined ? parseConv(o.conv) : [];
      const latent = parseLatent(o.latent ?? '32');
      const convModel = conv.length > 0 || latent.latentShape !== undefined;
      if (!convModel && o.inputShape !== undefined) throw new UsageError('--input-shape applies to convolutional models (--conv or a spatial --latent HxWxC)');
      const layersText = o.layers === 'none' ? '' : (o.layers ?? '64,32');
      const specOptions: SpecOptions = {
        layers: convModel && !fromCli('layers') ? [] : parseLayers(layersText),
        ...latent,
        ...(conv.length > 0 ? { conv } : {}),
        activation: o.activation !== undefined && o.activation.includes(',') ? o.activation.split(',') : (o.activation ?? 'relu'),
        latentActivation: o.latentActivation ?? 'linear',
        outputActivation: o.outputActivation ?? 'sigmoid',
      };
      // Validate the model options before loading data (unknown activation fails fast); a conv model's
      // shapes are checked once the data's image shape is known.
      if (!convModel) specFromFlags(specOptions);
      const narrowest = Math.min(...specOptions.layers!);
      if (o.resume === undefined && !convModel && specOptions.latent! > narrowest) {
        // Everything reaches the latent through that layer: the encoder's image is at most `narrowest`-dimensional.
        io.stderr(
          `aekit: warning: --latent ${specOptions.latent} is wider than the narrowest hidden layer (${narrowest}): the latent can carry at most ${narrowest} independent values, ` +
            `so the extra ${specOptions.latent! - narrowest} cost bytes and add nothing; narrow --latent or widen --layers\n`,
        );
      }

      // Without --data: the bundled digits, or with --resume the checkpoint's own data (train() loads it).
      const format = { ...(o.format === undefined ? {} : { format: parseDataFormat(o.format) }), ...csvOptions(o.header, io) };
      const streamed = o.data !== undefined && o.inMemory !== true && (o.stream === true || (await streamsByDefault(o.data)));
      const source = streamed ? await openRowSource(o.data!, format) : undefined;
      try {
        if (source !== undefined) {
          opts.stream = { source, ...(bufferMB !== undefined ? { bufferMB } : {}) };
        } else if (o.data !== undefined) {
          opts.data = await loadDataset(o.data, format);
        } else if (o.resume === undefined) {
          opts.data = await loadBundledDigits();
        }
        const cols = source?.cols ?? opts.data?.cols;
        if (cols !== undefined && o.resume === undefined) {
          const rowShape = source?.rowShape ?? opts.data?.rowShape ?? (o.data === undefined ? [28, 28] : undefined);
          const image = convModel ? imageShape(o.inputShape, rowShape, cols, o.data ?? 'the bundled digits') : undefined;
          opts.spec = specFromFlags({ ...specOptions, inputDim: cols, ...(image ? { image } : {}) });
        }
        await runTraining(opts, o, io);
      } finally {
        await source?.close();
      }
    });
}

/**
 * Runs train() with progress output. SIGINT / SIGTERM stop it cleanly (main.ts's handlers call the
 * stop registered here; a second signal exits at once, removing any temp in flight). The checkpoint
 * directory is locked for the whole run, so a second `train --out` to it fails at once by name.
 */
async function runTraining(opts: TrainOptions, o: TrainCliOptions, io: CliIO): Promise<void> {
  const controller = new AbortController();
  opts.signal = controller.signal;
  const out = o.out ?? o.resume;
  // Output folders are created, as for every command that writes (docs/cli.md); train() itself refuses
  // a missing parent, so library callers decide.
  if (o.out !== undefined) mkdirSync(dirname(resolve(o.out)), { recursive: true });
  const release = out === undefined || !existsSync(dirname(resolve(out))) ? undefined : await lockTarget(resolve(out));
  const unregister = onInterrupt((sig) => {
    io.stderr(`\naekit: ${sig}: stopping after the current chunk of batches and saving the last complete epoch (${sig} again to quit at once)\n`);
    controller.abort();
  }, 'the current epoch is not saved');
  try {
    await report(opts, o, io);
  } finally {
    unregister();
    await release?.();
  }
}

async function report(opts: TrainOptions, o: TrainCliOptions, io: CliIO): Promise<void> {
  const json = o.json === true;
  const line = (obj: object) => io.stdout(`${JSON.stringify(obj)}\n`);
  const quiet = o.quiet === true;
  // The bar goes to stderr (a TTY only): stdout holds the per-epoch lines and the summary.
  const bar = new ProgressBar(io, { ...(quiet ? { quiet } : {}), ...(json ? { json } : {}) });
  let firstEpoch = 1;
  let totalEpochs = 1;
  opts.onStart = (s) => {
    firstEpoch = s.firstEpoch;
    totalEpochs = s.epochs;
    if (quiet) return;
    if (json) {
      line({ event: 'start', engine: s.engine, backend: s.backend, model: describeSpec(s.spec), data: s.dataSource, trainRows: s.trainRows, valRows: s.valRows, firstEpoch: s.firstEpoch, epochs: s.epochs, ...(s.rateWeight !== undefined ? { rateWeight: s.rateWeight } : {}) });
      return;
    }
    io.stdout(`engine ${s.engine}, backend ${s.backend}\n`);
    io.stdout(`model ${describeSpec(s.spec)}, normalisation ${s.normalization.kind}\n`);
    io.stdout(`data ${s.dataSource}: ${s.trainRows} training rows, ${s.valRows} validation rows; epochs ${s.firstEpoch}..${s.epochs}\n`);
    if (s.rateWeight !== undefined) {
      io.stdout(`rate–distortion: weight ${s.rateWeight}${o.resume !== undefined ? ' (checkpoint setting)' : ''}; val_loss = distortion at rounded latents + weight × bits per value\n`);
    }
  };
  if (bar.active) {
    opts.onBatchEnd = (b) => {
      // The ETA covers the whole run: batches left in this epoch and in the epochs after it.
      const done = (b.epoch - firstEpoch) * b.batches + b.batch;
      const total = (totalEpochs - firstEpoch + 1) * b.batches;
      bar.update(`epoch ${b.epoch}/${totalEpochs}`, done, total, ` ${b.batch}/${b.batches} loss ${fmt(b.loss)}`);
    };
  }
  opts.onEpochEnd = (e) => {
    bar.clear();
    if (quiet) return;
    if (json) {
      line({ event: 'epoch', epoch: e.epoch, epochs: e.epochs, loss: e.loss, valLoss: e.valLoss ?? null, seconds: e.seconds, rowsPerSecond: Math.round(e.rowsPerSecond), ...(e.learningRate !== undefined ? { learningRate: e.learningRate } : {}) });
      return;
    }
    io.stdout(
      `epoch ${e.epoch}/${e.epochs}  loss ${fmt(e.loss)}  val_loss ${fmt(e.valLoss)}  ${e.seconds.toFixed(1)} s  ${Math.round(e.rowsPerSecond)} rows/s${e.learningRate !== undefined ? `  lr ${e.learningRate.toPrecision(3)}` : ''}\n`,
    );
  };
  const r = await train(opts);
  const lossName = r.checkpoint?.meta.training.loss ?? opts.loss;
  const dir = r.checkpoint?.dir;
  if (json) {
    line({ event: 'done', backend: r.backend, loss: lossName, valLoss: r.valLoss ?? null, bestEpoch: r.bestEpoch, epochsCompleted: r.epochsCompleted, stoppedEarly: r.stoppedEarly, checkpoint: dir });
    return;
  }
  if (r.stoppedEarly) io.stdout(`early stopping: no improvement for ${r.checkpoint?.meta.training.patience} epochs; kept epoch ${r.bestEpoch}\n`);
  const rateWeight = r.checkpoint?.meta.training.rateWeight;
  const valName = rateWeight === undefined ? lossName?.toUpperCase() : `loss (${lossName?.toUpperCase()} at rounded latents + ${rateWeight} × bits per value)`;
  io.stdout(`final validation ${valName}: ${r.valLoss === undefined ? 'n/a (no validation split)' : r.valLoss.toFixed(5)} (weights of epoch ${r.bestEpoch})\n`);
  io.stdout(`checkpoint: ${dir}\n`);
}
