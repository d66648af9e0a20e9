/**
 * The tfjs autodiff engine: gradients from `tf.variableGrads`, Adam applied by hand (tf.train.adam
 * semantics, `adamAssign`). It trains what the hand-written step of ./step.ts does not cover:
 *  - convolutional models (Conv2D / Conv2DTranspose layers, ./layer-ops.ts);
 *  - rate–distortion training (variants/rate-math.ts): the encoder's latent y gets the step's uniform
 *    noise u (drawn in JS, `drawUniformNoise`, as the onnxruntime engine draws it), the decoder
 *    reconstructs from ỹ = y + u, and the loss is reconstruction (mean over rows and values)
 *    + λ · Σ −log2 p(ỹ) / (rows · inputDim) + L1/L2 on kernels; the density's μ and ℓ train with the
 *    network. evaluate() is then the validation loss of a rate model: reconstruction from the rounded,
 *    clamped latents (what inference decodes) + λ · bits per value at those latents.
 * The onnxruntime engine's hand-written gradients are checked against it.
 */
import * as tf from '@tensorflow/tfjs';
import { type LayerInfo, encoderDepth, modelLayers } from '@aekit/core';
import type { AdamState, EngineConfig, LayerParams, ParamSet, TrainingEngine } from '../../engine.js';
import { checkEngineConfig, withLearningRate } from '../../engine-config.js';
import { RATE_DENSITY_LAYER, RATE_LATENT_MAX, RATE_LATENT_MIN, drawUniformNoise, initDensity, roundLatents } from '../../variants/rate-math.js';
import { latentBitsTensor } from '../../variants/rate.js';
import type { TfjsBackendName } from './backend-names.js';
import { selectTfjsBackend } from './backend.js';
import { EVAL_BATCH, autodiffSteps, mapRows, meanReconstructionLoss, readLosses, rowsTensor } from './batches.js';
import { type LayerVars, layerForward } from './layer-ops.js';
import { reconstructionSum } from './step.js';

export class TfjsAutodiffEngine implements TrainingEngine {
  readonly name = 'tfjs' as const;
  readonly versions: Readonly<Record<string, string>> = { '@tensorflow/tfjs': tf.version.tfjs };
  readonly latentLattice?: { min: number; max: number };
  private layers: LayerVars[] = [];
  /** Rate training: μ (w, [1, latent]) and ℓ (b, [latent]). */
  private density: LayerVars | undefined;
  private m: tf.Tensor[] = [];
  private v: tf.Tensor[] = [];
  private step = 0;
  private readonly info: LayerInfo[];

  private constructor(
    readonly backend: TfjsBackendName,
    private config: EngineConfig,
  ) {
    this.info = modelLayers(config.spec);
    if (config.rate !== undefined) this.latentLattice = { min: RATE_LATENT_MIN, max: RATE_LATENT_MAX };
  }

  static async create(config: EngineConfig, backend: TfjsBackendName | 'auto' = 'auto'): Promise<TfjsAutodiffEngine> {
    checkEngineConfig(config);
    return new TfjsAutodiffEngine(await selectTfjsBackend(backend), config);
  }

  private vars(): tf.Variable[] {
    return [...this.layers, ...(this.density ? [this.density] : [])].flatMap((d) => [d.w, d.b]);
  }

  /** Kernel shape of state entry i (the layers, then the density [1, latent]). */
  private kernelShape(i: number): number[] {
    return this.info[i]?.kernelShape ?? [1, this.config.spec.latent.units];
  }

  /** `params`: the layers, then (rate training) optionally the density (else μ = ℓ = 0); moments alike. */
  async setState(params: ParamSet, optimizer?: AdamState): Promise<void> {
    this.disposeAll();
    const n = this.info.length;
    const rate = this.config.rate !== undefined;
    const all = rate ? [...params.slice(0, n), params[n] ?? initDensity(this.config.spec.latent.units)] : params.slice(0, n);
    const make = (p: LayerParams, i: number): LayerVars => ({ w: tf.variable(tf.tensor(p.kernel, this.kernelShape(i))), b: tf.variable(tf.tensor1d(p.bias)) });
    this.layers = all.slice(0, n).map(make);
    this.density = rate ? make(all[n]!, n) : undefined;
    const moments = (set: ParamSet | undefined) =>
      all.flatMap((p, i) => {
        const q = set?.[i];
        return [tf.tensor(q?.kernel ?? new Float32Array(p.kernel.length), this.kernelShape(i)), tf.tensor1d(q?.bias ?? new Float32Array(p.units))];
      });
    this.m = moments(optimizer?.m);
    this.v = moments(optimizer?.v);
    this.step = optimizer?.step ?? 0;
  }

  encodeTensor(x: tf.Tensor): tf.Tensor2D {
    let h = x;
    for (let l = 0; l < encoderDepth(this.config.spec); l++) h = layerForward(this.info[l]!, this.layers[l]!, h);
    return h as tf.Tensor2D;
  }

  decodeTensor(z: tf.Tensor): tf.Tensor {
    let y = z;
    for (let l = encoderDepth(this.config.spec); l < this.layers.length; l++) y = layerForward(this.info[l]!, this.layers[l]!, y);
    return y;
  }

  /** Σ −log2 p of latent rows (scalar), rate training. Call inside tf.tidy. */
  bitsSum(latent: tf.Tensor2D): tf.Scalar {
    return tf.sum(latentBitsTensor(latent, this.density!.w, this.density!.b));
  }

