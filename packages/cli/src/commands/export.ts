/**
 * `aekit export CHECKPOINT --out BUNDLE`: writes encoder/decoder/autoencoder ONNX + manifest.json,
 * then proves them: each graph runs through @aekit/runtime's Codec (CPU) on a fixed probe batch and is
 * compared with tfjs `predict` (cpu backend) on the same checkpoint, before the bundle is moved into place.
 */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import {
  BUNDLE_FILES,
  type BundleManifest,
  ExportError,
  type GraphName,
  type IoDtype,
  Rng,
  UsageError,
  bundleGraphs,
  normalize,
  toAffine,
} from '@aekit/core';
import { type ExportableModel, MAX_OPSET, MIN_OPSET, exportBundle } from '@aekit/exporter';
import { WEIGHTS_DTYPES, quantizeBundle, weightsTolerance } from '@aekit/exporter';
import type { WeightsDtype } from '@aekit/core';
import { readCheckpointFiles } from '@aekit/exporter/node';
import { Codec } from '@aekit/runtime';
import { writeBundleFiles } from '../bundle-writer.js';
import { type CliIO, type OutputOptions, addOutputOptions } from '../io.js';

/** Max abs difference allowed between ONNX and tfjs for float32 outputs (normalised units). */
export const FLOAT_TOLERANCE = 1e-5;
/** For uint8 outputs: one quantisation level (float rounding can tip a value across a .5 boundary). */
export const UINT8_TOLERANCE = 1;
const PROBE_ROWS = 16;
const PROBE_SEED = 20261126;

export interface GraphCheck {
  graph: GraphName;
  /** Max abs difference (normalised units for float32 output, levels for uint8 output). */
  maxAbsDiff: number;
  tolerance: number;
}

/** A fixed probe batch in raw units: what the data file would hold for this normalisation and dtype. */
export function probeBatch(model: ExportableModel, inputDtype: IoDtype, rows = PROBE_ROWS): Float32Array | Uint8Array {
  const rng = new Rng(PROBE_SEED);
  const dim = model.inputDim;
  const n = model.normalization;
  if (inputDtype === 'uint8' || n.kind === 'scale255') {
    const a = Uint8Array.from({ length: rows * dim }, () => rng.int(256));
    return inputDtype === 'uint8' ? a : Float32Array.from(a);
  }
  return Float32Array.from({ length: rows * dim }, (_, i) => {
    const u = rng.next();
    if (n.kind === 'minmax') {
      const c = i % dim;
      return n.min[c]! + u * (n.max[c]! - n.min[c]!);
    }
    return u * 2 - 1;
  });
}

/** Fixed probe latents for a decoder exported on its own (its model's input is the latent): uniform in [-2, 2). */
function probeLatents(latentDim: number, rows = PROBE_ROWS): Float32Array {
  const rng = new Rng(PROBE_SEED + 1);
  return Float32Array.from({ length: rows * latentDim }, () => rng.next() * 4 - 2);
}

/**
 * Runs the bundle in `dir` through the runtime's Codec (CPU) and compares each graph with tfjs
 * `predict` on the checkpoint's files (the trainer's reference). Returns one check per graph the
 * bundle holds (a `part` bundle: one); the caller decides what exceeds tolerance.
 */
