/**
 * Engine conformance: every training engine environment present (tfjs:cpu, tfjs:wasm, ort:cpu,
 * ort:webgpu), created through the trainer's registry (environments.ts `createTestEngine`), for the
 * plain autoencoder: 5 Adam steps against the float64 reference step within 1e-4 for selu, gelu and
 * leakyRelu; resume (getState → a new engine's setState → continue) equal to the uninterrupted run;
 * typed errors for bad configs. The VAE where it trains (tfjs, ort:cpu): 5 steps against the other
 * engine's VAE on cpu, and resume; elsewhere reported as not applicable. Rate–distortion training
 * (`config.rate`, every environment): 5 steps against the float64 reference step with the rate term,
 * and resume, the learned density included. A small convolutional codec (spatial latent, rate term):
 * 5 steps against the other engine on cpu (tfjs autodiff ↔ ort's hand-written backward).
 *
 * onnxruntime-web's training engine is deliberately not an engine environment here: it needs a page
 * per configuration, and packages/trainer/test/ort-browser.test.ts already runs it (wasm and WebGPU).
 */
import { expect, it } from 'vitest';
import { type ActivationName, DEFAULT_ADAM, Rng, SpecError, UsageError, makeSpec, type ModelSpec } from '@aekit/core';
import type { EngineConfig, ParamSet, TrainingEngine, VaeEngineConfig } from '@aekit/trainer';
import { glorotUniformParams } from '../../packages/trainer/src/init.js';
import { referenceTrainStep, type ReferenceState } from '../../packages/trainer/test/reference.js';
import { drawUniformNoise } from '../../packages/trainer/src/variants/rate-math.js';
import { relErr } from '../helpers/compare.js';
import { type EnvironmentName, type TestEnvironment, createTestEngine, describeEachEnvironment, environment, itNotApplicable } from './environments.js';

const COLS = 10;
const BATCH = 8;
const STEPS = 5;
const ROWS = STEPS * BATCH;
const TOLERANCE = 1e-4;
const ADAM = { ...DEFAULT_ADAM, learningRate: 0.01 };
const PARITY_ACTIVATIONS: ActivationName[] = ['selu', 'gelu', 'leakyRelu'];

function specFor(act: ActivationName): ModelSpec {
  return makeSpec({ inputDim: COLS, layers: [8], latent: 4, activation: act === 'leakyRelu' ? 'leakyRelu:0.1' : act, outputActivation: 'sigmoid' });
}
const configFor = (act: ActivationName): EngineConfig => ({ spec: specFor(act), loss: 'mse', adam: ADAM, l1: 1e-3, l2: 1e-3, batchSize: BATCH });
const VAE_CONFIG: VaeEngineConfig = { ...configFor('selu'), beta: 0.5, seed: 3 };
const RATE_CONFIG: EngineConfig = { ...configFor('gelu'), rate: { weight: 0.4, seed: 17 } };
/** A small convolutional codec: conv 3 3×3/2 → spatial latent 2×2×2 → deconvs, with the rate term. */
const CONV_SPEC = makeSpec({ image: { height: 8, width: 8, channels: 1 }, conv: [{ filters: 3 }], latentShape: [2, 2, 2], activation: 'elu' });
const CONV_CONFIG: EngineConfig = { spec: CONV_SPEC, loss: 'mse', adam: ADAM, l1: 1e-3, l2: 1e-3, batchSize: BATCH, rate: { weight: 0.2, seed: 5 } };
const convX = (() => {
  const rng = new Rng(22);
  return Float32Array.from({ length: ROWS * CONV_SPEC.inputDim }, () => rng.next());
})();

const x = (() => {
  const rng = new Rng(21);
  return Float32Array.from({ length: ROWS * COLS }, () => rng.next());
})();

const tensors = (p: ParamSet): Float32Array[] => p.flatMap((l) => [l.kernel, l.bias]);
function lossErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
  return Number.isNaN(worst) ? Infinity : worst;
}

/** Prints a relative difference (for the report) and returns it. */
function note(env: TestEnvironment, what: string, d: number): number {
  console.info(`${env.name} ${what}: max rel diff ${d.toExponential(2)}`);
  return d;
}

interface Run {
  losses: Float32Array;
  params: Float32Array[];
}

