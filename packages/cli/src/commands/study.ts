/**
 * `aekit study activations`: trains the same autoencoder once per activation and seed and writes
 * study.md (table), study.csv (the table's numbers), curves.csv (every epoch of every run) and
 * loss-curves.png (validation MSE per epoch) into --out. Reference rows and chart lines: the all-linear
 * model and PCA at the same latent width (`--no-references` skips them).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError, parseActivation } from '@aekit/core';
import { type Dataset, loadBundledDigits, loadDataset, parseDataFormat, writeFileAtomic } from '@aekit/data';
import {
  STUDY_ACTIVATIONS,
  STUDY_DEFAULTS,
  type ActivationStudyOptions,
  engineChoices,
  parseEngineName,
  renderLossChart,
  runActivationStudy,
  studyCsv,
  studyCurvesCsv,
  studyMarkdown,
} from '@aekit/trainer';
import { type CliIO, type OutputOptions, addOutputOptions, csvOptions, note } from '../io.js';
import { encodePng } from './png.js';

interface StudyCliOptions extends OutputOptions {
  data?: string;
  format?: string;
  header?: boolean;
  limit?: string;
  activations: string;
  epochs: string;
  seeds: string;
  seed: string;
  layers: string;
  latent: string;
  batchSize: string;
  lr?: string;
  threshold?: string;
  references: boolean;
  engine: string;
  backend: string;
  out: string;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${v}"`);
  return n;
}

function positiveNumber(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a number > 0, got "${v}"`);
  return n;
}

/**
 * `limit` rows spread evenly over the dataset (every k-th row), so a subset of a file sorted by class
 * (the bundled digits are) still holds every class.
 */
function evenSubset(d: Dataset, limit: number): Dataset {
  if (limit >= d.rows) return d;
  const data = d.data instanceof Uint8Array ? new Uint8Array(limit * d.cols) : new Float32Array(limit * d.cols);
  for (let i = 0; i < limit; i++) {
    const r = Math.floor((i * d.rows) / limit);
    data.set(d.data.subarray(r * d.cols, (r + 1) * d.cols), i * d.cols);
  }
  return { ...d, data, rows: limit, source: `${d.source} (evenly spaced subset of its ${d.rows} rows)` };
}

export function register(program: Command, io: CliIO): void {
  const study = program.command('study').description('experiments that compare training choices');
  const cmd = study
    .command('activations')
    .description('train the same model once per activation and seed; write a table (md, csv) and a loss-curve chart (png)')
    .option('--data <path>', 'training data: IDX (.gz ok), NPY or CSV (default: the bundled 10 000 MNIST digits)')
    .option('--format <format>', 'data format: idx, npy, csv (default: from the file name)')
    .option('--header', 'CSV: the first line is a header (skip it)')
    .option('--no-header', 'CSV: the first line is data (default: a header when none of its cells is a number)')
    .option('--limit <rows>', 'use only N rows of the data, evenly spaced through the file (a quick study on a large set)')
    .option('--activations <list>', 'comma-separated hidden activations to compare', STUDY_ACTIVATIONS.join(','))
    .option('--epochs <n>', 'epochs per run', String(STUDY_DEFAULTS.epochs))
    .option('--seeds <n>', 'runs per activation (seeds --seed, --seed+1, …)', String(STUDY_DEFAULTS.seeds))
    .option('--seed <n>', 'first seed', String(STUDY_DEFAULTS.seed))
    .option('--layers <list>', 'encoder hidden widths, mirrored by the decoder', STUDY_DEFAULTS.layers.join(','))
    .option('--latent <n>', 'latent width', String(STUDY_DEFAULTS.latent))
    .option('--batch-size <n>', 'rows per step', String(STUDY_DEFAULTS.batchSize))
    .option('--lr <x>', 'Adam learning rate (default 0.001)')
    .option('--threshold <mse>', 'validation MSE for the "epochs to threshold" column (default: the worst final MSE of all runs)')
    .option('--engine <name>', `training engine: ${engineChoices('ae').join(', ')}`, 'auto')
    .option('--backend <name>', 'engine backend (see aekit train --help)', 'auto')
    .option('--no-references', 'skip the reference rows: the all-linear model (trained like the others) and PCA at the same latent width')
    .option('--out <dir>', 'directory for study.md, study.csv, curves.csv and loss-curves.png', 'study');
  addOutputOptions(cmd).action(async (o: StudyCliOptions) => {
      const opts: ActivationStudyOptions = {
        activations: o.activations.split(',').map((s) => s.trim()).filter((s) => s !== ''),
        epochs: positiveInt('--epochs', o.epochs),
        seeds: positiveInt('--seeds', o.seeds),
        seed: Number(o.seed),
        layers: o.layers.split(',').map((s) => positiveInt('--layers', s)),
        latent: positiveInt('--latent', o.latent),
        batchSize: positiveInt('--batch-size', o.batchSize),
        engine: parseEngineName(o.engine, 'ae'),
        backend: o.backend,
        references: o.references,
      };
      if (!Number.isInteger(opts.seed) || opts.seed! < 0) throw new UsageError(`--seed must be an integer >= 0, got "${o.seed}"`);
      if (o.lr !== undefined) opts.learningRate = positiveNumber('--lr', o.lr);
      if (o.threshold !== undefined) opts.threshold = positiveNumber('--threshold', o.threshold);
      // Fail on a bad name before loading data or training anything.
      for (const a of opts.activations!) parseActivation(a);
      let data: Dataset =
        o.data === undefined ? await loadBundledDigits() : await loadDataset(o.data, { ...(o.format === undefined ? {} : { format: parseDataFormat(o.format) }), ...csvOptions(o.header, io) });
      if (o.limit !== undefined) data = evenSubset(data, positiveInt('--limit', o.limit));
      opts.data = data;
      // Progress: stderr, so that stdout holds the result only.
      opts.onRun = (r, done, total) =>
        note(io, o, `[${done}/${total}] ${r.activation} seed ${r.seed}: val MSE ${r.finalValMse.toFixed(5)}, ${r.seconds.toFixed(1)} s\n`);

      const result = await runActivationStudy(opts);
      await mkdir(o.out, { recursive: true }).catch((e: unknown) => {
        throw new UsageError(`--out ${o.out}: cannot create the directory (${(e as Error).message})`);
      });
      const md = studyMarkdown(result);
      await writeFileAtomic(join(o.out, 'study.md'), md);
      await writeFileAtomic(join(o.out, 'study.csv'), studyCsv(result));
      await writeFileAtomic(join(o.out, 'curves.csv'), studyCurvesCsv(result));
      await writeFileAtomic(join(o.out, 'loss-curves.png'), encodePng(renderLossChart(result)));
      if (o.json === true) {
        const { runs, ...rest } = result;
        io.stdout(
          `${JSON.stringify({
            command: 'study',
            ...rest,
            runs: runs.map(({ valCurve: _v, trainCurve: _t, ...r }) => r),
            files: ['study.md', 'study.csv', 'curves.csv', 'loss-curves.png'].map((f) => join(o.out, f)),
          })}\n`,
        );
        return;
      }
      io.stdout(`${md}\nwrote ${join(o.out, 'study.md')}, study.csv, curves.csv, loss-curves.png\n`);
    });
}
