/**
 * Rate–distortion training on the tfjs engine (semantics in ./rate-math.ts): the encoder's latent y
 * gets the step's uniform noise u (drawn in JS, `drawUniformNoise`, as the onnxruntime engine draws it),
 * the decoder reconstructs from ỹ = y + u, and the loss is
 *   reconstruction (mean over rows and values) + λ · Σ −log2 p(ỹ) / (rows · inputDim) + L1/L2 on kernels.
 * The density's μ and ℓ are trained with the network. The step uses tfjs autodiff (`tf.variableGrads`)
 * with Adam applied by hand (tf.train.adam semantics), as the VAE engine does; the onnxruntime engine's
 * hand-written gradients are checked against it.
 *
 * evaluate() is the validation loss of a rate model: reconstruction from the rounded, clamped latents
 * (what inference decodes) + λ · bits per value at those latents.
 */
import * as tf from '@tensorflow/tfjs';
import { type DenseLayerInfo, denseLayers, encoderDepth } from '@aekit/core';
import type { AdamState, DenseParams, EngineConfig, ParamSet, TrainingEngine } from '../engine.js';
import { checkEngineConfig } from '../engine-config.js';
import { ACTIVATION_OPS, alphaOf } from '../engines/tfjs/activations.js';
import type { TfjsBackendName } from '../engines/tfjs/backend-names.js';
import { selectTfjsBackend } from '../engines/tfjs/backend.js';
import { EVAL_BATCH, batchTensors, mapRows, readLosses, rowsTensor } from '../engines/tfjs/batches.js';
import { adamAssign, reconstructionSum } from '../engines/tfjs/step.js';
import { RATE_DENSITY_LAYER, RATE_LATENT_MAX, RATE_LATENT_MIN, RATE_PROB_FLOOR, type RateConfig, drawUniformNoise, initDensity, roundLatents } from './rate-math.js';

/** −log2 p(ỹ) per element ([rows, latent]) under the logistic bins (rate-math.ts). Call inside tf.tidy. */
export function latentBitsTensor(yt: tf.Tensor2D, loc: tf.Tensor, logScale: tf.Tensor): tf.Tensor2D {
  const t = tf.abs(tf.sub(yt, loc));
  const invScale = tf.exp(tf.neg(logScale));
  const upper = tf.sigmoid(tf.mul(tf.sub(0.5, t), invScale));
  const lower = tf.sigmoid(tf.mul(tf.sub(-0.5, t), invScale));
  const p = tf.maximum(tf.sub(upper, lower), RATE_PROB_FLOOR);
  return tf.div(tf.log(p), -Math.LN2) as tf.Tensor2D;
}

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

type RateEngineConfig = EngineConfig & { rate: RateConfig };

export class TfjsRateEngine implements TrainingEngine {
  readonly name = 'tfjs' as const;
  readonly versions: Readonly<Record<string, string>> = { '@tensorflow/tfjs': tf.version.tfjs };
  readonly latentLattice = { min: RATE_LATENT_MIN, max: RATE_LATENT_MAX };
  private layers: Dense[] = [];
  /** μ (w, [1, latent]) and ℓ (b, [latent]). */
  private density: Dense | undefined;
  private m: tf.Tensor[] = [];
  private v: tf.Tensor[] = [];
  private step = 0;
  private readonly info: DenseLayerInfo[];

  private constructor(
    readonly backend: TfjsBackendName,
    private readonly config: RateEngineConfig,
  ) {
    this.info = denseLayers(config.spec);
  }

  static async create(config: RateEngineConfig, backend: TfjsBackendName | 'auto' = 'auto'): Promise<TfjsRateEngine> {
    checkEngineConfig(config);
    return new TfjsRateEngine(await selectTfjsBackend(backend), config);
  }

  private vars(): tf.Variable[] {
    return [...this.layers, this.density!].flatMap((d) => [d.w, d.b]);
  }

