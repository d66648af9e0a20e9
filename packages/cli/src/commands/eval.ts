/**
 * `aekit eval BUNDLE --data PATH`: runs every row through encode then decode with @aekit/runtime and
 * reports reconstruction MSE in normalised units (what training minimises), PSNR (peak 1 in normalised
 * units), bytes per row raw vs latent, and rows per second. `--compare OTHER` evaluates a second bundle
 * of the same model on the same rows (e.g. the float32 export beside a `--weights float16|int8` one)
 * and reports the accuracy change between them.
 *
 * Beside the model it reports references at the same size, fitted on the evaluated rows themselves
 * (which favours them; on at most EVAL_REFERENCE_MAX_ROWS evenly spaced rows of them): the mean
 * image, PCA at the same latent width (float coefficients: the best any linear encoder/decoder can do) and PCA with uint8 coefficients (the same bytes as uint8 latents); and
 * what `compress` actually stores: bytes per row of the `.aez` container (header and chunk records
 * amortised) and the PSNR after decompress. A plain sentence says when the model does not beat PCA.
 */
import type { Command } from 'commander';
import { UsageError, normalize, toAffine } from '@aekit/core';
import type { DataFormat } from '@aekit/data';
import { type BundleManifest, CodecPool, readContainerHeader } from '@aekit/runtime';
import { fitPca, meanSquaredError, pcaBaseline } from '@aekit/trainer/baselines';
import { type CliIO, addOutputOptions, withInput } from '../io.js';
import { type RuntimeCliOptions, type RuntimeCodec, addHeaderOptions, addRuntimeOptions, addWorkersOption, formatOption, loadCodec, loadOptions, openWithData } from './encode.js';

export interface EvalReport {
  rows: number;
  device: string;
  /** How the bundle stores its weights (manifest `weights`: float32, float16 or int8). */
  weights: string;
  /** Mean squared error per value, normalised units. */
  mse: number;
  /** 10·log10(1 / mse), dB. */
  psnr: number;
  /** Bytes per row as the data file stores it (uint8: 1 per value, else 4). */
  rawBytesPerRow: number;
  /** Bytes per row of float32 latents. */
  latentBytesPerRow: number;
  /** rawBytesPerRow / latentBytesPerRow. */
  compressionRatio: number;
  /** Rows per second through encode then decode. */
  rowsPerSecond: number;
}

/** MSE in normalised units between raw rows and their raw reconstructions. */
export function normalisedMse(manifest: BundleManifest, x: ArrayLike<number>, y: ArrayLike<number>): number {
  return x.length === 0 ? 0 : normalisedSquaredError(manifest, x, y) / x.length;
}

/** Sum of squared errors in normalised units between raw rows and their raw reconstructions (whole rows). */
function normalisedSquaredError(manifest: BundleManifest, x: ArrayLike<number>, y: ArrayLike<number>): number {
  const { scale } = toAffine(manifest.normalization, manifest.inputDim); // the offset cancels in x - y
  const d = manifest.inputDim;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const e = (x[i]! - y[i]!) * scale[i % d]!;
    sum += e * e;
  }
  return sum;
}

/**
 * eval runs in this thread unless --workers says otherwise: a pool moves every reconstruction between
 * threads, which cost more than a second worker gained on 2 cores (docs/scale.md).
 */
const EVAL_WORKERS_HELP = 'worker threads, each with its own sessions, --threads divided among them (default 1: in this thread, which was faster for eval)';

/**
 * Most bytes of float32 reconstructions per block: each block is scored and dropped, so memory stays
 * at a block whatever the input (600 000 Fashion-MNIST rows would be 1.9 GB).
 */
const EVAL_BLOCK_BYTES = 16 << 20;

/**
 * Rows per block: one batch of the codec (`batchSize` rows), fewer when those would pass
 * EVAL_BLOCK_BYTES; at least one. A one-batch call hands back onnxruntime's array as it is, where
 * several batches are joined into fresh memory (docs/scale.md).
 */
export function evalBlockRows(cols: number, batchSize: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(EVAL_BLOCK_BYTES / (4 * cols))));
}

export function psnr(mse: number): number {
  return mse > 0 ? 10 * Math.log10(1 / mse) : Infinity;
}

