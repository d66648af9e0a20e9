/**
 * The variational autoencoder (Kingma & Welling 2014) on the tfjs engine.
 *
 * Architecture: the spec's encoder hidden layers feed two heads, the spec's latent layer (z_mean) and
 * an extra dense layer `latent_log_var` of the same width (z_log_var, linear). Training samples
 * z = z_mean + exp(z_log_var / 2) · ε with ε ~ N(0, I) (the reparameterisation trick) and decodes z;
 * evaluation, encode and export use the deterministic path z = z_mean.
 *
 * Loss per batch, in the same per-value units as the plain autoencoder's:
 *   reconstruction (mean over rows and values) + β · KL / inputDim,
 *   KL = mean over rows of −½ Σ_j (1 + log σ²_j − μ_j² − σ²_j).
 * With β = 1 this is the negative ELBO per value (up to the likelihood's constant). The validation
 * loss is the reconstruction loss of the mean path, comparable with a plain autoencoder's.
 *
 * The step uses tfjs autodiff (`tf.variableGrads`), not the hand-written backward pass of the plain
 * engine: extending that to two heads and the sampling node was not worth it for a model this size.
 * Adam is applied by hand (tf.train.adam semantics) so the moments can be read back like the plain
 * engine's.
 */
import * as tf from '@tensorflow/tfjs';
import { type LayerInfo, type ModelSpec, Rng, modelLayers, encoderDepth } from '@aekit/core';
import type { AdamState, LayerParams, EngineConfig, ParamSet, TrainingEngine } from '../engine.js';
import { checkEngineConfig, withLearningRate } from '../engine-config.js';
import { ACTIVATION_OPS, alphaOf } from '../engines/tfjs/activations.js';
import type { TfjsBackendName } from '../engines/tfjs/backend-names.js';
import { selectTfjsBackend } from '../engines/tfjs/backend.js';
import { autodiffSteps, mapRows, meanReconstructionLoss, readLosses } from '../engines/tfjs/batches.js';
import { reconstructionSum } from '../engines/tfjs/step.js';
import { type VaeEngineConfig, LOG_VAR_LAYER, drawEpsilon, headInputDim, initLogVarHead } from './vae-math.js';

/** The same KL as a tfjs scalar (mean over rows). */
export function klTensor(mean: tf.Tensor2D, logVar: tf.Tensor2D): tf.Scalar {
  const terms = tf.sub(tf.sub(tf.add(1, logVar), tf.square(mean)), tf.exp(logVar));
  return tf.div(tf.mul(-0.5, tf.sum(terms)), mean.shape[0]) as tf.Scalar;
}

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

export class TfjsVaeEngine implements TrainingEngine {
  readonly name = 'tfjs' as const;
  readonly versions: Readonly<Record<string, string>> = { '@tensorflow/tfjs': tf.version.tfjs };
  private layers: Dense[] = [];
  private head: Dense | undefined;
  private m: tf.Tensor[] = [];
  private v: tf.Tensor[] = [];
  private step = 0;
  private readonly info: LayerInfo[];

  private constructor(
    readonly backend: TfjsBackendName,
    private config: VaeEngineConfig,
  ) {
    this.info = modelLayers(config.spec);
  }

  static async create(config: VaeEngineConfig, backend: TfjsBackendName | 'auto' = 'auto'): Promise<TfjsVaeEngine> {
    checkEngineConfig(config);
    return new TfjsVaeEngine(await selectTfjsBackend(backend), config);
  }

  private vars(): tf.Variable[] {
    const all = [...this.layers, this.head!];
    return all.flatMap((d) => [d.w, d.b]);
  }

  /**
   * `params`: the spec's dense layers, optionally followed by the `latent_log_var` head (absent at the
   * start of training: then it is initialised from the seed); `optimizer` alike (the head's moments
   * start at zero when absent).
   */
  async setState(params: ParamSet, optimizer?: AdamState): Promise<void> {
    this.disposeAll();
    const n = this.info.length;
    const headParams = params[n] ?? initLogVarHead(this.config.spec, new Rng((this.config.seed + 4) >>> 0));
    const make = (p: LayerParams): Dense => ({
      w: tf.variable(tf.tensor2d(p.kernel, [p.inputDim, p.units])),
      b: tf.variable(tf.tensor1d(p.bias)),
    });
    this.layers = params.slice(0, n).map(make);
    this.head = make(headParams);
    const moments = (set: ParamSet | undefined) =>
      [...params.slice(0, n), headParams].flatMap((p, i) => {
        const q = set?.[i];
        return [
          tf.tensor2d(q?.kernel ?? new Float32Array(p.kernel.length), [p.inputDim, p.units]),
          tf.tensor1d(q?.bias ?? new Float32Array(p.units)),
        ];
      });
    this.m = moments(optimizer?.m);
    this.v = moments(optimizer?.v);
    this.step = optimizer?.step ?? 0;
  }

  private dense(l: number, x: tf.Tensor): tf.Tensor {
    const L = this.layers[l]!;
    const act = this.info[l]!.activation;
    return ACTIVATION_OPS[act.name].forward(tf.add(tf.matMul(x, L.w), L.b), alphaOf(act));
  }