export async function verifyBundle(
  dir: string,
  checkpointFiles: Readonly<Record<string, Uint8Array>>,
  model: ExportableModel,
  manifest: Pick<BundleManifest, 'inputDtype' | 'outputDtype'>,
): Promise<GraphCheck[]> {
  const rows = PROBE_ROWS;
  const dim = model.inputDim;
  const raw = probeBatch(model, manifest.inputDtype, rows);
  // A decoder exported whole takes latents: tfjs runs the model on them and its output is the reference.
  const decoderOnly = model.part === 'decoder' && model.splitAfter === undefined;
  const refInput = decoderOnly ? probeLatents(model.latentDim, rows) : normalize(model.normalization, raw, dim);
  // Without a split layer the latent is the model's output (a whole encoder) or its input (a whole decoder).
  const latentLayer = model.splitAfter ?? model.chain.outputLayer;
  // Loaded here, not at the top: tfjs is only needed when verifying.
  const { predictCheckpoint } = await import('@aekit/trainer');
  const tfjs = await predictCheckpoint(checkpointFiles, latentLayer, refInput, rows).catch((e: unknown) => {
    throw new ExportError(
      `verification could not run the checkpoint in tfjs (${(e as Error).message.split('\n')[0]}); export with --no-verify to skip the check`,
      { cause: e },
    );
  });
  const ref = decoderOnly ? { z: refInput, y: tfjs.y } : tfjs;

  // Reconstructions are compared in normalised units (raw difference / column scale) or, for uint8
  // output, in quantisation levels against the rounded tfjs value.
  const { scale } = toAffine(model.normalization, dim);
  const n = model.normalization;
  const compareXHat = (onnx: ArrayLike<number>): number => {
    let m = 0;
    for (let i = 0; i < onnx.length; i++) {
      const c = i % dim;
      const s = scale[c]! > 0 ? scale[c]! : 1;
      const yRaw = n.kind === 'none' ? ref.y[i]! : n.kind === 'scale255' ? ref.y[i]! * 255 : ref.y[i]! * (n.max[c]! - n.min[c]!) + n.min[c]!;
      const d =
        manifest.outputDtype === 'uint8' ? Math.abs(onnx[i]! - Math.round(Math.min(255, Math.max(0, yRaw)))) : Math.abs(onnx[i]! - yRaw) * s;
      if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
    }
    return m;
  };
  const outTol = manifest.outputDtype === 'uint8' ? UINT8_TOLERANCE : FLOAT_TOLERANCE;
  // The graphs must compute the reference even where it is not finite: the codec's NaN check is off.
  const codec = await Codec.load(dir, { device: 'cpu', checkFinite: false });
  try {
    const checks: GraphCheck[] = [];
    for (const graph of bundleGraphs({ part: model.part })) {
      if (graph === 'encoder') {
        const z = (await codec.encode(raw, rows)).data;
        let zDiff = 0;
        let zMax = 1;
        for (let i = 0; i < z.length; i++) {
          zDiff = Math.max(zDiff, Number.isNaN(z[i]!) ? Infinity : Math.abs(z[i]! - ref.z[i]!));
          zMax = Math.max(zMax, Math.abs(ref.z[i]!));
        }
        // Latents are unbounded: float32 rounding (and a conv's summation order) grows with their size.
        checks.push({ graph, maxAbsDiff: zDiff, tolerance: FLOAT_TOLERANCE * zMax });
      } else if (graph === 'decoder') {
        checks.push({ graph, maxAbsDiff: compareXHat((await codec.decode(ref.z, rows)).data), tolerance: outTol });
      } else checks.push({ graph, maxAbsDiff: compareXHat((await codec.reconstruct(raw, rows)).data), tolerance: outTol });
    }
    return checks;
  } finally {
    await codec.dispose();
  }
}

interface ExportCliOptions extends OutputOptions {
  out: string;
  opset: string;
  inputDtype: IoDtype;
  outputDtype: IoDtype;
  splitAfter?: string;
  part?: 'encoder' | 'decoder';
  verify: boolean;
  /** --weights: float16 / int8 weight storage (@aekit/exporter's quantizeBundle). */
  weights?: WeightsDtype;
}

