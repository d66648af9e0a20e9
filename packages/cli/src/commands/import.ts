/**
 * `aekit import MODEL.onnx --split-at TENSOR --out BUNDLE` (or `--encoder E.onnx --decoder D.onnx`):
 * a PyTorch autoencoder exported with torch.onnx.export becomes an aekit bundle (@aekit/exporter's
 * importOnnx: graph surgery in TypeScript). Before the bundle is written, the runtime's Codec (CPU)
 * runs the encoder then the decoder on --data rows (or fixed probe rows) and compares the result
 * with the whole original model (the bundle's autoencoder.onnx) — ≤ 1e-5 in the model's units — and
 * measures the latent range on every --data row for the manifest.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import {
  BUNDLE_FILES,
  ExportError,
  IoError,
  type Normalization,
  type NormalizationKind,
  NORMALIZATION_KINDS,
  Rng,
  UsageError,
  columnRange,
  fitNormalization,
  toAffine,
} from '@aekit/core';
import { loadDataset } from '@aekit/data';
import { type ImportResult, importOnnx, withLatentRange } from '@aekit/exporter';
import { Codec } from '@aekit/runtime';
import { writeBundleFiles } from '../bundle-writer.js';
import { type CliIO, type OutputOptions, addOutputOptions } from '../io.js';

/** Max |Δ| between encoder → decoder and the original model, in the model's units (after normalisation). */
export const IMPORT_TOLERANCE = 1e-5;
/** Rows compared when verifying (the latent range uses every --data row). */
const VERIFY_ROWS = 1024;
const PROBE_ROWS = 16;
const PROBE_SEED = 20261127;
/** Execution providers --device accepts (@aekit/onnx's EXECUTION_PROVIDERS), and `all`. */
const DEVICES = ['cpu', 'wasm', 'webgpu', 'webgpu-web', 'cuda'] as const;
type Device = (typeof DEVICES)[number];

interface ImportCliOptions extends OutputOptions {
  out: string;
  splitAt?: string;
  encoder?: string;
  decoder?: string;
  data?: string;
  normalize: NormalizationKind;
  device: string;
  verify: boolean;
}

async function readModel(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${flag} ${path} does not exist; give the .onnx file torch.onnx.export wrote`, { file: path });
    throw new IoError(`cannot read ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
}

function parseDevices(v: string): Device[] {
  if (v === 'all') return [...DEVICES];
  const list = v.split(',').map((s) => s.trim());
  for (const d of list) {
    if (!(DEVICES as readonly string[]).includes(d)) throw new UsageError(`--device ${d} is not one of ${DEVICES.join(', ')}, all (a comma-separated list)`);
  }
  return list as Device[];
}

/** Fixed probe rows in raw units when there is no --data: pixels for scale255, values in [-1, 1] for none. */
function probeRows(dim: number, n: Normalization): Float32Array {
  const rng = new Rng(PROBE_SEED);
  return Float32Array.from({ length: PROBE_ROWS * dim }, () => (n.kind === 'scale255' ? rng.int(256) : rng.next() * 2 - 1));
}

export interface ImportCheck {
  rows: number;
  /** Max |encoder → decoder − original| in the model's units. */
  maxAbsDiff: number;
  tolerance: number;
}

