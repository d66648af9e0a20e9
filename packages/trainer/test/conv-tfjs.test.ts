/**
 * Convolutional models on the tfjs side: the conv layers' own gradients (layer-ops.ts, written so
 * tfjs-wasm can train) equal tfjs's autodiff on cpu; core's model.json / weights.bin for a conv spec is
 * byte-identical to what tfjs `model.save` writes and loads back into a model that predicts what the
 * autodiff engine computes; the engine learns; bad conv specs fail with typed errors naming the layer.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_ADAM,
  LEAKY_RELU_DEFAULT_ALPHA,
  type ModelSpec,
  Rng,
  SpecError,
  TFJS_ACTIVATION,
  describeSpec,
  encoderOutputLayerName,
  makeSpec,
  modelLayers,
  parameterCount,
  writeLayersModel,
} from '@aekit/core';
import { TfjsAutodiffEngine } from '../src/engines/tfjs/autodiff.js';
import { layerLinear } from '../src/engines/tfjs/layer-ops.js';
import type { ParamSet } from '../src/engine.js';
import { glorotUniformParams } from '../src/init.js';
import { tfjsSavedFiles } from './tfjs-saved.js';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

const image = (height: number, width: number, channels: number) => ({ height, width, channels });

/** Vector latent with a dense layer; spatial latent; odd kernels/strides and every activation between them. */
const SPECS: ModelSpec[] = [
  makeSpec({ image: image(8, 8, 1), conv: [{ filters: 3 }, { filters: 4 }], layers: [6], latent: 3, activation: 'elu' }),
  makeSpec({ image: image(12, 12, 2), conv: [{ filters: 3, kernel: 4 }, { filters: 5, kernel: 5, stride: 3 }], latentShape: [2, 2, 3], activation: 'leakyRelu:0.1', latentActivation: 'tanh', outputActivation: 'linear' }),
  makeSpec({ image: image(6, 6, 3), conv: [{ filters: 4, kernel: 3, stride: 1 }], latentShape: [3, 3, 2], activation: 'swish', latentActivation: 'leakyRelu', outputActivation: 'sigmoid' }),
];

function paramsOf(spec: ModelSpec, seed: number): ParamSet {
  const params = glorotUniformParams(spec, new Rng(seed));
  params.forEach((p, j) => p.bias.forEach((_, i) => (p.bias[i] = 0.01 * (i + 1) * (j % 2 ? -1 : 1))));
  return params;
}

function rows(n: number, cols: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * cols }, () => rng.next());
}

describe('conv model specs', () => {
  it('chain shapes and mirror the encoder', () => {
    const s = SPECS[0]!;
    expect(describeSpec(s)).toBe('8×8×1 → conv 3 3×3/2 elu → conv 4 3×3/2 elu → 6 elu → [3 linear] → 6 elu → 16 elu → deconv 3 3×3/2 elu → 8×8×1 deconv 1 3×3/2 sigmoid');
    const names = modelLayers(s).map((l) => `${l.name}:${l.kind}`);
    expect(names).toEqual(['conv_0:conv', 'conv_1:conv', 'enc_0:dense', 'latent:dense', 'dec_0:dense', 'dec_proj:dense', 'deconv_0:convTranspose', 'output:convTranspose']);
    // Kernel sizes: 3·3·1·3 + 3·3·3·4 + 16·6 + 6·3 + 3·6 + 6·16 + 3·3·4·3 + 3·3·3·1, plus biases.
    expect(parameterCount(s)).toBe(27 + 3 + 108 + 4 + 96 + 6 + 18 + 3 + 18 + 6 + 96 + 16 + 108 + 3 + 27 + 1);
    expect(modelLayers(SPECS[1]!).find((l) => l.name === 'latent')!.conv).toMatchObject({ stride: 1, inShape: [2, 2, 5], outShape: [2, 2, 3] });
  });

  it('refuse shapes that do not chain, naming the layer', () => {
    const bad = (o: Parameters<typeof makeSpec>[0], re: RegExp) => expect(() => makeSpec(o)).toThrow(re);
    expect(() => makeSpec({ image: image(28, 28, 1), conv: [{ filters: 8 }], inputDim: 100 })).toThrow(SpecError);
    bad({ image: image(28, 28, 1), conv: [{ filters: 8 }], inputDim: 100 }, /28×28×1 holds 784 values but a data row has 100/);
    bad({ image: image(28, 28, 1), conv: [{ filters: 8 }, { filters: 8 }, { filters: 8 }] }, /conv layer 3 \(conv_2\): stride 2 does not divide its 7×7 input/);
    bad({ image: image(28, 28, 1), conv: [{ filters: 8, kernel: 2, stride: 3 }] }, /kernel 2 is smaller than stride 3/);
    bad({ image: image(28, 28, 1), conv: [{ filters: 8 }], latentShape: [5, 5, 4] }, /spatial latent 5x5x4 cannot be reached/);
    bad({ image: image(28, 28, 1), conv: [{ filters: 8 }], latentShape: [7, 7, 4], layers: [16] }, /fully convolutional; drop the dense layers/);
    bad({ conv: [{ filters: 8 }] }, /needs the image shape/);
  });
});

