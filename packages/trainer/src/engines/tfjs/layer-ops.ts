/**
 * One trainable layer's forward pass in tfjs for the autodiff engines: Dense, Conv2D and
 * Conv2DTranspose with "same" padding (tfjs pads as TensorFlow does, like `LayerInfo.conv.pads`).
 * Layers take and return flat rows [batch, values] (a conv's HWC output flattened), so a layer never
 * needs to know what came before it; the reshapes are views.
 *
 * Convolutions carry their own gradients (tf.customGrad): tfjs-wasm has no Conv2DBackpropFilter
 * kernel, so the kernel gradient is written as a forward conv2d with the batch as the channel axis,
 * dilated by the stride (dW[i,j,a,b] = Σ_{n,y,x} in_pad[n, y·s+i, x·s+j, a] · g[n, y, x, b]), which
 * every backend runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry, LayerInfo } from '@aekit/core';
import { ACTIVATION_OPS, alphaOf } from './activations.js';

/** The layer's kernel and bias as variables (kernel in `info.kernelShape`). */
export interface LayerVars {
  w: tf.Variable;
  b: tf.Variable;
}

type Pad = [[number, number], [number, number], [number, number], [number, number]];

/** TensorFlow "same" padding of the geometry as tfjs explicit padding. */
function explicitPad(c: ConvGeometry): Pad {
  const [top, left, bottom, right] = c.pads;
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

/**
 * Σ over batch and output positions of data_pad[n, y·s+i, x·s+j, a] · g[n, y, x, b] → [k, k, A, B]:
 * the kernel gradient of a conv (data = its input, g = dL/dy) and of a transposed conv (data = dL/dy, g = its input).
 */
function kernelGradient(data: tf.Tensor4D, g: tf.Tensor4D, c: ConvGeometry): tf.Tensor4D {
  const asBatch = tf.transpose(data, [3, 1, 2, 0]); // [A, H, W, N]
  const asFilter = tf.transpose(g, [1, 2, 0, 3]); // [h, w, N, B]
  const out = tf.conv2d(asBatch, asFilter, 1, explicitPad(c), 'NHWC', c.stride); // [A, k, k, B]
  return tf.transpose(out, [1, 2, 0, 3]);
}

function conv(x: tf.Tensor4D, w: tf.Tensor4D, c: ConvGeometry): tf.Tensor4D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xt, wt, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xt, wt]);
    return {
      value: tf.conv2d(xt, wt, c.stride, 'same'),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        return [tf.conv2dTranspose(g, ws, xs.shape, c.stride, 'same'), kernelGradient(xs, g, c)];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

function convTranspose(x: tf.Tensor4D, w: tf.Tensor4D, c: ConvGeometry): tf.Tensor4D {
  const outShape: [number, number, number, number] = [x.shape[0], c.outShape[0], c.outShape[1], c.outShape[2]];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xt, wt, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xt, wt]);
    return {
      value: tf.conv2dTranspose(xt, wt, outShape, c.stride, 'same'),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        return [tf.conv2d(g, ws, c.stride, 'same'), kernelGradient(g, xs, c)];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/** Pre-activation of the layer for flat input rows x [batch, in], flat [batch, out]. Call inside tf.tidy. */
export function layerLinear(info: LayerInfo, vars: LayerVars, x: tf.Tensor): tf.Tensor2D {
  const c = info.conv;
  if (c === undefined) return tf.add(tf.matMul(x as tf.Tensor2D, vars.w as tf.Tensor2D), vars.b) as tf.Tensor2D;
  const batch = x.shape[0]!;
  const input = tf.reshape(x, [batch, c.inShape[0], c.inShape[1], c.inShape[2]]) as tf.Tensor4D;
  const y = info.kind === 'conv' ? conv(input, vars.w as tf.Tensor4D, c) : convTranspose(input, vars.w as tf.Tensor4D, c);
  return tf.reshape(tf.add(y, vars.b), [batch, info.outputSize]) as tf.Tensor2D;
}

/** The layer's output (activation applied) for flat input rows. Call inside tf.tidy. */
export function layerForward(info: LayerInfo, vars: LayerVars, x: tf.Tensor): tf.Tensor2D {
  return ACTIVATION_OPS[info.activation.name].forward(layerLinear(info, vars, x), alphaOf(info.activation)) as tf.Tensor2D;
}
