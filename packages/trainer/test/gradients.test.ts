/**
 * The hand-written backward pass against tfjs autodiff (tf.grads over the same model written with
 * plain tfjs ops and tfjs-layers' loss functions), for every activation and both losses, with L1/L2;
 * and the Adam update against tf.train.adam.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { ACTIVATION_NAMES, type ActivationName, type LossName, Rng, SELU_ALPHA, SELU_GAMMA, makeSpec } from '@aekit/core';
import { glorotUniformParams } from '../src/init.js';
import { TfjsEngine, layerDefs } from '../src/engines/tfjs/engine.js';
import { type LayerTensors, gradients } from '../src/engines/tfjs/step.js';
import { describeEachBackend, selectTfjsBackend } from './backends.js';

/** Reference activations written independently of ACTIVATION_OPS, differentiated by tfjs. */
const REFERENCE: Record<ActivationName, (z: tf.Tensor) => tf.Tensor> = {
  linear: (z) => z,
  relu: (z) => tf.relu(z),
  sigmoid: (z) => tf.sigmoid(z),
  tanh: (z) => tf.tanh(z),
  leakyRelu: (z) => tf.leakyRelu(z, 0.15),
  elu: (z) => tf.elu(z),
  selu: (z) => tf.mul(tf.add(tf.relu(z), tf.mul(tf.minimum(tf.sub(tf.exp(z), 1), 0), SELU_ALPHA)), SELU_GAMMA),
  softplus: (z) => tf.log(tf.add(tf.exp(z), 1)),
  swish: (z) => tf.mul(z, tf.sigmoid(z)),
  gelu: (z) => tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.div(z, Math.SQRT2)))),
};

const L1 = 0.003;
const L2 = 0.002;

function check(act: ActivationName, loss: LossName, products: 'explicit' | 'flags'): void {
  const name = act === 'leakyRelu' ? 'leakyRelu:0.15' : act;
  // 7 → 5 act → [3 act] → 5 act → 7 sigmoid: both kernel layouts (in > out and in ≤ out) occur.
  const spec = makeSpec({ inputDim: 7, layers: [5], latent: 3, activation: name, latentActivation: name, outputActivation: loss === 'bce' ? 'sigmoid' : name });
  const params = glorotUniformParams(spec, new Rng(11));
  const defs = layerDefs(spec);
  const rng = new Rng(3);
  const xData = Float32Array.from({ length: 6 * 7 }, () => rng.next());
  const got = tf.tidy(() => {
    const x = tf.tensor2d(xData, [6, 7]);
    const layers: LayerTensors[] = params.map((p) => {
      const w = tf.tensor2d(p.kernel, [p.inputDim, p.units]);
      const z2 = tf.zerosLike(w);
      const z1 = tf.zeros([p.units]);
      return { w, wT: tf.transpose(w), b: tf.tensor1d(p.bias.map(() => rng.next() - 0.5)), mW: z2, vW: z2, mB: z1, vB: z1 };
    });
    const g = gradients(defs, layers, { loss, l1: L1, l2: L2, products }, x);
    const ref = tf.grads((...ps: tf.Tensor[]) => {
      let a: tf.Tensor = x;
      let penalty: tf.Tensor = tf.scalar(0);
      const last = params.length - 1;
      for (let i = 0; i < last; i++) a = REFERENCE[act](tf.add(tf.matMul(a, ps[2 * i]!), ps[2 * i + 1]!));
      const y = (loss === 'bce' ? REFERENCE.sigmoid : REFERENCE[act])(tf.add(tf.matMul(a, ps[2 * last]!), ps[2 * last + 1]!));
      for (let i = 0; i < params.length; i++) {
        penalty = tf.add(penalty, tf.add(tf.mul(tf.sum(tf.abs(ps[2 * i]!)), L1), tf.mul(tf.sum(tf.square(ps[2 * i]!)), L2)));
      }
      const rec = loss === 'mse' ? tf.mean(tf.squaredDifference(y, x)) : tf.mean(tf.metrics.binaryCrossentropy(x, y));
      return tf.add(rec, penalty) as tf.Scalar;
    })(layers.flatMap((L) => [L.w, L.b]));
    const kernels = g.gW.map((gw, i) => (defs[i]!.transposed ? tf.transpose(gw) : gw));
    return { ours: [...kernels, ...g.gB].map((t) => t.arraySync()), theirs: [...ref.filter((_, i) => i % 2 === 0), ...ref.filter((_, i) => i % 2 === 1)].map((t) => t.arraySync()) };
  });
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
  got.ours.forEach((o, i) => {
    const a = flat(o);
    const b = flat(got.theirs[i]);
    const scale = Math.max(1e-3, ...b.map(Math.abs));
    const worst = Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
    expect(worst / scale, `${act}/${loss}/${products} tensor ${i}`).toBeLessThan(2e-4);
  });
}

