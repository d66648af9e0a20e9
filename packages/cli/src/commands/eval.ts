/**
 * `aekit eval BUNDLE --data PATH`: runs every row through encode then decode with @aekit/runtime and
 * reports reconstruction MSE in normalised units (what training minimises), PSNR (peak 1 in normalised
 * units), bytes per row raw vs latent, and rows per second. `--compare OTHER` evaluates a second bundle
 * of the same model on the same rows (e.g. the float32 export beside a `--weights float16|int8` one)
 * and reports the accuracy change between them.
 */
import type { Command } from 'commander';
import { toAffine } from '@aekit/core';
import type { DataFormat } from '@aekit/data';
import { Codec, type BundleManifest } from '@aekit/runtime';
import type { CliIO } from '../io.js';
import { type RuntimeCliOptions, addRuntimeOptions, formatOption, loadOptions, openWithData } from './encode.js';

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
export async function evaluateCodec(codec: Codec, rows: Float32Array | Uint8Array, rawBytesPerValue: number): Promise<EvalReport & { reconstruction: Float32Array | Uint8Array }> {
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
  compare?: string;
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
    .requiredOption('--data <path>', 'IDX (.gz ok), NPY or CSV file of rows')
    .addOption(formatOption())
    .option('--json', 'print the report as JSON')
    .option('--compare <bundle>', 'also evaluate this bundle (e.g. the float32 export) on the same rows and report the accuracy change');
  addRuntimeOptions(cmd).action(async (bundle: string, o: EvalOptions) => {
    const { codec, dataset, rows } = await openWithData(bundle, o.data, o);
    const bytesPerValue = dataset.dtype === 'uint8' ? 1 : 4;
    let report: EvalReport;
    try {
      const { reconstruction: _, ...r } = await evaluateCodec(codec, rows, bytesPerValue);
      report = r;
    } finally {
      await codec.dispose();
    }
    let comparison: EvalComparison | undefined;
    if (o.compare !== undefined) {
      const other = await Codec.load(o.compare, { ...loadOptions(o), checkFinite: dataset.dtype !== 'uint8' });
      try {
        if (other.inputDim !== codec.inputDim || other.manifest.inputDtype !== codec.manifest.inputDtype) {
          throw new RangeError(
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
    if (o.json) io.stdout(`${JSON.stringify(comparison ? { ...report, comparison } : report)}\n`);
    else io.stdout(formatReport(report) + (comparison ? formatComparison(comparison, report.weights) : ''));
  });
}