  /**
   * Loss terms of one batch; with rate training `u` ([rows, latent]) is the latent noise and `bits` the
   * estimated bits per input value. Call inside tf.tidy.
   */
  lossTerms(x: tf.Tensor2D, u: tf.Tensor2D | undefined, target: tf.Tensor2D = x): { loss: tf.Scalar; recon: tf.Scalar; bits?: tf.Scalar } {
    const y = this.encodeTensor(x);
    const yt = u === undefined ? y : (tf.add(y, u) as tf.Tensor2D);
    const out = this.decodeTensor(yt);
    const recon = tf.div(reconstructionSum(this.config.loss, out, target), target.size) as tf.Scalar;
    let loss = recon;
    let bits: tf.Scalar | undefined;
    if (this.config.rate !== undefined) {
      bits = tf.div(this.bitsSum(yt), x.shape[0] * this.config.spec.inputDim) as tf.Scalar;
      loss = tf.add(loss, tf.mul(bits, this.config.rate.weight)) as tf.Scalar;
    }
    for (const { w } of this.layers) {
      if (this.config.l1 > 0) loss = tf.add(loss, tf.mul(tf.sum(tf.abs(w)), this.config.l1));
      if (this.config.l2 > 0) loss = tf.add(loss, tf.mul(tf.sum(tf.square(w)), this.config.l2));
    }
    return { loss, recon, ...(bits ? { bits } : {}) };
  }

  async trainSteps(data: Float32Array, rows: number, targets?: Float32Array): Promise<Float32Array> {
    this.assertReady();
    const { spec, batchSize, adam, rate } = this.config;
    const latent = spec.latent.units;
    const state = { step: this.step, m: this.m, v: this.v };
    const losses = autodiffSteps(
      { data, rows, targets, cols: spec.inputDim, batchSize, adam },
      this.vars(),
      state,
      (t, n) => (rate ? drawUniformNoise(rate.seed, t, n * latent) : undefined),
      latent,
      (x, u, target) => this.lossTerms(x, u, target).loss,
    );
    ({ step: this.step, m: this.m, v: this.v } = state);
    return readLosses(losses);
  }

  /** Mean reconstruction loss; for rate training from the rounded latents + λ · bits per value there (rate-math.ts). */
  async evaluate(data: Float32Array, rows: number): Promise<number> {
    this.assertReady();
    const { inputDim: cols, latent } = this.config.spec;
    const rate = this.config.rate;
    if (rate === undefined) return meanReconstructionLoss(this.config.loss, data, rows, cols, (x) => this.decodeTensor(this.encodeTensor(x)));
    let recon = 0;
    let bits = 0;
    for (let start = 0; start < rows; start += EVAL_BATCH) {
      const n = Math.min(EVAL_BATCH, rows - start);
      const z = roundLatents(await mapRows(data.subarray(start * cols, (start + n) * cols), n, cols, latent.units, (x) => this.encodeTensor(x)));
      const sums = tf.tidy(() => {
        const x = rowsTensor(data, start, n, cols);
        const zq = tf.tensor2d(z, [n, latent.units]);
        return tf.stack([reconstructionSum(this.config.loss, this.decodeTensor(zq), x), this.bitsSum(zq)]);
      });
      const [r, b] = (await sums.data()) as Float32Array;
      sums.dispose();
      recon += r!;
      bits += b!;
    }
    return (recon + rate.weight * bits) / (rows * cols);
  }

  async encode(data: Float32Array, rows: number): Promise<Float32Array> {
    this.assertReady();
    return mapRows(data, rows, this.config.spec.inputDim, this.config.spec.latent.units, (x) => this.encodeTensor(x));
  }

  /** Reconstructions of the rows (the full autoencoder), in batches. */
  async predict(data: Float32Array, rows: number): Promise<Float32Array> {
    this.assertReady();
    const cols = this.config.spec.inputDim;
    return mapRows(data, rows, cols, cols, (x) => this.decodeTensor(this.encodeTensor(x)));
  }

  /** The layers in spec order, then (rate training) the `latent_density` pseudo-layer; optimizer moments alike. */
  setLearningRate(learningRate: number): void {
    this.config = withLearningRate(this.config, learningRate);
  }

  async getState(): Promise<{ params: ParamSet; optimizer: AdamState }> {
    this.assertReady();
    const shapes = [
      ...this.info.map((l) => ({ name: l.name, inputDim: l.inputDim, units: l.units })),
      ...(this.density ? [{ name: RATE_DENSITY_LAYER, inputDim: 1, units: this.config.spec.latent.units }] : []),
    ];
    const read = async (tensors: tf.Tensor[]): Promise<ParamSet> =>
      Promise.all(
        shapes.map(async (s, i) => ({ ...s, kernel: (await tensors[2 * i]!.data()) as Float32Array, bias: (await tensors[2 * i + 1]!.data()) as Float32Array })),
      );
    return { params: await read(this.vars()), optimizer: { step: this.step, m: await read(this.m), v: await read(this.v) } };
  }

  dispose(): void {
    this.disposeAll();
  }

  private disposeAll(): void {
    tf.dispose([...this.vars(), ...this.m, ...this.v]);
    this.layers = [];
    this.density = undefined;
    this.m = [];
    this.v = [];
  }

  private assertReady(): void {
    if (this.layers.length === 0) throw new Error('TfjsAutodiffEngine: call setState() before training or inference');
  }
}