/**
 * Encodes then decodes `rows`, a block at a time (evalBlockRows), and measures the result; `onBlock`
 * sees each block's reconstruction (from row `firstRow`) before it is dropped.
 */
export async function evaluateCodec(
  codec: RuntimeCodec,
  rows: Float32Array | Uint8Array,
  rawBytesPerValue: number,
  onBlock?: (reconstruction: Float32Array | Uint8Array, firstRow: number) => void,
): Promise<EvalReport> {
  const d = codec.inputDim;
  const n = rows.length / d;
  // one small warm-up pass, so first-run allocation does not count against the rows/s figure
  const warm = rows.subarray(0, Math.min(rows.length, 64 * d));
  await codec.decode((await codec.encode(warm)).data);
  const block = evalBlockRows(d, codec.batchSize);
  // A pool runs blocks on its workers: the next block goes out before this thread scores the last,
  // so the workers never wait for the scoring. A Codec runs on this thread: one block at a time.
  const depth = codec instanceof CodecPool ? 2 : 1;
  // The speed counts the time at least one block was in the codec (scoring alone is not codec time).
  let seconds = 0;
  let busySince = 0;
  let inFlight = 0;
  const slice = (first: number) => rows.subarray(first * d, Math.min(n, first + block) * d);
  const roundTrip = async (first: number) => {
    if (inFlight++ === 0) busySince = performance.now();
    try {
      return (await codec.decode((await codec.encode(slice(first))).data)).data;
    } catch (e) {
      // The codec numbers rows within the block: name the row of `rows` instead.
      if (e instanceof RangeError) e.message = e.message.replace(/ row (\d+), column /, (_, r: string) => ` row ${Number(r) + first}, column `);
      throw e;
    } finally {
      if (--inFlight === 0) seconds += (performance.now() - busySince) / 1000;
    }
  };
  const queue: Array<Promise<Float32Array | Uint8Array>> = [];
  let sent = 0;
  const send = () => {
    while (queue.length < depth && (sent < n || sent === 0)) {
      const p = roundTrip(sent);
      p.catch(() => undefined); // a later block failing while an earlier one is awaited: reported when its turn comes
      queue.push(p);
      sent += block;
    }
  };
  let sum = 0;
  try {
    send();
    for (let first = 0; queue.length > 0; first += block) {
      const y = await queue.shift()!;
      if (depth > 1) send();
      const x = slice(first);
      sum += normalisedSquaredError(codec.manifest, x, y);
      onBlock?.(y, first);
      send();
    }
  } finally {
    // A failed block: let the others settle before the caller disposes of the codec.
    await Promise.allSettled(queue);
  }
  const mse = rows.length === 0 ? 0 : sum / rows.length;
  const rawBytesPerRow = codec.inputDim * rawBytesPerValue;
  const latentBytesPerRow = codec.latentDim * 4;
  return {
    rows: n,
    device: codec.device,
    weights: codec.manifest.weights ?? 'float32',
    mse,
    psnr: psnr(mse),
    rawBytesPerRow,
    latentBytesPerRow,
    compressionRatio: rawBytesPerRow / latentBytesPerRow,
    rowsPerSecond: n / Math.max(seconds, 1e-9),
  };
}

/** A reference reconstruction: its size per row and its quality (normalised units, as the model's). */
export interface BaselineFigure {
  bytesPerRow: number;
  mse: number;
  psnr: number;
}

export interface EvalBaselines {
  /** Always 'evaluated rows': the references are fitted on the rows they are scored on. */
  fittedOn: 'evaluated rows';
  /**
   * Present when there were more than EVAL_REFERENCE_MAX_ROWS rows: the references were fitted and
   * scored on `rows` evenly spaced rows of the `of` evaluated.
   */
  sample?: { rows: number; of: number };
  /** Predicting the mean row for every row (0 bytes per row). */
  meanImage: BaselineFigure;
  /** PCA with `k` = the latent width and float32 coefficients (4·k bytes): the linear optimum. */
  pcaFloat: BaselineFigure & { k: number };
  /**
   * PCA with `k` uint8 coefficients (k bytes, as uint8 latents): each component quantised over its
   * min / max on these rows, reconstruction clipped to their range.
   */
  pcaUint8: BaselineFigure & { k: number };
}

