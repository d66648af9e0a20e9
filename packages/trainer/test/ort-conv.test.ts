/**
 * The onnxruntime engine on convolutional models (graphs/conv.ts): from the same initial parameters,
 * 20 Adam steps on ort:cpu follow TfjsAutodiffEngine (tfjs cpu, autodiff through tf.conv2d /
 * tf.conv2dTranspose) within 1e-4 — losses and parameters; Adam moments 1e-3 — for a vector latent, a
 * spatial latent, a dense hidden layer, a spatial latent without a conv stack, rate–distortion
 * training (vector and spatial latent), L1/L2, bce with separate targets, both convolution lowerings
 * (`ops` by default, `gather` where named) and both parameter layouts; every activation
 * once on a tiny conv model; evaluate() and encode() agree; train() follows the tfjs engine on a conv
 * codec; the gather lowering on WebGPU; the graphs pass the ONNX checker.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATION_NAMES, type ActivationName, DEFAULT_ADAM, Rng, makeSpec, type ModelSpec, type SpecOptions } from '@aekit/core';
import type { EngineConfig, ParamSet } from '../src/engine.js';
import { OrtEngine, type OrtEngineOptions } from '../src/engines/ort.js';
import { TfjsAutodiffEngine } from '../src/engines/tfjs/autodiff.js';
import { createEngine } from '../src/engines/registry.js';
import { buildForwardGraph, buildRateEvaluateGraph, buildTrainingGraph, type ConvLowering } from '../src/graphs/index.js';
import { glorotUniformParams } from '../src/init.js';
import { train } from '../src/train.js';
import { RATE_DENSITY_LAYER } from '../src/variants/rate-math.js';
import { relErr } from '../../../test/helpers/compare.js';
import { checkModels, checkerAvailable } from '../../../test/helpers/onnx-checker.js';
import { selectTfjsBackend } from './backends.js';
import { structuredData } from './helpers.js';
import { environment, presence } from '../../../test/conformance/environments.js';

beforeAll(async () => {
  await selectTfjsBackend('cpu');
});

const ADAM = { ...DEFAULT_ADAM, learningRate: 0.01 };
const BATCH = 6;
const STEPS = 20;
const TOLERANCE = 1e-4;

const image = (height: number, width: number, channels: number) => ({ image: { height, width, channels } });
const SPECS: Record<string, SpecOptions> = {
  'vector latent, 8×8×1, conv [4, 8] /2': { ...image(8, 8, 1), conv: [{ filters: 4 }, { filters: 8 }], latent: 5 },
  'spatial latent 3×3×2, 12×12×2, conv [4, 8] /2 (latent kernel 3, stride 2)': { ...image(12, 12, 2), conv: [{ filters: 4 }, { filters: 8 }], latentShape: [3, 3, 2], activation: 'tanh' },
  'dense hidden layer, 8×8×2, conv 4 k5/2 + conv 6 k3/1, layers [7]': {
    ...image(8, 8, 2),
    conv: [{ filters: 4, kernel: 5 }, { filters: 6, stride: 1 }],
    layers: [7],
    latent: 3,
    activation: 'elu',
  },
  'spatial latent only (no conv stack), 6×6×1 → 3×3×2 k4': { ...image(6, 6, 1), latentShape: [3, 3, 2], latentKernel: 4 },
};

function config(spec: ModelSpec, over: Partial<EngineConfig> = {}): EngineConfig {
  return { spec, loss: 'mse', adam: ADAM, l1: 0, l2: 0, batchSize: BATCH, ...over };
}

const tensors = (p: ParamSet): Float32Array[] => p.flatMap((l) => [l.kernel, l.bias]);

interface Outcome {
  losses: Float32Array;
  params: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  val: number;
  z: Float32Array;
}

async function run(
  make: () => Promise<{ setState: OrtEngine['setState']; trainSteps: OrtEngine['trainSteps']; getState: OrtEngine['getState']; evaluate: OrtEngine['evaluate']; encode: OrtEngine['encode']; dispose(): void }>,
  init: ParamSet,
  x: Float32Array,
  rows: number,
  targets?: Float32Array,
): Promise<Outcome> {
  const e = await make();
  try {
    await e.setState(init);
    const losses = await e.trainSteps(x, rows, targets);
    const s = await e.getState();
    const evalRows = 2 * BATCH;
    return {
      losses,
      params: tensors(s.params),
      m: tensors(s.optimizer.m),
      v: tensors(s.optimizer.v),
      val: await e.evaluate(x, evalRows),
      z: await e.encode(x, evalRows),
    };
  } finally {
    e.dispose();
  }
}

const report = (what: string, d: number) => {
  console.info(`ort-conv parity ${what}: ${d.toExponential(2)}`);
  return d;
};

function expectParity(name: string, ort: Outcome, ref: Outcome): void {
  expect(ort.losses.length).toBe(STEPS);
  expect(report(`${name} losses`, relErr([ort.losses], [ref.losses]))).toBeLessThan(TOLERANCE);
  expect(report(`${name} params`, relErr(ort.params, ref.params))).toBeLessThan(TOLERANCE);
  // The moments of the gradient: after one step they agree to ~3e-7 (the gradients themselves); over 20
  // steps float32 rounding differences between the engines grow to ~4e-4 on the smallest ones (gelu:
  // tfjs's erf approximation against onnxruntime's Erf), while parameters stay within ~1e-5.
  expect(relErr(ort.m, ref.m)).toBeLessThan(1e-3);
  expect(relErr(ort.v, ref.v)).toBeLessThan(1e-3);
  expect(Math.abs(ort.val - ref.val) / ref.val).toBeLessThan(TOLERANCE);
  expect(relErr([ort.z], [ref.z])).toBeLessThan(TOLERANCE);
  // It trained: the loss moved and no value went astray.
  expect(ort.losses[STEPS - 1]).not.toBe(ort.losses[0]);
  for (const t of ort.params) expect(t.every(Number.isFinite)).toBe(true);
}

async function parity(name: string, spec: ModelSpec, c: EngineConfig, ortOptions: Partial<OrtEngineOptions> = {}, targets = false): Promise<void> {
  const rows = STEPS * BATCH;
  const x = structuredData(rows, spec.inputDim, 3, 5);
  const input = targets ? Float32Array.from(x, (v, i) => (i % 7 === 0 ? 0 : v)) : x;
  const init = glorotUniformParams(spec, new Rng(3));
  const ort = await import('onnxruntime-node');
  const ref = await run(() => TfjsAutodiffEngine.create(c, 'cpu'), init, input, rows, targets ? x : undefined);
  const got = await run(() => OrtEngine.create(c, { ort, ...ortOptions }), init, input, rows, targets ? x : undefined);
  expectParity(name, got, ref);
}

describe('ort conv engine follows the tfjs autodiff engine over 20 steps (1e-4)', () => {
  for (const [name, options] of Object.entries(SPECS)) {
    it(name, async () => {
      const spec = makeSpec(options);
      await parity(name, spec, config(spec, { l2: 1e-3 }));
    });
  }

  for (const [name, options] of [
    ['vector latent', SPECS['vector latent, 8×8×1, conv [4, 8] /2']!],
    ['spatial latent', SPECS['spatial latent 3×3×2, 12×12×2, conv [4, 8] /2 (latent kernel 3, stride 2)']!],
  ] as const) {
    it(`rate on, ${name} (noise added to the flat HWC latent; L1 + L2)`, async () => {
      const spec = makeSpec(options);
      await parity(`rate ${name}`, spec, config(spec, { l1: 1e-4, l2: 1e-3, rate: { weight: 0.05, seed: 7 } }));
    });
  }

  it('bce with separate targets, gather lowering, single-step graph with one input per tensor', async () => {
    const spec = makeSpec(SPECS['dense hidden layer, 8×8×2, conv 4 k5/2 + conv 6 k3/1, layers [7]']!);
    await parity('bce gather tensors', spec, config(spec, { loss: 'bce', l2: 1e-3 }), { convLowering: 'gather', stepsPerRun: 1, layout: 'tensors' }, true);
  });

  for (const lowering of ['gather', 'ops'] as const) {
    it(`spatial latent with rate, ${lowering} lowering, Loop of 4 steps per run`, async () => {
      const spec = makeSpec(SPECS['spatial latent 3×3×2, 12×12×2, conv [4, 8] /2 (latent kernel 3, stride 2)']!);
      await parity(`rate spatial ${lowering}`, spec, config(spec, { rate: { weight: 0.1, seed: 3 } }), { convLowering: lowering, stepsPerRun: 4 });
    });
  }
});

describe('ort conv engine on the WebGPU EP', () => {
  // ort:webgpu with the default lowering is in the engine conformance suite (test/conformance); here
  // the gather lowering, whose ops (Gather, Gemm, MatMul, ReduceSum) every execution provider has.
  it('gather lowering, spatial latent with rate: follows the tfjs engine within 1e-4', async (ctx) => {
    const here = await presence(environment('ort:webgpu'));
    if (here !== true) {
      if (process.env['CI']) throw new Error(`CI is set but ort:webgpu is absent: ${here}`);
      ctx.skip();
    }
    const spec = makeSpec(SPECS['spatial latent 3×3×2, 12×12×2, conv [4, 8] /2 (latent kernel 3, stride 2)']!);
    await parity('webgpu gather', spec, config(spec, { rate: { weight: 0.1, seed: 3 } }), { device: 'webgpu', convLowering: 'gather' });
  });
});

describe('every activation on a tiny conv model', () => {
  const alpha = (a: ActivationName) => (a === 'leakyRelu' ? 'leakyRelu:0.2' : a);
  it.each(ACTIVATION_NAMES)('%s', async (act) => {
    // The activation on every layer: conv, latent, deconv and the output.
    const spec = makeSpec({ ...image(4, 4, 1), conv: [{ filters: 2 }], latent: 3, activation: alpha(act), latentActivation: alpha(act), outputActivation: alpha(act) });
    await parity(`activation ${act}`, spec, config(spec));
  });
});

describe('train() on a conv codec', () => {
  it('engine ort follows engine tfjs epoch by epoch (spatial latent, rate: training and rounded-latent validation loss)', async () => {
    const spec = makeSpec({ ...image(8, 8, 1), conv: [{ filters: 4 }], latentShape: [2, 2, 2] });
    const rows = 200;
    const data = { data: structuredData(rows, 64), rows, cols: 64, dtype: 'float32' as const, source: 'test:structured' };
    const history = async (engine: 'tfjs' | 'ort') => {
      const r = await train({ data, spec, engine, backend: 'cpu', epochs: 3, batchSize: 16, seed: 3, rateWeight: 0.1 });
      expect(r.params.at(-1)!.name).toBe(RATE_DENSITY_LAYER);
      return r.history.flatMap((h) => [h.loss, h.valLoss!]);
    };
    const want = await history('tfjs');
    const got = await history('ort');
    expect(want.every(Number.isFinite)).toBe(true);
    expect(report('train() epoch losses', relErr([got], [want]))).toBeLessThan(TOLERANCE);
  });
});

describe('conv graphs', () => {
  const spec = makeSpec(SPECS['spatial latent 3×3×2, 12×12×2, conv [4, 8] /2 (latent kernel 3, stride 2)']!);
  const dense = makeSpec(SPECS['dense hidden layer, 8×8×2, conv 4 k5/2 + conv 6 k3/1, layers [7]']!);

  it.skipIf(!checkerAvailable())('pass the official ONNX checker (both lowerings; loop, single, forward, rate evaluate)', () => {
    const models: Record<string, Uint8Array> = {};
    for (const conv of ['gather', 'ops'] as ConvLowering[]) {
      for (const s of [spec, dense]) {
        const tag = `${conv}-${s === spec ? 'spatial' : 'dense'}`;
        models[`${tag}-loop`] = buildTrainingGraph(s, { conv, rate: { weight: 0.1 }, l1: 1e-3 }).bytes;
        models[`${tag}-single`] = buildTrainingGraph(s, { conv, stepsPerRun: 'single', layout: 'tensors', targets: true }).bytes;
        models[`${tag}-encode`] = buildForwardGraph(s, { conv, output: 'latent' }).bytes;
        models[`${tag}-evaluate`] = buildForwardGraph(s, { conv, output: 'loss', loss: 'bce' }).bytes;
        models[`${tag}-rate-evaluate`] = buildRateEvaluateGraph(s, { conv, weight: 0.1 });
      }
    }
    checkModels(models);
  });

  it('the default lowering uses Conv / ConvTranspose; the gather lowering needs neither nor layout transposes', async () => {
    const { decodeModel, opTypesOf } = await import('@aekit/onnx');
    const ops = (conv?: ConvLowering) => opTypesOf(decodeModel(buildTrainingGraph(spec, { stepsPerRun: 'single', ...(conv ? { conv } : {}) }).bytes).graph!);
    const conv = ops();
    expect(conv.has('Conv') && conv.has('ConvTranspose')).toBe(true);
    const gather = ops('gather');
    expect(gather.has('Conv') || gather.has('ConvTranspose') || gather.has('Transpose')).toBe(false);
    expect(gather.has('Gather')).toBe(true);
  });

  it('the registry picks the ort engine for a conv spec on --engine ort and refuses an unknown lowering', async () => {
    const e = await createEngine({ engine: 'ort', backend: 'cpu' }, config(spec));
    try {
      expect(e.name).toBe('ort');
    } finally {
      e.dispose();
    }
    expect(() => buildTrainingGraph(spec, { conv: 'im2row' as ConvLowering })).toThrow(/unknown convolution lowering "im2row"; valid: gather, ops/);
  });
});