function parseOpset(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < MIN_OPSET || n > MAX_OPSET) {
    throw new UsageError(`--opset ${v} is not supported; choose an integer from ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  return n;
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('export')
    .description('Export a checkpoint (or a tfjs layers model) to an ONNX bundle: encoder, decoder, autoencoder + manifest')
    .argument('<checkpoint>', 'checkpoint directory (aekit train output, or a tfjs layers model with --split-after)')
    .requiredOption('--out <dir>', 'bundle directory to write (replaces an existing aekit bundle, refuses any other directory)')
    .option('--opset <n>', `ONNX opset, ${MIN_OPSET}-${MAX_OPSET}`, '13')
    .addOption(new Option('--input-dtype <dtype>', 'encoder input type (uint8: raw bytes, cast in the graph)').choices(['float32', 'uint8']).default('float32'))
    .addOption(
      new Option('--output-dtype <dtype>', 'decoder output type (uint8: clipped, rounded bytes)').choices(['float32', 'uint8']).default('float32'),
    )
    .option(
      '--split-after <layer>',
      'last layer of the encoder, for tfjs models without aekit.json: a layer, a nested one (encoder/dense_1) or a sub-model ' +
        '(default for a model made of [encoder, decoder] sub-models: after the encoder)',
    )
    .addOption(
      new Option('--part <part>', 'export one half only: encoder (data → latent) or decoder (latent → data), e.g. a decoder saved on its own').choices([
        'encoder',
        'decoder',
      ]),
    )
    .option('--no-verify', 'skip running the graphs against tfjs after writing')
    .addOption(
      new Option('--weights <dtype>', 'weight storage: float16 (~2× smaller) or int8 (~4× smaller, per-channel); inputs and outputs stay as chosen above')
        .choices([...WEIGHTS_DTYPES])
        .default('float32'),
    );
  addOutputOptions(cmd).action(async (checkpoint: string, o: ExportCliOptions) => {
      const opset = parseOpset(o.opset);
      const files = await readCheckpointFiles(checkpoint);
      const exported = await exportBundle(files, {
        opset,
        inputDtype: o.inputDtype,
        outputDtype: o.outputDtype,
        ...(o.splitAfter !== undefined ? { splitAfter: o.splitAfter } : {}),
        ...(o.part !== undefined ? { part: o.part } : {}),
      });
      const result = o.weights !== undefined && o.weights !== 'float32' ? await quantizeBundle(exported, o.weights) : exported;
      const { manifest, model } = result;
      let checks: GraphCheck[] = [];
      const target = await writeBundleFiles(o.out, result.files, async (tmp) => {
        if (!o.verify) return;
        checks = await verifyBundle(tmp, files, model, manifest);
        if (manifest.weights !== 'float32') {
          checks = checks.map((c) => ({ ...c, tolerance: weightsTolerance(manifest.weights, c.graph, manifest.outputDtype, c.tolerance) }));
        }
        const bad = checks.filter((c) => !(c.maxAbsDiff <= c.tolerance));
        if (bad.length > 0) {
          throw new ExportError(
            `verification failed: ${bad.map((c) => `${BUNDLE_FILES[c.graph]} differs from tfjs by ${c.maxAbsDiff.toExponential(2)} (tolerance ${c.tolerance})`).join('; ')}; no bundle was written ` +
              '(outputs far from the [0, 1] range, e.g. from unnormalised data, can exceed this by float32 rounding alone; --no-verify skips the check)',
          );
        }
      });
      const graphs = bundleGraphs(manifest);
      const size = (m: typeof manifest) => graphs.reduce((n, g) => n + m.files[g].bytes, 0);
      if (o.json === true) {
        io.stdout(
          `${JSON.stringify({
            command: 'export',
            checkpoint,
            out: target,
            inputDim: manifest.inputDim,
            latentDim: manifest.latentDim,
            opset: manifest.opset,
            inputDtype: manifest.inputDtype,
            outputDtype: manifest.outputDtype,
            normalization: manifest.normalization.kind,
            splitAfter: model.splitAfter ?? null,
            part: manifest.part ?? null,
            weights: manifest.weights,
            files: Object.fromEntries(graphs.map((g) => [BUNDLE_FILES[g], manifest.files[g].bytes])),
            ...(manifest.weights !== 'float32' ? { smallerThanFloat32: size(exported.manifest) / size(manifest) } : {}),
            verified: o.verify,
            checks: checks.map((c) => ({ graph: c.graph, maxAbsDiff: c.maxAbsDiff, tolerance: c.tolerance })),
          })}\n`,
        );
        return;
      }
      const shape =
        manifest.part === 'encoder'
          ? `encoder only: ${manifest.inputDim} → ${manifest.latentDim}`
          : manifest.part === 'decoder'
            ? `decoder only: ${manifest.latentDim} → ${manifest.inputDim}`
            : `${manifest.inputDim} → ${manifest.latentDim} → ${manifest.inputDim}`;
      io.stdout(
        `exported ${checkpoint} → ${target}\n` +
          `  ${shape}, opset ${manifest.opset}, ` +
          `input ${manifest.inputDtype}, output ${manifest.outputDtype}, normalisation ${manifest.normalization.kind}` +
          `${model.splitAfter !== undefined ? `, split after ${model.splitAfter}` : ''}\n`,
      );
      for (const g of graphs) {
        const c = checks.find((x) => x.graph === g);
        const diff = c ? `  max |Δ| vs tfjs ${c.maxAbsDiff.toExponential(2)}${manifest.outputDtype === 'uint8' && g !== 'encoder' ? ' levels' : ''}` : '';
        io.stdout(`  ${BUNDLE_FILES[g].padEnd(17)} ${kib(manifest.files[g].bytes).padStart(10)}${diff}\n`);
      }
      if (manifest.weights !== 'float32') {
        io.stdout(`  weights ${manifest.weights}: ${(size(exported.manifest) / size(manifest)).toFixed(2)}× smaller than float32; verified against float32 tfjs within the ${manifest.weights} tolerances (aekit eval BUNDLE --data FILE gives its MSE: compare with the float32 export)\n`);
      }
      io.stdout(o.verify ? `verified: onnxruntime-node matches tfjs predict on ${PROBE_ROWS} probe rows\n` : 'not verified (--no-verify)\n');
    });
}