/** What `compress` (the runtime's default latent coding for this bundle) stores, and its quality after `decompress`. */
export interface EvalCompressed extends BaselineFigure {
  /** How the container stores the latents (header `latentType`). */
  latent: string;
  /** Container bytes in total (header, chunk records and end record included). */
  bytes: number;
}

/** Widest input PCA is fitted on here: the d × d eigendecomposition is O(d³) (784: ~5 s). */
export const EVAL_PCA_MAX_DIM = 2048;

/**
 * Most rows the references are fitted and scored on: past it, evenly spaced rows. PCA's covariance is
 * O(rows · d²) in JavaScript: 600 000 Fashion-MNIST rows took 288 s in all, against 23 s for 60 000.
 */
export const EVAL_REFERENCE_MAX_ROWS = 65536;

/** `m` evenly spaced rows of `rows` (row floor(i · n / m) for i < m), copied. */
function evenlySpaced<T extends Float32Array | Uint8Array>(rows: T, d: number, m: number): T {
  const n = rows.length / d;
  const out = (rows instanceof Uint8Array ? new Uint8Array(m * d) : new Float32Array(m * d)) as T;
  for (let i = 0; i < m; i++) {
    const r = Math.floor((i * n) / m);
    out.set(rows.subarray(r * d, (r + 1) * d), i * d);
  }
  return out;
}

/**
 * Mean-image and PCA references at the model's latent width, fitted on `rows` themselves, in the
 * bundle's normalised units; `{ skipped }` with the reason when the input is too wide for a quick PCA.
 */
export function evaluateBaselines(manifest: BundleManifest, rows: Float32Array | Uint8Array): EvalBaselines | { skipped: string } {
  const d = manifest.inputDim;
  if (d > EVAL_PCA_MAX_DIM) return { skipped: `PCA skipped: ${d} inputs per row is over ${EVAL_PCA_MAX_DIM} (the eigendecomposition would take minutes)` };
  const k = Math.min(manifest.latentDim, d);
  const n = rows.length / d;
  const sampled = n > EVAL_REFERENCE_MAX_ROWS;
  const x = normalize(manifest.normalization, sampled ? evenlySpaced(rows, d, EVAL_REFERENCE_MAX_ROWS) : rows, d);
  const pca = fitPca(x, d, { components: k });
  const meanRow = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) meanRow[i] = pca.mean[i % d]!;
  const meanMse = meanSquaredError(x, meanRow);
  const b = pcaBaseline(x, d, k, pca);
  const figure = (bytesPerRow: number, mse: number): BaselineFigure => ({ bytesPerRow, mse, psnr: psnr(mse) });
  return {
    fittedOn: 'evaluated rows',
    ...(sampled ? { sample: { rows: EVAL_REFERENCE_MAX_ROWS, of: n } } : {}),
    meanImage: figure(0, meanMse),
    pcaFloat: { k, ...figure(4 * k, b.floatMse) },
    pcaUint8: { k, ...figure(k, b.uint8Mse) },
  };
}

/** `codec.compress` (its default latent coding) then `codec.decompress`: bytes per row and PSNR. */
export async function evaluateCompressed(codec: RuntimeCodec, rows: Float32Array | Uint8Array): Promise<EvalCompressed | { skipped: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await codec.compress(rows);
  } catch (e) {
    // e.g. a bundle without a latent range (exported without aekit.json) cannot store uint8 latents
    if (e instanceof RangeError) return { skipped: `compress: ${e.message}` };
    throw e;
  }
  // Decompressed chunk by chunk and scored as the rows come: no whole float copy of the input.
  const container = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
  const pieces = container.pipeThrough(codec.decompressStream());
  let sum = 0;
  let at = 0;
  for await (const piece of pieces as unknown as AsyncIterable<Float32Array | Uint8Array>) {
    sum += normalisedSquaredError(codec.manifest, rows.subarray(at, at + piece.length), piece);
    at += piece.length;
  }
  const n = at / codec.inputDim;
  const mse = at === 0 ? 0 : sum / at;
  return { latent: readContainerHeader(bytes).latentType, bytes: bytes.length, bytesPerRow: bytes.length / n, mse, psnr: psnr(mse) };
}

