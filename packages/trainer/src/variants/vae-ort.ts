/**
 * The VAE on onnxruntime (CPU): one generated ONNX graph runs the forward pass with both heads, the
 * reparameterised sample z = μ + exp(log σ² / 2)·ε (ε is an input, drawn in JS per step exactly as the
 * tfjs VAE engine draws it, vae-math.ts `drawEpsilon`, so both engines follow the same trajectory), the loss
 * reconstruction + β·KL / inputDim (and L1/L2 on every kernel), the backward pass written out, and Adam
 * — the same semantics as ./vae.ts. One step per run, one graph input per tensor; evaluate and encode
 * reuse the exporter's forward graphs (the mean path needs only the spec's dense layers).
 */
import { BackendError, type ModelSpec, Rng, modelLayers, encoderDepth } from '@aekit/core';
import { ACTIVATIONS, GraphBuilder, attr, sign } from '@aekit/onnx';
import { TRAINING_OPSET, buildForwardGraph, stateInputNames } from '../graphs/index.js';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { AdamState, EngineRows, LayerParams, ParamSet, TrainingEngine } from '../engine.js';
import { checkEngineConfig, withLearningRate } from '../engine-config.js';
import { forwardMeanLoss, forwardRows } from '../engines/ort-forward.js';
import { BCE_EPSILON } from '../losses.js';
import { type VaeEngineConfig, LOG_VAR_LAYER, drawEpsilon, headInputDim, initLogVarHead } from './vae-math.js';

interface Layer {
  name: string;
  inputDim: number;
  units: number;
}

/** Every trained tensor, in order: the spec's dense layers (kernel, bias), then the log-variance head. */
function vaeLayers(spec: ModelSpec): Layer[] {
  return [
    ...modelLayers(spec).map((l) => ({ name: l.name, inputDim: l.inputDim, units: l.units })),
    { name: LOG_VAR_LAYER, inputDim: headInputDim(spec), units: spec.latent.units },
  ];
}

function paramNames(spec: ModelSpec): string[] {
  return vaeLayers(spec).flatMap((l) => [`${l.name}.kernel`, `${l.name}.bias`]);
}