/** Runs the bundle on `x` (raw units): the chained halves against the original model, and the latent range. */
async function verifyImport(result: ImportResult, x: Float32Array, rows: number, verify: boolean): Promise<{ check?: ImportCheck; latentRange: { min: number[]; max: number[] } }> {
  const f = result.files;
  const m = result.manifest;
  const codec = await Codec.load(
    { manifest: f[BUNDLE_FILES.manifest]!, files: { encoder: f[BUNDLE_FILES.encoder]!, decoder: f[BUNDLE_FILES.decoder]!, autoencoder: f[BUNDLE_FILES.autoencoder]! } },
    { device: 'cpu', checkFinite: false },
  );
  try {
    const z = (await codec.encode(x, rows)).data as Float32Array;
    const latentRange = columnRange(z, m.latentDim);
    if (!verify) return { latentRange };
    const n = Math.min(rows, VERIFY_ROWS);
    const xs = x.subarray(0, n * m.inputDim);
    const chained = (await codec.decode(z.subarray(0, n * m.latentDim), n)).data;
    const original = (await codec.reconstruct(xs, n)).data;
    const { scale } = toAffine(m.normalization, m.inputDim);
    let d = 0;
    for (let i = 0; i < chained.length; i++) {
      const s = scale[i % m.inputDim]! > 0 ? scale[i % m.inputDim]! : 1;
      const v = Math.abs(chained[i]! - original[i]!) * s;
      if (!(v <= d)) d = Number.isNaN(v) ? Infinity : v;
    }
    return { check: { rows: n, maxAbsDiff: d, tolerance: IMPORT_TOLERANCE }, latentRange };
  } finally {
    await codec.dispose();
  }
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('import')
    .description('Import a PyTorch autoencoder exported to ONNX (torch.onnx.export) as a bundle, cut at its latent')
    .argument('[model]', 'the whole autoencoder (.onnx), cut at --split-at')
    .requiredOption('--out <dir>', 'bundle directory to write (replaces an existing aekit bundle, refuses any other directory)')
    .option('--split-at <tensor>', "the latent: the tensor of MODEL that is the encoder's output and the decoder's input (omit it to list them)")
    .option('--encoder <file>', 'the encoder as its own .onnx file (with --decoder, instead of MODEL)')
    .option('--decoder <file>', 'the decoder as its own .onnx file (with --encoder)')
    .option('--data <path>', 'rows in raw units (IDX, NPY or CSV): the latent range is measured and the halves verified on them')
    .addOption(
      new Option('--normalize <kind>', 'what the model took: scale255 = pixels/255 (the bundle takes raw pixels), minmax = per column to [0, 1] (fitted on --data), none = the rows as given')
        .choices([...NORMALIZATION_KINDS])
        .default('none'),
    )
    .option('--device <list>', `execution providers the graphs must run on whole: ${DEVICES.join(', ')} or all (comma-separated)`, 'cpu')
    .option('--no-verify', 'skip running the halves against the original model before writing');
  addOutputOptions(cmd).action(async (modelPath: string | undefined, o: ImportCliOptions) => {
    const pair = o.encoder !== undefined || o.decoder !== undefined;
    if (pair && modelPath !== undefined) throw new UsageError('give either MODEL with --split-at, or --encoder and --decoder, not both');
    if (pair && (o.encoder === undefined || o.decoder === undefined)) throw new UsageError(`--${o.encoder === undefined ? 'encoder' : 'decoder'} is missing: give both halves`);
    if (!pair && modelPath === undefined) throw new UsageError('give the model to import (MODEL.onnx --split-at TENSOR, or --encoder E.onnx --decoder D.onnx)');
    const devices = parseDevices(o.device);
    const data = o.data !== undefined ? await loadDataset(o.data, { hint: 'give --data rows in the units the bundle will take (e.g. pixels 0-255 with --normalize scale255)' }) : undefined;
    if (o.normalize === 'minmax' && !data) throw new UsageError('--normalize minmax is fitted on --data: give --data rows, or choose scale255 / none');
    const normalization: Normalization = data ? fitNormalization(o.normalize, data.data, data.cols) : fitNormalization(o.normalize, [], 1);
    const source = pair
      ? { encoder: await readModel(o.encoder!, '--encoder'), decoder: await readModel(o.decoder!, '--decoder'), files: { encoder: o.encoder!, decoder: o.decoder! } }
      : { model: await readModel(modelPath!, 'MODEL'), ...(o.splitAt !== undefined ? { splitAt: o.splitAt } : {}), files: { model: modelPath! } };
    let result = await importOnnx({ ...source, normalization, devices });
    const m0 = result.manifest;
    if (data && data.cols !== m0.inputDim) {
      throw new UsageError(`--data ${o.data} has ${data.cols} values per row but the model takes ${m0.inputDim} ${m0.inputShape ? `(${m0.inputShape.join('×')})` : ''}; give rows of the model's input`, { file: o.data });
    }
    const x = data ? Float32Array.from(data.data) : probeRows(m0.inputDim, normalization);
    const rows = data ? data.rows : PROBE_ROWS;
    const { check, latentRange } = await verifyImport(result, x, rows, o.verify);
    if (check && !(check.maxAbsDiff <= check.tolerance)) {
      throw new ExportError(
        `verification failed: encoder.onnx → decoder.onnx differs from the original model by ${check.maxAbsDiff.toExponential(2)} on ${check.rows} rows (tolerance ${check.tolerance}); no bundle was written ` +
          '(a cut inside a layer, e.g. between ops PyTorch fused, can change the rounding: cut at a layer output; --no-verify skips the check)',
      );
    }
    if (data) result = await withLatentRange(result, latentRange);
    const target = await writeBundleFiles(o.out, result.files);
    const m = result.manifest;
    const r = result.report;
    const from = pair ? `${o.encoder} + ${o.decoder}` : modelPath!;
    if (o.json === true) {
      io.stdout(
        `${JSON.stringify({
          command: 'import',
          model: from,
          ...(o.splitAt !== undefined ? { splitAt: o.splitAt } : {}),
          out: target,
          inputDim: m.inputDim,
          latentDim: m.latentDim,
          modelInputShape: r.modelInputShape,
          modelLatentShape: r.modelLatentShape,
          opset: m.opset,
          normalization: m.normalization.kind,
          devices,
          latentRangeRows: data ? data.rows : 0,
          files: Object.fromEntries((['encoder', 'decoder', 'autoencoder'] as const).map((g) => [BUNDLE_FILES[g], m.files[g].bytes])),
          verified: check !== undefined,
          ...(check ? { check } : {}),
        })}\n`,
      );
      return;
    }
    io.stdout(
      `imported ${from} → ${target}\n` +
        `  ${m.inputDim} → ${m.latentDim} → ${m.inputDim} (model [${r.modelInputShape.join('×')}] → latent [${r.modelLatentShape.join('×')}]${o.splitAt ? ` at ${o.splitAt}` : ''}), ` +
        `opset ${m.opset}, normalisation ${m.normalization.kind}, runs on ${devices.join(', ')}\n`,
    );
    for (const g of ['encoder', 'decoder', 'autoencoder'] as const) {
      io.stdout(`  ${BUNDLE_FILES[g].padEnd(17)} ${kib(m.files[g].bytes).padStart(10)}  ${r.nodes[g]} nodes from the model\n`);
    }
    io.stdout(
      check
        ? `verified: encoder → decoder matches the original model on ${check.rows} ${data ? '--data' : 'probe'} rows, max |Δ| ${check.maxAbsDiff.toExponential(2)} (onnxruntime-node cpu)\n`
        : 'not verified (--no-verify)\n',
    );
    io.stdout(data ? `latent range measured on ${data.rows} rows\n` : 'no --data: the manifest has no latent range (compress and sample need one; import again with --data)\n');
  });
}