describe('conv layer gradients (custom, so tfjs-wasm trains)', () => {
  it('equal tfjs autodiff on cpu, and wasm equals cpu', async () => {
    const rng = new Rng(3);
    const rnd = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
    for (const spec of SPECS) {
      for (const l of modelLayers(spec).filter((m) => m.conv)) {
        const c = l.conv!;
        const B = 3;
        const inSize = c.inShape[0] * c.inShape[1] * c.inShape[2];
        const xv = rnd(B * inSize);
        const wv = rnd(l.inputDim * l.units);
        const bv = rnd(l.units);
        const gv = rnd(B * l.outputSize);
        const ours = async (backend: string) => {
          await tf.setBackend(backend);
          const b = tf.variable(tf.tensor1d(bv));
          const gy = tf.tensor2d(gv, [B, l.outputSize]);
          const gr = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(layerLinear(l, { w: w as tf.Variable, b }, x), gy)))([tf.tensor2d(xv, [B, inSize]), tf.tensor(wv, l.kernelShape)]);
          const out = [gr[0]!.dataSync().slice(), gr[1]!.dataSync().slice()] as const;
          tf.dispose([...gr, b, gy]);
          return out;
        };
        await tf.setBackend('cpu');
        const ref = tf.grads((x: tf.Tensor, w: tf.Tensor) => {
          const xi = tf.reshape(x, [B, ...c.inShape]) as tf.Tensor4D;
          const y =
            l.kind === 'conv'
              ? tf.conv2d(xi, w as tf.Tensor4D, c.stride, 'same')
              : tf.conv2dTranspose(xi, w as tf.Tensor4D, [B, ...c.outShape], c.stride, 'same');
          return tf.sum(tf.mul(tf.reshape(y, [B, l.outputSize]), tf.tensor2d(gv, [B, l.outputSize])));
        })([tf.tensor2d(xv, [B, inSize]), tf.tensor(wv, l.kernelShape)]);
        const want = [ref[0]!.dataSync().slice(), ref[1]!.dataSync().slice()];
        tf.dispose(ref);
        for (const backend of ['cpu', 'wasm']) {
          const got = await ours(backend);
          for (const k of [0, 1]) {
            const d = Math.max(...Array.from(got[k]!, (v, i) => Math.abs(v - want[k]![i]!)));
            expect(d, `${backend} ${l.name} ${k === 0 ? 'dX' : 'dW'}`).toBeLessThan(5e-6);
          }
        }
      }
    }
    await tf.setBackend('cpu');
  });
});

