/**
 * `aekit eval BUNDLE --data PATH`: runs every row through encode then decode with @aekit/runtime and
 * reports reconstruction MSE in normalised units (what training minimises), PSNR (peak 1 in normalised
 * units), bytes per row raw vs latent, and rows per second. `--compare OTHER` evaluates a second bundle
 * of the same model on the same rows (e.g. the float32 export beside a `--weights float16|int8` one)
 * and reports the accuracy change between them.
 *
 * Beside the model it reports references at the same size, fitted on the evaluated rows themselves
 * (which favours them): the mean image, PCA at the same latent width (float coefficients: the best any
 * linear encoder/decoder can do) and PCA with uint8 coefficients (the same bytes as uint8 latents); and
 * what `compress` actually stores: bytes per row of the `.aez` container (header and chunk records
 * amortised) and the PSNR after decompress. A plain sentence says when the model does not beat PCA.
 */
import type { Command } from 'commander';
import { UsageError, normalize, toAffine } from '@aekit/core';
import type { DataFormat } from '@aekit/data';
import { type BundleManifest, readContainerHeader } from '@aekit/runtime';
import { fitPca, meanSquaredError, pcaBaseline } from '@aekit/trainer/baselines';
import { type CliIO, addOutputOptions, withInput } from '../io.js';
import { type RuntimeCliOptions, type RuntimeCodec, addHeaderOptions, addRuntimeOptions, addWorkersOption, formatOption, loadCodec, loadOptions, openWithData, workersOption } from './encode.js';

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
  const { scale } = toAffine(manifest.normalization, manifest.inputDim); // the offset cancels in x - y
  const d = manifest.inputDim;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const e = (x[i]! - y[i]!) * scale[i % d]!;
    sum += e * e;
  }
  return sum / x.length;
}

export function psnr(mse: number): number {
  return mse > 0 ? 10 * Math.log10(1 / mse) : Infinity;
}

/** Encodes then decodes `rows` and measures the result. */
export async function evaluateCodec(codec: RuntimeCodec, rows: Float32Array | Uint8Array, rawBytesPerValue: number): Promise<EvalReport & { reconstruction: Float32Array | Uint8Array }> {
  // one small warm-up pass, so first-run allocation does not count against the rows/s figure
  const warm = rows.subarray(0, Math.min(rows.length, 64 * codec.inputDim));
  await codec.decode((await codec.encode(warm)).data);
  const t0 = performance.now();
  const z = await codec.encode(rows);
  const y = await codec.decode(z.data);
  const seconds = (performance.now() - t0) / 1000;
  const mse = normalisedMse(codec.manifest, rows, y.data);
  const rawBytesPerRow = codec.inputDim * rawBytesPerValue;
  const latentBytesPerRow = codec.latentDim * 4;
  return {
    rows: z.rows,
    device: codec.device,
    weights: codec.manifest.weights ?? 'float32',
    mse,
    psnr: psnr(mse),
    rawBytesPerRow,
    latentBytesPerRow,
    compressionRatio: rawBytesPerRow / latentBytesPerRow,
    rowsPerSecond: z.rows / Math.max(seconds, 1e-9),
    reconstruction: y.data,
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
 * Mean-image and PCA references at the model's latent width, fitted on `rows` themselves, in the
 * bundle's normalised units; `{ skipped }` with the reason when the input is too wide for a quick PCA.
 */
export function evaluateBaselines(manifest: BundleManifest, rows: Float32Array | Uint8Array): EvalBaselines | { skipped: string } {
  const d = manifest.inputDim;
  if (d > EVAL_PCA_MAX_DIM) return { skipped: `PCA skipped: ${d} inputs per row is over ${EVAL_PCA_MAX_DIM} (the eigendecomposition would take minutes)` };
  const k = Math.min(manifest.latentDim, d);
  const x = normalize(manifest.normalization, rows, d);
  const pca = fitPca(x, d, { components: k });
  const meanRow = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) meanRow[i] = pca.mean[i % d]!;
  const meanMse = meanSquaredError(x, meanRow);
  const b = pcaBaseline(x, d, k, pca);
  const figure = (bytesPerRow: number, mse: number): BaselineFigure => ({ bytesPerRow, mse, psnr: psnr(mse) });
  return {
    fittedOn: 'evaluated rows',
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
  const { data, rows: n } = await codec.decompress(bytes);
  const mse = normalisedMse(codec.manifest, rows, data);
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
    lines.push(
      '  (mean image and PCA are fitted on these same rows, which favours them; the uint8 PCA row clips its output to the data range, ' +
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
  addWorkersOption(addRuntimeOptions(cmd)).action(async (bundle: string, o: EvalOptions & { header?: boolean }) => {
    const { codec, dataset, rows } = await withInput(o.data, io, (data) => openWithData(bundle, data, o, io, true));
    const bytesPerValue = dataset.dtype === 'uint8' ? 1 : 4;
    let report: EvalReport;
    let compressed: EvalCompressed | { skipped: string } | undefined;
    try {
      const { reconstruction: _, ...r } = await evaluateCodec(codec, rows, bytesPerValue);
      report = r;
      if (o.baselines) compressed = await evaluateCompressed(codec, rows);
    } finally {
      await codec.dispose();
    }
    const baselines = o.baselines ? evaluateBaselines(codec.manifest, rows) : undefined;
    let comparison: EvalComparison | undefined;
    if (o.compare !== undefined) {
      const other = await loadCodec(o.compare, { ...loadOptions(o), checkFinite: dataset.dtype !== 'uint8' }, workersOption(o.workers, o.device, dataset.rows));
      try {
        if (other.inputDim !== codec.inputDim || other.manifest.inputDtype !== codec.manifest.inputDtype) {
          throw new UsageError(
            `--compare ${o.compare}: that bundle takes ${other.inputDim} ${other.manifest.inputDtype} values per row, ` +
              `${bundle} takes ${codec.inputDim} ${codec.manifest.inputDtype}; compare bundles of the same model`,
          );
        }
        const { reconstruction: _, ...ref } = await evaluateCodec(other, rows, bytesPerValue);
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
      io.stdout(`${JSON.stringify({ ...report, ...(comparison ? { comparison } : {}), ...extra })}\n`);
    } else io.stdout(formatReport(report) + (comparison ? formatComparison(comparison, report.weights) : '') + refs);
  });
}