/** Plain sentences for the cases where the model does not beat PCA; empty when it does. */
export function verdicts(report: EvalReport, baselines: EvalBaselines, compressed: EvalCompressed | undefined): string[] {
  const out: string[] = [];
  const { pcaFloat, pcaUint8 } = baselines;
  if (report.mse >= pcaFloat.mse) {
    out.push(
      `The model does not beat PCA at the same latent width: ${report.psnr.toFixed(2)} dB against PCA-${pcaFloat.k}'s ${pcaFloat.psnr.toFixed(2)} dB ` +
        `(float latents / coefficients; a linear encoder and decoder would do at least as well).`,
    );
  }
  if (compressed !== undefined && compressed.mse >= pcaUint8.mse) {
    out.push(
      compressed.bytesPerRow >= pcaUint8.bytesPerRow
        ? `The compressed model does not beat PCA at the same bytes: ${compressed.psnr.toFixed(2)} dB at ${compressed.bytesPerRow.toFixed(2)} bytes/row ` +
            `against PCA-${pcaUint8.k} with uint8 coefficients: ${pcaUint8.psnr.toFixed(2)} dB at ${pcaUint8.bytesPerRow} bytes/row.`
        : `PCA-${pcaUint8.k} with uint8 coefficients reaches a higher PSNR (${pcaUint8.psnr.toFixed(2)} dB at ${pcaUint8.bytesPerRow} bytes/row) than the ` +
            `compressed model (${compressed.psnr.toFixed(2)} dB at ${compressed.bytesPerRow.toFixed(2)} bytes/row); compare whole rate–distortion curves (pnpm bench rd).`,
    );
  }
  return out;
}

export function formatBaselines(report: EvalReport, baselines: EvalBaselines | { skipped: string }, compressed: EvalCompressed | { skipped: string }): string {
  const lines: string[] = [];
  const row = (name: string, bytes: string, f: { mse: number; psnr: number }) =>
    `  ${name.padEnd(50)} ${bytes.padStart(16)}  MSE ${f.mse.toPrecision(4).padEnd(10)} PSNR ${f.psnr.toFixed(2)} dB`;
  lines.push('against references (same rows; PSNR peak 1 in normalised units):');
  lines.push(row(`model, float32 latents`, `${report.latentBytesPerRow} bytes/row`, report));
  if ('skipped' in compressed) lines.push(`  model compressed: ${compressed.skipped}`);
  else lines.push(row(`model compressed (${compressed.latent} latents)`, `${compressed.bytesPerRow.toFixed(2)} bytes/row`, compressed));
  if ('skipped' in baselines) lines.push(`  ${baselines.skipped}`);
  else {
    lines.push(row('mean image', '0 bytes/row', baselines.meanImage));
    lines.push(row(`PCA-${baselines.pcaFloat.k}, float32 coefficients (linear optimum)`, `${baselines.pcaFloat.bytesPerRow} bytes/row`, baselines.pcaFloat));
    lines.push(row(`PCA-${baselines.pcaUint8.k}, uint8 coefficients, clipped to range`, `${baselines.pcaUint8.bytesPerRow} bytes/row`, baselines.pcaUint8));
    const on = baselines.sample === undefined ? 'fitted on these same rows' : `fitted and scored on ${baselines.sample.rows} evenly spaced rows of the ${baselines.sample.of}`;
    lines.push(
      `  (mean image and PCA are ${on}, which favours them; the uint8 PCA row clips its output to the data range, ` +
        'which can more than pay for quantisation; compressed bytes include the container overhead)',
    );
    for (const v of verdicts(report, baselines, 'skipped' in compressed ? undefined : compressed)) lines.push(v);
  }
  return `${lines.join('\n')}\n`;
}

export function formatReport(r: EvalReport): string {
  return [
    `rows        ${r.rows} (on ${r.device}, ${r.weights} weights)`,
    `MSE         ${r.mse.toPrecision(4)} (normalised units)`,
    `PSNR        ${r.psnr.toFixed(2)} dB (peak 1)`,
    `bytes/row   ${r.rawBytesPerRow} raw → ${r.latentBytesPerRow} latent (float32), ${r.compressionRatio.toFixed(1)}× smaller`,
    `speed       ${Math.round(r.rowsPerSecond)} rows/s (encode + decode)`,
    '',
  ].join('\n');
}

interface EvalOptions extends RuntimeCliOptions {
  data: string;
  format?: DataFormat;
  json?: boolean;
  quiet?: boolean;
  compare?: string;
  baselines: boolean;
}

