/**
 * The onnxruntime training engine: one generated ONNX graph does forward, loss, backward and the Adam
 * update (graphs/graph.ts: buildTrainingGraph); onnxruntime runs it on CPU, CUDA or WebGPU.
 *
 * The engine takes the onnxruntime module it is given (onnxruntime-node or onnxruntime-web) and uses
 * no Node API, so the same code trains in Node and in browsers. Parameters and Adam moments never
 * leave onnxruntime's tensors between steps: each run's output tensors are the next run's inputs.
 *
 * Design choices (measurements in docs/ort-engine.md):
 *  - `flat` layout (params, m, v as three vectors; the Adam update is ~13 element-wise nodes instead of
 *    ~160) rather than one input per tensor: faster at small batches, equal at large ones.
 *  - several steps per run (an ONNX Loop over K batches) amortises the per-run cost (the call plus the
 *    copy of the state in and out of the session): see defaultStepsPerRun.
 *  - `allow_spinning: '0'`: with spinning on, 2 intra-op threads on 2 shared cores ran slower than 1.
 */
import {
  BackendError,
  DataError,
  SpecError,
  UsageError,
  modelLayers,
  type ModelSpec,
  type OrtModule as CoreOrtModule,
} from '@aekit/core';
import {
  buildForwardGraph,
  buildRateEvaluateGraph,
  buildReadoutGraph,
  BYTES_INPUT,
  buildTrainingGraph,
  parameterSlots,
  updatedName,
  type ConvLowering,
  type ParamLayout,
  type ParamSlot,
  type TrainingGraph,
} from '../graphs/index.js';
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import type { AdamState, EngineConfig, EngineRows, ParamSet, TrainingEngine } from '../engine.js';
import { checkEngineConfig, withLearningRate } from '../engine-config.js';
import { EVAL_BATCH, forwardMeanLoss, forwardRows } from './ort-forward.js';
import { RATE_DENSITY_LAYER, RATE_LATENT_MAX, RATE_LATENT_MIN, drawUniformNoise, initDensity, roundLatents } from '../variants/rate-math.js';

/**
 * The part of an onnxruntime module the engine uses: core's structural `OrtModule`, narrowed to
 * onnxruntime-common's own session and tensor types (the engine keeps state in typed tensors between
 * runs), plus `env` for the versions it reports. `onnxruntime-node` and `onnxruntime-web` both satisfy it.
 */
export interface OrtModule extends CoreOrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: typeof Tensor;
  env?: { versions?: Readonly<Record<string, string | undefined>> };
}

/**
 * Where the graph runs. `cpu` (onnxruntime-node), `cuda` (onnxruntime-node with its CUDA provider
 * installed: ONNXRUNTIME_NODE_INSTALL=cuda12, CUDA 12 + cuDNN 9), `webgpu` (onnxruntime-node's bundled
 * WebGPU EP over Vulkan, or onnxruntime-web in a browser), `wasm` (onnxruntime-web).
 */
export type OrtDevice = 'cpu' | 'cuda' | 'webgpu' | 'wasm';
export const ORT_DEVICES: readonly OrtDevice[] = ['cpu', 'cuda', 'webgpu', 'wasm'];

/** Device → execution providers, in the order onnxruntime should try them (no silent CPU fallback). */
const EXECUTION_PROVIDERS: Record<OrtDevice, string[]> = {
  cpu: ['cpu'],
  cuda: ['cuda'],
  webgpu: ['webgpu'],
  wasm: ['wasm'],
};

/**
 * Batches per run() when not set: about 2048 rows per run, 4 to 64 batches (where rows/s levels off;
 * docs/ort-engine.md has the measurements).
 */
export function defaultStepsPerRun(batchSize: number): number {
  return Math.min(64, Math.max(4, Math.round(2048 / batchSize)));
}