/** What tfjs `model.save` writes for the conv spec's layers model with these parameters. */
async function tfjsSaved(spec: ModelSpec, params: ParamSet): Promise<{ modelJson: string; weights: Uint8Array; model: tf.LayersModel }> {
  const model = tf.sequential({ name: 'aekit_autoencoder' });
  const im = spec.image!;
  model.add(tf.layers.reshape({ targetShape: [im.height, im.width, im.channels], batchInputShape: [null, spec.inputDim], name: 'image' }));
  const layers = modelLayers(spec);
  for (const l of layers) {
    const act = (TFJS_ACTIVATION[l.activation.name] ?? 'linear') as 'linear';
    if (l.conv) {
      if (layers[l.index - 1]?.kind === 'dense') model.add(tf.layers.reshape({ targetShape: l.conv.inShape, name: 'dec_reshape' }));
      const o = { name: l.name, filters: l.units, kernelSize: l.conv.kernel, strides: l.conv.stride, padding: 'same' as const, activation: act };
      model.add(l.kind === 'conv' ? tf.layers.conv2d(o) : tf.layers.conv2dTranspose(o));
    } else {
      if (layers[l.index - 1]?.conv) model.add(tf.layers.flatten({ name: 'flatten' }));
      model.add(tf.layers.dense({ name: l.name, units: l.units, activation: act }));
    }
    if (TFJS_ACTIVATION[l.activation.name] === null) model.add(tf.layers.leakyReLU({ name: `${l.name}_act`, alpha: l.activation.alpha ?? LEAKY_RELU_DEFAULT_ALPHA }));
  }
  model.add(tf.layers.flatten({ name: 'output_flat' }));
  const tensors = params.flatMap((p, i) => [tf.tensor(p.kernel, layers[i]!.kernelShape), tf.tensor1d(p.bias)]);
  model.setWeights(tensors);
  tf.dispose(tensors);
  return { ...(await tfjsSavedFiles(model)), model };
}

describe('conv checkpoints against tfjs', () => {
  it('model.json and weights.bin are what tfjs model.save writes, and the model predicts what the engine computes', async () => {
    for (const [i, spec] of SPECS.entries()) {
      const params = paramsOf(spec, i + 1);
      const ours = writeLayersModel(spec, params);
      const theirs = await tfjsSaved(spec, params);
      try {
        expect(ours.modelJson).toBe(theirs.modelJson);
        expect(ours.weights).toEqual(theirs.weights);
        expect(theirs.model.getLayer(encoderOutputLayerName(spec)).name).toBe(encoderOutputLayerName(spec));
        const engine = await TfjsAutodiffEngine.create({ spec, loss: 'mse', adam: DEFAULT_ADAM, l1: 0, l2: 0, batchSize: 4 }, 'cpu');
        await engine.setState(params);
        const n = 5;
        const x = rows(n, spec.inputDim, 7 + i);
        const got = await engine.predict(x, n);
        const want = tf.tidy(() => (theirs.model.predict(tf.tensor2d(x, [n, spec.inputDim])) as tf.Tensor).dataSync().slice());
        const d = Math.max(...Array.from(got, (v, k) => Math.abs(v - want[k]!)));
        expect(d).toBeLessThan(1e-5);
        const z = await engine.encode(x, n);
        expect(z.length).toBe(n * spec.latent.units);
        engine.dispose();
      } finally {
        theirs.model.dispose();
      }
    }
  });
});

describe('TfjsAutodiffEngine on a conv model', () => {
  it('learns blobs on cpu and wasm alike', async () => {
    const spec = makeSpec({ image: image(8, 8, 1), conv: [{ filters: 4 }, { filters: 8 }], latent: 4 });
    // Smooth random blobs: a conv model should reconstruct them well.
    const rng = new Rng(5);
    const n = 64;
    const x = new Float32Array(n * 64);
    for (let r = 0; r < n; r++) {
      const cy = rng.next() * 8;
      const cx = rng.next() * 8;
      for (let y = 0; y < 8; y++) for (let xx = 0; xx < 8; xx++) x[r * 64 + y * 8 + xx] = Math.exp(-((y - cy) ** 2 + (xx - cx) ** 2) / 6);
    }
    const finals: number[] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      const engine = await TfjsAutodiffEngine.create({ spec, loss: 'mse', adam: { ...DEFAULT_ADAM, learningRate: 0.01 }, l1: 0, l2: 0, batchSize: 16 }, backend);
      await engine.setState(glorotUniformParams(spec, new Rng(1)));
      const before = await engine.evaluate(x, n);
      for (let e = 0; e < 30; e++) await engine.trainSteps(x, n);
      const after = await engine.evaluate(x, n);
      expect(after).toBeLessThan(before * 0.5);
      finals.push(after);
      engine.dispose();
    }
    expect(Math.abs(finals[0]! - finals[1]!)).toBeLessThan(1e-3 * Math.max(...finals) + 1e-6);
  });
});
