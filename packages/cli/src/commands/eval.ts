/**
 * `aekit eval BUNDLE --data PATH`: runs every row through encode then decode with @aekit/runtime and
 * reports reconstruction MSE in normalised units (what training minimises), PSNR (peak 1 in normalised
 * units), bytes per row raw vs latent, and rows per second.
 */
import type { Command } from 'commander';
import { Codec, type BundleManifest } from '@aekit/runtime';
import type { DataFormat } from '@aekit/trainer';
import type { CliIO } from '../io.js';
import { type RuntimeCliOptions, addRuntimeOptions, formatOption, openWithData } from './encode.js';

export interface EvalReport {
  rows: number;
  device: string;
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

/** Per-column affine map raw → normalised (the bundle's normalisation), as offset and scale. */
function affine(manifest: BundleManifest): { offset: Float64Array; scale: Float64Array } {
  const d = manifest.inputDim;
  const offset = new Float64Array(d);
  const scale = new Float64Array(d).fill(1);
  const n = manifest.normalization;
  if (n.kind === 'scale255') scale.fill(1 / 255);
  else if (n.kind === 'minmax') {
    for (let c = 0; c < d; c++) {
      const range = n.max[c]! - n.min[c]!;
      offset[c] = n.min[c]!;
      scale[c] = range > 0 ? 1 / range : 0;
    }
  }
  return { offset, scale };
}

/** MSE in normalised units between raw rows and their raw reconstructions. */
export function normalisedMse(manifest: BundleManifest, x: ArrayLike<number>, y: ArrayLike<number>): number {
  const { scale } = affine(manifest); // the offset cancels in x - y
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
    `rows        ${r.rows} (on ${r.device})`,
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
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('eval')
    .description('measure reconstruction quality (MSE, PSNR), compression and speed of a bundle on a data file')
    .argument('<bundle>', 'bundle directory written by aekit export')
    .requiredOption('--data <path>', 'IDX (.gz ok), NPY or CSV file of rows')
    .addOption(formatOption())
    .option('--json', 'print the report as JSON');
  addRuntimeOptions(cmd).action(async (bundle: string, o: EvalOptions) => {
    const { codec, dataset, rows } = await openWithData(bundle, o.data, o);
    try {
      const { reconstruction: _, ...report } = await evaluateCodec(codec, rows, dataset.dtype === 'uint8' ? 1 : 4);
      io.stdout(o.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    } finally {
      await codec.dispose();
    }
  });
}