  /** `params`: the dense layers, optionally followed by the density (else μ = ℓ = 0); moments alike. */
  async setState(params: ParamSet, optimizer?: AdamState): Promise<void> {
    this.disposeAll();
    const n = this.info.length;
    const all = [...params.slice(0, n), params[n] ?? initDensity(this.config.spec.latent.units)];
    const make = (p: DenseParams): Dense => ({ w: tf.variable(tf.tensor2d(p.kernel, [p.inputDim, p.units])), b: tf.variable(tf.tensor1d(p.bias)) });
    this.layers = all.slice(0, n).map(make);
    this.density = make(all[n]!);
    const moments = (set: ParamSet | undefined) =>
      all.flatMap((p, i) => {
        const q = set?.[i];
        return [tf.tensor2d(q?.kernel ?? new Float32Array(p.kernel.length), [p.inputDim, p.units]), tf.tensor1d(q?.bias ?? new Float32Array(p.units))];
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

  encodeTensor(x: tf.Tensor): tf.Tensor2D {
    let h = x;
    for (let l = 0; l < encoderDepth(this.config.spec); l++) h = this.dense(l, h);
    return h as tf.Tensor2D;
  }

  decodeTensor(z: tf.Tensor): tf.Tensor {
    let y = z;
    for (let l = encoderDepth(this.config.spec); l < this.layers.length; l++) y = this.dense(l, y);
    return y;
  }

  /** Σ −log2 p of latent rows (scalar). Call inside tf.tidy. */
  bitsSum(latent: tf.Tensor2D): tf.Scalar {
    return tf.sum(latentBitsTensor(latent, this.density!.w, this.density!.b));
  }

  /** Loss terms of one batch with the given noise u ([rows, latent]); `bits` is per input value. Call inside tf.tidy. */
  lossTerms(x: tf.Tensor2D, u: tf.Tensor2D, target: tf.Tensor2D = x): { loss: tf.Scalar; recon: tf.Scalar; bits: tf.Scalar } {
    const yt = tf.add(this.encodeTensor(x), u) as tf.Tensor2D;
    const out = this.decodeTensor(yt);
    const recon = tf.div(reconstructionSum(this.config.loss, out, target), target.size) as tf.Scalar;
    const bits = tf.div(this.bitsSum(yt), x.shape[0] * this.config.spec.inputDim) as tf.Scalar;
    let loss = tf.add(recon, tf.mul(bits, this.config.rate.weight)) as tf.Scalar;
    for (const { w } of this.layers) {
      if (this.config.l1 > 0) loss = tf.add(loss, tf.mul(tf.sum(tf.abs(w)), this.config.l1));
      if (this.config.l2 > 0) loss = tf.add(loss, tf.mul(tf.sum(tf.square(w)), this.config.l2));
    }
    return { loss, recon, bits };
  }

  async trainSteps(data: Float32Array, rows: number, targets?: Float32Array): Promise<Float32Array> {
    this.assertReady();
    const cols = this.config.spec.inputDim;
    const latent = this.config.spec.latent.units;
    const bs = this.config.batchSize;
    const vars = this.vars();
    const losses: tf.Tensor[] = [];
    for (let start = 0; start < rows; start += bs) {
      const n = Math.min(bs, rows - start);
      const t = ++this.step;
      const noise = drawUniformNoise(this.config.rate.seed, t, n * latent);
      const oldM = this.m;
      const oldV = this.v;
      const out = tf.tidy(() => {
        const { x, target } = batchTensors(data, targets, start, n, cols);
        const u = tf.tensor2d(noise, [n, latent]);
        const { value, grads } = tf.variableGrads(() => this.lossTerms(x, u, target).loss, vars);
        return { value, ...adamAssign(vars, grads, oldM, oldV, this.config.adam, t) };
      });
      tf.dispose([...oldM, ...oldV]);
      this.m = out.m;
      this.v = out.v;
      losses.push(out.value);
    }
    return readLosses(losses);
  }

  /** Validation loss: reconstruction from the rounded latents + λ · bits per value there (rate-math.ts). */
  async evaluate(data: Float32Array, rows: number): Promise<number> {
    this.assertReady();
    const { inputDim: cols, latent } = this.config.spec;
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
    return (recon + this.config.rate.weight * bits) / (rows * cols);
  }

  async encode(data: Float32Array, rows: number): Promise<Float32Array> {
    this.assertReady();
    return mapRows(data, rows, this.config.spec.inputDim, this.config.spec.latent.units, (x) => this.encodeTensor(x));
  }

  /** Dense layers in spec order, then the `latent_density` pseudo-layer; optimizer moments alike. */
  async getState(): Promise<{ params: ParamSet; optimizer: AdamState }> {
    this.assertReady();
    const shapes = [
      ...this.info.map((l) => ({ name: l.name, inputDim: l.inputDim, units: l.units })),
      { name: RATE_DENSITY_LAYER, inputDim: 1, units: this.config.spec.latent.units },
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
    if (this.density) tf.dispose([...this.vars(), ...this.m, ...this.v]);
    this.layers = [];
    this.density = undefined;
    this.m = [];
    this.v = [];
  }

  private assertReady(): void {
    if (this.density === undefined) throw new Error('TfjsRateEngine: call setState() before training or inference');
  }
}