/** `steps` Adam steps from `init` (and optimizer state, when resuming) on rows `from`…. */
async function trainOn(make: () => Promise<TrainingEngine>, init: ParamSet, from: number, steps: number, optimizer?: Awaited<ReturnType<TrainingEngine['getState']>>['optimizer']): Promise<{ run: Run; state: Awaited<ReturnType<TrainingEngine['getState']>> }> {
  const e = await make();
  try {
    await e.setState(init, optimizer);
    const losses = await e.trainSteps(x.subarray(from * BATCH * COLS, (from + steps) * BATCH * COLS), steps * BATCH);
    const state = await e.getState();
    return { run: { losses, params: tensors(state.params) }, state };
  } finally {
    e.dispose();
  }
}

let convRefs: Map<string, Run> | undefined;
/** The conv codec on `env` from the shared start, STEPS steps (computed once per engine). */
async function convRun(env: TestEnvironment): Promise<Run> {
  convRefs ??= new Map();
  let r = convRefs.get(env.name);
  if (r === undefined) {
    const e = await createTestEngine(env, 'ae', CONV_CONFIG);
    try {
      await e.setState(glorotUniformParams(CONV_SPEC, new Rng(12)));
      const losses = await e.trainSteps(convX, ROWS);
      r = { losses, params: tensors((await e.getState()).params) };
    } finally {
      e.dispose();
    }
    convRefs.set(env.name, r);
  }
  return r;
}

let vaeRefs: Map<string, Run> | undefined;
/** The VAE on `name` from the shared start (computed once per engine). */
async function vaeRun(name: 'tfjs:cpu' | 'ort:cpu'): Promise<Run> {
  vaeRefs ??= new Map();
  let r = vaeRefs.get(name);
  if (r === undefined) {
    r = (await trainOn(() => createTestEngine(environment(name), 'vae', VAE_CONFIG), glorotUniformParams(VAE_CONFIG.spec, new Rng(4)), 0, STEPS)).run;
    vaeRefs.set(name, r);
  }
  return r;
}

