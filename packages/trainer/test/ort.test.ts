/**
 * The onnxruntime engine against two references, from the same initial weights and batches:
 * a float64 JS implementation of the step (@aekit/exporter's referenceTrainStep) and the tfjs engine
 * (cpu backend). Then the WebGPU EP against the CPU EP, resume, and typed errors.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACTIVATION_NAMES,
  BackendError,
  DataError,
  DEFAULT_ADAM,
  makeSpec,
  Rng,
  SpecError,
  UsageError,
  type ActivationName,
  type LossName,
  type ModelSpec,
} from '@aekit/core';
import { referenceTrainStep, type ReferenceState } from './reference.js';
import type { EngineConfig, ParamSet } from '../src/engine.js';
import { OrtEngine } from '../src/engines/ort.js';
import { createOrtNodeEngine, ortNodeDevices } from '../src/engines/ort-node.js';
import { TfjsEngine } from '../src/engines/tfjs/engine.js';
import { glorotUniformParams } from '../src/init.js';
import { relErr } from '../../../test/helpers/compare.js';

const COLS = 10;
const BATCH = 8;
// 19 full batches and a short one of 4 rows: 20 steps, the last one smaller.
const ROWS = 19 * BATCH + 4;
const STEPS = 20;
const ADAM = { ...DEFAULT_ADAM, learningRate: 0.01 };

function specFor(act: ActivationName, loss: LossName): ModelSpec {
  const a = act === 'leakyRelu' ? 'leakyRelu:0.1' : act;
  return makeSpec({
    inputDim: COLS,
    layers: [8, 6],
    latent: 4,
    activation: a,
    latentActivation: a,
    // bce needs outputs in (0, 1); with mse the activation is also tried on the output layer.
    outputActivation: loss === 'bce' ? 'sigmoid' : a,
  });
}

function data(seed: number, rows = ROWS): Float32Array {
  const rng = new Rng(seed);
  // Structured rows (a few prototypes plus noise) so that training has something to learn.
  const protos = Array.from({ length: 3 }, () => Array.from({ length: COLS }, () => rng.next()));
  const x = new Float32Array(rows * COLS);
  for (let r = 0; r < rows; r++) {
    const p = protos[r % 3]!;
    for (let c = 0; c < COLS; c++) x[r * COLS + c] = Math.min(1, Math.max(0, p[c]! + 0.1 * (rng.next() - 0.5)));
  }
  return x;
}

function toReference(params: ParamSet): ReferenceState {
  const flat = params.flatMap((p) => [Float64Array.from(p.kernel), Float64Array.from(p.bias)]);
  return { params: flat, m: flat.map((a) => new Float64Array(a.length)), v: flat.map((a) => new Float64Array(a.length)), t: 0 };
}

function tensors(params: ParamSet): Float32Array[] {
  return params.flatMap((p) => [p.kernel, p.bias]);
}


function lossErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
  return worst;
}

const CASES = ACTIVATION_NAMES.flatMap((act) =>
  (['mse', 'bce'] as LossName[]).flatMap((loss) =>
    [
      { l1: 0, l2: 0 },
      { l1: 1e-3, l2: 1e-3 },
    ].map((pen) => ({ act, loss, ...pen })),
  ),
);

describe('ort engine tracks the references over 20 steps (1e-4 relative)', () => {
  it.each(CASES)('$act $loss l1=$l1 l2=$l2', async ({ act, loss, l1, l2 }) => {
    const spec = specFor(act, loss);
    const config: EngineConfig = { spec, loss, adam: ADAM, l1, l2, batchSize: BATCH };
    const init = glorotUniformParams(spec, new Rng(42));
    const x = data(1);
    const half = 10 * BATCH;

    // float64 reference, step by step; weights recorded after step 10 and step 20.
    const ref = toReference(init);
    const refLosses: number[] = [];
    const refAfter10: Float64Array[] = [];
    for (let s = 0, start = 0; s < STEPS; s++, start += BATCH) {
      const n = Math.min(BATCH, ROWS - start);
      refLosses.push(referenceTrainStep(spec, { loss, l1, l2, adam: ADAM }, ref, x.subarray(start * COLS, (start + n) * COLS), n));
      if (s === 9) refAfter10.push(...ref.params.map((p) => p.slice()));
    }

    // ort: two calls (10 steps in runs of 4, 4, 2; then 9 full + the short batch).
    const engine = await createOrtNodeEngine(config, { stepsPerRun: 4 });
    await engine.setState(init);
    const l1st = await engine.trainSteps(x.subarray(0, half * COLS), half);
    const ortAfter10 = tensors((await engine.getState()).params);
    const l2nd = await engine.trainSteps(x.subarray(half * COLS), ROWS - half);
    const ortState = await engine.getState();
    engine.dispose();
    const ortLosses = [...l1st, ...l2nd];
    expect(ortLosses.length).toBe(STEPS);
    expect(ortState.optimizer.step).toBe(STEPS);
    expect(lossErr(ortLosses, refLosses)).toBeLessThan(1e-4);
    expect(relErr(ortAfter10, refAfter10)).toBeLessThan(1e-4);
    expect(relErr(tensors(ortState.params), ref.params)).toBeLessThan(1e-4);
    // m averages raw gradients, whose float32 rounding is relatively larger than the weights'.
    expect(relErr(tensors(ortState.optimizer.m), ref.m)).toBeLessThan(1e-3);
    // The loss went down: the comparison is not between two engines that did nothing.
    expect(refLosses[STEPS - 1]!).toBeLessThan(refLosses[0]!);

    // tfjs engine (cpu backend), the project's reference engine.
    const tfjs = await TfjsEngine.create(config, { backend: 'cpu' });
    await tfjs.setState(init);
    const tfLosses = [...(await tfjs.trainSteps(x.subarray(0, half * COLS), half)), ...(await tfjs.trainSteps(x.subarray(half * COLS), ROWS - half))];
    const tfState = await tfjs.getState();
    tfjs.dispose();
    expect(lossErr(ortLosses, tfLosses)).toBeLessThan(1e-4);
    expect(relErr(tensors(ortState.params), tensors(tfState.params))).toBeLessThan(1e-4);
  });
});

describe('ort engine', () => {
  const spec = makeSpec({ inputDim: COLS, layers: [8, 6], latent: 4, activation: ['gelu', 'swish', 'elu', 'leakyRelu'] });
  const config: EngineConfig = { spec, loss: 'bce', adam: ADAM, l1: 1e-3, l2: 1e-3, batchSize: BATCH };
  const init = glorotUniformParams(spec, new Rng(3));

  it('gives the same results in one run per batch, in Loops, and across a resume', async () => {
    const x = data(2);
    const one = await createOrtNodeEngine(config, { stepsPerRun: 1, layout: 'tensors' });
    await one.setState(init);
    const lossesOne = await one.trainSteps(x, ROWS);
    const stateOne = await one.getState();

    const loop = await createOrtNodeEngine(config, { stepsPerRun: 16 });
    await loop.setState(init);
    const lossesLoop = await loop.trainSteps(x, ROWS);
    expect(lossErr(lossesLoop, lossesOne)).toBeLessThan(1e-6);
    expect(relErr(tensors((await loop.getState()).params), tensors(stateOne.params))).toBeLessThan(1e-6);

    // Resume: 10 steps, state out, a fresh engine continues: identical to 20 straight steps.
    const a = await createOrtNodeEngine(config, { stepsPerRun: 16 });
    await a.setState(init);
    await a.trainSteps(x, 10 * BATCH);
    const mid = await a.getState();
    a.dispose();
    const b = await createOrtNodeEngine(config, { stepsPerRun: 16 });
    await b.setState(mid.params, mid.optimizer);
    const rest = await b.trainSteps(x.subarray(10 * BATCH * COLS), ROWS - 10 * BATCH);
    expect(Array.from(rest)).toEqual(Array.from(lossesLoop.subarray(10)));
    expect(tensors((await b.getState()).params)).toEqual(tensors((await loop.getState()).params));

    // evaluate / encode: shapes, and evaluate = mean of per-batch losses weighted by rows.
    const e = await loop.evaluate(x, ROWS);
    expect(e).toBeGreaterThan(0);
    const z = await loop.encode(x, ROWS);
    expect(z.length).toBe(ROWS * 4);
    const z1 = await loop.encode(x.subarray(5 * COLS), 1);
    // (a one-row Gemm takes another kernel: equal to rounding, not bit for bit)
    expect(relErr([z1], [z.subarray(20, 24)])).toBeLessThan(1e-6);
    for (const en of [one, loop, b]) en.dispose();
  });

  it('trains against separate targets (denoising) like the float64 reference and the tfjs engine', async () => {
    const clean = data(3);
    const rng = new Rng(12);
    const noisy = clean.map((v) => (rng.next() < 0.3 ? 0 : v)); // masking noise
    const ref = toReference(init);
    const refLosses: number[] = [];
    for (let s = 0, start = 0; s < STEPS; s++, start += BATCH) {
      const n = Math.min(BATCH, ROWS - start);
      const slice = (a: Float32Array) => a.subarray(start * COLS, (start + n) * COLS);
      refLosses.push(referenceTrainStep(spec, { loss: 'bce', l1: 1e-3, l2: 1e-3, adam: ADAM }, ref, slice(noisy), n, slice(clean)));
    }
    const e = await createOrtNodeEngine(config, { stepsPerRun: 4 });
    await e.setState(init);
    const losses = await e.trainSteps(noisy, ROWS, clean);
    const params = tensors((await e.getState()).params);
    await expect(e.trainSteps(noisy, ROWS, clean.subarray(0, 10))).rejects.toThrow(DataError);
    e.dispose();
    expect(lossErr(losses, refLosses)).toBeLessThan(1e-4);
    expect(relErr(params, ref.params)).toBeLessThan(1e-4);
    const tfjs = await TfjsEngine.create(config, { backend: 'cpu' });
    await tfjs.setState(init);
    expect(lossErr(losses, await tfjs.trainSteps(noisy, ROWS, clean))).toBeLessThan(1e-4);
    expect(relErr(params, tensors((await tfjs.getState()).params))).toBeLessThan(1e-4);
    tfjs.dispose();
    // Not the same as training on the noisy rows alone.
    const plain = await createOrtNodeEngine(config, { stepsPerRun: 4 });
    await plain.setState(init);
    expect(lossErr(await plain.trainSteps(noisy, ROWS), refLosses)).toBeGreaterThan(1e-2);
    plain.dispose();
  });

  it('reports bad specs, data and options with typed errors', async () => {
    await expect(createOrtNodeEngine({ ...config, spec: { ...spec, inputDim: -1 } })).rejects.toThrow(SpecError);
    await expect(
      createOrtNodeEngine({ ...config, spec: { ...spec, encoder: [{ units: 3, activation: { name: 'mish' as 'relu' } }] } }),
    ).rejects.toThrow(/unknown activation "mish"; valid activations: linear, relu/);
    await expect(createOrtNodeEngine({ ...config, batchSize: 0 })).rejects.toThrow(UsageError);
    await expect(createOrtNodeEngine({ ...config, loss: 'hinge' as LossName })).rejects.toThrow(/unknown loss "hinge"/);
    await expect(createOrtNodeEngine({ ...config, l2: -1 })).rejects.toThrow(UsageError);
    await expect(createOrtNodeEngine(config, { device: 'tpu' as 'cpu' })).rejects.toThrow(/valid: cpu, cuda, webgpu, wasm/);
    await expect(createOrtNodeEngine(config, { stepsPerRun: 0 })).rejects.toThrow(UsageError);
    if (!(await ortNodeDevices()).includes('cuda')) {
      await expect(createOrtNodeEngine(config, { device: 'cuda' })).rejects.toThrow(BackendError);
      await expect(createOrtNodeEngine(config, { device: 'cuda' })).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    }
    await expect(createOrtNodeEngine(config, { device: 'wasm' })).rejects.toThrow(BackendError);
    const e = await createOrtNodeEngine(config);
    await expect(e.trainSteps(data(1), ROWS)).rejects.toThrow(/setState/);
    await e.setState(init);
    // Rows of the wrong width: 7 columns where the model takes 10.
    await expect(e.trainSteps(new Float32Array(7 * 3), 3)).rejects.toThrow(DataError);
    await expect(e.trainSteps(new Float32Array(7 * 3), 3)).rejects.toThrow(/need 30 values, got 21/);
    await expect(e.evaluate(new Float32Array(COLS), 0)).rejects.toThrow(DataError);
    await expect(e.setState(init.slice(1))).rejects.toThrow(SpecError);
    e.dispose();
  });
});

// WebGPU through onnxruntime-node's bundled EP over SwiftShader's Vulkan driver (a CPU emulation).
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'];
const webgpuHere =
  (existsSync(SWIFTSHADER) || process.env['VK_ICD_FILENAMES'] !== undefined) && VULKAN_LOADERS.some((p) => existsSync(p));
if (!webgpuHere && process.env['CI']) {
  throw new Error(`CI is set but WebGPU has no Vulkan loader or driver: apt-get install -y libvulkan1 chromium (${SWIFTSHADER})`);
}

describe('ort engine on the WebGPU EP', () => {
  it.skipIf(!webgpuHere)('agrees with the CPU EP within 1e-4 (state in GPU buffers, and in a Loop)', async () => {
    process.env['VK_ICD_FILENAMES'] ??= SWIFTSHADER;
    const spec = makeSpec({ inputDim: COLS, layers: [8, 6], latent: 4, activation: ['gelu', 'swish', 'selu', 'tanh'] });
    const config: EngineConfig = { spec, loss: 'mse', adam: ADAM, l1: 1e-3, l2: 1e-3, batchSize: BATCH };
    const init = glorotUniformParams(spec, new Rng(5));
    const rows = 6 * BATCH + 3;
    const x = data(4, rows);
    const variants = [
      { device: 'cpu' as const },
      // default on webgpu: one step per run, parameters and moments stay in GPU buffers between runs
      { device: 'webgpu' as const },
      { device: 'webgpu' as const, stepsPerRun: 4, stateOnDevice: false },
    ];
    const results = [];
    for (const options of variants) {
      const e = await createOrtNodeEngine(config, options);
      expect(e.backend).toBe(options.device);
      await e.setState(init);
      const first = await e.trainSteps(x.subarray(0, 3 * BATCH * COLS), 3 * BATCH);
      const val1 = await e.evaluate(x, rows); // reads the device-resident parameters mid-training
      const losses = [...first, ...(await e.trainSteps(x.subarray(3 * BATCH * COLS), rows - 3 * BATCH))];
      const st = await e.getState();
      const val = await e.evaluate(x, rows);
      const z = await e.encode(x, rows);
      e.dispose();
      results.push({ losses, params: tensors(st.params), v: tensors(st.optimizer.v), val1, val, z, step: st.optimizer.step });
    }
    const [cpu, ...gpus] = results as [(typeof results)[0], ...(typeof results)];
    for (const gpu of gpus) {
      expect(gpu.step).toBe(7);
      expect(lossErr(gpu.losses, cpu.losses)).toBeLessThan(1e-4);
      expect(relErr(gpu.params, cpu.params)).toBeLessThan(1e-4);
      expect(relErr(gpu.v, cpu.v)).toBeLessThan(1e-4);
      expect(Math.abs(gpu.val1 - cpu.val1) / cpu.val1).toBeLessThan(1e-4);
      expect(Math.abs(gpu.val - cpu.val) / cpu.val).toBeLessThan(1e-4);
      expect(relErr([gpu.z], [cpu.z])).toBeLessThan(1e-4);
    }
  });
});

// OrtEngine itself takes any onnxruntime module: onnxruntime-web's wasm build runs the same graph.
describe('ort engine on onnxruntime-web (wasm)', () => {
  it('matches onnxruntime-node', async () => {
    const web = await import('onnxruntime-web');
    web.env.wasm.numThreads = 1;
    const spec = makeSpec({ inputDim: COLS, layers: [8], latent: 4, activation: 'relu' });
    const config: EngineConfig = { spec, loss: 'mse', adam: ADAM, l1: 0, l2: 0, batchSize: BATCH };
    const init = glorotUniformParams(spec, new Rng(8));
    const x = data(6, 5 * BATCH);
    const out = [];
    for (const make of [() => OrtEngine.create(config, { ort: web, device: 'wasm' }), () => createOrtNodeEngine(config)]) {
      const e = await make();
      await e.setState(init);
      out.push({ losses: await e.trainSteps(x, 5 * BATCH), params: tensors((await e.getState()).params) });
      e.dispose();
    }
    expect(lossErr(out[0]!.losses, out[1]!.losses)).toBeLessThan(1e-5);
    expect(relErr(out[0]!.params, out[1]!.params)).toBeLessThan(1e-5);
  });
});
