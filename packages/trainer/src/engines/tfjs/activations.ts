/**
 * Every activation's forward op and derivative, for the hand-written backward pass. A
 * `Record<ActivationName, …>`, so an activation added to core fails to compile until it is handled here.
 * Derivatives use the layer's output `a` where that is cheaper than recomputing from `z`.
 */
import * as tf from '@tensorflow/tfjs';
import { type ActivationName, type ActivationSpec, LEAKY_RELU_DEFAULT_ALPHA, SELU_ALPHA, SELU_GAMMA } from '@aekit/core';

export interface ActivationOps {
  /** a = f(z); forms equal to what tfjs-layers computes for the activation string. */
  forward: (z: tf.Tensor, alpha: number) => tf.Tensor;
  /** dL/dz = dL/da · f'(z), given z and a = f(z). */
  backward: (dA: tf.Tensor, z: tf.Tensor, a: tf.Tensor, alpha: number) => tf.Tensor;
}

const INV_SQRT2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(z), the standard normal CDF, as tfjs-layers' gelu computes it. */
const normalCdf = (z: tf.Tensor): tf.Tensor => tf.mul(0.5, tf.add(1, tf.erf(tf.mul(z, INV_SQRT2))));

export const ACTIVATION_OPS: Record<ActivationName, ActivationOps> = {
  linear: { forward: (z) => z, backward: (dA) => dA },
  relu: { forward: (z) => tf.relu(z), backward: (dA, z) => tf.mul(dA, tf.step(z, 0)) },
  sigmoid: { forward: (z) => tf.sigmoid(z), backward: (dA, _z, a) => tf.mul(dA, tf.mul(a, tf.sub(1, a))) },
  tanh: { forward: (z) => tf.tanh(z), backward: (dA, _z, a) => tf.mul(dA, tf.sub(1, tf.square(a))) },
  leakyRelu: {
    forward: (z, alpha) => tf.leakyRelu(z, alpha),
    backward: (dA, z, _a, alpha) => tf.mul(dA, tf.step(z, alpha)),
  },
  // elu'(z) = 1 for z > 0, e^z = a + 1 otherwise; min(a, 0) + 1 covers both.
  elu: { forward: (z) => tf.elu(z), backward: (dA, _z, a) => tf.mul(dA, tf.add(tf.minimum(a, 0), 1)) },
  // selu'(z) = γ for z > 0, γα·e^z = a + γα otherwise.
  selu: {
    forward: (z) => tf.selu(z),
    backward: (dA, z, a) => {
      const pos = tf.step(z, 0);
      return tf.mul(dA, tf.add(tf.mul(pos, SELU_GAMMA), tf.mul(tf.sub(1, pos), tf.add(a, SELU_GAMMA * SELU_ALPHA))));
    },
  },
  softplus: { forward: (z) => tf.softplus(z), backward: (dA, z) => tf.mul(dA, tf.sigmoid(z)) },
  // swish(z) = z·σ(z); swish' = σ + a(1 − σ).
  swish: {
    forward: (z) => tf.mul(tf.sigmoid(z), z),
    backward: (dA, z, a) => {
      const s = tf.sigmoid(z);
      return tf.mul(dA, tf.add(s, tf.mul(a, tf.sub(1, s))));
    },
  },
  // gelu(z) = z·Φ(z) (exact erf form, as tfjs-layers' 'gelu'); gelu' = Φ(z) + z·φ(z).
  gelu: {
    forward: (z) => tf.mul(z, normalCdf(z)),
    backward: (dA, z) => {
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(z), -0.5)), INV_SQRT_2PI);
      return tf.mul(dA, tf.add(normalCdf(z), tf.mul(z, pdf)));
    },
  },
};

export function alphaOf(a: ActivationSpec): number {
  return a.name === 'leakyRelu' ? (a.alpha ?? LEAKY_RELU_DEFAULT_ALPHA) : 0;
}