/** The accuracy change of `report` against `reference` (same rows): MSE ratio and PSNR difference. */
export interface EvalComparison {
  reference: { bundle: string; weights: string; mse: number; psnr: number };
  mseChangePercent: number;
  psnrChangeDb: number;
}

export function compareReports(report: EvalReport, reference: EvalReport, referenceBundle: string): EvalComparison {
  return {
    reference: { bundle: referenceBundle, weights: reference.weights, mse: reference.mse, psnr: reference.psnr },
    mseChangePercent: (report.mse / reference.mse - 1) * 100,
    psnrChangeDb: report.psnr - reference.psnr,
  };
}

function formatComparison(c: EvalComparison, weights: string): string {
  const sign = (x: number) => (x >= 0 ? '+' : '');
  return (
    `vs ${c.reference.bundle} (${c.reference.weights} weights): MSE ${c.reference.mse.toPrecision(4)} → ` +
    `${sign(c.mseChangePercent)}${c.mseChangePercent.toFixed(3)} % with ${weights} weights, ` +
    `PSNR ${sign(c.psnrChangeDb)}${c.psnrChangeDb.toFixed(3)} dB\n`
  );
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('eval')
    .description('measure reconstruction quality (MSE, PSNR), compression and speed of a bundle on a data file')
    .argument('<bundle>', 'bundle directory written by aekit export')
    .requiredOption('--data <path>', 'IDX (.gz ok), NPY or CSV file of rows; - reads stdin')
    .addOption(formatOption())
    .option('--compare <bundle>', 'also evaluate this bundle (e.g. the float32 export) on the same rows and report the accuracy change')
    .option('--no-baselines', 'skip the references (mean image, PCA at the same width / bytes, fitted on the rows) and the compress round trip');
  addHeaderOptions(cmd);
  addOutputOptions(cmd);
  addWorkersOption(addRuntimeOptions(cmd), EVAL_WORKERS_HELP).action(async (bundle: string, o: EvalOptions & { header?: boolean }) => {
    const { codec, dataset, rows } = await withInput(o.data, io, (data) => openWithData(bundle, data, o, io, false));
    const bytesPerValue = dataset.dtype === 'uint8' ? 1 : 4;
    let report: EvalReport;
    let compressed: EvalCompressed | { skipped: string } | undefined;
    try {
      report = await evaluateCodec(codec, rows, bytesPerValue);
      if (o.baselines) compressed = await evaluateCompressed(codec, rows);
    } finally {
      await codec.dispose();
    }
    const baselines = o.baselines ? evaluateBaselines(codec.manifest, rows) : undefined;
    let comparison: EvalComparison | undefined;
    if (o.compare !== undefined) {
      const other = await loadCodec(o.compare, { ...loadOptions(o), checkFinite: dataset.dtype !== 'uint8' }, codec instanceof CodecPool ? codec.workers : 1);
      try {
        if (other.inputDim !== codec.inputDim || other.manifest.inputDtype !== codec.manifest.inputDtype) {
          throw new UsageError(
            `--compare ${o.compare}: that bundle takes ${other.inputDim} ${other.manifest.inputDtype} values per row, ` +
              `${bundle} takes ${codec.inputDim} ${codec.manifest.inputDtype}; compare bundles of the same model`,
          );
        }
        const ref = await evaluateCodec(other, rows, bytesPerValue);
        comparison = compareReports(report, ref, o.compare);
      } finally {
        await other.dispose();
      }
    }
    const refs =
      baselines === undefined || compressed === undefined
        ? ''
        : formatBaselines(report, baselines, compressed);
    if (o.json) {
      const extra =
        baselines === undefined || compressed === undefined
          ? {}
          : {
              compressed,
              baselines,
              verdicts: 'skipped' in baselines ? [] : verdicts(report, baselines, 'skipped' in compressed ? undefined : compressed),
            };
      const workers = codec instanceof CodecPool ? codec.workers : 1;
      io.stdout(`${JSON.stringify({ ...report, workers, ...(comparison ? { comparison } : {}), ...extra })}\n`);
    } else io.stdout(formatReport(report) + (comparison ? formatComparison(comparison, report.weights) : '') + refs);
  });
}