describeEachEnvironment('engine', 'engine conformance', (env: TestEnvironment) => {
  it.each(PARITY_ACTIVATIONS)(`ae %s: ${STEPS} steps equal the float64 reference within ${TOLERANCE}`, async (act) => {
    const config = configFor(act);
    const init = glorotUniformParams(config.spec, new Rng(7));
    const flat = init.flatMap((p) => [Float64Array.from(p.kernel), Float64Array.from(p.bias)]);
    const ref: ReferenceState = { params: flat, m: flat.map((a) => new Float64Array(a.length)), v: flat.map((a) => new Float64Array(a.length)), t: 0 };
    const refLosses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      refLosses.push(referenceTrainStep(config.spec, { loss: config.loss, l1: config.l1, l2: config.l2, adam: ADAM }, ref, x.subarray(s * BATCH * COLS, (s + 1) * BATCH * COLS), BATCH));
    }
    const { run, state } = await trainOn(() => createTestEngine(env, 'ae', config), init, 0, STEPS);
    expect(state.optimizer.step).toBe(STEPS);
    expect(note(env, `ae ${act} losses`, lossErr(run.losses, refLosses))).toBeLessThan(TOLERANCE);
    expect(note(env, `ae ${act} params`, relErr(run.params, ref.params))).toBeLessThan(TOLERANCE);
  });

  it('ae resume: 2 steps, getState, a new engine setState, 3 more = 5 uninterrupted steps', async () => {
    const config = configFor('selu');
    const init = glorotUniformParams(config.spec, new Rng(8));
    const make = () => createTestEngine(env, 'ae', config);
    const whole = await trainOn(make, init, 0, STEPS);
    const first = await trainOn(make, init, 0, 2);
    const rest = await trainOn(make, first.state.params, 2, STEPS - 2, first.state.optimizer);
    expect(rest.state.optimizer.step).toBe(STEPS);
    expect(note(env, 'ae resume losses', lossErr([...first.run.losses, ...rest.run.losses], whole.run.losses))).toBeLessThan(1e-6);
    expect(note(env, 'ae resume params', relErr(rest.run.params, whole.run.params))).toBeLessThan(1e-6);
    expect(relErr(tensors(rest.state.optimizer.v), tensors(whole.state.optimizer.v))).toBeLessThan(1e-6);
  });

  it(`ae setLearningRate (a schedule's epoch boundary): ${STEPS} steps at two rates equal the float64 reference within ${TOLERANCE}`, async () => {
    const config = configFor('tanh');
    const init = glorotUniformParams(config.spec, new Rng(13));
    const flat = init.flatMap((p) => [Float64Array.from(p.kernel), Float64Array.from(p.bias)]);
    const ref: ReferenceState = { params: flat, m: flat.map((a) => new Float64Array(a.length)), v: flat.map((a) => new Float64Array(a.length)), t: 0 };
    const rateAt = (s: number) => (s < 2 ? ADAM.learningRate : ADAM.learningRate / 4);
    const refLosses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const adam = { ...ADAM, learningRate: rateAt(s) };
      refLosses.push(referenceTrainStep(config.spec, { loss: config.loss, l1: config.l1, l2: config.l2, adam }, ref, x.subarray(s * BATCH * COLS, (s + 1) * BATCH * COLS), BATCH));
    }
    const e = await createTestEngine(env, 'ae', config);
    try {
      await e.setState(init);
      const first = await e.trainSteps(x.subarray(0, 2 * BATCH * COLS), 2 * BATCH);
      e.setLearningRate(rateAt(2));
      const rest = await e.trainSteps(x.subarray(2 * BATCH * COLS, STEPS * BATCH * COLS), (STEPS - 2) * BATCH);
      const params = tensors((await e.getState()).params);
      expect(note(env, 'ae setLearningRate losses', lossErr([...first, ...rest], refLosses))).toBeLessThan(TOLERANCE);
      expect(note(env, 'ae setLearningRate params', relErr(params, ref.params))).toBeLessThan(TOLERANCE);
      expect(() => e.setLearningRate(0)).toThrow(UsageError);
    } finally {
      e.dispose();
    }
  });

  it('bad configs are refused with typed errors', async () => {
    const config = configFor('selu');
    const init = glorotUniformParams(config.spec, new Rng(9));
    /** Creation, or at the latest setState, must refuse the config (trainSteps is never reached). */
    const refusal = async (bad: EngineConfig): Promise<unknown> => {
      let e: TrainingEngine | undefined;
      try {
        e = await createTestEngine(env, 'ae', bad);
        await e.setState(init);
      } catch (err) {
        return err;
      } finally {
        e?.dispose();
      }
      return new Error(`${env.name} accepted the config`);
    };
    const badActivation = { ...config, spec: { ...config.spec, encoder: [{ units: 8, activation: { name: 'mish' as 'relu' } }] } };
    const cases: Array<[string, EngineConfig, new (...a: never[]) => Error, RegExp]> = [
      ['unknown activation', badActivation, SpecError, /unknown activation "mish"/],
      ['negative input width', { ...config, spec: { ...config.spec, inputDim: -1 } }, SpecError, /inputDim|input/],
      ['batch size 0', { ...config, batchSize: 0 }, UsageError, /batch size/],
      ['negative l2', { ...config, l2: -1 }, UsageError, /l2|L2/],
    ];
    const wrong: string[] = [];
    for (const [what, bad, type, message] of cases) {
      const err = await refusal(bad);
      if (!(err instanceof type) || !message.test((err as Error).message)) {
        wrong.push(`${what}: got ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}, want ${type.name} matching ${message}`);
      }
    }
    expect(wrong, `${env.name}:\n${wrong.join('\n')}`).toEqual([]);
  });

  it(`rate-weight: ${STEPS} steps equal the float64 reference (noise, density, its moments) within ${TOLERANCE}`, async () => {
    const init = glorotUniformParams(RATE_CONFIG.spec, new Rng(10));
    const L = RATE_CONFIG.spec.latent.units;
    const flat = [...init.flatMap((p) => [Float64Array.from(p.kernel), Float64Array.from(p.bias)]), new Float64Array(L), new Float64Array(L)];
    const ref: ReferenceState = { params: flat, m: flat.map((a) => new Float64Array(a.length)), v: flat.map((a) => new Float64Array(a.length)), t: 0 };
    const refLosses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const rate = { weight: RATE_CONFIG.rate!.weight, noise: drawUniformNoise(RATE_CONFIG.rate!.seed, s + 1, BATCH * L) };
      refLosses.push(referenceTrainStep(RATE_CONFIG.spec, { loss: 'mse', l1: RATE_CONFIG.l1, l2: RATE_CONFIG.l2, adam: ADAM, rate }, ref, x.subarray(s * BATCH * COLS, (s + 1) * BATCH * COLS), BATCH));
    }
    const { run, state } = await trainOn(() => createTestEngine(env, 'ae', RATE_CONFIG), init, 0, STEPS);
    expect(state.params.at(-1)!.name).toBe('latent_density');
    expect(note(env, 'rate losses', lossErr(run.losses, refLosses))).toBeLessThan(TOLERANCE);
    expect(note(env, 'rate params', relErr(run.params, ref.params))).toBeLessThan(TOLERANCE);
  });

  it(`conv codec (spatial latent, rate): ${STEPS} steps equal the other engine on cpu within ${TOLERANCE}`, async () => {
    // No float64 reference for convolutions: tfjs:cpu (autodiff) is checked against ort:cpu (hand-written
    // backward), every other engine against tfjs:cpu.
    const other = env.name === 'tfjs:cpu' ? environment('ort:cpu') : environment('tfjs:cpu');
    const want = await convRun(other);
    const got = await convRun(env);
    expect(got.params.length).toBe(want.params.length);
    expect(note(env, `conv losses vs ${other.name}`, lossErr(got.losses, want.losses))).toBeLessThan(TOLERANCE);
    expect(note(env, `conv params vs ${other.name}`, relErr(got.params, want.params))).toBeLessThan(TOLERANCE);
  });

  it('rate-weight resume: 2 steps, getState, a new engine setState, 3 more = 5 uninterrupted steps', async () => {
    const init = glorotUniformParams(RATE_CONFIG.spec, new Rng(11));
    const make = () => createTestEngine(env, 'ae', RATE_CONFIG);
    const whole = await trainOn(make, init, 0, STEPS);
    const first = await trainOn(make, init, 0, 2);
    const rest = await trainOn(make, first.state.params, 2, STEPS - 2, first.state.optimizer);
    expect(note(env, 'rate resume losses', lossErr([...first.run.losses, ...rest.run.losses], whole.run.losses))).toBeLessThan(1e-6);
    expect(note(env, 'rate resume params', relErr(rest.run.params, whole.run.params))).toBeLessThan(1e-6);
  });

  if (env.vaeNotApplicable !== undefined) {
    itNotApplicable(`vae: ${STEPS} steps against the other engine's VAE`, env.vaeNotApplicable);
    itNotApplicable('vae resume', env.vaeNotApplicable);
    it('vae: the registry refuses it here with a BackendError saying why', async () => {
      await expect(createTestEngine(env, 'vae', VAE_CONFIG)).rejects.toMatchObject({ code: 'E_BACKEND', message: expect.stringMatching(/cpu device only/) });
    });
    return;
  }

  it(`vae: ${STEPS} steps equal the other engine's VAE on cpu within ${TOLERANCE}`, async () => {
    // tfjs:cpu is checked against ort:cpu, every other engine against tfjs:cpu (the reference engine).
    const other = env.name === 'tfjs:cpu' ? 'ort:cpu' : 'tfjs:cpu';
    const want = await vaeRun(other);
    const got = env.name === 'tfjs:cpu' || env.name === 'ort:cpu' ? await vaeRun(env.name) : (await trainOn(() => createTestEngine(env, 'vae', VAE_CONFIG), glorotUniformParams(VAE_CONFIG.spec, new Rng(4)), 0, STEPS)).run;
    // the head (latent_log_var) comes after the dense layers
    expect(got.params.length).toBe(want.params.length);
    expect(note(env, `vae losses vs ${other}`, lossErr(got.losses, want.losses))).toBeLessThan(TOLERANCE);
    expect(note(env, `vae params vs ${other}`, relErr(got.params, want.params))).toBeLessThan(TOLERANCE);
  });

  it('vae resume: 2 steps, getState, a new engine setState, 3 more = 5 uninterrupted steps', async () => {
    const init = glorotUniformParams(VAE_CONFIG.spec, new Rng(4));
    const make = () => createTestEngine(env, 'vae', VAE_CONFIG);
    const whole = await trainOn(make, init, 0, STEPS);
    const first = await trainOn(make, init, 0, 2);
    const rest = await trainOn(make, first.state.params, 2, STEPS - 2, first.state.optimizer);
    expect(note(env, 'vae resume losses', lossErr([...first.run.losses, ...rest.run.losses], whole.run.losses))).toBeLessThan(1e-6);
    expect(note(env, 'vae resume params', relErr(rest.run.params, whole.run.params))).toBeLessThan(1e-6);
  });
});
