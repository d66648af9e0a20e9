/**
 * The activation study: trains the same architecture once per (activation, seed) through `train()`'s
 * public API and summarises validation MSE, PSNR, epochs to a threshold and training time.
 *
 * Fairness: for a given seed every activation sees the same validation split, the same per-epoch data
 * order and the same initial weights (all three come from `train()`'s seed, and the layer shapes do not
 * depend on the activation), so the activation is the only thing that changes.
 *
 * References (unless `references: false`): the all-linear model (every hidden activation linear, same
 * training), and PCA at the same latent width fitted on each seed's training split and scored on its
 * validation split — the best any linear encoder/decoder can do. An activation that does not beat PCA
 * has not earned its non-linearity.
 */
import { type ActivationSpec, UsageError, fitNormalization, formatActivation, makeSpec, normalize, parseActivation } from '@aekit/core';
import { type Dataset, loadBundledDigits } from '@aekit/data';
import { fitPca, meanSquaredError, pcaProject, pcaReconstruct } from '../baselines/pca.js';
import type { EngineName } from '../engine.js';
import { train } from '../train.js';
import { gatherRows, seededSplit } from '../train/data.js';

/** The hidden activations the study compares by default (every registered one except linear). */
export const STUDY_ACTIVATIONS: readonly string[] = ['relu', 'tanh', 'sigmoid', 'leakyRelu', 'elu', 'selu', 'softplus', 'swish', 'gelu'];

/** The default threshold is this factor times the best mean final validation MSE. */
export const DEFAULT_THRESHOLD_FACTOR = 1.5;

export const STUDY_DEFAULTS = Object.freeze({ epochs: 10, seeds: 3, seed: 42, layers: [64, 32], latent: 32, batchSize: 32, valSplit: 0.1 });

export interface ActivationStudyOptions {
  /** Default: the bundled digits. */
  data?: Dataset;
  /** Hidden-layer activations to compare (names as `--activation` takes them). */
  activations?: readonly string[];
  /** Runs per activation; seeds are `seed`, `seed + 1`, … */
  seeds?: number;
  seed?: number;
  epochs?: number;
  layers?: readonly number[];
  latent?: number;
  batchSize?: number;
  valSplit?: number;
  learningRate?: number;
  engine?: EngineName | 'auto';
  backend?: string;
  /**
   * Validation MSE that "epochs to threshold" counts up to. Default: 1.5 × the best activation's mean
   * final validation MSE (`DEFAULT_THRESHOLD_FACTOR`), so the column says how fast each activation gets
   * near the best result, and which never do within the epochs given.
   */
  threshold?: number;
  /**
   * Add the reference rows: the all-linear model (trained like the others; skipped when `activations`
   * already lists linear) and PCA at the same latent width. Default true.
   */
  references?: boolean;
  /** Called after each run (for progress). */
  onRun?: (run: StudyRun, done: number, total: number) => void;
}

/** PCA at the study's latent width: fitted on each seed's training split, scored on its validation split. */
export interface PcaReference {
  /** Components = the latent width. */
  k: number;
  /** Validation MSE per seed (same order as `ActivationStudy.seeds`). */
  valMse: number[];
  meanValMse: number;
  stdValMse: number;
  meanPsnr: number;
}

export interface StudyReferences {
  /** The all-linear model (activation `linear` everywhere); its runs are in `runs` too. */
  linear?: ActivationSummary;
  pca?: PcaReference;
}

export interface StudyRun {
  activation: string;
  seed: number;
  /** Validation MSE after each epoch. */
  valCurve: number[];
  /** Training loss after each epoch. */
  trainCurve: number[];
  finalValMse: number;
  /** 10·log10(1 / MSE): the data are normalised to [0, 1]. */
  psnr: number;
  /** Seconds spent in training and validation (engine start-up excluded). */
  seconds: number;
  /** First epoch whose validation MSE ≤ threshold; undefined when never reached. */
  epochsToThreshold?: number;
}