  /** Hidden features, z_mean and z_log_var of a batch. */
  heads(x: tf.Tensor): { mean: tf.Tensor2D; logVar: tf.Tensor2D } {
    const depth = encoderDepth(this.config.spec);
    let h = x;
    for (let l = 0; l < depth - 1; l++) h = this.dense(l, h);
    const mean = this.dense(depth - 1, h) as tf.Tensor2D;
    const logVar = tf.add(tf.matMul(h, this.head!.w), this.head!.b) as tf.Tensor2D;
    return { mean, logVar };
  }

  decodeTensor(z: tf.Tensor): tf.Tensor {
    let y = z;
    for (let l = encoderDepth(this.config.spec); l < this.layers.length; l++) y = this.dense(l, y);
    return y;
  }

  /** Loss terms of one batch with the given ε (exposed for tests). Call inside tf.tidy. */
  lossTerms(x: tf.Tensor2D, eps: tf.Tensor2D, target: tf.Tensor2D = x): { loss: tf.Scalar; recon: tf.Scalar; kl: tf.Scalar } {
    const { mean, logVar } = this.heads(x);
    const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
    const y = this.decodeTensor(z);
    const recon = tf.div(reconstructionSum(this.config.loss, y, target), target.size) as tf.Scalar;
    const kl = klTensor(mean, logVar);
    let loss = tf.add(recon, tf.mul(kl, this.config.beta / this.config.spec.inputDim)) as tf.Scalar;
    // L1 / L2 on every kernel (both heads included), as the plain engine applies them.
    for (const w of [...this.layers.map((d) => d.w), this.head!.w]) {
      if (this.config.l1 > 0) loss = tf.add(loss, tf.mul(tf.sum(tf.abs(w)), this.config.l1));
      if (this.config.l2 > 0) loss = tf.add(loss, tf.mul(tf.sum(tf.square(w)), this.config.l2));
    }
    return { loss, recon, kl };
  }

  async trainSteps(data: Float32Array, rows: number, targets?: Float32Array): Promise<Float32Array> {
    this.assertReady();
    const { spec, batchSize, adam, seed } = this.config;
    const latent = spec.latent.units;
    const state = { step: this.step, m: this.m, v: this.v };
    const losses = autodiffSteps(
      { data, rows, targets, cols: spec.inputDim, batchSize, adam },
      this.vars(),
      state,
      (t, n) => drawEpsilon(seed, t, n * latent),
      latent,
      (x, e, target) => this.lossTerms(x, e!, target).loss,
    );
    ({ step: this.step, m: this.m, v: this.v } = state);
    return readLosses(losses);
  }

  /** Mean reconstruction loss of the mean path (z = z_mean), no KL, no penalties. */
  async evaluate(data: Float32Array, rows: number): Promise<number> {
    this.assertReady();
    return meanReconstructionLoss(this.config.loss, data, rows, this.config.spec.inputDim, (x) => this.decodeTensor(this.heads(x).mean));
  }

  /** z_mean of the rows. */
  async encode(data: Float32Array, rows: number): Promise<Float32Array> {
    this.assertReady();
    return mapRows(data, rows, this.config.spec.inputDim, this.config.spec.latent.units, (x) => this.heads(x).mean);
  }

  /** z_log_var of the rows. */
  async encodeLogVar(data: Float32Array, rows: number): Promise<Float32Array> {
    this.assertReady();
    return mapRows(data, rows, this.config.spec.inputDim, this.config.spec.latent.units, (x) => this.heads(x).logVar);
  }

  /** Decoder output for latent rows. */
  async decode(z: Float32Array, rows: number): Promise<Float32Array> {
    this.assertReady();
    return mapRows(z, rows, this.config.spec.latent.units, this.config.spec.inputDim, (x) => this.decodeTensor(x));
  }

  /** Dense layers in spec order, then the `latent_log_var` head; optimizer moments alike. */
  setLearningRate(learningRate: number): void {
    this.config = withLearningRate(this.config, learningRate);
  }

  async getState(): Promise<{ params: ParamSet; optimizer: AdamState }> {
    this.assertReady();
    const shapes = [...this.info.map((l) => ({ name: l.name, inputDim: l.inputDim, units: l.units })), {
      name: LOG_VAR_LAYER,
      inputDim: headInputDim(this.config.spec),
      units: this.config.spec.latent.units,
    }];
    const read = async (tensors: tf.Tensor[]): Promise<ParamSet> =>
      Promise.all(
        shapes.map(async (s, i) => ({
          ...s,
          kernel: (await tensors[2 * i]!.data()) as Float32Array,
          bias: (await tensors[2 * i + 1]!.data()) as Float32Array,
        })),
      );
    return { params: await read(this.vars()), optimizer: { step: this.step, m: await read(this.m), v: await read(this.v) } };
  }

  dispose(): void {
    this.disposeAll();
  }

  private disposeAll(): void {
    if (this.head) tf.dispose([...this.vars(), ...this.m, ...this.v]);
    this.layers = [];
    this.head = undefined;
    this.m = [];
    this.v = [];
  }

  private assertReady(): void {
    if (this.head === undefined) throw new Error('TfjsVaeEngine: call setState() before training or inference');
  }
}
