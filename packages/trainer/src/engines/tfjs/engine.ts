/**
 * The tfjs training engine (the reference engine): parameters and Adam state live in tfjs tensors on
 * the selected backend; each batch runs the hand-written step of ./step.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { type ModelSpec, denseLayers, encoderDepth } from '@aekit/core';
import type { AdamState, EngineConfig, ParamSet, TrainingEngine } from '../../engine.js';
import { ACTIVATION_OPS, alphaOf } from './activations.js';
import type { TfjsBackendName } from './backend-names.js';
import { selectTfjsBackend } from './backend.js';
import { type LayerDef, type LayerTensors, type StepConfig, adamUpdate, forward, gradients, reconstructionSum } from './step.js';

/** Rows per batch for evaluate/encode (forward only, so the training batch size does not matter). */
const EVAL_BATCH = 1024;

export function layerDefs(spec: ModelSpec): LayerDef[] {
  return denseLayers(spec).map((l) => ({
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
 * Backward-product strategy per backend, measured A/B in one process (default model, Fashion-MNIST,
 * 2 loaded cores): wasm batch 256 explicit 2.9–5.6k rows/s vs flags 1.3–1.8k; cpu batch 256 explicit
 * 560–994 vs flags 431–948, batch 32 about equal, so explicit there too. tensorflow (libtensorflow's
 * GEMM takes transposes natively) could not be measured here (tfjs-node does not install): flags, which
 * saves the extra transposes.
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
    private readonly config: EngineConfig,
    private readonly products: 'explicit' | 'flags',
  ) {
    this.defs = layerDefs(config.spec);
  }

  /** Selects the backend (throws BackendError when the requested one is unavailable). */
  static async create(config: EngineConfig, options: TfjsEngineOptions = {}): Promise<TfjsEngine> {
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
        const x = tf.tensor2d(data.subarray(start * cols, (start + n) * cols), [n, cols]);
        const target = targets === undefined ? x : tf.tensor2d(targets.subarray(start * cols, (start + n) * cols), [n, cols]);
        const g = gradients(this.defs, old, cfg, x, target);
        return { loss: g.loss, layers: adamUpdate(this.defs, old, g, this.config.adam, t) };
      });
      this.layers = layers;
      disposeAll(old);
      losses.push(loss);
    }
    // One read at the end: a readback per step would stall an asynchronous backend every batch.
    const stacked = tf.stack(losses);
    const out = (await stacked.data()) as Float32Array;
    stacked.dispose();
    tf.dispose(losses);
    return out;
  }

  async evaluate(data: Float32Array, rows: number): Promise<number> {
    this.assertReady();
    const cols = this.config.spec.inputDim;
    let total = 0;
    for (let start = 0; start < rows; start += EVAL_BATCH) {
      const n = Math.min(EVAL_BATCH, rows - start);
      const s = tf.tidy(() => {
        const x = tf.tensor2d(data.subarray(start * cols, (start + n) * cols), [n, cols]);
        const { a } = forward(this.defs, this.layers, x);
        return reconstructionSum(this.config.loss, a[a.length - 1]!, x);
      });
      total += (await s.data())[0]!;
      s.dispose();
    }
    return total / (rows * cols);
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
    const cols = this.config.spec.inputDim;
    const width = this.layers[depth - 1]!.w.shape[1]!;
    const out = new Float32Array(rows * width);
    for (let start = 0; start < rows; start += EVAL_BATCH) {
      const n = Math.min(EVAL_BATCH, rows - start);
      const y = tf.tidy(() => {
        const x = tf.tensor2d(data.subarray(start * cols, (start + n) * cols), [n, cols]);
        const { a } = forward(this.defs, this.layers, x, depth);
        return a[depth]!;
      });
      out.set((await y.data()) as Float32Array, start * width);
      y.dispose();
    }
    return out;
  }

  async getState(): Promise<{ params: ParamSet; optimizer: AdamState }> {
    this.assertReady();
    const layers = denseLayers(this.config.spec);
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
