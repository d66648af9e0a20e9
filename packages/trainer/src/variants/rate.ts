/**
 * The rate term in tfjs (semantics in ./rate-math.ts): bits of latents under the learned logistic
 * density. The tfjs engine that trains with it is engines/tfjs/autodiff.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { RATE_PROB_FLOOR } from './rate-math.js';

/** −log2 p(ỹ) per element ([rows, latent]) under the logistic bins (rate-math.ts). Call inside tf.tidy. */
export function latentBitsTensor(yt: tf.Tensor2D, loc: tf.Tensor, logScale: tf.Tensor): tf.Tensor2D {
  const t = tf.abs(tf.sub(yt, loc));
  const invScale = tf.exp(tf.neg(logScale));
  const upper = tf.sigmoid(tf.mul(tf.sub(0.5, t), invScale));
  const lower = tf.sigmoid(tf.mul(tf.sub(-0.5, t), invScale));
  const p = tf.maximum(tf.sub(upper, lower), RATE_PROB_FLOOR);
  return tf.div(tf.log(p), -Math.LN2) as tf.Tensor2D;
}