export interface OrtEngineOptions {
  /** The onnxruntime module: `await import('onnxruntime-node')` or `onnxruntime-web`. */
  ort: OrtModule;
  /** Default `cpu`. */
  device?: OrtDevice;
  /**
   * Intra-op threads (onnxruntime-node cpu). Default: onnxruntime's choice (one per physical core).
   * onnxruntime-web takes its thread count from `ort.env.wasm.numThreads` instead.
   */
  threads?: number;
  /**
   * Let onnxruntime's intra-op threads spin between ops instead of sleeping. Default off: on a shared
   * machine spinning threads fight the other jobs (2 threads ran slower than 1 here); on an otherwise
   * idle machine with threads ≥ 2 it saves the wake-up after each of the step's ~100 ops.
   */
  spinning?: boolean;
  /** Optimizer steps per run() (an ONNX Loop over that many batches); 1 uses the single-step graph. */
  stepsPerRun?: number;
  /** Parameter layout in the graph; default `flat` (`tensors` on webgpu). */
  layout?: ParamLayout;
  /**
   * Keep parameters and Adam moments in device buffers between runs (`preferredOutputLocation:
   * 'gpu-buffer'`), reading them back only for getState(). Default: on for webgpu, off elsewhere
   * (on CPU, outputs already are plain memory fed straight back).
   */
  stateOnDevice?: boolean;
  /** How the graphs write convolutions (graphs/conv.ts); default `ops` (measured in docs/ort-engine.md). */
  convLowering?: ConvLowering;
}

function checkRows(data: EngineRows, rows: number, cols: number, what: string, bytes = false): void {
  if (data instanceof Uint8Array !== bytes) {
    throw new DataError(`${what}: this engine takes ${bytes ? 'bytes (Uint8Array: it was created with byteInput)' : 'normalised float32 rows (Float32Array)'}, got a ${data.constructor.name}`);
  }
  if (!Number.isInteger(rows) || rows < 1) throw new DataError(`${what}: rows must be an integer >= 1, got ${rows}`);
  if (data.length < rows * cols) {
    throw new DataError(
      `${what}: ${rows} rows of ${cols} columns need ${rows * cols} values, got ${data.length} ` +
        `(the data's width must equal the model's inputDim ${cols})`,
    );
  }
}

export class OrtEngine implements TrainingEngine {
  readonly name = 'ort' as const;
  /** The execution provider that runs the graphs. */
  readonly backend: OrtDevice;
  readonly stepsPerRun: number;
  /** onnxruntime package versions, recorded in checkpoints. */
  readonly versions: Readonly<Record<string, string>>;
  /** Set with `config.rate`: the latents are coded on the integer lattice. */
  readonly latentLattice?: { min: number; max: number };
  /** Rows arrive as bytes (config.byteInput; not on WebGPU, which has no 8-bit tensors). */
  readonly byteInput: boolean;
  private readonly slots: ParamSlot[];
  private state: Map<string, Tensor> | null = null;
  private step = 0;

  private constructor(
    private readonly ort: OrtModule,
    private config: EngineConfig & { spec: ModelSpec },
    device: OrtDevice,
    private readonly layout: ParamLayout,
    private readonly graph: TrainingGraph,
    stepsPerRun: number,
    private readonly sessions: {
      train: InferenceSession;
      evaluate: InferenceSession;
      encode: InferenceSession;
      /** Copies device-resident state back to the CPU (stateOnDevice only). */
      readout?: InferenceSession;
      /** The training graph with a targets input `y`, opened on first use. */
      trainWithTargets?: InferenceSession;
    },
    private readonly openWithTargets: () => Promise<InferenceSession>,
  ) {
    this.backend = device;
    this.stepsPerRun = stepsPerRun;
    this.byteInput = graph.inputs.x === BYTES_INPUT;
    this.slots = parameterSlots(config.spec);
    if (config.rate !== undefined) this.latentLattice = { min: RATE_LATENT_MIN, max: RATE_LATENT_MAX };
    const versions: Record<string, string> = {};
    for (const [k, v] of Object.entries(ort.env?.versions ?? {})) if (v) versions[`onnxruntime-${k}`] = v;
    this.versions = versions;
  }

