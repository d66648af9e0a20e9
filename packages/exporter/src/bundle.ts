/**
 * `exportBundle`: checkpoint files in, bundle files out (encoder/decoder/autoencoder ONNX + manifest),
 * all in memory, so it runs in browsers as well as in Node (file I/O lives in `@aekit/exporter/node`).
 */
import { packBundle } from './bundle-pack.js';
import {
  AEKIT_VERSION,
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundleManifest,
  ExportError,
  type GraphName,
  type IoDtype,
  bundleGraphs,
  canonicalJson,
  sha256Hex,
} from '@aekit/core';
import { type CheckpointFiles, type ExportableModel, type ReadModelOptions, readExportableModel } from './model/checkpoint.js';
import { type DenseOp, type GraphOptions, buildAutoencoder, buildDecoder, buildEncoder, buildVaeEncoder } from './onnx/graphs.js';

export const MIN_OPSET = 13;
export const MAX_OPSET = 17;
export const DEFAULT_OPSET = 13;
export const EXPORTER_PRODUCER = '@aekit/exporter';

export interface ExportOptions extends ReadModelOptions {
  /** Default-domain opset, 13–17 (default 13). */
  opset?: number;
  /** `uint8`: the encoder and autoencoder take raw bytes (Cast in the graph). Default float32. */
  inputDtype?: IoDtype;
  /** `uint8`: the decoder and autoencoder return bytes (Clip, Round, Cast in the graph). Default float32. */
  outputDtype?: IoDtype;
  /** How Dense layers are written (default Gemm; MatMul + Add exists for benchmarks). */
  denseOp?: DenseOp;
  /** Timestamp recorded in the manifest (default now), for reproducible bundles. */
  createdAt?: string;
}

export interface ExportResult {
  /** File name → bytes: the three ONNX graphs (one with `part`) and manifest.json. */
  files: Record<string, Uint8Array>;
  manifest: BundleManifest;
  /** The parsed model (split, normalisation, metadata) the graphs were built from. */
  model: ExportableModel;
}

const IO_DTYPES: readonly IoDtype[] = ['float32', 'uint8'];

/** The image flat input rows are reshaped into before the first layer that needs one (aekit conv checkpoints: the `image` Reshape). */
function imageOf(model: ExportableModel): { inputShape?: [number, number, number] } {
  for (const s of model.encoder) {
    if (s.kind === 'reshape' && s.to.length === 3) return { inputShape: [...s.to] as [number, number, number] };
    if (s.kind !== 'reshape') break;
  }
  return {};
}

function checkOptions(o: ExportOptions): { opset: number; inputDtype: IoDtype; outputDtype: IoDtype; denseOp: DenseOp } {
  const opset = o.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ExportError(`opset ${opset} is not supported; choose an integer from ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  const dtype = (v: IoDtype | undefined, what: string): IoDtype => {
    const d = v ?? 'float32';
    if (!IO_DTYPES.includes(d)) throw new ExportError(`${what} "${String(d)}" is not supported; valid: ${IO_DTYPES.join(', ')}`);
    return d;
  };
  const denseOp = o.denseOp ?? 'gemm';
  if (denseOp !== 'gemm' && denseOp !== 'matmul') throw new ExportError(`denseOp "${String(denseOp)}" is not one of gemm, matmul`);
  return { opset, inputDtype: dtype(o.inputDtype, 'input dtype'), outputDtype: dtype(o.outputDtype, 'output dtype'), denseOp };
}

/**
 * Exports a checkpoint's files (aekit checkpoint, or tfjs layers model with `splitAfter`) to an
 * in-memory bundle. Throws CheckpointError / ExportError naming the problem; nothing is written.
 */
export async function exportBundle(checkpointFiles: CheckpointFiles, options: ExportOptions = {}): Promise<ExportResult> {
  const o = checkOptions(options);
  const model = await readExportableModel(checkpointFiles, options);
  // A VAE's decoder on its own stays a VAE bundle: its prior is what `sample` draws from.
  const variant = model.meta?.vae !== undefined ? 'vae' : 'ae';
  const part = model.part;
  // Ties the three graphs and the manifest together (docs/bundle.md): the same checkpoint exported
  // with the same options gets the same id, so re-exports stay reproducible.
  const bundleId = await sha256Hex(
    new TextEncoder().encode(
      `aekit-bundle-id:${canonicalJson({ checkpointSha256: model.checkpointSha256, variant, part, splitAfter: part !== undefined ? model.splitAfter : undefined, opset: o.opset, inputDtype: o.inputDtype, outputDtype: o.outputDtype, denseOp: o.denseOp })}`,
    ),
  );
  const graphOptions: GraphOptions = {
    ...o,
    normalization: model.normalization,
    metadata: {
      producer: EXPORTER_PRODUCER,
      aekit_version: AEKIT_VERSION,
      // A model a spec cannot express (pooling, upsampling, …) records its layer description instead.
      ...(model.spec && part === undefined ? { spec: JSON.stringify(model.spec) } : { layers: model.layers }),
      normalization: JSON.stringify(model.normalization),
      input_dtype: o.inputDtype,
      output_dtype: o.outputDtype,
      variant,
      ...(part !== undefined ? { part } : {}),
      bundle_id: bundleId,
    },
  };
  // A VAE (aekit.json `vae`): the encoder also outputs z_log_var; the decoder is the plain one.
  const vae = model.vaeHead;
  const build: Record<GraphName, () => Uint8Array> = {
    encoder: () => (vae !== undefined ? buildVaeEncoder(model, vae, graphOptions) : buildEncoder(model, graphOptions)),
    decoder: () => buildDecoder(model, graphOptions),
    autoencoder: () => buildAutoencoder(model, graphOptions),
  };
  const graphs: Partial<Record<GraphName, Uint8Array>> = {};
  for (const role of bundleGraphs({ part })) graphs[role] = build[role]();
  // The entropy coder's tables travel unchanged from the checkpoint (the runtime checks their hash).
  const { files, manifest } = await packBundle(
    graphs,
    {
      format: BUNDLE_FORMAT,
      formatVersion: BUNDLE_FORMAT_VERSION,
      producer: EXPORTER_PRODUCER,
      aekitVersion: AEKIT_VERSION,
      opset: o.opset,
      variant,
      ...(part !== undefined ? { part } : {}),
      inputDim: model.inputDim,
      latentDim: model.latentDim,
      ...(model.inputShape.length === 3 ? { inputShape: [...model.inputShape] as [number, number, number] } : imageOf(model)),
      ...(model.latentShape.length === 3 ? { latentShape: [...model.latentShape] as [number, number, number] } : {}),
      inputDtype: o.inputDtype,
      outputDtype: o.outputDtype,
      weights: 'float32',
      normalization: model.normalization,
      latentRange: model.latentRange,
      // A part records its layers: a spec describes a whole autoencoder.
      source: { checkpointSha256: model.checkpointSha256, ...(model.spec && part === undefined ? { spec: model.spec } : { layers: model.layers }) },
      createdAt: options.createdAt ?? new Date().toISOString(),
      bundleId,
    },
    model.latentTables,
  );
  return { files, manifest, model };
}