describeEachBackend('explicit gradients equal tf.grads', (backend) => {
  beforeAll(async () => {
    await selectTfjsBackend(backend);
  });
  for (const loss of ['mse', 'bce'] as const) {
    it(`every activation, ${loss} + L1/L2, both product strategies`, () => {
      for (const act of ACTIVATION_NAMES) {
        check(act, loss, 'explicit');
        check(act, loss, 'flags');
      }
    });
  }
});

describeEachBackend('Adam steps equal tf.train.adam', (backend) => {
  beforeAll(async () => {
    await selectTfjsBackend(backend);
  });
  it('three steps with L2 give the same parameters as optimizer.minimize', async () => {
    const spec = makeSpec({ inputDim: 7, layers: [5], latent: 3, activation: 'tanh', latentActivation: 'tanh' });
    const params = glorotUniformParams(spec, new Rng(5));
    const adam = { learningRate: 0.01, beta1: 0.8, beta2: 0.95, epsilon: 1e-6 };
    const rng = new Rng(9);
    const rows = 12;
    const xData = Float32Array.from({ length: rows * 7 }, () => rng.next());
    const engine = await TfjsEngine.create({ spec, loss: 'mse', adam, l1: 0, l2: L2, batchSize: 4 }, { backend });
    await engine.setState(params);
    await engine.trainSteps(xData, rows);
    const ours = (await engine.getState()).params;
    engine.dispose();

    const vars = params.flatMap((p) => [tf.variable(tf.tensor2d(p.kernel, [p.inputDim, p.units])), tf.variable(tf.tensor1d(p.bias))]);
    const opt = tf.train.adam(adam.learningRate, adam.beta1, adam.beta2, adam.epsilon);
    for (let b = 0; b < rows / 4; b++) {
      const x = tf.tensor2d(xData.subarray(b * 28, (b + 1) * 28), [4, 7]);
      opt.minimize(() => {
        let a: tf.Tensor = x;
        const last = params.length - 1;
        for (let i = 0; i < last; i++) a = REFERENCE.tanh(tf.add(tf.matMul(a, vars[2 * i]!), vars[2 * i + 1]!));
        const y = tf.sigmoid(tf.add(tf.matMul(a, vars[2 * last]!), vars[2 * last + 1]!));
        let penalty: tf.Tensor = tf.scalar(0);
        for (let i = 0; i <= last; i++) penalty = tf.add(penalty, tf.mul(tf.sum(tf.square(vars[2 * i]!)), L2));
        return tf.add(tf.mean(tf.squaredDifference(y, x)), penalty) as tf.Scalar;
      });
      x.dispose();
    }
    ours.forEach((p, i) => {
      const k = vars[2 * i]!.dataSync();
      const bias = vars[2 * i + 1]!.dataSync();
      expect(Math.max(...p.kernel.map((v, j) => Math.abs(v - k[j]!)))).toBeLessThan(1e-5);
      expect(Math.max(...p.bias.map((v, j) => Math.abs(v - bias[j]!)))).toBeLessThan(1e-5);
      // …and training moved the parameters (the comparison is not vacuous).
      expect(Math.max(...p.kernel.map((v, j) => Math.abs(v - params[i]!.kernel[j]!)))).toBeGreaterThan(1e-3);
    });
    tf.dispose(vars);
    opt.dispose();
  });
});