/** The VAE training step as ONNX bytes. Inputs: x, y (targets), eps, t, lr, params, m.*, v.*. */
export function buildVaeTrainingGraph(spec: ModelSpec, c: Pick<VaeEngineConfig, 'loss' | 'adam' | 'l1' | 'l2' | 'beta'>): Uint8Array {
  const g = new GraphBuilder('aekit_vae_train_step');
  const D = spec.inputDim;
  const L = spec.latent.units;
  const f = (v: number) => g.constFloat(v);
  const layers = vaeLayers(spec);
  const names = paramNames(spec);
  g.input('x', 'float32', ['batch', D]);
  g.input('y', 'float32', ['batch', D]);
  g.input('eps', 'float32', ['batch', L]);
  g.input('t', 'float32', []);
  g.input('lr', 'float32', []);
  const shape = (i: number) => (i % 2 === 0 ? [layers[i >> 1]!.inputDim, layers[i >> 1]!.units] : [layers[i >> 1]!.units]);
  names.forEach((n, i) => g.input(n, 'float32', shape(i)));
  names.forEach((n, i) => g.input(`m.${n}`, 'float32', shape(i)));
  names.forEach((n, i) => g.input(`v.${n}`, 'float32', shape(i)));
  const W = (i: number) => names[2 * i]!;
  const B = (i: number) => names[2 * i + 1]!;

  const dense = modelLayers(spec);
  const depth = encoderDepth(spec); // hidden encoder layers + the latent (mean) layer
  const head = dense.length; // index of the log-variance head in `layers`
  const inputs: string[] = [];
  const acts: { out: string; derivative(): string | null }[] = [];
  const forward = (i: number, a: string) => {
    inputs[i] = a;
    const z = g.op('Gemm', [a, W(i), B(i)]);
    const act = ACTIVATIONS[dense[i]!.activation.name](g, z, dense[i]!.activation);
    acts[i] = act;
    return act.out;
  };
  let h = 'x';
  for (let i = 0; i < depth - 1; i++) h = forward(i, h);
  const mean = forward(depth - 1, h);
  const logVar = g.op('Gemm', [h, W(head), B(head)]);
  const std = g.op('Exp', [g.op('Mul', [logVar, f(0.5)])]);
  const noiseTerm = g.op('Mul', [std, 'eps']);
  let a = g.op('Add', [mean, noiseTerm]);
  for (let i = depth; i < dense.length; i++) a = forward(i, a);
  const out = a;

  // Reconstruction (mean over the batch's values) and dL/dout.
  const count = g.op('Cast', [g.op('Size', [out])], { to: attr.int(1) });
  let recon: string;
  let dA: string;
  if (c.loss === 'mse') {
    const diff = g.op('Sub', [out, 'y']);
    recon = g.op('ReduceMean', [g.op('Mul', [diff, diff])], { keepdims: attr.int(0) });
    dA = g.op('Mul', [diff, g.op('Div', [f(2), count])]);
  } else {
    const p = g.op('Clip', [out, f(BCE_EPSILON), f(1 - BCE_EPSILON)]);
    const q = g.op('Sub', [f(1), p]);
    const logP = g.op('Log', [p]);
    const logQ = g.op('Log', [q]);
    const ll = g.op('Add', [logQ, g.op('Mul', ['y', g.op('Sub', [logP, logQ])])]);
    recon = g.op('Neg', [g.op('ReduceMean', [ll], { keepdims: attr.int(0) })]);
    const inside = g.op('Cast', [g.op('And', [g.op('GreaterOrEqual', [out, f(BCE_EPSILON)]), g.op('LessOrEqual', [out, f(1 - BCE_EPSILON)])])], { to: attr.int(1) });
    dA = g.op('Div', [g.op('Mul', [g.op('Div', [g.op('Sub', [p, 'y']), g.op('Mul', [p, q])]), inside]), count]);
  }
  // KL = −½ Σ (1 + lv − μ² − e^lv) / rows, weighted β / D.
  const rows = g.op('Cast', [g.op('Gather', [g.op('Shape', ['x']), g.constInt64([0], [])], { axis: attr.int(0) })], { to: attr.int(1) });
  const expLv = g.op('Exp', [logVar]);
  const klSum = g.op('ReduceSum', [g.op('Sub', [g.op('Sub', [g.op('Add', [f(1), logVar]), g.op('Mul', [mean, mean])]), expLv])], { keepdims: attr.int(0) });
  const kl = g.op('Div', [g.op('Mul', [klSum, f(-0.5)]), rows]);
  let loss = g.op('Add', [recon, g.op('Mul', [kl, f(c.beta / D)])]);
  const klScale = g.op('Div', [f(c.beta / D), rows]); // d(β·KL/D)/dμ = klScale·μ, d/dlv = klScale·½(e^lv − 1)

  // Penalties on every kernel.
  const penaltyGrad: (string | undefined)[] = [];
  layers.forEach((_l, i) => {
    const w = W(i);
    const grads: string[] = [];
    if (c.l1 > 0) {
      loss = g.op('Add', [loss, g.op('Mul', [g.op('ReduceSum', [g.op('Abs', [w])], { keepdims: attr.int(0) }), f(c.l1)])]);
      grads.push(g.op('Mul', [sign(g, w), f(c.l1)]));
    }
    if (c.l2 > 0) {
      loss = g.op('Add', [loss, g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [w, w])], { keepdims: attr.int(0) }), f(c.l2)])]);
      grads.push(g.op('Mul', [w, f(2 * c.l2)]));
    }
    penaltyGrad[i] = grads.length === 0 ? undefined : grads.length === 1 ? grads[0] : g.op('Add', grads);
  });
  g.op('Identity', [loss], {}, 'loss');

  // Backward.
  const grads: string[] = new Array<string>(names.length);
  const axis0 = g.constInt64([0]);
  const back = (i: number, dOut: string, wantInput: boolean): string | undefined => {
    const d = acts[i]!.derivative();
    const dZ = d === null ? dOut : g.op('Mul', [dOut, d]);
    let dW = g.op('Gemm', [inputs[i]!, dZ], { transA: attr.int(1) });
    if (penaltyGrad[i]) dW = g.op('Add', [dW, penaltyGrad[i]!]);
    grads[2 * i] = dW;
    grads[2 * i + 1] = g.op('ReduceSum', [dZ, axis0], { keepdims: attr.int(0) });
    return wantInput ? g.op('Gemm', [dZ, W(i)], { transB: attr.int(1) }) : undefined;
  };
  for (let i = dense.length - 1; i >= depth; i--) dA = back(i, dA, true)!;
  const dZs = dA; // dL/dz of the sample
  const dMean = g.op('Add', [dZs, g.op('Mul', [mean, klScale])]);
  const dLogVar = g.op('Add', [
    g.op('Mul', [g.op('Mul', [dZs, noiseTerm]), f(0.5)]),
    g.op('Mul', [g.op('Mul', [g.op('Sub', [expLv, f(1)]), f(0.5)]), klScale]),
  ]);
  const dH1 = back(depth - 1, dMean, depth > 1);
  // The head: linear, input h.
  let dWh = g.op('Gemm', [h, dLogVar], { transA: attr.int(1) });
  if (penaltyGrad[head]) dWh = g.op('Add', [dWh, penaltyGrad[head]!]);
  grads[2 * head] = dWh;
  grads[2 * head + 1] = g.op('ReduceSum', [dLogVar, axis0], { keepdims: attr.int(0) });
  if (depth > 1) {
    let dH = g.op('Add', [dH1!, g.op('Gemm', [dLogVar, W(head)], { transB: attr.int(1) })]);
    for (let i = depth - 2; i >= 0; i--) dH = back(i, dH, i > 0) ?? dH;
  }

  // Adam (tf.train.adam semantics).
  const { beta1, beta2, epsilon } = c.adam;
  const t = g.op('Add', ['t', f(1)]);
  const stepSize = g.op('Div', ['lr', g.op('Sub', [f(1), g.op('Pow', [f(beta1), t])])]);
  const invSqrtBc2 = g.op('Reciprocal', [g.op('Sqrt', [g.op('Sub', [f(1), g.op('Pow', [f(beta2), t])])])]);
  names.forEach((n, i) => {
    const gr = grads[i]!;
    const m = g.op('Add', [g.op('Mul', [`m.${n}`, f(beta1)]), g.op('Mul', [gr, f(1 - beta1)])], {}, `new.m.${n}`);
    const v = g.op('Add', [g.op('Mul', [`v.${n}`, f(beta2)]), g.op('Mul', [g.op('Mul', [gr, gr]), f(1 - beta2)])], {}, `new.v.${n}`);
    const denom = g.op('Add', [g.op('Mul', [g.op('Sqrt', [v]), invSqrtBc2]), f(epsilon)]);
    g.op('Sub', [n, g.op('Mul', [g.op('Div', [m, denom]), stepSize])], {}, `new.${n}`);
  });
  g.output('loss', 'float32', []);
  names.forEach((n, i) => g.output(`new.${n}`, 'float32', shape(i)));
  names.forEach((n, i) => g.output(`new.m.${n}`, 'float32', shape(i)));
  names.forEach((n, i) => g.output(`new.v.${n}`, 'float32', shape(i)));
  return g.toBytes({ opset: TRAINING_OPSET, producerName: 'aekit', docString: `aekit VAE training step (${c.loss}, beta ${c.beta})` });
}

