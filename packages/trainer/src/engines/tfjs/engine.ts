/**
 * The tfjs training engine (the reference engine): parameters and Adam state live in tfjs tensors on
 * the selected backend; each batch runs the hand-written step of ./step.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { type ModelSpec, modelLayers, encoderDepth } from '@aekit/core';
import type { AdamState, EngineConfig, ParamSet, TrainingEngine } from '../../engine.js';
import { checkEngineConfig, withLearningRate } from '../../engine-config.js';
import { ACTIVATION_OPS, alphaOf } from './activations.js';
import type { TfjsBackendName } from './backend-names.js';
import { selectTfjsBackend } from './backend.js';
import { batchTensors, mapRows, meanReconstructionLoss, readLosses } from './batches.js';
import { type LayerDef, type LayerTensors, type StepConfig, adamUpdate, forward, gradients } from './step.js';

export function layerDefs(spec: ModelSpec): LayerDef[] {
  return modelLayers(spec).map((l) => ({
    ops: ACTIVATION_OPS[l.activation.name],
    alpha: alphaOf(l.activation),
    transposed: l.inputDim > l.units,
  }));
}

export interface TfjsEngineOptions {
  /** tfjs backend; `auto` (default) takes the first of tensorflow, wasm, cpu that loads. */
  backend?: TfjsBackendName | 'auto';
  /** How backward products are formed (see StepConfig); default: PRODUCTS_BY_BACKEND. */
  products?: 'explicit' | 'flags';
}

/**
 * Backward-product strategy per backend: explicit transposes where transposed products are slow (wasm,
 * and no slower on cpu; measurements in docs/training.md); flags on tensorflow, whose GEMM takes
 * transposes natively, which saves the extra transposes.
 */
export const PRODUCTS_BY_BACKEND: Record<TfjsBackendName, 'explicit' | 'flags'> = {
  wasm: 'explicit',
  cpu: 'explicit',
  tensorflow: 'flags',
};

export class TfjsEngine implements TrainingEngine {
  readonly name = 'tfjs' as const;
  readonly versions: Readonly<Record<string, string>> = { '@tensorflow/tfjs': tf.version.tfjs };
  private layers: LayerTensors[] = [];
  private readonly defs: LayerDef[];
  private step = 0;

  private constructor(
    readonly backend: TfjsBackendName,
    private config: EngineConfig,
    private readonly products: 'explicit' | 'flags',
  ) {
    this.defs = layerDefs(config.spec);
  }

  /** Selects the backend (throws BackendError when the requested one is unavailable). */
  static async create(config: EngineConfig, options: TfjsEngineOptions = {}): Promise<TfjsEngine> {
    checkEngineConfig(config);
    const backend = await selectTfjsBackend(options.backend ?? 'auto');
    return new TfjsEngine(backend, config, options.products ?? PRODUCTS_BY_BACKEND[backend]);
  }

  async setState(params: ParamSet, optimizer?: AdamState): Promise<void> {
    this.disposeLayers();
    this.step = optimizer?.step ?? 0;
    this.layers = params.map((p, l) => {
      const transposed = this.defs[l]!.transposed;
      const moment = (set: ParamSet | undefined) => {
        const k = set?.[l];
        const kernel = tf.tensor2d(k?.kernel ?? new Float32Array(p.kernel.length), [p.inputDim, p.units]);
        const bias = tf.tensor1d(k?.bias ?? new Float32Array(p.units));
        if (!transposed) return { kernel, bias };
        const t = tf.transpose(kernel);
        kernel.dispose();
        return { kernel: t, bias };
      };
      const w = tf.tensor2d(p.kernel, [p.inputDim, p.units]);
      const m = moment(optimizer?.m);
      const v = moment(optimizer?.v);
      return { w, wT: tf.transpose(w), b: tf.tensor1d(p.bias), mW: m.kernel, vW: v.kernel, mB: m.bias, vB: v.bias };
    });
  }

  async trainSteps(data: Float32Array, rows: number, targets?: Float32Array): Promise<Float32Array> {
    this.assertReady();
    const cols = this.config.spec.inputDim;
    const bs = this.config.batchSize;
    const losses: tf.Tensor[] = [];
    const cfg: StepConfig = { loss: this.config.loss, l1: this.config.l1, l2: this.config.l2, products: this.products };
    for (let start = 0; start < rows; start += bs) {
      const n = Math.min(bs, rows - start);
      const t = ++this.step;
      const old = this.layers;
      const { loss, layers } = tf.tidy(() => {
        const { x, target } = batchTensors(data, targets, start, n, cols);
        const g = gradients(this.defs, old, cfg, x, target);
        return { loss: g.loss, layers: adamUpdate(this.defs, old, g, this.config.adam, t) };
      });
      this.layers = layers;
      disposeAll(old);
      losses.push(loss);
    }
    return readLosses(losses);
  }

  async evaluate(data: Float32Array, rows: number): Promise<number> {
    this.assertReady();
    return meanReconstructionLoss(this.config.loss, data, rows, this.config.spec.inputDim, (x) => forward(this.defs, this.layers, x).a.at(-1)!);
  }

  async encode(data: Float32Array, rows: number): Promise<Float32Array> {
    return this.run(data, rows, encoderDepth(this.config.spec));
  }

  /** Reconstructions of the rows (the full autoencoder), in batches. */
  async predict(data: Float32Array, rows: number): Promise<Float32Array> {
    return this.run(data, rows, this.layers.length);
  }

  private async run(data: Float32Array, rows: number, depth: number): Promise<Float32Array> {
    this.assertReady();
    const width = this.layers[depth - 1]!.w.shape[1]!;
    return mapRows(data, rows, this.config.spec.inputDim, width, (x) => forward(this.defs, this.layers, x, depth).a[depth]!);
  }

  setLearningRate(learningRate: number): void {
    this.config = withLearningRate(this.config, learningRate);
  }

  async getState(): Promise<{ params: ParamSet; optimizer: AdamState }> {
    this.assertReady();
    const layers = modelLayers(this.config.spec);
    const read2d = async (t: tf.Tensor, transposed: boolean): Promise<Float32Array> => {
      if (!transposed) return (await t.data()) as Float32Array;
      const tt = tf.transpose(t);
      const d = (await tt.data()) as Float32Array;
      tt.dispose();
      return d;
    };
    const params: ParamSet = [];
    const m: ParamSet = [];
    const v: ParamSet = [];
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l]!;
      const info = layers[l]!;
      const tr = this.defs[l]!.transposed;
      const base = { name: info.name, inputDim: info.inputDim, units: info.units };
      params.push({ ...base, kernel: await read2d(L.w, false), bias: (await L.b.data()) as Float32Array });
      m.push({ ...base, kernel: await read2d(L.mW, tr), bias: (await L.mB.data()) as Float32Array });
      v.push({ ...base, kernel: await read2d(L.vW, tr), bias: (await L.vB.data()) as Float32Array });
    }
    return { params, optimizer: { step: this.step, m, v } };
  }

  dispose(): void {
    this.disposeLayers();
  }

  private disposeLayers(): void {
    disposeAll(this.layers);
    this.layers = [];
  }

  private assertReady(): void {
    if (this.layers.length === 0) throw new Error('TfjsEngine: call setState() before training or inference');
  }
}

function disposeAll(layers: readonly LayerTensors[]): void {
  for (const L of layers) tf.dispose([L.w, L.wT, L.b, L.mW, L.vW, L.mB, L.vB]);
}