export interface ActivationSummary {
  activation: string;
  runs: number;
  meanValMse: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  stdValMse: number;
  meanPsnr: number;
  /** Mean over the seeds that reached the threshold; undefined when none did. */
  meanEpochsToThreshold?: number;
  reachedThreshold: number;
  meanSeconds: number;
  /** Mean validation MSE per epoch over the seeds (for the chart). */
  meanCurve: number[];
}

export interface ActivationStudy {
  dataSource: string;
  rows: number;
  /** e.g. `784 → 64 ? → 32 ? → [32 linear] → …` with `?` where the studied activation goes. */
  architecture: string;
  engine: string;
  backend: string;
  epochs: number;
  batchSize: number;
  seeds: number[];
  threshold: number;
  runs: StudyRun[];
  /** Best (lowest mean validation MSE) first; the studied activations only (references apart). */
  summary: ActivationSummary[];
  /** Reference rows (empty with `references: false`). */
  references: StudyReferences;
}

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export function psnrOf(mse: number): number {
  return 10 * Math.log10(1 / mse);
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

export function epochsToReach(curve: readonly number[], threshold: number): number | undefined {
  const i = curve.findIndex((v) => v <= threshold);
  return i < 0 ? undefined : i + 1;
}

/** Summaries per activation, best mean validation MSE first; fills each run's epochsToThreshold. */
export function summarise(runs: StudyRun[], threshold: number): ActivationSummary[] {
  const by = new Map<string, StudyRun[]>();
  for (const r of runs) {
    r.epochsToThreshold = epochsToReach(r.valCurve, threshold);
    by.set(r.activation, [...(by.get(r.activation) ?? []), r]);
  }
  const out: ActivationSummary[] = [];
  for (const [activation, rs] of by) {
    const mses = rs.map((r) => r.finalValMse);
    const reached = rs.flatMap((r) => (r.epochsToThreshold === undefined ? [] : [r.epochsToThreshold]));
    const epochs = Math.min(...rs.map((r) => r.valCurve.length));
    out.push({
      activation,
      runs: rs.length,
      meanValMse: mean(mses),
      stdValMse: sampleStd(mses),
      meanPsnr: mean(rs.map((r) => r.psnr)),
      ...(reached.length > 0 ? { meanEpochsToThreshold: mean(reached) } : {}),
      reachedThreshold: reached.length,
      meanSeconds: mean(rs.map((r) => r.seconds)),
      meanCurve: Array.from({ length: epochs }, (_, e) => mean(rs.map((r) => r.valCurve[e]!))),
    });
  }
  return out.sort((a, b) => a.meanValMse - b.meanValMse);
}

export async function runActivationStudy(options: ActivationStudyOptions = {}): Promise<ActivationStudy> {
  const activations: ActivationSpec[] = (options.activations ?? STUDY_ACTIVATIONS).map((a) => parseActivation(a));
  if (activations.length === 0) throw new UsageError('--activations is empty; give at least one, e.g. relu,tanh');
  const names = activations.map(formatActivation);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--activations lists ${dup} twice`);
  const nSeeds = checkInt('--seeds', options.seeds ?? STUDY_DEFAULTS.seeds, 1);
  const baseSeed = options.seed ?? STUDY_DEFAULTS.seed;
  const epochs = checkInt('--epochs', options.epochs ?? STUDY_DEFAULTS.epochs, 1);
  const batchSize = options.batchSize ?? STUDY_DEFAULTS.batchSize;
  const valSplit = options.valSplit ?? STUDY_DEFAULTS.valSplit;
  if (!(valSplit > 0 && valSplit < 1)) throw new UsageError(`--val-split must be in (0, 1) for a study (it compares validation MSE), got ${valSplit}`);
  if (options.threshold !== undefined && !(options.threshold > 0)) throw new UsageError(`--threshold must be a number > 0, got ${options.threshold}`);
  const data = options.data ?? (await loadBundledDigits());
  const layers = options.layers ?? STUDY_DEFAULTS.layers;
  const latent = options.latent ?? STUDY_DEFAULTS.latent;
  const seeds = Array.from({ length: nSeeds }, (_, i) => baseSeed + i);
  const specFor = (activation: ActivationSpec) => makeSpec({ inputDim: data.cols, layers: [...layers], latent, activation });
  specFor(activations[0]!); // validate the architecture before any training
  const withReferences = options.references ?? true;
  const linearReference = withReferences && !names.includes('linear');
  const trained: ActivationSpec[] = linearReference ? [...activations, { name: 'linear' }] : activations;

  const runs: StudyRun[] = [];
  const total = trained.length * seeds.length;
  let engine = '';
  let backend = '';
  // Seed-major order: a study cut short still has every activation at the first seeds.
  for (const seed of seeds) {
    for (const activation of trained) {
      const r = await train({
        data,
        spec: specFor(activation),
        epochs,
        batchSize,
        valSplit,
        seed,
        engine: options.engine ?? 'auto',
        ...(options.backend !== undefined ? { backend: options.backend } : {}),
        ...(options.learningRate !== undefined ? { adam: { learningRate: options.learningRate } } : {}),
      });
      engine = r.engine;
      backend = r.backend;
      const valCurve = r.history.map((h) => h.valLoss!);
      const finalValMse = valCurve[valCurve.length - 1]!;
      const run: StudyRun = {
        activation: formatActivation(activation),
        seed,
        valCurve,
        trainCurve: r.history.map((h) => h.loss),
        finalValMse,
        psnr: psnrOf(finalValMse),
        seconds: r.history.reduce((s, h) => s + h.seconds, 0),
      };
      runs.push(run);
      options.onRun?.(run, runs.length, total);
    }
  }
  const studied = linearReference ? runs.filter((r) => r.activation !== 'linear') : runs;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD_FACTOR * Math.min(...summarise(studied, Infinity).map((a) => a.meanValMse));
  const references: StudyReferences = {};
  if (withReferences) {
    references.linear = summarise(runs.filter((r) => r.activation === 'linear'), threshold)[0];
    references.pca = pcaReference(data, seeds, valSplit, latent);
  }
  const arch = specFor({ name: 'linear' });
  const architecture = [
    String(arch.inputDim),
    ...arch.encoder.map((l) => `${l.units} ?`),
    `[${arch.latent.units} linear]`,
    ...arch.decoder.map((l) => `${l.units} ?`),
    `${arch.inputDim} sigmoid`,
  ].join(' → ');
  return {
    dataSource: data.source,
    rows: data.rows,
    architecture,
    engine,
    backend,
    epochs,
    batchSize,
    seeds,
    threshold,
    runs,
    summary: summarise(studied, threshold),
    references,
  };
}

/**
 * PCA with `k` components per seed: the rows split as `train()` splits them for that seed, normalised
 * as it does by default (scale255 for uint8 rows, minmax fitted on the training rows otherwise), fitted
 * on the training rows, validation MSE per value.
 */
export function pcaReference(data: Dataset, seeds: readonly number[], valSplit: number, k: number): PcaReference {
  const cols = data.cols;
  const kind = data.dtype === 'uint8' ? 'scale255' : 'minmax';
  const comps = Math.min(k, cols);
  const valMse = seeds.map((seed) => {
    const split = seededSplit(data.rows, valSplit, seed);
    const rawTrain = gatherRows(data.data, cols, split.train);
    const norm = fitNormalization(kind, rawTrain, cols);
    const trainX = normalize(norm, rawTrain, cols);
    const valX = normalize(norm, gatherRows(data.data, cols, split.val), cols);
    const pca = fitPca(trainX, cols, { components: comps });
    return meanSquaredError(valX, pcaReconstruct(pca, pcaProject(pca, valX, comps), comps));
  });
  const m = mean(valMse);
  return { k: comps, valMse, meanValMse: m, stdValMse: sampleStd(valMse), meanPsnr: mean(valMse.map(psnrOf)) };
}