type OrtNode = typeof import('onnxruntime-node');

export class OrtVaeEngine implements TrainingEngine {
  readonly name = 'ort' as const;
  readonly backend = 'cpu';
  readonly versions: Readonly<Record<string, string>>;
  private state = new Map<string, Tensor>();
  private step = 0;
  private readonly denseNames: string[];

  private constructor(
    private readonly ort: OrtNode,
    private config: VaeEngineConfig,
    private readonly sessions: { train: InferenceSession; evaluate: InferenceSession; encode: InferenceSession },
  ) {
    this.denseNames = stateInputNames(config.spec, 'tensors').params;
    this.versions = { 'onnxruntime-node': ort.env.versions.node ?? '' };
  }

  static async create(config: VaeEngineConfig, backend: string): Promise<OrtVaeEngine> {
    checkEngineConfig(config);
    if (backend !== 'auto' && backend !== 'cpu') {
      throw new BackendError(`the VAE trains on onnxruntime's cpu device only (got backend "${backend}"); use --backend cpu or --engine tfjs`);
    }
    const ort = await import('onnxruntime-node');
    const options: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: config.spinning === true ? '1' : '0' } } },
      ...(config.threads === undefined ? {} : { intraOpNumThreads: config.threads }),
    };
    const open = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, options);
    return new OrtVaeEngine(ort, config, {
      train: await open(buildVaeTrainingGraph(config.spec, config)),
      evaluate: await open(buildForwardGraph(config.spec, { output: 'loss', loss: config.loss, layout: 'tensors' }).bytes),
      encode: await open(buildForwardGraph(config.spec, { output: 'latent', layout: 'tensors' }).bytes),
    });
  }

  private tensor(data: Float32Array, dims: readonly number[]): Tensor {
    return new this.ort.Tensor('float32', data, dims);
  }

  async setState(params: ParamSet, optimizer?: AdamState): Promise<void> {
    const layers = vaeLayers(this.config.spec);
    const n = layers.length - 1;
    const head = params[n] ?? initLogVarHead(this.config.spec, new Rng((this.config.seed + 4) >>> 0));
    const all: LayerParams[] = [...params.slice(0, n), head];
    const state = new Map<string, Tensor>();
    layers.forEach((l, i) => {
      const p = all[i]!;
      const put = (prefix: string, src: LayerParams | undefined) => {
        state.set(`${prefix}${l.name}.kernel`, this.tensor((src?.kernel ?? new Float32Array(l.inputDim * l.units)).slice(), [l.inputDim, l.units]));
        state.set(`${prefix}${l.name}.bias`, this.tensor((src?.bias ?? new Float32Array(l.units)).slice(), [l.units]));
      };
      put('', p);
      put('m.', optimizer?.m[i]);
      put('v.', optimizer?.v[i]);
    });
    this.state = state;
    this.step = optimizer?.step ?? 0;
  }

  async trainSteps(data: Float32Array, rows: number, targets?: Float32Array): Promise<Float32Array> {
    const D = this.config.spec.inputDim;
    const L = this.config.spec.latent.units;
    const bs = this.config.batchSize;
    const losses = new Float32Array(Math.ceil(rows / bs));
    const lr = this.tensor(Float32Array.of(this.config.adam.learningRate), []);
    for (let start = 0, k = 0; start < rows; start += bs, k++) {
      const n = Math.min(bs, rows - start);
      const eps = drawEpsilon(this.config.seed, this.step + 1, n * L);
      const x = data.subarray(start * D, (start + n) * D);
      const feeds: Record<string, Tensor> = {
        x: this.tensor(x, [n, D]),
        y: this.tensor(targets === undefined ? x : targets.subarray(start * D, (start + n) * D), [n, D]),
        eps: this.tensor(eps, [n, L]),
        t: this.tensor(Float32Array.of(this.step), []),
        lr,
      };
      for (const [name, t] of this.state) feeds[name] = t;
      const out = await this.sessions.train.run(feeds);
      for (const name of [...this.state.keys()]) this.state.set(name, out[`new.${name}`]!);
      losses[k] = (out['loss']!.data as Float32Array)[0]!;
      this.step++;
    }
    return losses;
  }

  // The VAE engine never takes byte input (it leaves byteInput unset), so rows are float32.
  private denseFeeds(x: EngineRows, n: number): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = { x: this.tensor(x as Float32Array, [n, this.config.spec.inputDim]) };
    for (const name of this.denseNames) feeds[name] = this.state.get(name)!;
    return feeds;
  }

  async evaluate(data: Float32Array, rows: number): Promise<number> {
    return forwardMeanLoss(this.sessions.evaluate, (x, n) => this.denseFeeds(x, n), data, rows, this.config.spec.inputDim);
  }

  /** z_mean of the rows. */
  async encode(data: Float32Array, rows: number): Promise<Float32Array> {
    const { inputDim, latent } = this.config.spec;
    return forwardRows(this.sessions.encode, 'z', latent.units, (x, n) => this.denseFeeds(x, n), data, rows, inputDim);
  }

  setLearningRate(learningRate: number): void {
    this.config = withLearningRate(this.config, learningRate);
  }

  async getState(): Promise<{ params: ParamSet; optimizer: AdamState }> {
    const read = (prefix: string): ParamSet =>
      vaeLayers(this.config.spec).map((l) => ({
        ...l,
        kernel: (this.state.get(`${prefix}${l.name}.kernel`)!.data as Float32Array).slice(),
        bias: (this.state.get(`${prefix}${l.name}.bias`)!.data as Float32Array).slice(),
      }));
    return { params: read(''), optimizer: { step: this.step, m: read('m.'), v: read('v.') } };
  }

  dispose(): void {
    this.state.clear();
    void Promise.all([this.sessions.train.release(), this.sessions.evaluate.release(), this.sessions.encode.release()]);
  }
}