  /** Builds the graphs and opens the sessions; a device onnxruntime cannot use → BackendError. */
  static async create(config: EngineConfig, options: OrtEngineOptions): Promise<OrtEngine> {
    const spec = checkEngineConfig(config);
    const device = options.device ?? 'cpu';
    if (!ORT_DEVICES.includes(device)) {
      throw new UsageError(`unknown onnxruntime device "${String(device)}"; valid: ${ORT_DEVICES.join(', ')}`);
    }
    // WebGPU: one step per run; a Loop node runs on the CPU EP and would move the state every step.
    const steps = options.stepsPerRun ?? (device === 'webgpu' ? 1 : defaultStepsPerRun(config.batchSize));
    if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`stepsPerRun must be an integer >= 1, got ${steps}`);
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 0)) {
      throw new UsageError(`threads must be an integer >= 0 (0 = onnxruntime's default), got ${options.threads}`);
    }
    // WebGPU binds every input of a node as a storage buffer (12 at most on SwiftShader, 8 on many
    // GPUs): the flat layout's 12-way Split / Concat exceeds that, so WebGPU gets one input per tensor.
    const layout = options.layout ?? (device === 'webgpu' ? 'tensors' : 'flat');
    const input = config.byteInput === true && device !== 'webgpu' ? ('bytes' as const) : ('float32' as const);
    const graphOptions = {
      input,
      loss: config.loss,
      adam: config.adam,
      l1: config.l1,
      l2: config.l2,
      layout,
      stepsPerRun: steps > 1 ? ('loop' as const) : ('single' as const),
      ...(config.rate !== undefined ? { rate: { weight: config.rate.weight } } : {}),
      ...(options.convLowering ? { conv: options.convLowering } : {}),
    };
    const conv = { input, ...(options.convLowering ? { conv: options.convLowering } : {}) };
    const graph = buildTrainingGraph(spec, graphOptions);
    const spin = options.spinning === true ? '1' : '0';
    const sessionOptions: InferenceSession.SessionOptions = {
      executionProviders: EXECUTION_PROVIDERS[device],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      // Warnings only (e.g. "some nodes were not assigned to the preferred execution providers": shape
      // ops on CPU by design) would print on every engine start.
      logSeverityLevel: 3,
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      // Spinning threads on a small shared machine cost more than they save (see the header).
      extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
    };
    const stateOnDevice = options.stateOnDevice ?? device === 'webgpu';
    if (stateOnDevice && device !== 'webgpu') {
      throw new UsageError(`stateOnDevice needs device webgpu (GPU buffers); device "${device}" keeps its state in memory`);
    }
    const stateOutputs = [...graph.outputs.params, ...graph.outputs.m, ...graph.outputs.v];
    const open = async (bytes: Uint8Array, outputsOnDevice: string[] = []) => {
      const location: InferenceSession.SessionOptions = outputsOnDevice.length
        ? { preferredOutputLocation: Object.fromEntries(outputsOnDevice.map((n) => [n, 'gpu-buffer' as const])) }
        : {};
      try {
        return await options.ort.InferenceSession.create(bytes, { ...sessionOptions, ...location });
      } catch (e) {
        throw new BackendError(
          `onnxruntime could not use device "${device}" (execution provider ${EXECUTION_PROVIDERS[device].join(', ')}): ` +
            `${e instanceof Error ? e.message : String(e)}` +
            (device === 'cuda'
              ? ' — the CUDA provider needs onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12 and CUDA 12 + cuDNN 9'
              : device === 'webgpu'
                ? ' — WebGPU needs a GPU adapter (in Node: a Vulkan loader and driver, e.g. libvulkan1)'
                : ''),
          { cause: e },
        );
      }
    };
    const train = await open(graph.bytes, stateOnDevice ? stateOutputs : []);
    // A rate model's validation loss decodes rounded latents and adds their bits (evaluate()).
    const evaluate = await open(
      config.rate !== undefined
        ? buildRateEvaluateGraph(spec, { loss: config.loss, layout, weight: config.rate.weight, ...conv })
        : buildForwardGraph(spec, { output: 'loss', loss: config.loss, layout, ...conv }).bytes,
    );
    const encode = await open(buildForwardGraph(spec, { output: 'latent', layout, ...conv }).bytes);
    const readout = stateOnDevice ? await open(buildReadoutGraph(spec, layout, config.rate !== undefined).bytes) : undefined;
    // The graph with separate targets (denoising) is built the first time targets are given.
    const openWithTargets = () =>
      open(buildTrainingGraph(spec, { ...graphOptions, targets: true }).bytes, stateOnDevice ? stateOutputs : []);
    return new OrtEngine(options.ort, { ...config, spec }, device, layout, graph, steps, { train, evaluate, encode, readout }, openWithTargets);
  }

  private tensor(data: EngineRows, dims: readonly number[]): Tensor {
    return data instanceof Uint8Array ? new this.ort.Tensor('uint8', data, dims) : new this.ort.Tensor('float32', data, dims);
  }

  async setState(params: ParamSet, optimizer?: AdamState): Promise<void> {
    const layers = modelLayers(this.config.spec);
    const rate = this.graph.rate;
    // A rate model's state may end with its density (absent at the start: μ = ℓ = 0).
    const density = rate !== undefined && params.length === layers.length + 1 ? params[layers.length]! : undefined;
    if (params.length !== layers.length && density === undefined) {
      throw new SpecError(`parameters hold ${params.length} layers; the model has ${layers.length}`);
    }
    if (density !== undefined && (density.name !== RATE_DENSITY_LAYER || density.kernel.length !== this.config.spec.latent.units || density.bias.length !== this.config.spec.latent.units)) {
      throw new SpecError(`parameters end with ${density.name} (${density.kernel.length} + ${density.bias.length} values); a rate model's ${RATE_DENSITY_LAYER} needs 2 × ${this.config.spec.latent.units}`);
    }
    params.slice(0, layers.length).forEach((p, i) => {
      const l = layers[i]!;
      if (p.kernel.length !== l.inputDim * l.units || p.bias.length !== l.units) {
        throw new SpecError(
          `parameters of layer ${p.name}: kernel ${p.kernel.length} / bias ${p.bias.length} values, ` +
            `the model's ${l.name} needs ${l.inputDim}×${l.units} / ${l.units}`,
        );
      }
    });
    const pieces = (set: ParamSet | undefined) =>
      this.slots.map((s, i) => {
        const layer = set?.[i >> 1];
        return (s.kind === 'kernel' ? layer?.kernel : layer?.bias) ?? new Float32Array(s.size);
      });
    const names = this.graph.inputs;
    const state = new Map<string, Tensor>();
    const put = (inputNames: string[], values: Float32Array[]) => {
      if (this.layout === 'flat') {
        const flat = new Float32Array(this.slots.reduce((n, s) => n + s.size, 0));
        this.slots.forEach((s, i) => flat.set(values[i]!, s.offset));
        state.set(inputNames[0]!, this.tensor(flat, [flat.length]));
      } else {
        this.slots.forEach((s, i) => state.set(inputNames[i]!, this.tensor(values[i]!.slice(), s.shape)));
      }
    };
    put(names.params, pieces(params));
    put(names.m, pieces(optimizer?.m));
    put(names.v, pieces(optimizer?.v));
    if (rate !== undefined) {
      const L = this.config.spec.latent.units;
      const n = layers.length;
      const pack = (p: { kernel: Float32Array; bias: Float32Array } | undefined) => {
        const d = new Float32Array(2 * L);
        if (p !== undefined) {
          d.set(p.kernel, 0);
          d.set(p.bias, L);
        }
        return this.tensor(d, [2, L]);
      };
      state.set(rate.density, pack(density ?? initDensity(L)));
      state.set(rate.m, pack(optimizer?.m[n]));
      state.set(rate.v, pack(optimizer?.v[n]));
    }
    this.disposeState();
    this.state = state;
    this.step = optimizer?.step ?? 0;
  }

  /**
   * One Adam step per batch. `targets` (same shape as `data`), when given, is what the output is
   * scored against instead of `data` (denoising: data corrupted, targets clean). Supported and tested
   * against the tfjs engine (test/ort.test.ts, test/ort-train.test.ts with `noise`); this replaced an
   * earlier "use --engine tfjs" refusal, which packages/trainer/test/noise.test.ts still expects.
   */
  async trainSteps(data: EngineRows, rows: number, targets?: Float32Array): Promise<Float32Array> {
    const state = this.ready();
    const cols = this.config.spec.inputDim;
    checkRows(data, rows, cols, 'trainSteps', this.byteInput);
    if (targets !== undefined) checkRows(targets, rows, cols, 'trainSteps targets');
    const session = targets === undefined ? this.sessions.train : (this.sessions.trainWithTargets ??= await this.openWithTargets());
    const bs = this.config.batchSize;
    const full = Math.floor(rows / bs);
    const losses = new Float32Array(Math.ceil(rows / bs));
    const lr = this.tensor(Float32Array.of(this.config.adam.learningRate), []);
    const loop = this.graph.loop;
    let batch = 0;
    // Full batches, up to stepsPerRun of them per run; then the short last batch on its own.
    const chunks: Array<{ start: number; steps: number; rows: number }> = [];
    for (let b = 0; b < full; b += this.stepsPerRun) {
      chunks.push({ start: b * bs, steps: Math.min(this.stepsPerRun, full - b), rows: bs });
    }
    if (rows % bs) chunks.push({ start: full * bs, steps: 1, rows: rows % bs });
    for (const c of chunks) {
      // A view of the caller's data: no copy on the JS side.
      const x = data.subarray(c.start * cols, (c.start + c.steps * c.rows) * cols);
      const dims = loop ? [c.steps, c.rows, cols] : [c.rows, cols];
      const feeds: Record<string, Tensor> = {
        [this.graph.inputs.x]: this.tensor(x, dims),
        t: this.tensor(Float32Array.of(this.step), []),
        lr,
      };
      if (targets !== undefined) feeds['y'] = this.tensor(targets.subarray(c.start * cols, (c.start + c.steps * c.rows) * cols), dims);
      if (this.graph.rate !== undefined) feeds[this.graph.rate.noise] = this.noise(c.steps, c.rows, loop);
      for (const [k, v] of state) feeds[k] = v;
      const out = await session.run(feeds);
      for (const [k, old] of state) {
        state.set(k, out[updatedName(k)]!);
        // The previous step's device buffers are dead now; CPU tensors need no freeing.
        if (old.location === 'gpu-buffer') old.dispose();
      }
      losses.set(out[this.graph.outputs.loss]!.data as Float32Array, batch);
      batch += c.steps;
      this.step += c.steps;
    }
    return losses;
  }

  /** The noise of the next `steps` Adam steps of `rows` rows each (drawn per step, as the tfjs engine draws it). */
  private noise(steps: number, rows: number, loop: boolean): Tensor {
    const L = this.config.spec.latent.units;
    const u = new Float32Array(steps * rows * L);
    for (let j = 0; j < steps; j++) u.set(drawUniformNoise(this.config.rate!.seed, this.step + 1 + j, rows * L), j * rows * L);
    return this.tensor(u, loop ? [steps, rows, L] : [rows, L]);
  }

  /**
   * Mean reconstruction loss; for a rate model, the reconstruction from the rounded latents + λ · bits
   * per value there (variants/rate-math.ts).
   */
  async evaluate(data: EngineRows, rows: number): Promise<number> {
    const state = this.ready();
    const cols = this.config.spec.inputDim;
    checkRows(data, rows, cols, 'evaluate', this.byteInput);
    const rate = this.graph.rate;
    if (rate !== undefined) {
      const L = this.config.spec.latent.units;
      let total = 0;
      for (let start = 0; start < rows; start += EVAL_BATCH) {
        const n = Math.min(EVAL_BATCH, rows - start);
        const x = data.subarray(start * cols, (start + n) * cols);
        const z = roundLatents(await this.encode(x, n));
        const feeds = { ...this.forwardFeeds(state, x, n), z: this.tensor(z, [n, L]), [rate.density]: state.get(rate.density)! };
        total += ((await this.sessions.evaluate.run(feeds))['loss']!.data as Float32Array)[0]! * n;
      }
      return total / rows;
    }
    return forwardMeanLoss(this.sessions.evaluate, (x, n) => this.forwardFeeds(state, x, n), data, rows, cols);
  }

  async encode(data: EngineRows, rows: number): Promise<Float32Array> {
    const state = this.ready();
    const cols = this.config.spec.inputDim;
    checkRows(data, rows, cols, 'encode', this.byteInput);
    // latent.units: h·w·c for a spatial latent (the latent layer's `units` are its channels).
    return forwardRows(this.sessions.encode, 'z', this.config.spec.latent.units, (x, n) => this.forwardFeeds(state, x, n), data, rows, cols);
  }

  private forwardFeeds(state: Map<string, Tensor>, x: EngineRows, rows: number): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = { [this.graph.inputs.x]: this.tensor(x, [rows, this.config.spec.inputDim]) };
    for (const n of this.graph.inputs.params) feeds[n] = state.get(n)!;
    return feeds;
  }

  setLearningRate(learningRate: number): void {
    this.config = withLearningRate(this.config, learningRate);
  }

  async getState(): Promise<{ params: ParamSet; optimizer: AdamState }> {
    const state = this.ready();
    let host: Map<string, Tensor> = state;
    if (this.sessions.readout) {
      const out = await this.sessions.readout.run(Object.fromEntries(state));
      host = new Map([...state.keys()].map((k) => [k, out[`out.${k}`]!]));
    }
    const read = async (names: string[]): Promise<ParamSet> => {
      const values = names.map((n) => host.get(n)!.data as Float32Array);
      const piece = (i: number): Float32Array => {
        const s = this.slots[i]!;
        return this.layout === 'flat' ? values[0]!.slice(s.offset, s.offset + s.size) : values[i]!.slice();
      };
      return modelLayers(this.config.spec).map((l, i) => ({
        name: l.name,
        inputDim: l.inputDim,
        units: l.units,
        kernel: piece(2 * i),
        bias: piece(2 * i + 1),
      }));
    };
    const g = this.graph.inputs;
    const rate = this.graph.rate;
    const L = this.config.spec.latent.units;
    // A rate model's density [2, L] as its pseudo-layer: kernel [1, L] = μ, bias = ℓ.
    const density = (name: string): ParamSet => {
      if (rate === undefined) return [];
      const d = host.get(name)!.data as Float32Array;
      return [{ name: RATE_DENSITY_LAYER, inputDim: 1, units: L, kernel: d.slice(0, L), bias: d.slice(L, 2 * L) }];
    };
    return {
      params: [...(await read(g.params)), ...density(rate?.density ?? '')],
      optimizer: { step: this.step, m: [...(await read(g.m)), ...density(rate?.m ?? '')], v: [...(await read(g.v)), ...density(rate?.v ?? '')] },
    };
  }

  dispose(): void {
    this.disposeState();
    for (const s of Object.values(this.sessions)) if (s) void s.release();
  }

  private disposeState(): void {
    // Only device-resident tensors hold anything to free; CPU tensors are plain JS memory.
    if (this.state) for (const t of this.state.values()) if (t.location === 'gpu-buffer') t.dispose();
    this.state = null;
  }

  private ready(): Map<string, Tensor> {
    if (!this.state) throw new Error('OrtEngine: call setState() before training or inference');
    return this.state;
  }
}
